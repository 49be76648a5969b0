"""Event loops: the asyncio loop lives between execs (tasks keep running, asyncio.run works in
plain code, servers stay up, context variables persist), syncInLoop, the Trio backend (one run,
a session nursery), who owns output, and output flow with a slow client."""

from __future__ import annotations

import os
import threading
import time

import pytest

from client import result_text, rss_kib, texec, wait_until

TICKER = (
    "import asyncio, sys, time\n"
    "async def ticker():\n"
    "    i = 0\n"
    "    while True:\n"
    "        print('tick %d %.6f' % (i, time.monotonic()), flush=True)\n"
    "        i += 1\n"
    "        await asyncio.sleep(0.05)\n"
    "sys._e2e_ticker = asyncio.create_task(ticker())\n"  # tasks are weakly held by asyncio
    "await asyncio.sleep(0)\n"
)


def wait_begin(d, rid, timeout=15.0):
    d.wait_notification("output", lambda p: p["requestId"] == rid and "begin" in p["text"],
                        timeout=timeout)


def ticks(d, since=0):
    """(params, i, t) of every tick line of the ticker, from message index since on."""
    out = []
    for p in d.notifications("output", lambda p: p["text"].startswith("tick "), since=since):
        for line in p["text"].splitlines():
            _, i, t = line.split()
            out.append((p, int(i), float(t)))
    return out


def marks(d, rid):
    """{'name': time} of the 'name <monotonic>' lines an exec printed."""
    found = {}
    for line in d.outputs(rid).splitlines():
        name, _, t = line.partition(" ")
        found[name] = float(t)
    return found


def wait_tick_after(d, t, timeout=5.0):
    """Wait for a tick printed (by the worker's clock) after t."""
    return d.wait_notification(
        "output", lambda p: p["text"].startswith("tick ") and
        any(float(line.split()[2]) > t for line in p["text"].splitlines()), timeout=timeout)


# --------------------------------------------------------------------------- asyncio
def test_a_task_keeps_running_while_idle_pauses_during_sync_code_and_runs_during_awaits(daemon):
    a = daemon.request("exec", {"code": TICKER})
    ra = daemon.wait_result(a)
    assert ra["status"] == "ok", ra
    answered = daemon.index()
    # idle: it goes on
    daemon.wait_notification("output", lambda p: p["text"].startswith("tick 3 "), since=answered)
    # a sync exec: the loop does not run while it sleeps, and runs again after
    b = daemon.request("exec", {"code": "print('start %.6f' % time.monotonic(), flush=True)\n"
                                        "time.sleep(0.3)\n"
                                        "print('end %.6f' % time.monotonic(), flush=True)\n"})
    assert daemon.wait_result(b)["status"] == "ok"
    sync = marks(daemon, b)
    wait_tick_after(daemon, sync["end"])
    during = [i for _, i, t in ticks(daemon) if sync["start"] < t < sync["end"]]
    assert during == [], "the loop ran during a sync exec: ticks %s" % during
    # an exec that awaits: the loop runs, the task with it
    c = daemon.request("exec", {"code": "print('start %.6f' % time.monotonic(), flush=True)\n"
                                        "await asyncio.sleep(0.3)\n"
                                        "print('end %.6f' % time.monotonic(), flush=True)\n"})
    assert daemon.wait_result(c)["status"] == "ok"
    awaiting = marks(daemon, c)
    during = [i for _, i, t in ticks(daemon) if awaiting["start"] < t < awaiting["end"]]
    assert len(during) >= 3, "only ticks %s during a 0.3 s await" % during
    # long after A answered, every tick is still A's output
    later = wait_tick_after(daemon, awaiting["end"] + 0.2)
    everything = ticks(daemon)
    assert len(everything) >= 10
    assert {(p["requestId"], p["execCount"]) for p, _, _ in everything} == \
        {(a, ra["execCount"])}, later
    assert [i for _, i, _ in everything] == list(range(len(everything)))


def test_asyncio_run_in_plain_code_returns_its_value_and_the_loop_goes_on(daemon):
    daemon.exec(TICKER)
    r = daemon.exec("async def coro():\n"
                    "    await asyncio.sleep(0.01)\n"
                    "    return 'from asyncio.run'\n"
                    "asyncio.run(coro())")
    assert r["awaited"] is False
    assert result_text(r) == "'from asyncio.run'"
    after = float(result_text(daemon.exec("time.monotonic()")))
    wait_tick_after(daemon, after)  # the session's loop still runs its task
    assert result_text(daemon.exec("sys._e2e_ticker.done()")) == "False"


