"""The default session: opened on first use, listed by session/list, reported by `status`."""

from __future__ import annotations


def worker_pid(d):
    return int(d.exec("import os\nos.getpid()")["result"]["text/plain"])


def test_no_session_exists_before_first_use(daemon):
    assert daemon.call("session/list") == {"sessions": []}


def test_the_default_session_opens_on_the_first_exec_with_backend_asyncio(daemon):
    pid = worker_pid(daemon)
    assert daemon.call("session/list") == {"sessions": [
        {"session": "default", "pid": pid, "backend": "asyncio", "state": "idle"}]}


def test_an_exec_naming_the_default_session_uses_the_same_session(daemon):
    daemon.exec("marker = 'here'")
    r = daemon.exec("marker", session="default")
    assert r["result"]["text/plain"] == "'here'"
    assert len(daemon.call("session/list")["sessions"]) == 1


def test_an_exec_naming_an_unknown_session_is_refused(daemon):
    err = daemon.wait_error(daemon.request("exec", {"code": "1", "session": "nope"}))
    assert err["code"] == -32602, err
    assert "nope" in err["message"]
    assert daemon.call("session/list") == {"sessions": []}


def test_the_default_session_is_reported_starting_then_busy_then_idle(daemon):
    rid = daemon.request("exec", {"code": "import os\nos.getpid()"})
    res = daemon.wait_result(rid)
    pid = int(res["result"]["text/plain"])
    answer = daemon.position(lambda m: m.get("id") == rid)
    states = [(p["state"], p.get("pid")) for p in daemon.notifications("status")
              if p["session"] == "default"]
    assert states and states[0] == ("starting", pid), states
    assert all(pp == pid for _, pp in states), states
    before_answer = [m["params"]["state"] for m in daemon.messages[:answer]
                     if m.get("method") == "status"]
    assert before_answer[-1] == "busy", before_answer
    daemon.wait_notification("status", lambda p: p["state"] == "idle", since=answer)


def test_each_exec_turns_the_session_busy_then_idle(daemon):
    pid = worker_pid(daemon)
    daemon.wait_notification("status", lambda p: p["state"] == "idle")
    since = daemon.index()
    rid = daemon.request("exec", {"code": "2"})
    daemon.wait_result(rid)
    answer = daemon.position(lambda m: m.get("id") == rid)
    busy = daemon.wait_notification("status", lambda p: p["state"] == "busy", since=since)
    assert busy == {"session": "default", "state": "busy", "pid": pid}
    busy_at = daemon.position(lambda m: m.get("method") == "status"
                              and m["params"]["state"] == "busy", since=since)
    assert busy_at < answer
    idle = daemon.wait_notification("status", lambda p: p["state"] == "idle", since=answer)
    assert idle == {"session": "default", "state": "idle", "pid": pid}


def test_session_list_shows_busy_while_an_exec_runs(daemon):
    rid = daemon.request("exec", {"code": "print('begin', flush=True)\nwhile True: pass"})
    daemon.wait_notification("output", lambda p: p["requestId"] == rid and "begin" in p["text"])
    [s] = daemon.call("session/list")["sessions"]
    assert s["state"] == "busy"
    assert daemon.call("interrupt", {})["interrupted"] is True
    assert daemon.wait_result(rid)["status"] == "interrupted"
    [s] = daemon.call("session/list")["sessions"]
    assert s["state"] == "idle"


def test_execs_of_one_session_run_one_at_a_time_in_order(daemon):
    ids = [daemon.request("exec", {"code": "import time\nlog = globals().setdefault('log', [])\n"
                                           "log.append(%d)\ntime.sleep(0.01)\nlog.append(%d)" % (i, i)})
           for i in range(5)]
    for rid in ids:
        assert daemon.wait_result(rid)["status"] == "ok"
    assert daemon.exec("log")["result"]["text/plain"] == str([i for i in range(5) for _ in (0, 1)])
    answers = [daemon.position(lambda m, rid=rid: m.get("id") == rid) for rid in ids]
    assert answers == sorted(answers)
