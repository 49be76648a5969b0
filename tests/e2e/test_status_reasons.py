"""Revision 1: `status` says why a session's worker changed state (`reason`), and a `dead`
worker's exit code or signal, so that an editor can tell a restart from a crash."""

from __future__ import annotations

import signal

from client import wait_until


def statuses(d, since, session="default"):
    """(state, reason, exitCode, signal) of each status of the session from index since on."""
    return [(p["state"], p.get("reason"), p.get("exitCode"), p.get("signal"))
            for p in d.notifications("status", lambda p: p["session"] == session, since=since)]


def wait_idle(d, since, reason):
    return d.wait_notification("status", lambda p: p["state"] == "idle" and p.get("reason") == reason,
                               since=since)


def test_opening_a_session_says_open(daemon):
    since = daemon.index()
    daemon.call("session/open", {"session": "s1"})
    wait_idle(daemon, since, "open")
    assert statuses(daemon, since, "s1") == [("starting", "open", None, None), ("idle", "open", None, None)]


def test_busy_and_idle_of_execs_carry_no_reason(daemon):
    daemon.exec("1")
    since = daemon.index()
    daemon.exec("2")
    assert daemon.wait_notification("status", lambda p: p["state"] == "idle", since=since)
    assert statuses(daemon, since) == [("busy", None, None, None), ("idle", None, None, None)]


def test_a_restart_says_restart_on_every_status_it_causes(daemon):
    daemon.exec("x = 1")
    since = daemon.index()
    daemon.call("session/restart")
    wait_idle(daemon, since, "restart")
    assert statuses(daemon, since) == [("dead", "restart", None, None), ("starting", "restart", None, None),
                                       ("idle", "restart", None, None)]


def test_a_worker_that_exits_says_crash_and_its_exit_code(daemon):
    daemon.exec("1")
    since = daemon.index()
    assert daemon.exec("import os\nos._exit(3)")["error"]["type"] == "WorkerDied"
    wait_idle(daemon, since, "crash")
    assert statuses(daemon, since) == [("busy", None, None, None), ("dead", "crash", 3, None),
                                       ("starting", "crash", None, None), ("idle", "crash", None, None)]


def test_a_worker_killed_by_a_signal_says_its_name(daemon):
    daemon.exec("1")
    since = daemon.index()
    daemon.exec("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    dead = daemon.wait_notification("status", lambda p: p["state"] == "dead", since=since)
    assert (dead.get("reason"), dead.get("signal"), dead.get("exitCode")) == ("crash", "SIGKILL", None), dead


def test_a_worker_killed_by_the_interrupt_ladder_says_interrupt(daemon):
    daemon.exec("1")
    since = daemon.index()
    rid = daemon.request("exec", {"code": "import signal, time\n"
                                          "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})\n"
                                          "print('begin', flush=True)\n"
                                          "time.sleep(60)\n"})
    daemon.wait_notification("output", lambda p: "begin" in p["text"], since=since)
    assert daemon.call("interrupt", {"graceMs": 200}) == {"interrupted": True, "how": "restarted"}
    daemon.wait_result(rid)
    wait_idle(daemon, since, "interrupt")
    dead = [s for s in statuses(daemon, since) if s[0] == "dead"]
    assert dead == [("dead", "interrupt", None, "SIGKILL")], dead


def test_closing_a_session_says_closed(daemon):
    daemon.call("session/open", {"session": "s1"})
    since = daemon.index()
    daemon.call("session/close", {"session": "s1"})
    # The open's answer may come before its "idle" status: wait for "dead" itself.
    dead = daemon.wait_notification("status", lambda p: p["session"] == "s1" and p["state"] == "dead", since=since)
    assert dead.get("reason") == "closed", dead


def test_a_session_whose_workers_die_too_often_is_dead_with_reason_closed(daemon):
    since = daemon.index()
    for _ in range(5):
        r = daemon.exec("import os\nos.kill(os.getpid(), %d)" % signal.SIGKILL)
        assert r["error"]["type"] == "WorkerDied", r
    assert wait_until(lambda: daemon.call("session/list")["sessions"] == [], 5.0)
    last = statuses(daemon, since)[-1]
    assert last == ("dead", "closed", None, "SIGKILL"), statuses(daemon, since)