def test_a_server_started_by_one_exec_is_reached_by_a_later_one(daemon):
    r = daemon.exec(
        "import asyncio\n"
        "async def handle(reader, writer):\n"
        "    line = await reader.readline()\n"
        "    writer.write(b'echo ' + line)\n"
        "    await writer.drain()\n"
        "    writer.close()\n"
        "server = await asyncio.start_server(handle, '127.0.0.1', 0)\n"
        "port = server.sockets[0].getsockname()[1]\n")
    assert r["status"] == "ok", r
    daemon.exec("x = 1")  # a plain exec in between: the server stays
    r = daemon.exec("reader, writer = await asyncio.open_connection('127.0.0.1', port)\n"
                    "writer.write(b'hello\\n')\n"
                    "await writer.drain()\n"
                    "(await asyncio.wait_for(reader.readline(), 5)).decode()\n")
    assert result_text(r) == repr("echo hello\n")


def test_the_running_loop_is_the_same_object_in_every_exec(daemon):
    daemon.exec("import asyncio\nawait asyncio.sleep(0)\nfirst = asyncio.get_running_loop()")
    daemon.exec("x = 1")
    r = daemon.exec("await asyncio.sleep(0)\nasyncio.get_running_loop() is first")
    assert result_text(r) == "True"
    r = daemon.exec("import threading\n"
                    "async def probe():\n"
                    "    return asyncio.get_running_loop()\n"
                    "(await probe()) is first, asyncio.get_event_loop() is first")
    assert result_text(r) == "(True, True)"


@pytest.mark.parametrize("setter,reader", [("sync", "sync"), ("sync", "await"),
                                           ("await", "sync"), ("await", "await")])
def test_a_context_variable_set_in_one_exec_is_seen_in_the_next(daemon, setter, reader):
    daemon.exec("import asyncio, contextvars\n"
                "cv = contextvars.ContextVar('cv', default='unset')")
    prefix = {"sync": "", "await": "await asyncio.sleep(0)\n"}
    assert daemon.exec(prefix[setter] + "cv.set('set by %s')\nNone" % setter)["status"] == "ok"
    r = daemon.exec(prefix[reader] + "cv.get()")
    assert result_text(r) == repr("set by %s" % setter)


# --------------------------------------------------------------------------- syncInLoop
def maps_asyncio(pid):
    try:
        with open("/proc/%d/maps" % pid) as f:
            return "_asyncio.cpython" in f.read()
    except OSError:
        return False


def open_sync_in_loop(d, name="s"):
    """Open a syncInLoop session on a warm spare worker that has imported asyncio already
    (it works on a new worker too: see the next test)."""
    d.exec("1")  # the default session takes the first spare; the next one warms up
    spares = set(d.children()) - set(d.session_pids())
    assert wait_until(lambda: any(maps_asyncio(p) for p in spares), 10.0), spares
    r = d.call("session/open", {"session": name, "syncInLoop": True})
    assert r["backend"] == "asyncio"
    return r


@pytest.mark.parametrize("how", ["no spare worker", "own env"])
def test_a_sync_in_loop_session_opens_on_a_new_worker(spawn, how):
    d = spawn(["--spares", "0"]) if how == "no spare worker" else spawn()
    params = {"session": "s", "syncInLoop": True}
    if how == "own env":
        params["env"] = {"ASYNCODE_E2E": "1"}  # a session with its own env gets a new worker
    r = d.wait_response(d.request("session/open", params))
    assert "result" in r, r
    assert result_text(d.exec("import asyncio\nasyncio.get_running_loop().is_running()",
                              session="s")) == "True"


def test_sync_in_loop_runs_plain_code_inside_the_running_loop(daemon):
    open_sync_in_loop(daemon)
    r = daemon.exec("import asyncio\nloop = asyncio.get_running_loop()\nloop.is_running()",
                    session="s")
    assert result_text(r) == "True"
    assert r["awaited"] is False
    r = daemon.exec("async def five():\n"
                    "    await asyncio.sleep(0)\n"
                    "    return 5\n"
                    "task = asyncio.create_task(five())\n"
                    "type(task).__name__", session="s")
    assert result_text(r) == "'Task'"
    assert result_text(daemon.exec("await task", session="s")) == "5"
    assert result_text(daemon.exec("asyncio.get_running_loop() is loop", session="s")) == "True"


def test_sync_in_loop_makes_asyncio_run_fail(daemon):
    open_sync_in_loop(daemon)
    r = daemon.exec("import asyncio\n"
                    "async def f():\n"
                    "    return 1\n"
                    "coro = f()\n"
                    "try:\n"
                    "    asyncio.run(coro)\n"
                    "finally:\n"
                    "    coro.close()\n", session="s")
    assert r["status"] == "error", r
    assert r["error"]["type"] == "RuntimeError", r["error"]
    assert "running event loop" in r["error"]["message"], r["error"]
    # while the default session (no syncInLoop) runs it fine
    r = daemon.exec("import asyncio\nasync def f():\n    return 1\nasyncio.run(f())")
    assert result_text(r) == "1"


