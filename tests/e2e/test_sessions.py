"""Sessions: session/open (backend, cwd, env, python), list, close, restart, independence of
sessions, and the end of every worker (and of what user code started) when the daemon is
told to stop by a signal."""

from __future__ import annotations

import os
import signal
import time

import pytest

from client import pid_alive, proc_state, result_text, wait_until

INVALID_PARAMS = -32602


def worker_pid(d, session="default"):
    return int(result_text(d.exec("import os\nos.getpid()", session=session)))


def wait_begin(d, rid, timeout=15.0):
    d.wait_notification("output", lambda p: p["requestId"] == rid and "begin" in p["text"],
                        timeout=timeout)


def gone(pid):
    """The process is neither alive nor a zombie: it ended and was reaped."""
    return proc_state(pid) is None


# --------------------------------------------------------------------------- session/open
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_session_open_answers_the_session_its_worker_pid_and_its_backend(daemon, backend):
    r = daemon.call("session/open", {"session": "s", "backend": backend})
    assert r["session"] == "s" and r["backend"] == backend, r
    assert pid_alive(r["pid"])
    assert worker_pid(daemon, "s") == r["pid"]
    [listed] = daemon.call("session/list")["sessions"]
    assert (listed["session"], listed["pid"], listed["backend"]) == ("s", r["pid"], backend)


def test_a_session_opened_without_a_backend_is_asyncio(daemon):
    assert daemon.call("session/open", {"session": "s"})["backend"] == "asyncio"


def test_a_session_runs_in_the_cwd_it_was_opened_with(daemon, tmp_path):
    daemon.call("session/open", {"session": "s", "cwd": str(tmp_path)})
    got = result_text(daemon.exec("import os\nos.path.realpath(os.getcwd())", session="s"))
    assert got == repr(os.path.realpath(tmp_path))


def test_a_session_sees_the_env_it_was_opened_with(daemon):
    daemon.call("session/open", {"session": "s", "env": {"ASYNCODE_E2E_VAR": "vålue 1"}})
    got = result_text(daemon.exec("import os\nos.environ.get('ASYNCODE_E2E_VAR')", session="s"))
    assert got == repr("vålue 1")
    # the default session does not
    assert result_text(daemon.exec("import os\n'ASYNCODE_E2E_VAR' in os.environ")) == "False"


def test_pythonpath_given_in_env_makes_a_module_importable(daemon, tmp_path):
    (tmp_path / "e2e_env_module.py").write_text("WHERE = 'from PYTHONPATH'\n")
    daemon.call("session/open", {"session": "s", "env": {"PYTHONPATH": str(tmp_path)}})
    r = daemon.exec("import e2e_env_module\ne2e_env_module.WHERE", session="s")
    assert result_text(r) == "'from PYTHONPATH'"


def test_a_nonexistent_cwd_is_refused_with_invalid_params(daemon, tmp_path):
    missing = str(tmp_path / "no" / "such" / "dir")
    err = daemon.wait_error(daemon.request("session/open", {"session": "s", "cwd": missing}))
    assert err["code"] == INVALID_PARAMS, err
    assert daemon.call("session/list") == {"sessions": []}


def test_opening_the_same_session_twice_with_the_same_backend_returns_the_same_worker(daemon):
    first = daemon.call("session/open", {"session": "s", "backend": "trio"})
    daemon.exec("kept = 'still here'", session="s")
    second = daemon.call("session/open", {"session": "s", "backend": "trio"})
    assert second == first
    assert result_text(daemon.exec("kept", session="s")) == "'still here'"


def test_opening_an_open_session_with_another_backend_is_refused(daemon):
    first = daemon.call("session/open", {"session": "s", "backend": "asyncio"})
    err = daemon.wait_error(daemon.request("session/open", {"session": "s", "backend": "trio"}))
    assert err["code"] == INVALID_PARAMS, err
    [s] = daemon.call("session/list")["sessions"]
    assert (s["pid"], s["backend"]) == (first["pid"], "asyncio")


def test_an_unknown_backend_is_refused_with_invalid_params(daemon):
    err = daemon.wait_error(daemon.request("session/open", {"session": "s", "backend": "curio"}))
    assert err["code"] == INVALID_PARAMS, err
    assert daemon.call("session/list") == {"sessions": []}


# --------------------------------------------------------------------------- python
def make_venv(root, module="e2e_venv_module", value="from the venv"):
    """A venv as `python -m venv` makes it, by hand: bin/python, pyvenv.cfg, site-packages."""
    (root / "bin").mkdir(parents=True)
    os.symlink("/usr/bin/python3", root / "bin" / "python")
    (root / "pyvenv.cfg").write_text("home = /usr/bin\ninclude-system-site-packages = false\n"
                                     "version = 3.11.2\n")
    site = root / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (site / (module + ".py")).write_text("VALUE = %r\n" % value)
    return root


