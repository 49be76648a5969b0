"""A worker that dies under an exec: the exec fails with WorkerDied, a `dead` status is sent, and
the session comes back by itself in a new process with an empty namespace."""

from __future__ import annotations

import os
import re
import signal

import pytest

from client import pid_alive, wait_until

CRASHES = {
    "os._exit": ("import os\nos._exit(3)", r"\bcode 3\b"),
    "SIGKILL": ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
                r"\bsignal 9\b|SIGKILL"),
    "segfault": ("import ctypes\nctypes.string_at(0)", r"\bsignal 11\b|SIGSEGV"),
}


def worker_pid(d):
    return int(d.exec("import os\nos.getpid()")["result"]["text/plain"])


@pytest.mark.parametrize("how", sorted(CRASHES))
def test_a_dying_worker_fails_its_exec_with_worker_died_saying_how(daemon, how):
    code, pattern = CRASHES[how]
    worker_pid(daemon)
    r = daemon.exec(code)
    assert r["status"] == "error", r
    assert r["error"]["type"] == "WorkerDied", r
    assert re.search(pattern, r["error"]["message"]), r["error"]["message"]
    assert "result" not in r


@pytest.mark.parametrize("how", sorted(CRASHES))
def test_a_dying_worker_is_reported_dead_and_replaced_by_a_new_process(daemon, how):
    old = worker_pid(daemon)
    daemon.exec("x = 'old namespace'")
    rid = daemon.request("exec", {"code": CRASHES[how][0]})
    daemon.wait_result(rid)
    dead = daemon.wait_notification("status", lambda p: p["state"] == "dead")
    assert dead["session"] == "default" and dead.get("pid") == old, dead
    assert wait_until(lambda: not pid_alive(old), 2.0), "the dead worker %d is still alive" % old
    new = worker_pid(daemon)
    assert new != old
    r = daemon.exec("x")
    assert r["status"] == "error" and r["error"]["type"] == "NameError", r
    [s] = daemon.call("session/list")["sessions"]
    assert (s["pid"], s["state"]) == (new, "idle")


def test_a_worker_that_dies_in_the_first_exec_of_a_session_is_restarted_like_any_other(spawn):
    # repeated in fresh daemons so that a race shows
    for _ in range(3):
        d = spawn()
        r = d.exec("import os\nos._exit(3)")
        assert r["error"]["type"] == "WorkerDied"
        assert re.search(r"\bcode 3\b", r["error"]["message"]), r["error"]
        assert r["execCount"] == 1, r
        d.wait_notification("status", lambda p: p["state"] == "dead")
        # the session restarts by itself: it is listed, with a new worker, without a new exec
        sessions = d.call("session/list")["sessions"]
        assert [s["session"] for s in sessions] == ["default"], sessions
        d.close()


def test_a_worker_killed_from_outside_while_idle_is_reported_dead_and_replaced(daemon):
    old = worker_pid(daemon)
    os.kill(old, signal.SIGKILL)
    dead = daemon.wait_notification("status", lambda p: p["state"] == "dead")
    assert dead.get("pid") == old
    new = worker_pid(daemon)
    assert new != old


def test_the_exec_count_of_a_crashed_exec_is_its_own(spawn):
    # repeated (4 crashes per daemon, under the crash-loop limit) so that a race shows
    for _ in range(2):
        d = spawn()
        for _ in range(4):
            assert d.exec("1")["execCount"] == 1
            assert d.exec("2")["execCount"] == 2
            r = d.exec("import os\nos._exit(1)")
            assert r["error"]["type"] == "WorkerDied"
            assert r["execCount"] == 3, r
        d.close()


def test_output_flushed_before_the_worker_exits_is_not_lost(daemon):
    daemon.exec("1")
    daemon.exec("import os, sys\nprint('last words', flush=True)\n"
                "sys.stderr.write('on stderr\\n'); sys.stderr.flush()\nos._exit(3)")
    rid = daemon.last_exec_id
    assert daemon.outputs(rid) == "last words\n", daemon.notifications("output")
    assert daemon.outputs(rid, "stderr") == "on stderr\n", daemon.notifications("output")


def test_an_exec_queued_behind_a_crash_runs_on_the_new_worker(daemon):
    old = worker_pid(daemon)
    crash = daemon.request("exec", {"code": "import os, time\nprint('begin', flush=True)\n"
                                            "time.sleep(0.1)\nos._exit(3)"})
    queued = daemon.request("exec", {"code": "import os\nos.getpid()"})
    daemon.wait_notification("output", lambda p: p["requestId"] == crash and "begin" in p["text"])
    assert not daemon.has_response(queued), "the second exec did not wait for the first"
    r1 = daemon.wait_result(crash)
    assert r1["error"]["type"] == "WorkerDied"
    r2 = daemon.wait_result(queued)
    assert r2["status"] == "ok", r2
    assert int(r2["result"]["text/plain"]) not in (old, 0)


def test_a_segfaults_python_traceback_arrives_as_stderr_output_of_the_exec(daemon):
    daemon.exec("1")
    r = daemon.exec("import ctypes\ndef crash():\n    ctypes.string_at(0)\ncrash()")
    assert r["error"]["type"] == "WorkerDied"
    rid = daemon.last_exec_id
    text = daemon.outputs(rid, "stderr")
    assert "Segmentation fault" in text, daemon.notifications("output")
    assert 'File "<cell 2>", line 3 in crash' in text, text


def test_the_session_works_normally_after_several_crashes(daemon):
    for how in sorted(CRASHES):
        assert daemon.exec(CRASHES[how][0])["error"]["type"] == "WorkerDied"
        assert daemon.exec("6 * 7")["result"]["text/plain"] == "42"
    assert len(daemon.call("session/list")["sessions"]) == 1