# --------------------------------------------------------------------------- trio
def test_the_trio_token_is_the_same_in_every_exec(trio_session):
    d = trio_session
    texec(d, "import trio\nawait trio.sleep(0)\ntoken = trio.lowlevel.current_trio_token()")
    texec(d, "x = 1")
    r = texec(d, "await trio.sleep(0)\ntrio.lowlevel.current_trio_token() is token")
    assert result_text(r) == "True"
    r = texec(d, "async def probe():\n"
                 "    return trio.lowlevel.current_trio_token()\n"
                 "(await probe()) is token")
    assert result_text(r) == "True"


def test_a_trio_session_has_a_nursery_without_importing_anything(trio_session):
    r = texec(trio_session, "type(nursery).__name__, hasattr(nursery, 'start_soon')")
    assert result_text(r) == "('SessionNursery', True)"


def test_a_task_started_in_the_session_nursery_outlives_its_exec(trio_session):
    d = trio_session
    rid = d.request("exec", {"session": "t", "code": (
        "import trio\n"
        "async def ticker():\n"
        "    i = 0\n"
        "    while True:\n"
        "        print('trio tick', i, flush=True)\n"
        "        i += 1\n"
        "        await trio.sleep(0.05)\n"
        "nursery.start_soon(ticker)\n"
        "await trio.sleep(0)\n")})
    res = d.wait_result(rid)
    assert res["status"] == "ok", res
    answered = d.index()
    d.wait_notification("output", lambda p: "trio tick 3" in p["text"], since=answered)
    assert result_text(texec(d, "await trio.sleep(0.1)\n'awaited'")) == "'awaited'"
    since = d.index()
    d.wait_notification("output", lambda p: "trio tick" in p["text"], since=since)
    owners = {(p["requestId"], p["execCount"])
              for p in d.notifications("output", lambda p: "trio tick" in p["text"])}
    assert owners == {(rid, res["execCount"])}


def test_nursery_start_soon_works_in_an_exec_that_does_not_await(trio_session):
    d = trio_session
    rid = d.request("exec", {"session": "t", "code": (
        "import trio\n"
        "async def hello():\n"
        "    print('hello from the nursery', flush=True)\n"
        "nursery.start_soon(hello)\n")})
    assert d.wait_result(rid)["status"] == "ok", d.wait_result(rid)
    d.wait_notification("output", lambda p: "hello from the nursery" in p["text"], timeout=5)


def test_a_failing_nursery_task_prints_its_traceback_and_the_session_goes_on(trio_session):
    d = trio_session
    rid = d.request("exec", {"session": "t", "code": (
        "import trio\n"
        "async def bad():\n"
        "    await trio.sleep(0.01)\n"
        "    raise ValueError('boom in a task')\n"
        "nursery.start_soon(bad)\n"
        "await trio.sleep(0)\n")})
    assert d.wait_result(rid)["status"] == "ok"
    err = d.wait_notification("output", lambda p: p["stream"] == "stderr"
                              and "boom in a task" in p["text"], timeout=5)
    assert "ValueError" in err["text"] and "Traceback" in err["text"], err
    assert result_text(texec(d, "await trio.sleep(0.01)\n6 * 7")) == "42"
    assert result_text(texec(d, "1 + 1")) == "2"
    assert result_text(texec(d, "type(nursery).__name__")) == "'SessionNursery'"


def test_trio_run_works_in_a_plain_exec_of_a_trio_session(trio_session):
    r = texec(trio_session, "import trio\n"
                            "async def f(x):\n"
                            "    await trio.sleep(0.01)\n"
                            "    return x * 2\n"
                            "trio.run(f, 21)")
    assert r["awaited"] is False
    assert result_text(r) == "42"
    assert result_text(texec(trio_session, "await trio.sleep(0)\n'still'")) == "'still'"


def test_interrupting_an_await_in_trio_cancels_it(trio_session):
    d = trio_session
    texec(d, "import trio")
    rid = d.request("exec", {"session": "t", "code": (
        "async def announce():\n"
        "    print('begin', flush=True)\n"
        "nursery.start_soon(announce)\n"  # runs once the exec sleeps
        "await trio.sleep(30)\n")})
    wait_begin(d, rid)
    ir = d.call("interrupt", {"session": "t"})
    res = d.wait_result(rid, timeout=5)
    assert ir == {"interrupted": True, "how": "cancelled"}, ir
    assert res["status"] == "interrupted", res
    assert result_text(texec(d, "await trio.sleep(0)\n1")) == "1"