def test_a_session_opened_with_a_venv_imports_its_packages_and_has_it_as_prefix(daemon, tmp_path):
    venv = make_venv(tmp_path / "venv")
    r = daemon.call("session/open", {"session": "v", "python": str(venv)})
    assert r["backend"] == "asyncio"
    got = result_text(daemon.exec("import e2e_venv_module\ne2e_venv_module.VALUE", session="v"))
    assert got == "'from the venv'"
    prefix = daemon.exec("import sys, os\nos.path.realpath(sys.prefix)", session="v")
    assert result_text(prefix) == repr(os.path.realpath(venv))
    # the venv's packages are the session's own: the default session does not see them
    r = daemon.exec("import e2e_venv_module")
    assert r["status"] == "error" and r["error"]["type"] == "ModuleNotFoundError", r


def test_a_python_of_another_version_is_refused_with_a_message_naming_both(daemon, tmp_path):
    prefix = tmp_path / "py312"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "lib" / "python3.12" / "site-packages").mkdir(parents=True)
    os.symlink("/usr/bin/python3", prefix / "bin" / "python3")
    err = daemon.wait_error(daemon.request("session/open", {"session": "p",
                                                            "python": str(prefix)}))
    assert err["code"] == INVALID_PARAMS, err
    assert "3.12" in err["message"] and "3.11" in err["message"], err
    assert daemon.call("session/list") == {"sessions": []}


def test_a_python_path_that_does_not_exist_is_refused(daemon, tmp_path):
    err = daemon.wait_error(daemon.request("session/open", {
        "session": "p", "python": str(tmp_path / "no-such-venv")}))
    assert err["code"] == INVALID_PARAMS, err
    assert daemon.call("session/list") == {"sessions": []}


# --------------------------------------------------------------------------- independence
def test_two_sessions_are_separate_processes_with_their_own_namespaces(daemon):
    a = daemon.call("session/open", {"session": "a"})
    b = daemon.call("session/open", {"session": "b"})
    assert a["pid"] != b["pid"]
    daemon.exec("who = 'a'", session="a")
    daemon.exec("who = 'b'", session="b")
    assert result_text(daemon.exec("who", session="a")) == "'a'"
    assert result_text(daemon.exec("who", session="b")) == "'b'"
    r = daemon.exec("who")  # the default session is a third one
    assert r["status"] == "error" and r["error"]["type"] == "NameError", r


def test_two_sessions_run_code_at_the_same_time(daemon):
    daemon.call("session/open", {"session": "a"})
    daemon.call("session/open", {"session": "b"})
    daemon.exec("import time", session="a")
    daemon.exec("1", session="b")
    slow = daemon.request("exec", {"code": "print('begin', flush=True)\ntime.sleep(1)",
                                   "session": "a"})
    wait_begin(daemon, slow)
    start = time.monotonic()
    fast = daemon.request("exec", {"code": "1+1", "session": "b"})
    r = daemon.wait_result(fast, timeout=5)
    took = time.monotonic() - start
    print("1+1 in session b took %.1f ms while session a sleeps" % (took * 1000))
    assert result_text(r) == "2"
    assert took < 0.5, "session b waited for session a: %.3f s" % took
    assert not daemon.has_response(slow), "the 1 s sleep ended before 1+1 was answered"
    assert daemon.wait_result(slow)["status"] == "ok"


# --------------------------------------------------------------------------- list / close
def test_session_list_shows_every_open_session_with_pid_backend_and_state(daemon):
    a = daemon.call("session/open", {"session": "a", "backend": "asyncio"})
    t = daemon.call("session/open", {"session": "t", "backend": "trio"})
    busy = daemon.request("exec", {"code": "print('begin', flush=True)\nwhile True: pass",
                                   "session": "a"})
    wait_begin(daemon, busy)
    listed = {s["session"]: s for s in daemon.call("session/list")["sessions"]}
    assert listed == {
        "a": {"session": "a", "pid": a["pid"], "backend": "asyncio", "state": "busy"},
        "t": {"session": "t", "pid": t["pid"], "backend": "trio", "state": "idle"},
    }
    assert daemon.call("interrupt", {"session": "a"})["interrupted"] is True
    assert daemon.wait_result(busy)["status"] == "interrupted"


def test_session_close_ends_the_worker_and_removes_the_session(daemon):
    a = daemon.call("session/open", {"session": "a"})
    b = daemon.call("session/open", {"session": "b"})
    assert daemon.call("session/close", {"session": "a"}) is None
    assert wait_until(lambda: gone(a["pid"]), 1.0), \
        "worker %d still there 1 s after session/close: %s" % (a["pid"], proc_state(a["pid"]))
    assert [s["session"] for s in daemon.call("session/list")["sessions"]] == ["b"]
    err = daemon.wait_error(daemon.request("exec", {"code": "1", "session": "a"}))
    assert err["code"] == INVALID_PARAMS, err
    assert pid_alive(b["pid"])
    assert result_text(daemon.exec("1", session="b")) == "1"


