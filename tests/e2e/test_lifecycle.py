"""Lifecycle: initialize, shutdown, exit, end of input, command line, signals."""

from __future__ import annotations

import re
import signal
import subprocess
import time

from client import daemon_path, pid_alive, wait_until

NOT_INITIALIZED = -32002


def all_worker_pids(d):
    """Every worker the daemon has: sessions (session/list), status notifications, and its
    live children (the warm spare included)."""
    pids = set(d.session_pids())
    pids.update(p["pid"] for p in d.notifications("status") if p.get("pid"))
    pids.update(d.remember_children())
    return pids


def start_default_session(d):
    return d.exec("import os\nos.getpid()")["result"]["text/plain"]


# --------------------------------------------------------------------------- initialize
def test_initialize_answers_server_info_protocol_version_python_and_backends(raw_daemon):
    r = raw_daemon.initialize()
    assert r["serverInfo"]["name"] == "asyncoded"
    assert re.fullmatch(r"\d+\.\d+\.\d+", r["serverInfo"]["version"]), r
    assert r["protocolVersion"] == 1
    assert re.fullmatch(r"3\.11\.\d+", r["python"]["version"]), r
    assert r["python"]["executable"]
    assert "asyncio" in r["backends"]


def test_initialize_reports_the_same_version_as_the_version_option(raw_daemon):
    r = raw_daemon.initialize()
    out = subprocess.run([daemon_path(), "--version"], capture_output=True, text=True, timeout=10)
    assert out.stdout.strip() == "asyncoded %s (Python %s)" % (r["serverInfo"]["version"],
                                                                r["python"]["version"])


def test_every_request_before_initialize_gets_error_32002(raw_daemon):
    d = raw_daemon
    for method, params in [("exec", {"code": "1"}), ("compile", {"code": "1"}),
                           ("session/list", None), ("needsAwait", {"code": "await x"})]:
        err = d.wait_error(d.request(method, params))
        assert err["code"] == NOT_INITIALIZED, (method, err)
    d.initialize()
    assert d.exec("1 + 1")["result"]["text/plain"] == "2"


def test_a_notification_before_initialize_is_ignored(raw_daemon):
    d = raw_daemon
    d.notify("$/cancelRequest", {"id": 1})
    d.notify("no/such/notification", {"x": 1})
    rid = d.request("initialize", {"clientInfo": {"name": "e2e"}})
    d.wait_result(rid)
    # the daemon handles messages in order: any reaction to the notifications would come first
    before = d.messages[:d.position(lambda m: m.get("id") == rid)]
    assert [m for m in before if "id" in m] == [], before
    assert d.exec("2 * 3")["result"]["text/plain"] == "6"


def test_a_second_initialize_is_refused(daemon):
    err = daemon.wait_error(daemon.request("initialize", {"clientInfo": {"name": "again"}}))
    assert err["code"] in (-32600, -32002, -32603), err
    assert daemon.exec("1")["status"] == "ok"


# --------------------------------------------------------------------------- shutdown / exit
def test_shutdown_answers_null_after_stopping_every_worker(daemon):
    pid = int(start_default_session(daemon))
    assert daemon.call("shutdown") is None
    assert wait_until(lambda: not pid_alive(pid), 0.5), "worker %d outlived shutdown" % pid
    daemon.notify("exit")
    assert daemon.wait_exit() == 0


def test_shutdown_while_an_exec_spins_answers_the_exec_and_then_null(daemon):
    rid = daemon.request("exec", {"code": "print('begin', flush=True)\nwhile True: pass"})
    daemon.wait_notification("output", lambda p: p["requestId"] == rid and "begin" in p["text"])
    start = time.monotonic()
    assert daemon.call("shutdown", timeout=5) is None
    assert time.monotonic() - start < 2.0
    assert daemon.has_response(rid), "the running exec was never answered"
    daemon.notify("exit")
    assert daemon.wait_exit() == 0


def test_initialize_answers_at_once_without_spare_workers(spawn):
    backends = spawn().messages[0]["result"]["backends"]  # with the default warm spare
    d = spawn(["--spares", "0"], initialize=False)
    start = time.monotonic()
    r = d.wait_result(d.request("initialize", {"clientInfo": {"name": "e2e"}}), timeout=3)
    assert time.monotonic() - start < 3.0, "initialize took %.1f s" % (time.monotonic() - start)
    assert r["backends"] == backends


