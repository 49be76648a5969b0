"""The client's terminal (session/open's `terminal`, the session/terminal notification): user code
sees its size (shutil, os.get_terminal_size of fds 0-2, COLUMNS/LINES, child processes' env),
isatty() of sys.stdout and sys.stderr, and a resize at once, also while code runs."""

from __future__ import annotations

from client import result_text


SIZES = ("import os, shutil, sys\n"
         "(tuple(shutil.get_terminal_size()), tuple(os.get_terminal_size()), tuple(os.get_terminal_size(2)),\n"
         " os.environ.get('COLUMNS'), os.environ.get('LINES'), sys.stdout.isatty(), sys.stderr.isatty())")


def test_a_session_opened_with_a_terminal_shows_its_size_and_ttys(daemon):
    daemon.call("session/open", {"session": "t", "terminal": {"columns": 123, "rows": 45, "isatty": True}})
    r = daemon.exec(SIZES, session="t")
    assert result_text(r) == "((123, 45), (123, 45), (123, 45), '123', '45', True, True)"


def test_without_a_terminal_user_code_sees_none(daemon):
    r = daemon.exec("import os, shutil, sys\n"
                    "try:\n"
                    "    os.get_terminal_size()\n"
                    "    told = 'a size'\n"
                    "except OSError:\n"
                    "    told = 'OSError'\n"
                    "told, sys.stdout.isatty(), sys.stderr.isatty()")
    assert result_text(r) == "('OSError', False, False)"


def test_a_terminal_without_isatty_gives_the_size_only(daemon):
    daemon.call("session/open", {"session": "t", "terminal": {"columns": 90, "rows": 30}})
    r = daemon.exec("import shutil, sys\ntuple(shutil.get_terminal_size()), sys.stdout.isatty()", session="t")
    assert result_text(r) == "((90, 30), False)"


def test_session_terminal_before_the_first_exec_reaches_the_default_session(daemon):
    daemon.notify("session/terminal", {"terminal": {"columns": 132, "rows": 50, "isatty": True}})
    r = daemon.exec(SIZES)
    assert result_text(r) == "((132, 50), (132, 50), (132, 50), '132', '50', True, True)"


def test_a_resize_reaches_the_next_exec_and_child_processes(daemon):
    daemon.call("session/open", {"session": "t", "terminal": {"columns": 100, "rows": 40, "isatty": True}})
    daemon.notify("session/terminal", {"session": "t", "terminal": {"columns": 61, "rows": 17, "isatty": True}})
    r = daemon.exec("import shutil, subprocess\n"
                    "child = subprocess.run(['sh', '-c', 'echo $COLUMNS $LINES'], capture_output=True, text=True)\n"
                    "tuple(shutil.get_terminal_size()), child.stdout", session="t")
    assert result_text(r) == "((61, 17), '61 17\\n')"


def test_a_resize_while_code_runs_is_a_sigwinch_and_the_new_size_at_once(daemon):
    daemon.call("session/open", {"session": "t", "terminal": {"columns": 100, "rows": 40, "isatty": True}})
    rid = daemon.request("exec", {"session": "t", "code": (
        "import shutil, signal, time\n"
        "seen = []\n"
        "signal.signal(signal.SIGWINCH, lambda *a: seen.append(tuple(shutil.get_terminal_size())))\n"
        "print('waiting', flush=True)\n"
        "while not seen:\n"
        "    time.sleep(0.01)\n"
        "seen[0], tuple(shutil.get_terminal_size())")})
    daemon.wait_notification("output", lambda p: p["requestId"] == rid and "waiting" in p["text"])
    daemon.notify("session/terminal", {"session": "t", "terminal": {"columns": 70, "rows": 20, "isatty": True}})
    assert result_text(daemon.wait_result(rid)) == "((70, 20), (70, 20))"


def test_the_size_changes_while_code_runs_without_a_handler_of_its_own(daemon):
    daemon.call("session/open", {"session": "t", "terminal": {"columns": 100, "rows": 40, "isatty": True}})
    rid = daemon.request("exec", {"session": "t", "code": (
        "import os, shutil, time\n"
        "print('waiting', flush=True)\n"
        "while shutil.get_terminal_size().columns == 100:\n"
        "    time.sleep(0.01)\n"
        "tuple(shutil.get_terminal_size()), os.environ['COLUMNS']")})
    daemon.wait_notification("output", lambda p: p["requestId"] == rid and "waiting" in p["text"])
    daemon.notify("session/terminal", {"session": "t", "terminal": {"columns": 55, "rows": 22, "isatty": True}})
    assert result_text(daemon.wait_result(rid)) == "((55, 22), '55')"


def test_columns_set_by_user_code_are_kept(daemon):
    daemon.call("session/open", {"session": "t", "terminal": {"columns": 100, "rows": 40, "isatty": True}})
    daemon.exec("import os\nos.environ['COLUMNS'] = '33'", session="t")
    daemon.notify("session/terminal", {"session": "t", "terminal": {"columns": 60, "rows": 20, "isatty": True}})
    r = daemon.exec("import shutil\ntuple(shutil.get_terminal_size()), os.environ['LINES']", session="t")
    assert result_text(r) == "((33, 20), '20')"


def test_a_restarted_session_keeps_the_terminal(daemon):
    daemon.call("session/open", {"session": "t", "terminal": {"columns": 100, "rows": 40, "isatty": True}})
    daemon.notify("session/terminal", {"session": "t", "terminal": {"columns": 81, "rows": 25, "isatty": True}})
    daemon.call("session/restart", {"session": "t"})
    r = daemon.exec("import shutil, sys\ntuple(shutil.get_terminal_size()), sys.stdout.isatty()", session="t")
    assert result_text(r) == "((81, 25), True)"


def test_opening_an_open_session_with_another_terminal_takes_it(daemon):
    daemon.call("session/open", {"session": "t", "terminal": {"columns": 100, "rows": 40, "isatty": True}})
    daemon.exec("1", session="t")
    daemon.call("session/open", {"session": "t", "terminal": {"columns": 72, "rows": 24, "isatty": True}})
    r = daemon.exec("import shutil\ntuple(shutil.get_terminal_size())", session="t")
    assert result_text(r) == "(72, 24)"


def test_session_terminal_for_a_session_not_open_is_ignored(daemon):
    daemon.notify("session/terminal", {"session": "nope", "terminal": {"columns": 70, "rows": 20}})
    assert "nope" not in [s["session"] for s in daemon.call("session/list")["sessions"]]
    assert result_text(daemon.exec("1 + 1")) == "2"


def test_a_resize_while_input_waits_runs_the_handler_and_input_goes_on(spawn):
    d = spawn(initialize=False)
    d.initialize(capabilities={"input": True})
    d.call("session/open", {"session": "t", "terminal": {"columns": 100, "rows": 40, "isatty": True}})
    rid = d.request("exec", {"session": "t", "code": (
        "import shutil, signal\n"
        "signal.signal(signal.SIGWINCH, lambda *a: print('winch', tuple(shutil.get_terminal_size()), flush=True))\n"
        "answer = input('? ')\n"
        "answer, tuple(shutil.get_terminal_size())")})
    ask = d.wait_request("input")
    d.notify("session/terminal", {"session": "t", "terminal": {"columns": 66, "rows": 33, "isatty": True}})
    d.wait_notification("output", lambda p: p["requestId"] == rid and "winch (66, 33)" in p["text"])
    d.answer_input(ask, "typed")
    assert result_text(d.wait_result(rid)) == "('typed', (66, 33))"