def test_closing_a_session_answers_its_running_and_its_queued_execs(daemon):
    s = daemon.call("session/open", {"session": "a"})
    running = daemon.request("exec", {"code": "print('begin', flush=True)\nwhile True: pass",
                                      "session": "a"})
    queued = daemon.request("exec", {"code": "1", "session": "a"})
    wait_begin(daemon, running)
    assert daemon.call("session/close", {"session": "a"}) is None
    r = daemon.wait_response(running, timeout=5)
    assert "error" in r or r["result"]["status"] != "ok", r
    q = daemon.wait_response(queued, timeout=5)
    assert "error" in q or q["result"]["status"] != "ok", q
    assert wait_until(lambda: gone(s["pid"]), 1.0)


def test_closing_an_unknown_session_is_invalid_params(daemon):
    err = daemon.wait_error(daemon.request("session/close", {"session": "never-opened"}))
    assert err["code"] == INVALID_PARAMS, err


# --------------------------------------------------------------------------- restart
def test_restart_gives_a_fresh_process_with_an_empty_namespace_and_the_same_settings(daemon,
                                                                                      tmp_path):
    opened = daemon.call("session/open", {"session": "r", "backend": "trio",
                                          "cwd": str(tmp_path)})
    daemon.exec("x = 'old'", session="r")
    old = worker_pid(daemon, "r")
    start = time.monotonic()
    r = daemon.call("session/restart", {"session": "r"})
    took = time.monotonic() - start
    print("session/restart answered in %.1f ms" % (took * 1000))
    assert r["session"] == "r" and r["backend"] == "trio", r
    assert r["pid"] != old and opened["pid"] == old
    assert wait_until(lambda: gone(old), 1.0), "the old worker %d is still there" % old
    assert worker_pid(daemon, "r") == r["pid"]
    x = daemon.exec("x", session="r")
    assert x["status"] == "error" and x["error"]["type"] == "NameError", x
    same = daemon.exec("import os\n(os.path.realpath(os.getcwd()), type(nursery).__name__)",
                       session="r")
    assert result_text(same) == repr((os.path.realpath(tmp_path), "SessionNursery"))
    [listed] = daemon.call("session/list")["sessions"]
    assert (listed["pid"], listed["backend"]) == (r["pid"], "trio")


def test_an_exec_running_during_a_restart_fails_with_worker_died(daemon):
    daemon.exec("1")
    busy = daemon.request("exec", {"code": "print('begin', flush=True)\nwhile True: pass"})
    wait_begin(daemon, busy)
    r = daemon.call("session/restart", {})
    res = daemon.wait_result(busy, timeout=5)
    assert res["status"] == "error", res
    assert res["error"]["type"] == "WorkerDied", res
    assert worker_pid(daemon) == r["pid"]


def test_restart_answers_quickly_because_a_spare_worker_is_warm(daemon):
    daemon.exec("1")
    times = []
    for _ in range(3):
        start = time.monotonic()
        daemon.call("session/restart", {})
        times.append(time.monotonic() - start)
        # the next spare is started after the restart: let it come up, as a user would
        assert daemon.exec("import os\nos.getpid()")["status"] == "ok"
    print("session/restart took %s ms" % ", ".join("%.1f" % (t * 1000) for t in times))
    assert max(times) < 2.0, times


# --------------------------------------------------------------------------- signals
def start_stubborn_workers(d):
    """Three sessions: one spinning, one stuck with SIGINT blocked, one that started a child
    process. Returns (worker pids, child pid)."""
    d.call("session/open", {"session": "busy"})
    d.call("session/open", {"session": "stuck"})
    spin = d.request("exec", {"code": "print('begin', flush=True)\nwhile True: pass",
                              "session": "busy"})
    stuck = d.request("exec", {"code": (
        "import signal, time\n"
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})\n"
        "print('begin', flush=True)\n"
        "time.sleep(60)\n"), "session": "stuck"})
    child = int(result_text(d.exec("import subprocess\n"
                                   "p = subprocess.Popen(['sleep', '60'])\np.pid")))
    wait_begin(d, spin)
    wait_begin(d, stuck)
    assert pid_alive(child)
    workers = set(d.session_pids()) | set(d.remember_children())
    assert len(workers) >= 3, workers
    return workers, child


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_a_signal_ends_the_daemon_and_every_worker_within_1_s_leaving_no_zombie(daemon, sig):
    workers, child = start_stubborn_workers(daemon)
    start = time.monotonic()
    daemon.kill(getattr(signal, sig))
    daemon.wait_exit(5)
    all_gone = wait_until(lambda: all(gone(p) for p in workers), 1.0)
    took = time.monotonic() - start
    print("%s: daemon and workers gone after %.1f ms" % (sig, took * 1000))
    assert all_gone, {p: proc_state(p) for p in workers}
    assert took < 1.0, took


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_a_child_process_of_user_code_ends_with_the_daemon(daemon, sig):
    workers, child = start_stubborn_workers(daemon)
    daemon.kill(getattr(signal, sig))
    daemon.wait_exit(5)
    # the child's parent (the worker) is gone: a zombie left for init to reap counts as ended
    assert wait_until(lambda: not pid_alive(child), 1.0), \
        "the child process %d outlived the daemon (%s)" % (child, proc_state(child))
