"""Errors in user code: ExecResults with status "error" and an ErrorInfo whose traceback holds
the user's frames only."""

from __future__ import annotations

import pytest

CODE = (
    "def divide(n):\n"
    "    return 1 / n\n"
    "\n"
    "divide(0)\n"
)


def frames(r):
    return [(f["filename"], f["line"], f["name"]) for f in r["error"]["traceback"]]


def assert_only_user_frames(err):
    for f in err["traceback"]:
        assert f["filename"].startswith("<cell "), err["traceback"]
    assert err["formatted"].count('File "') == len(err["traceback"]), err["formatted"]
    for marker in ("asyncio", "asyncode", "/usr/lib/python3", "engine.py", "<frozen"):
        assert marker not in err["formatted"], err["formatted"]


def test_an_exception_gives_its_type_message_and_user_frames(daemon):
    daemon.exec("1")
    r = daemon.exec(CODE)
    assert r["status"] == "error"
    assert r["execCount"] == 2
    err = r["error"]
    assert err["type"] == "ZeroDivisionError"
    assert err["message"] == "division by zero"
    assert frames(r) == [("<cell 2>", 4, "<module>"), ("<cell 2>", 2, "divide")]
    assert [f.get("source") for f in err["traceback"]] == ["divide(0)", "return 1 / n"]
    assert "result" not in r


def test_formatted_is_the_traceback_as_python_prints_it(daemon):
    err = daemon.exec(CODE)["error"]
    text = err["formatted"]
    assert text.startswith("Traceback (most recent call last):\n"), text
    assert text.count('File "') == 2, text
    assert '  File "<cell 1>", line 4, in <module>\n    divide(0)\n' in text, text
    assert '  File "<cell 1>", line 2, in divide\n    return 1 / n\n' in text, text
    assert text.endswith("ZeroDivisionError: division by zero\n"), text


def test_a_function_from_an_earlier_exec_shows_with_that_execs_cell_and_line(daemon):
    daemon.exec("x = 0\n\ndef inner():\n    raise RuntimeError('deep')\n")
    r = daemon.exec("def outer():\n    inner()\nouter()")
    assert r["error"]["type"] == "RuntimeError"
    assert r["error"]["message"] == "deep"
    assert frames(r) == [("<cell 2>", 3, "<module>"), ("<cell 2>", 2, "outer"),
                         ("<cell 1>", 4, "inner")]
    assert r["error"]["traceback"][2].get("source") == "raise RuntimeError('deep')"
    assert_only_user_frames(r["error"])


def test_an_exception_raised_after_an_await_has_no_event_loop_frames(daemon):
    r = daemon.exec(
        "import asyncio\n"
        "async def g():\n"
        "    await asyncio.sleep(0)\n"
        "    raise KeyError('k')\n"
        "await g()\n")
    assert r["status"] == "error"
    assert r["awaited"] is True
    assert r["error"]["type"] == "KeyError"
    assert frames(r) == [("<cell 1>", 5, "<module>"), ("<cell 1>", 4, "g")]
    assert_only_user_frames(r["error"])


def test_an_exception_in_a_task_awaited_later_has_no_event_loop_frames(daemon):
    daemon.exec("import asyncio\nasync def boom():\n    await asyncio.sleep(0)\n"
                "    raise ValueError('in task')\nt = asyncio.create_task(boom())\n"
                "await asyncio.sleep(0)")
    r = daemon.exec("await t")
    assert r["error"]["type"] == "ValueError"
    assert frames(r)[0] == ("<cell 2>", 1, "<module>")
    assert ("<cell 1>", 4, "boom") in frames(r)
    assert_only_user_frames(r["error"])


def test_a_syntax_error_in_exec_is_an_error_result_without_frames(daemon):
    r = daemon.exec("x = 1\ny = )")
    assert r["status"] == "error"
    err = r["error"]
    assert err["type"] == "SyntaxError"
    assert "unmatched ')'" in err["message"]
    assert err["traceback"] == []
    assert "SyntaxError" in err["formatted"]
    assert "engine" not in err["formatted"] and "asyncode" not in err["formatted"]


def test_code_with_a_null_byte_is_an_error_result_and_the_session_lives_on(daemon):
    daemon.exec("kept = 1")
    r = daemon.exec("x = 1\0")
    assert r["status"] == "error", r
    assert "null" in r["error"]["message"], r
    assert daemon.exec("kept")["result"]["text/plain"] == "1"


def test_an_exception_message_with_unicode_and_newlines_is_kept(daemon):
    r = daemon.exec("raise ValueError('ünï\\nline 2')")
    assert r["error"]["message"] == "ünï\nline 2"
    assert r["error"]["formatted"].endswith("ValueError: ünï\nline 2\n")


def test_a_chained_exception_is_formatted_with_its_cause(daemon):
    r = daemon.exec("try:\n    1 / 0\nexcept ZeroDivisionError as e:\n"
                    "    raise ValueError('wrapped') from e\n")
    err = r["error"]
    assert err["type"] == "ValueError"
    assert "ZeroDivisionError: division by zero" in err["formatted"]
    assert "direct cause" in err["formatted"]
    assert err["formatted"].count('File "<cell 1>"') == err["formatted"].count('File "') == 2


@pytest.mark.parametrize("code,message", [
    ("exit()", None),
    ("quit()", None),
    ("import sys\nsys.exit(3)", "3"),
    ("raise SystemExit('bye')", "bye"),
])
def test_system_exit_ends_the_exec_with_an_error_and_the_session_lives_on(daemon, code, message):
    pid = daemon.exec("import os\nx = 41\nos.getpid()")["result"]["text/plain"]
    r = daemon.exec(code)
    assert r["status"] == "error", r
    assert r["error"]["type"] == "SystemExit"
    if message is not None:
        assert r["error"]["message"] == message
    after = daemon.exec("x + 1, os.getpid()")
    assert after["result"]["text/plain"] == "(42, %s)" % pid


def test_a_repr_that_raises_makes_the_exec_fail_with_that_exception(daemon):
    r = daemon.exec("class A:\n    def __repr__(self):\n        raise ValueError('no repr')\nA()")
    assert r["status"] == "error", r
    assert r["error"]["type"] == "ValueError"
    assert r["error"]["message"] == "no repr"
    assert "result" not in r
    assert ("<cell 1>", 3, "__repr__") in frames(r)
    assert daemon.exec("1")["status"] == "ok"


def test_keyboard_interrupt_raised_by_user_code_is_an_error_not_an_interrupt(daemon):
    r = daemon.exec("raise KeyboardInterrupt")
    assert r["status"] == "error", r
    assert r["error"]["type"] == "KeyboardInterrupt"
    assert daemon.exec("2")["result"]["text/plain"] == "2"
