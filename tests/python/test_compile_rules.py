"""asyncode.compile_check is the daemon's compile check: the conformance cases the daemon's
unit tests run (tests/unit/core/compile_cases.inc) give the same answers here, and the
console's push() follows them."""
import pathlib
import re

import pytest

import asyncode
from support import Recorder, run

CASES_FILE = pathlib.Path(__file__).resolve().parents[1] / "unit" / "core" / "compile_cases.inc"
MODES = {"Mode::Interactive": "single", "Mode::Module": "exec", "Mode::Cell": "cell"}
STATUSES = {"Status::Complete": "complete", "Status::Incomplete": "incomplete", "Status::Invalid": "invalid"}
TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|(-?\d+)|([A-Za-z_:]+))\s*(?:,|$)')
ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", "\\": b"\\", '"': b'"'}


def c_string(body):
    """The bytes of a C string literal's body (the generator writes \\ooo for non-ASCII)."""
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode()
            i += 1
        elif body[i + 1] in ESCAPES:
            out += ESCAPES[body[i + 1]]
            i += 2
        else:
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
    return out.decode("utf-8")


def parse_row(row):
    values = []
    pos = 0
    while pos < len(row):
        m = TOKEN.match(row, pos)
        assert m, "cannot read %r at %d" % (row, pos)
        string, number, name = m.groups()
        if string is not None:
            values.append(c_string(string))
        elif number is not None:
            values.append(int(number))
        else:
            values.append({"nullptr": None, "true": True, "false": False}.get(name, name))
        pos = m.end()
    keys = ("id", "mode", "code", "status", "needs_await", "indent", "type", "line", "column",
            "message", "exact", "ref_column", "ref_message")
    return dict(zip(keys, values))


def load_cases():
    cases = []
    for line in CASES_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("{") and line.endswith("},"):
            cases.append(parse_row(line[1:-2]))
    return cases


CASES = load_cases()


def test_the_case_table_is_read_whole():
    assert len(CASES) >= 200
    assert {c["mode"] for c in CASES} == set(MODES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_compile_check_answers_as_the_daemon(case):
    r = asyncode.compile_check(case["code"], MODES[case["mode"]])
    assert r.status == STATUSES[case["status"]]
    assert r.needs_await == case["needs_await"]
    if r.status == "incomplete":
        assert r.indent is not None
        if case["indent"] is not None:
            assert r.indent == case["indent"]
    else:
        assert r.indent is None
    if r.status == "invalid":
        assert r.error.type == case["type"]
        assert r.error.line == case["line"]
        if case["column"] >= 0:
            assert r.error.column == case["column"]
        if case["message"] is not None:
            if case["exact"]:
                assert r.error.message == case["message"]
            else:
                assert case["message"] in r.error.message
    else:
        assert r.error is None


INTERACTIVE = [c for c in CASES if c["mode"] == "Mode::Interactive" and c["code"].strip()]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # "\e" in a case: shown, as code shows it
@pytest.mark.parametrize("case", INTERACTIVE, ids=[c["id"] for c in INTERACTIVE])
def test_push_wants_more_lines_exactly_when_the_input_is_incomplete(case):
    async def main():
        console = Recorder()
        console.locals["x"] = console.locals["y"] = None
        console.buffer = case["code"].split("\n")[:-1]
        return await console.push(case["code"].split("\n")[-1]), console
    more, console = run(main)
    assert more == (case["status"] == "Status::Incomplete")
    if case["status"] == "Status::Invalid":
        assert case["type"] in console.text


def test_compile_check_modes_and_errors():
    assert asyncode.compile_check("for x in y:").indent == "    "
    assert asyncode.compile_check("x = [", "exec").status == "incomplete"
    assert asyncode.compile_check("await x", "cell").needs_await
    assert not asyncode.compile_check("async def f():\n    await x\n").needs_await
    error = asyncode.compile_check("é = = 1").error
    assert (error.type, error.message, error.line, error.column) == ("SyntaxError", "invalid syntax", 1, 4)
    with pytest.raises(ValueError):
        asyncode.compile_check("1", "eval")