def test_interrupting_a_spinning_trio_exec_raises_keyboard_interrupt(trio_session):
    d = trio_session
    texec(d, "import trio")
    rid = d.request("exec", {"session": "t", "code": (
        "await trio.sleep(0)\nprint('begin', flush=True)\nwhile True: pass\n")})
    wait_begin(d, rid)
    ir = d.call("interrupt", {"session": "t"})
    res = d.wait_result(rid, timeout=5)
    assert ir == {"interrupted": True, "how": "keyboardInterrupt"}, ir
    assert res["status"] == "interrupted" and res["error"]["type"] == "KeyboardInterrupt", res
    assert result_text(texec(d, "await trio.sleep(0)\n2")) == "2"


def test_awaiting_asyncio_in_a_trio_session_is_an_error_and_the_session_goes_on(trio_session):
    r = texec(trio_session, "import asyncio\nawait asyncio.sleep(0)")
    assert r["status"] == "error", r
    assert result_text(texec(trio_session, "import trio\nawait trio.sleep(0)\n3")) == "3"


# --------------------------------------------------------------------------- who owns output
def test_a_thread_started_by_user_code_prints_with_request_id_null(daemon):
    rid = daemon.request("exec", {"code": (
        "import threading\n"
        "t = threading.Thread(target=lambda: print('from a thread', flush=True))\n"
        "t.start()\n"
        "t.join()\n")})
    assert daemon.wait_result(rid)["status"] == "ok"
    out = daemon.wait_notification("output", lambda p: "from a thread" in p["text"])
    assert out["requestId"] is None and out["execCount"] is None, out
    assert "from a thread" not in daemon.outputs(rid)


def test_fd_level_output_of_a_thread_while_no_exec_runs_has_request_id_null(daemon):
    rid = daemon.request("exec", {"code": (
        "import os, threading, time\n"
        "def later():\n"
        "    time.sleep(0.3)\n"
        "    os.write(1, b'written later at the fd level\\n')\n"
        "threading.Thread(target=later).start()\n")})
    assert daemon.wait_result(rid)["status"] == "ok"
    out = daemon.wait_notification("output", lambda p: "written later" in p["text"])
    assert out["requestId"] is None and out["execCount"] is None, out
    assert out["stream"] == "stdout"


def test_an_execs_own_output_always_arrives_before_its_answer(daemon):
    for _ in range(5):
        rid = daemon.request("exec", {"code": (
            "import os, subprocess, sys, asyncio\n"
            "print('python', flush=True)\n"
            "sys.stderr.write('stderr\\n')\n"
            "os.write(1, b'fd\\n')\n"
            "subprocess.run(['echo', 'child'])\n"
            "await asyncio.sleep(0)\n"
            "print('after await', end='')\n")})
        daemon.wait_result(rid)
        answer = daemon.position(lambda m: m.get("id") == rid and "method" not in m)
        mine = [i for i, m in enumerate(daemon.messages)
                if m.get("method") == "output" and m["params"]["requestId"] == rid]
        assert mine and max(mine) < answer
        assert daemon.outputs(rid) == "python\nfd\nchild\nafter await"
        assert daemon.outputs(rid, "stderr") == "stderr\n"


# --------------------------------------------------------------------------- flow
@pytest.mark.slow
def test_20_mb_printed_to_a_slow_client_arrive_complete_while_the_daemon_stays_small(daemon,
                                                                                        tmp_path):
    done = tmp_path / "done"
    lines = 200_000  # 100 bytes each
    daemon.exec("1")
    peak = [rss_kib(daemon.pid)]
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            try:
                peak[0] = max(peak[0], rss_kib(daemon.pid))
            except OSError:
                return
            stop.wait(0.01)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        daemon.pause_reading()
        rid = daemon.request("exec", {"code": (
            "import sys\n"
            "for i in range(%d):\n"
            "    sys.stdout.write('%%08d %%s\\n' %% (i, 'y' * 90))\n"
            "open(%r, 'w').close()\n" % (lines, str(done)))})
        # the client does not read for a second: the user code must block meanwhile
        time.sleep(1.0)
        blocked = not done.exists()
        daemon.resume_reading()
        res = daemon.wait_result(rid, timeout=120)
    finally:
        daemon.resume_reading()
        stop.set()
        watcher.join(5)
    assert res["status"] == "ok", res
    assert blocked, "20 MB were written while the client read nothing: the daemon buffered all"
    text = daemon.outputs(rid)
    got = text.split("\n")
    assert got[-1] == ""
    assert len(got) - 1 == lines
    assert got[-2] == "%08d %s" % (lines - 1, "y" * 90)
    assert all(line.startswith("%08d " % i) for i, line in enumerate(got[:-1]))
    print("daemon VmRSS peak %.1f MB while 20 MB went through" % (peak[0] / 1024))
    if "ASAN_OPTIONS" not in os.environ:  # under ASan, RSS is its shadow memory and quarantine
        assert peak[0] < 100 * 1024, peak[0]
