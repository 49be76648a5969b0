"""The session's loop from a plain line (code without `await`): asyncio's get_running_loop(),
create_task(), all_tasks(), current_task() and get_event_loop() see the session's loop, a task
made there runs after the line and is the exec's (taskError), while asyncio.run() and another
loop's run_until_complete() keep working and the session loop's own run_until_complete() is
refused with a clear error. In a Trio session, nursery.start_soon() and CancelScope.cancel()."""

from __future__ import annotations

import pytest

from client import result_text, texec


def test_get_running_loop_on_a_plain_line_is_the_session_loop(daemon):
    daemon.exec("import asyncio\nawait asyncio.sleep(0)\nsession_loop = asyncio.get_running_loop()")
    r = daemon.exec("(asyncio.get_running_loop() is session_loop, asyncio.get_event_loop() is session_loop,\n"
                    " asyncio.get_running_loop().is_running(), asyncio.current_task())")
    assert r["awaited"] is False
    assert result_text(r) == "(True, True, True, None)"


def test_import_asyncio_and_get_running_loop_on_the_same_first_line(spawn):
    d = spawn(["--spares", "0"])  # a worker that has not imported asyncio yet
    r = d.exec("import asyncio; loop = asyncio.get_running_loop(); type(loop).__name__")
    assert r["awaited"] is False
    assert result_text(r) == "'_SessionLoop'"
    assert result_text(d.exec("await asyncio.sleep(0)\nasyncio.get_running_loop() is loop")) == "True"


def test_a_task_created_on_a_plain_line_runs_after_it_and_its_output_is_the_exec_s(daemon):
    rid = daemon.request("exec", {"code": "import asyncio, time\n"
                                          "async def later():\n"
                                          "    print('task ran', flush=True)\n"
                                          "    return 7\n"
                                          "t = asyncio.create_task(later())\n"
                                          "time.sleep(0.2)\n"  # the loop does not turn inside the line
                                          "print('line done', t.done(), t in asyncio.all_tasks(), flush=True)"})
    r = daemon.wait_result(rid)
    assert r["status"] == "ok" and r["awaited"] is False, r
    out = daemon.wait_notification("output", lambda p: "task ran" in p["text"])
    assert out["requestId"] == rid, out
    assert daemon.outputs(rid).splitlines() == ["line done False True", "task ran"]
    assert result_text(daemon.exec("t.result()")) == "7"


def test_a_task_created_on_a_plain_line_reports_its_error_as_the_exec_s_task_error(daemon):
    rid = daemon.request("exec", {"code": "import asyncio\n"
                                          "async def boom():\n"
                                          "    raise KeyError('plain-line task')\n"
                                          "asyncio.create_task(boom())\n"
                                          "None"})
    r = daemon.wait_result(rid)
    assert r["status"] == "ok" and r["awaited"] is False, r
    daemon.exec("import gc; await asyncio.sleep(0.05); gc.collect()")
    err = daemon.wait_notification("taskError", lambda p: "plain-line task" in p["error"]["message"])
    assert err["requestId"] == rid, err
    assert err["error"]["type"] == "KeyError"


def test_asyncio_run_on_a_plain_line_with_a_background_task_and_the_loop_after_it(daemon):
    daemon.exec("import asyncio\n"
                "async def forever():\n"
                "    while True:\n"
                "        await asyncio.sleep(0.01)\n"
                "bg = asyncio.create_task(forever())\n"
                "async def inner():\n"
                "    await asyncio.sleep(0.01)\n"
                "    return asyncio.get_running_loop()\n")
    r = daemon.exec("session_loop = asyncio.get_running_loop()\n"
                    "other = asyncio.run(inner())\n"
                    "(other is not session_loop, other.is_closed(), asyncio.get_running_loop() is session_loop,\n"
                    " bg.done())")
    assert result_text(r) == "(True, True, True, False)"


def test_a_new_loop_s_run_until_complete_works_on_a_plain_line(daemon):
    r = daemon.exec("import asyncio\n"
                    "async def three():\n"
                    "    await asyncio.sleep(0)\n"
                    "    return 3\n"
                    "loop2 = asyncio.new_event_loop()\n"
                    "try:\n"
                    "    value = loop2.run_until_complete(three())\n"
                    "finally:\n"
                    "    loop2.close()\n"
                    "value, asyncio.get_running_loop() is not loop2")
    assert result_text(r) == "(3, True)"


@pytest.mark.parametrize("call", ["run_until_complete(c)", "run_forever()"])
def test_running_the_session_loop_from_a_plain_line_is_a_clear_error(daemon, call):
    daemon.exec("import asyncio\nasync def f():\n    return 1\n")
    r = daemon.exec("c = f()\n"
                    "try:\n"
                    "    asyncio.get_running_loop().%s\n"
                    "finally:\n"
                    "    c.close()" % call)
    assert r["status"] == "error", r
    assert r["error"]["type"] == "RuntimeError"
    assert "runs between lines" in r["error"]["message"], r["error"]
    # the session goes on: its loop runs what awaits
    assert result_text(daemon.exec("await f()")) == "1"


def test_another_thread_on_a_plain_line_sees_no_running_loop(daemon):
    r = daemon.exec("import asyncio, threading\n"
                    "seen = []\n"
                    "def probe():\n"
                    "    try:\n"
                    "        asyncio.get_running_loop()\n"
                    "    except RuntimeError as e:\n"
                    "        seen.append(str(e))\n"
                    "th = threading.Thread(target=probe); th.start(); th.join()\n"
                    "seen")
    assert result_text(r) == "['no running event loop']"


# --------------------------------------------------------------------------- trio
def test_a_cancel_scope_of_a_task_is_cancelled_from_a_plain_line(trio_session):
    d = trio_session
    r = texec(d, "import trio\n"
                 "scope = trio.CancelScope()\n"
                 "async def sleeper():\n"
                 "    with scope:\n"
                 "        print('sleeping', flush=True)\n"
                 "        await trio.sleep_forever()\n"
                 "    print('cancelled from a plain line', flush=True)\n"
                 "nursery.start_soon(sleeper)\n"
                 "await trio.sleep(0)")
    assert r["status"] == "ok", r
    d.wait_notification("output", lambda p: "sleeping" in p["text"])
    r = texec(d, "scope.cancel()\nscope.cancel_called")
    assert r["awaited"] is False
    assert result_text(r) == "True"
    d.wait_notification("output", lambda p: "cancelled from a plain line" in p["text"])
    assert result_text(texec(d, "await trio.sleep(0)\nlen(nursery.child_tasks)")) == "0"


def test_start_soon_and_a_cancel_scope_on_one_plain_line(trio_session):
    d = trio_session
    texec(d, "import trio\n"
             "async def worker(scope):\n"
             "    with scope:\n"
             "        await trio.sleep_forever()\n"
             "    print('worker stopped', flush=True)\n")
    r = texec(d, "s = trio.CancelScope()\nnursery.start_soon(worker, s)\ns.cancel()\n'queued'")
    assert result_text(r) == "'queued'"
    d.wait_notification("output", lambda p: "worker stopped" in p["text"])
