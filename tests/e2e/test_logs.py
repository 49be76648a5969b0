"""Logs: stdout carries frames only; human logs go to stderr and, from initialize on, to the
client as `log` notifications at or above --log-level."""

from __future__ import annotations

from client import wait_until

NOISY_SESSION = [
    "print('to stdout')",
    "import sys; print('to stderr', file=sys.stderr)",
    "import os; os.write(1, b'fd 1\\n'); os.write(2, b'fd 2\\n')",
    "import subprocess; subprocess.run(['echo', 'child'])",
    "1 / 0",
    "x = )",
    "import os; os._exit(7)",
    "'after the crash'",
]


def run_noisy_session(d):
    for code in NOISY_SESSION:
        d.exec(code)
    d.call("compile", {"code": "if x:"})
    d.call("session/list")


def test_stdout_carries_only_frames_even_at_log_level_trace(spawn):
    d = spawn(["--log-level", "trace"])
    run_noisy_session(d)
    d.close()  # asserts that every byte on stdout was part of a well-formed frame
    assert d.framing_violations == []
    assert d.raw_bytes > 0
    assert d.stderr().strip(), "trace level logged nothing on stderr"


def test_log_level_info_writes_human_lines_to_stderr(spawn):
    d = spawn(["--log-level", "info"])
    d.exec("1")
    assert wait_until(lambda: "asyncoded" in d.stderr(), 5.0), d.stderr()
    first = d.stderr().splitlines()[0]
    assert not first.startswith("{") and "Content-Length" not in first, first


def test_log_level_info_sends_log_notifications_after_initialize(spawn):
    d = spawn(["--log-level", "info"], initialize=False)
    # the startup line on stderr says the daemon runs; a request before initialize is a barrier
    assert wait_until(lambda: "asyncoded" in d.stderr(), 5.0), d.stderr()
    early = d.request("session/list")
    assert d.wait_error(early)["code"] == -32002
    assert d.notifications("log") == [], "log notifications sent before initialize"
    d.initialize()
    d.exec("1")
    params = d.wait_notification("log")
    assert params["level"] in ("info", "warn", "error", "critical"), params
    assert params["message"]
    assert all(p["level"] not in ("trace", "debug") for p in d.notifications("log"))


def test_the_default_log_level_sends_no_log_notification_in_a_normal_session(daemon):
    for code in ["x = 1", "print(x)", "import sys; print('e', file=sys.stderr)", "1 / 0",
                 "import asyncio\nawait asyncio.sleep(0)\nx"]:
        daemon.exec(code)
    daemon.call("compile", {"code": "await x"})
    daemon.call("session/list")
    daemon.close()
    assert daemon.notifications("log") == []


def test_log_level_off_sends_no_log_notification_even_when_a_worker_dies(spawn):
    d = spawn(["--log-level", "off"])
    d.exec("import os; os._exit(1)")
    d.exec("1")
    d.close()
    assert d.notifications("log") == []


def test_a_request_sent_without_an_id_is_ignored_with_a_warning(daemon, tmp_path):
    marker = tmp_path / "ran"
    daemon.notify("exec", {"code": "open(%r, 'w').close()" % str(marker)})
    params = daemon.wait_notification("log", lambda p: "exec" in p["message"])
    assert params["level"] == "warn" and "notification" in params["message"], params
    daemon.notify("$/setTrace", {"value": "off"})  # an unknown notification: ignored quietly
    assert daemon.exec("1 + 1")["result"]["text/plain"] == "2"
    assert not marker.exists()
    assert [p for p in daemon.notifications("log") if "setTrace" in p["message"]] == []


def test_initialize_log_level_sets_the_notifications_level_and_leaves_stderr_alone(spawn):
    # revision 1: --log-level is stderr's; initialize's logLevel is this client's
    d = spawn(["--log-level", "off"], initialize=False)
    d.wait_result(d.request("initialize", {"logLevel": "debug"}))
    d.exec("1")
    assert d.wait_notification("log", lambda p: p["level"] == "debug")
    assert "[debug]" not in d.stderr() and "[info]" not in d.stderr(), d.stderr()


def test_initialize_log_level_off_sends_no_log_notification(spawn):
    d = spawn(["--log-level", "info"], initialize=False)
    d.wait_result(d.request("initialize", {"logLevel": "off"}))
    d.exec("import os; os._exit(1)")
    d.exec("1")
    assert wait_until(lambda: "exited with code 1" in d.stderr(), 5.0), d.stderr()
    d.close()
    assert d.notifications("log") == []
