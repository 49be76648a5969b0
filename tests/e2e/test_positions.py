"""Revision 1: positions in the client's unit (initialize's capabilities.positionEncodings):
UTF-16 code units, UTF-8 bytes or code points, in and out, for every method and error."""

from __future__ import annotations

import pytest

CODE = "'\U0001F600é' + alpha_b + 1"  # the cursor after alpha_b: 14 code points, 15 utf-16, 18 utf-8
CURSOR = {"utf-32": 14, "utf-16": 15, "utf-8": 18}
START = {"utf-32": 7, "utf-16": 8, "utf-8": 11}


def start(spawn, encodings):
    d = spawn(initialize=False)
    caps = {} if encodings is None else {"positionEncodings": encodings}
    r = d.wait_result(d.request("initialize", {"capabilities": caps}))
    return d, r["positionEncoding"]


@pytest.mark.parametrize("encodings, chosen", [
    (None, "utf-32"), (["utf-16"], "utf-16"), (["utf-8", "utf-16"], "utf-8"),
    (["utf-7", "utf-16"], "utf-16"), (["utf-7"], "utf-32")])
def test_the_first_known_encoding_the_client_lists_is_chosen(spawn, encodings, chosen):
    assert start(spawn, encodings)[1] == chosen


@pytest.mark.parametrize("unit", ["utf-32", "utf-16", "utf-8"])
def test_complete_and_inspect_count_in_the_chosen_unit(spawn, unit):
    d, _ = start(spawn, [unit])
    d.exec("alpha_beta = 1")
    r = d.call("complete", {"code": CODE, "cursor": CURSOR[unit]})
    assert (r["cursorStart"], r["cursorEnd"]) == (START[unit], CURSOR[unit]), r
    assert "alpha_beta" in [m["text"] for m in r["matches"]]
    r = d.call("inspect", {"code": "'\U0001F600'; alpha_beta", "cursor": {"utf-32": 6, "utf-16": 7, "utf-8": 10}[unit]})
    assert r["found"] and "alpha_beta" in r["data"]["text/plain"], r


@pytest.mark.parametrize("unit, column, end", [("utf-32", 16, 19), ("utf-16", 17, 20), ("utf-8", 20, 23)])
def test_syntax_errors_of_compile_and_exec_count_in_the_chosen_unit(spawn, unit, column, end):
    d, _ = start(spawn, [unit])
    code = "s = '\U0001F600é'; print(s t)"
    e = d.call("compile", {"code": code})["error"]
    assert (e["line"], e["column"], e.get("endColumn")) == (1, column, end), e
    e = d.exec(code)["error"]
    assert (e["line"], e["column"], e["endLine"], e["endColumn"]) == (1, column, 1, end), e


@pytest.mark.parametrize("unit, column, end", [("utf-32", 27, 33), ("utf-16", 29, 35), ("utf-8", 33, 40)])
def test_traceback_columns_count_in_the_chosen_unit(spawn, unit, column, end):
    d, _ = start(spawn, [unit])
    e = d.exec("d = {'\U0001F600': 1}; x = d['\U0001F600'] + d['é']")["error"]
    [frame] = e["traceback"]
    assert (frame["column"], frame["endColumn"]) == (column, end), frame


@pytest.mark.parametrize("unit, cursor", [("utf-16", 2), ("utf-8", 3)])
def test_a_cursor_inside_a_character_is_refused_with_a_clear_error(spawn, unit, cursor):
    d, _ = start(spawn, [unit])
    err = d.wait_error(d.request("complete", {"code": "'\U0001F600'", "cursor": cursor}))
    assert err["code"] == -32602, err
    assert "U+1F600" in err["message"] and unit in err["message"], err


def test_a_cursor_past_the_end_is_the_end(spawn):
    d, _ = start(spawn, ["utf-16"])
    d.exec("alpha_beta = 1")
    r = d.call("complete", {"code": "alpha_b", "cursor": 99})
    assert (r["cursorStart"], r["cursorEnd"]) == (0, 7), r