def test_requests_after_shutdown_get_an_error_and_exit_then_ends_with_code_0(daemon):
    start_default_session(daemon)
    assert daemon.call("shutdown") is None
    for method, params in [("exec", {"code": "1"}), ("session/list", None),
                           ("compile", {"code": "1"})]:
        err = daemon.wait_error(daemon.request(method, params))
        assert err["code"] < 0, err
    daemon.notify("exit")
    assert daemon.wait_exit() == 0


def test_exit_without_shutdown_ends_with_code_1(daemon):
    start_default_session(daemon)
    pids = all_worker_pids(daemon)
    daemon.notify("exit")
    assert daemon.wait_exit() == 1
    assert wait_until(lambda: not [p for p in pids if pid_alive(p)], 2.0)


def test_closing_stdin_ends_the_daemon_with_code_0_and_every_worker(daemon):
    start_default_session(daemon)
    pids = all_worker_pids(daemon)
    assert pids
    start = time.monotonic()
    daemon.close_stdin()
    assert daemon.wait_exit(5) == 0
    assert wait_until(lambda: not [p for p in pids if pid_alive(p)], 2.0), \
        [p for p in pids if pid_alive(p)]
    assert time.monotonic() - start < 5


def test_closing_stdin_while_an_exec_spins_ends_the_daemon_and_the_worker(daemon):
    rid = daemon.request("exec", {"code": "print('begin', flush=True)\nwhile True: pass"})
    daemon.wait_notification("output", lambda p: p["requestId"] == rid and "begin" in p["text"])
    pids = all_worker_pids(daemon)
    daemon.close_stdin()
    assert daemon.wait_exit(5) == 0
    assert wait_until(lambda: not [p for p in pids if pid_alive(p)], 2.0)


# --------------------------------------------------------------------------- command line
def run_binary(*args):
    return subprocess.run([daemon_path(), *args], capture_output=True, text=True, timeout=10,
                          stdin=subprocess.DEVNULL)


def test_version_prints_the_daemon_and_python_versions_and_exits_0():
    out = run_binary("--version")
    assert out.returncode == 0, out
    assert re.fullmatch(r"asyncoded \d+\.\d+\.\d+ \(Python 3\.11\.\d+\)\n", out.stdout), out.stdout


def test_help_prints_usage_and_exits_0():
    out = run_binary("--help")
    assert out.returncode == 0, out
    assert "usage" in out.stdout.lower()
    assert "--log-level" in out.stdout


def test_an_unknown_option_exits_2_with_a_message_on_stderr():
    out = run_binary("--no-such-option")
    assert out.returncode == 2, out
    assert "--no-such-option" in out.stderr
    assert out.stdout == ""


def test_a_bad_log_level_exits_2_with_a_message_on_stderr():
    out = run_binary("--log-level", "loud")
    assert out.returncode == 2, out
    assert "loud" in out.stderr
    assert out.stdout == ""


# --------------------------------------------------------------------------- signals
def test_sigkill_to_the_daemon_leaves_no_worker_alive(daemon):
    start_default_session(daemon)
    pids = all_worker_pids(daemon)
    assert len(pids) >= 1
    daemon.kill(signal.SIGKILL)
    assert daemon.wait_exit() == -signal.SIGKILL
    assert wait_until(lambda: not [p for p in pids if pid_alive(p)], 2.0), \
        "workers outlived a SIGKILLed daemon: %s" % [p for p in pids if pid_alive(p)]


def test_sigterm_ends_the_daemon_and_its_workers_within_1_s(daemon):
    start_default_session(daemon)
    pids = all_worker_pids(daemon)
    start = time.monotonic()
    daemon.kill(signal.SIGTERM)
    daemon.wait_exit(5)
    assert wait_until(lambda: not [p for p in pids if pid_alive(p)], 1.0)
    assert time.monotonic() - start < 1.0


def test_sigterm_ends_the_daemon_within_1_s_even_while_an_exec_spins(daemon):
    rid = daemon.request("exec", {"code": "print('begin', flush=True)\nwhile True: pass"})
    daemon.wait_notification("output", lambda p: p["requestId"] == rid and "begin" in p["text"])
    pids = all_worker_pids(daemon)
    start = time.monotonic()
    daemon.kill(signal.SIGTERM)
    daemon.wait_exit(5)
    assert wait_until(lambda: not [p for p in pids if pid_alive(p)], 1.0)
    assert time.monotonic() - start < 1.0
