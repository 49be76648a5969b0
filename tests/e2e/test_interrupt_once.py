"""An interrupt acts once (shared/PROTOCOL.md, "Interrupt"): cleanup that catches it runs
undisturbed, a prompt loop that catches it goes on, a task holding the worker's thread gets
it while no exec runs, and only force (or no Python at all for graceMs) costs the session."""

from __future__ import annotations

from test_interrupts import interrupt, result_text, start  # noqa: F401


def test_cleanup_in_except_keyboard_interrupt_is_not_interrupted_again(daemon):
    daemon.exec("import time\ndone = []")
    rid = start(daemon, "try:\n"
                        "    print('begin', flush=True); time.sleep(30)\n"
                        "except KeyboardInterrupt:\n"
                        "    time.sleep(0.5)\n"       # five times the old re-raise interval
                        "    done.append('cleaned')\n"
                        "'finished'\n")
    ir, res, _ = interrupt(daemon, rid)
    assert ir == {"interrupted": True, "how": "keyboardInterrupt"}, ir
    assert res["status"] == "ok" and res["result"] == {"text/plain": "'finished'"}, res
    assert result_text(daemon.exec("done")) == "['cleaned']"


def test_async_cleanup_after_cancelled_error_is_not_cancelled_again(daemon):
    daemon.exec("import asyncio\ndone = []")
    rid = start(daemon, "asyncio.get_running_loop().call_soon(lambda: print('begin', flush=True))\n"
                        "try:\n"
                        "    await asyncio.sleep(30)\n"
                        "except asyncio.CancelledError:\n"
                        "    await asyncio.sleep(0.5)\n"
                        "    done.append('closed')\n"
                        "    raise\n")
    ir, res, _ = interrupt(daemon, rid)
    assert ir == {"interrupted": True, "how": "cancelled"}, ir
    assert res["status"] == "interrupted" and res["error"]["type"] == "CancelledError", res
    assert result_text(daemon.exec("done")) == "['closed']"


def test_an_input_loop_that_catches_each_interrupt_goes_on_and_keeps_the_session(spawn):
    d = spawn(initialize=False)
    d.initialize({"input": True})
    d.exec("kept = 'here'\ncaught = 0")
    rid = d.request("exec", {"code": "while True:\n"
                                     "    try:\n"
                                     "        line = input('> ')\n"
                                     "    except KeyboardInterrupt:\n"
                                     "        caught += 1\n"
                                     "        print('caught', caught, flush=True)\n"
                                     "        continue\n"
                                     "    if line == 'quit':\n"
                                     "        break\n"})
    d.wait_request("input")
    for n in (1, 2, 3):
        since = d.index()
        assert d.call("interrupt", {"graceMs": 300}) == {"interrupted": True, "how": "keyboardInterrupt"}
        d.wait_notification("output", lambda p, n=n: p["text"] == "caught %d\n" % n)
        ask = d.wait_request("input", since=since)
    d.answer_input(ask, "quit")
    assert d.wait_result(rid)["status"] == "ok"
    outputs = [m["params"]["text"] for m in d.messages if m.get("method") == "output"]
    assert "".join(outputs).count("caught") == 3, outputs
    assert result_text(d.exec("kept, caught")) == "('here', 3)"


def test_a_task_spinning_while_no_exec_runs_gets_keyboard_interrupt_and_the_session_is_kept(daemon):
    daemon.exec("import asyncio\nkept = 'here'\n"
                "async def spin():\n"
                "    await asyncio.sleep(0.1)\n"
                "    print('begin', flush=True)\n"
                "    while True: pass\n")
    rid = daemon.request("exec", {"code": "task = asyncio.create_task(spin())\nawait asyncio.sleep(0)"})
    assert daemon.wait_result(rid)["status"] == "ok"
    daemon.wait_notification("output", lambda p: p["requestId"] == rid and "begin" in p["text"])
    assert daemon.call("interrupt", {"graceMs": 5000}) == {"interrupted": True, "how": "taskInterrupted"}
    assert result_text(daemon.exec("kept, task.done(), type(task.exception()).__name__")) == \
        "('here', True, 'KeyboardInterrupt')"


def test_a_trio_nursery_task_spinning_while_no_exec_runs_gets_keyboard_interrupt_and_the_session_is_kept(daemon):
    assert daemon.call("session/open", {"session": "t", "backend": "trio"})["backend"] == "trio"
    daemon.exec("import trio\nkept = 'here'\n"
                "async def spin():\n"
                "    await trio.sleep(0.1)\n"
                "    print('begin', flush=True)\n"
                "    while True: pass\n", session="t")
    rid = daemon.request("exec", {"session": "t", "code": "nursery.start_soon(spin)\nawait trio.sleep(0)"})
    assert daemon.wait_result(rid)["status"] == "ok"
    daemon.wait_notification("output", lambda p: p["requestId"] == rid and "begin" in p["text"])
    assert daemon.call("interrupt", {"session": "t", "graceMs": 5000}) == \
        {"interrupted": True, "how": "taskInterrupted"}
    # The task ended with it (reported as its exec's taskError); the session, its namespace,
    # its Trio run and its nursery are all still there.
    error = daemon.wait_notification("taskError", lambda p: p["requestId"] == rid)
    assert error["error"]["type"] == "KeyboardInterrupt", error
    assert "while True: pass" in error["error"]["formatted"], error
    assert result_text(daemon.exec("kept, type(nursery).__name__", session="t")) == "('here', 'SessionNursery')"
    rid = daemon.request("exec", {"session": "t", "code": (
        "async def hello():\n"
        "    print('hello again', flush=True)\n"
        "nursery.start_soon(hello)\n"
        "await trio.sleep(0.01)\n")})
    assert daemon.wait_result(rid)["status"] == "ok"
    daemon.wait_notification("output", lambda p: p["requestId"] == rid and "hello again" in p["text"])
    assert not daemon.notifications("status", lambda p: p.get("session") == "t" and p["state"] == "dead")


def test_force_restarts_at_once_and_status_says_interrupt(daemon):
    daemon.exec("kept = 1")
    since = daemon.index()
    rid = start(daemon, "print('begin', flush=True)\nwhile True:\n    try:\n        pass\n"
                        "    except KeyboardInterrupt:\n        pass\n")
    ir, res, ms = interrupt(daemon, rid, force=True, graceMs=60000)
    assert ir == {"interrupted": True, "how": "restarted"}, ir
    assert res["status"] == "interrupted" and res["error"]["type"] == "WorkerDied", res
    assert ms < 3000, ms
    dead = daemon.wait_notification("status", lambda p: p["state"] == "dead", since=since)
    assert dead.get("reason") == "interrupt", dead
    assert "NameError" in daemon.exec("kept")["error"]["type"]
