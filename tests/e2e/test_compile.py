"""compile and needsAwait: status, indent, SyntaxErrorInfo, the await flag; answered at once even
while the session runs code."""

from __future__ import annotations

import os
import time

import pytest

COMPLETE = [
    ("x = 1", "cell"),
    ("x = 1\ny = x + 1\ny", "cell"),
    ("def f():\n    return 1\n", "module"),
    ("for i in range(3):\n    pass\n\n", "interactive"),
    ("1 + 1", "interactive"),
]


@pytest.mark.parametrize("code,mode", COMPLETE)
def test_compile_says_complete_for_whole_code(daemon, code, mode):
    r = daemon.call("compile", {"code": code, "mode": mode})
    assert r["status"] == "complete", r
    assert r["needsAwait"] is False
    assert "error" not in r and "indent" not in r


@pytest.mark.parametrize("code,mode,indent", [
    ("if x:", "interactive", "    "),
    ("if x:", "cell", "    "),
    ("def f():\n    if y:", "interactive", "        "),
    ("for i in range(3):\n    pass", "interactive", "    "),
])
def test_compile_says_incomplete_with_the_indent_of_the_next_line(daemon, code, mode, indent):
    r = daemon.call("compile", {"code": code, "mode": mode})
    assert r["status"] == "incomplete", r
    assert r.get("indent") == indent, r
    assert "error" not in r


def test_compile_says_incomplete_for_an_open_bracket(daemon):
    r = daemon.call("compile", {"code": "x = (1,", "mode": "cell"})
    assert r["status"] == "incomplete", r
    assert "error" not in r


@pytest.mark.parametrize("code,mode,etype,message,line,column", [
    ("x = )", "cell", "SyntaxError", "unmatched ')'", 1, 4),
    ("x = 1\ny = )", "module", "SyntaxError", "unmatched ')'", 2, 4),
    ("é = 'ü' )", "cell", "SyntaxError", "unmatched ')'", 1, 8),
    ("def f():\nreturn 1", "module", "IndentationError", "expected an indented block", 2, 0),
    ("x = 1\n  y = 2", "cell", "IndentationError", "unexpected indent", 2, None),
])
def test_compile_says_invalid_with_the_error_type_line_and_column(daemon, code, mode, etype,
                                                                  message, line, column):
    r = daemon.call("compile", {"code": code, "mode": mode})
    assert r["status"] == "invalid", r
    err = r["error"]
    assert err["type"] == etype, err
    assert err["message"].startswith(message), err
    assert err["line"] == line, err
    if column is not None:
        assert err["column"] == column, err
    assert "indent" not in r


@pytest.mark.parametrize("code,mode,needs", [
    ("await x", "cell", True),
    ("await x", "interactive", True),
    ("await x", "module", True),
    ("y = [i async for i in g()]", "cell", True),
    ("async for i in g():\n    pass\n", "module", True),
    ("async with m() as v:\n    pass\n", "module", True),
    ("x = 1", "cell", False),
    ("async def f():\n    await x\n", "cell", False),
    ("async def f():\n    async for i in g():\n        pass\n", "module", False),
    ("def f():\n    async def g():\n        await x\n    return g\n", "cell", False),
    ("lambda: (await x)", "cell", None),  # await outside async function: invalid
])
def test_compile_and_needs_await_agree_on_whether_the_code_must_await(daemon, code, mode, needs):
    c = daemon.call("compile", {"code": code, "mode": mode})
    n = daemon.call("needsAwait", {"code": code, "mode": mode})
    if needs is None:
        assert c["status"] == "invalid", c
        assert n["status"] == "invalid" and n["needsAwait"] is False, n
        return
    assert c["status"] == "complete", c
    assert c["needsAwait"] is needs, c
    assert n == {"needsAwait": needs, "status": "complete"}


def test_needs_await_reports_the_status_of_incomplete_code(daemon):
    r = daemon.call("needsAwait", {"code": "if x:", "mode": "interactive"})
    assert r["status"] == "incomplete", r


def test_compile_defaults_to_the_default_session_without_running_anything(daemon):
    daemon.call("compile", {"code": "x = 1"})
    daemon.call("needsAwait", {"code": "x = 1"})
    r = daemon.exec("'x' in dir()")
    assert r["result"]["text/plain"] == "False"


def test_compile_answers_within_1_s_while_the_session_spins(daemon):
    rid = daemon.request("exec", {"code": "print('begin', flush=True)\nwhile True: pass"})
    daemon.wait_notification("output", lambda p: p["requestId"] == rid and "begin" in p["text"])
    start = time.monotonic()
    r = daemon.call("compile", {"code": "await x"}, timeout=10)
    elapsed = time.monotonic() - start
    assert r == {"status": "complete", "needsAwait": True}
    assert elapsed < 1.0, "compile took %.2f s while the session was busy" % elapsed
    start = time.monotonic()
    r = daemon.call("needsAwait", {"code": "if x:", "mode": "interactive"}, timeout=10)
    assert time.monotonic() - start < 1.0
    assert r["status"] == "incomplete"
    assert not daemon.has_response(rid), "the spinning exec ended by itself"
    ir = daemon.call("interrupt", {})
    assert ir["interrupted"] is True, ir
    res = daemon.wait_result(rid)
    assert res["status"] == "interrupted", res


# A C call that holds the GIL and does not return until the test says so: libc's read() through
# ctypes.PyDLL (which, unlike CDLL, keeps the GIL), on a FIFO the test writes to. A catastrophic
# regex or any C loop holds the GIL the same way.
GIL_HELD_UNTIL_FIFO = (
    "import ctypes, os\n"
    "fd = os.open(%r, os.O_RDWR)\n"
    "libc = ctypes.PyDLL(None)\n"
    "buf = ctypes.create_string_buffer(1)\n"
    "print('begin', flush=True)\n"
    "libc.read(fd, buf, 1)\n"
    "buf.raw\n"
)


def test_compile_and_needs_await_answer_while_the_session_holds_the_gil_in_c(daemon, tmp_path):
    fifo = str(tmp_path / "gate")
    os.mkfifo(fifo)
    rid = daemon.request("exec", {"code": GIL_HELD_UNTIL_FIFO % fifo})
    daemon.wait_notification("output", lambda p: p["requestId"] == rid and "begin" in p["text"])
    cid = daemon.request("compile", {"code": "await x"})
    nid = daemon.request("needsAwait", {"code": "if x:", "mode": "interactive"})
    try:  # a bound on the wait, not an assertion: the order below decides
        daemon.wait_response(nid, timeout=10)
    except TimeoutError:
        pass
    # Let the exec end: an answer that waited for the GIL now comes after the exec's.
    with open(fifo, "wb") as f:
        f.write(b"x")
    assert daemon.wait_result(rid)["result"]["text/plain"] == "b'x'"
    assert daemon.wait_result(cid) == {"status": "complete", "needsAwait": True}
    assert daemon.wait_result(nid)["status"] == "incomplete"
    exec_answer = daemon.position(lambda m: m.get("id") == rid and "method" not in m)
    for other in (cid, nid):
        at = daemon.position(lambda m: m.get("id") == other and "method" not in m)
        assert at < exec_answer, "compile/needsAwait waited for the exec that held the GIL"
