"""pdb in a session behaves as in CPython's REPL (issue 11, 3): pdb.pm() after an exec's
error, breakpoint() and stepping past a return with the engine's frames invisible, and
Ctrl-C at the pdb prompt that does not cost the session."""

from __future__ import annotations


def debug_session(spawn):
    d = spawn(initialize=False)
    d.initialize({"input": True})
    return d


def drive(d, code, commands):
    """Run code; answer each `input` request (pdb's prompt) with the next command. Returns
    (exec result, the prompts asked, everything written on stdout)."""
    since = d.index()
    rid = d.request("exec", {"code": code})
    prompts = []
    for command in commands:
        ask = d.wait_request("input", since=since)
        since = d.messages.index(ask) + 1
        prompts.append(ask["params"]["prompt"])
        d.answer_input(ask, command)
    res = d.wait_result(rid)
    out = "".join(m["params"]["text"] for m in d.messages
                  if m.get("method") == "output" and m["params"]["requestId"] == rid)
    return res, prompts, out


def test_sys_last_traceback_is_set_by_an_exec_error_and_pdb_pm_shows_the_failing_frame(spawn):
    d = debug_session(spawn)
    err = d.exec("def f():\n    x = 42\n    1 / 0\nf()")
    assert err["error"]["type"] == "ZeroDivisionError"
    assert d.exec("import sys\nsys.last_type.__name__, type(sys.last_value).__name__, "
                  "sys.last_traceback.tb_frame.f_code.co_filename")["result"]["text/plain"] == \
        "('ZeroDivisionError', 'ZeroDivisionError', '<cell 1>')"
    res, prompts, out = drive(d, "import pdb; pdb.pm()", ["p x", "where", "q"])
    assert res["status"] == "ok", res
    assert prompts == ["(Pdb) "] * 3, prompts
    assert "-> 1 / 0" in out and "\n42\n" in out, out
    assert "<asyncode" not in out, out


def test_breakpoint_and_next_past_the_return_never_stop_in_the_engine(spawn):
    d = debug_session(spawn)
    res, prompts, out = drive(d, "a = 1\nbreakpoint()\nb = 2\n", ["where", "n", "n"])
    assert res["status"] == "ok", res
    assert "<asyncode" not in out, out
    assert "-> b = 2" in out, out
    # Past the cell's end nothing more stops: the session runs the next exec plainly.
    assert d.exec("a + b")["result"]["text/plain"] == "3"
    assert d.exec("import sys\nsys.gettrace() is None")["result"]["text/plain"] == "True"


def test_ctrl_c_at_the_pdb_prompt_keeps_the_session(spawn):
    d = debug_session(spawn)
    d.exec("kept = 'here'")
    since = d.index()
    rid = d.request("exec", {"code": "breakpoint()\nx = 1\n"})
    d.wait_request("input", since=since)
    since = d.index()
    assert d.call("interrupt", {"graceMs": 300})["interrupted"] is True
    ask = d.wait_request("input", since=since)  # pdb caught it and asks again
    d.answer_input(ask, "c")
    assert d.wait_result(rid)["status"] == "ok"
    assert d.exec("kept")["result"]["text/plain"] == "'here'"
