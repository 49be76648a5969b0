"""Faults: a worker killed or crashing mid-exec, a child process of user code holding the captured
fds open, the client going away (stdin closed) mid-exec, mid-output and mid-`input`, SIGTERM to the
daemon. After each: every request the test sent is answered exactly once (while the client is
there) or the daemon exits with code 0 (when the client closed stdin), no process the test knows
about (daemon, workers, children of user code) is left, alive or zombie, 1 s after the event, and
the daemon holds as many fds as before once its session is back."""

from __future__ import annotations

import collections
import ctypes
import os
import re
import signal
import time

import pytest

from client import _id_key, gated, open_gate, wait_until

PR_SET_CHILD_SUBREAPER = 36
REQUEST_CANCELLED = -32800


# --------------------------------------------------------------------------- processes
def _set_subreaper(on: bool) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


@pytest.fixture(autouse=True, scope="module")
def reaper_of_orphans():
    """Make this process the reaper of the orphans of its descendants. The container's init does
    not reap orphans, so a child of user code that the daemon killed would stay a zombie forever
    and no test could tell "killed" from "reaped". Orphans now become our children: gone() reaps
    those it is asked about, and a zombie whose parent is the daemon or a worker still counts as
    one (nobody reaped it)."""
    _set_subreaper(True)
    yield
    _set_subreaper(False)


def stat_of(pid: int) -> tuple[str, int] | None:
    """(state letter, ppid) of a process; None when /proc/<pid> does not exist."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = data[data.rindex(b")") + 2:].split(b" ")
    return fields[0].decode(), int(fields[1])


def gone(pid: int) -> bool:
    """True when /proc/<pid> is gone. A zombie that is our own child (an orphan of a dead worker
    or daemon, which we reap as init would) is reaped here first; any other zombie is not gone."""
    st = stat_of(pid)
    if st is None:
        return True
    state, ppid = st
    if state in ("Z", "X") and ppid == os.getpid():
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return stat_of(pid) is None
    return False


def assert_gone_by(pids, deadline: float, what: str) -> None:
    """Every pid in pids is gone (no process, no zombie) by time.monotonic() == deadline."""
    pids = sorted(set(pids))
    wait_until(lambda: all(gone(p) for p in pids), max(0.0, deadline - time.monotonic()))
    left = {p: stat_of(p) for p in pids if not gone(p)}
    assert not left, "%s still there (pid: (state, ppid)) %.2f s after the deadline: %s" % (
        what, time.monotonic() - deadline, left)


def known_pids(d) -> set[int]:
    """Every worker pid the test can know of: session/list, status notifications, the daemon's
    children (the warm spare included)."""
    pids = set(d.session_pids()) if d.proc.poll() is None else set()
    pids.update(p["pid"] for p in d.notifications("status") if p.get("pid"))
    pids.update(d.remember_children())
    return pids


# --------------------------------------------------------------------------- fds
def fds_of(pid: int) -> dict[int, str]:
    out = {}
    for name in os.listdir("/proc/%d/fd" % pid):
        try:
            out[int(name)] = os.readlink("/proc/%d/fd/%s" % (pid, name))
        except FileNotFoundError:
            pass
    return out


def settled(d, workers: int = 2, timeout: float = 10.0) -> int:
    """Wait until the daemon has `workers` children (the session's and the warm spare) and a
    stable fd count; returns that count."""
    def stable():
        if len(d.children()) != workers:
            return None
        first = len(fds_of(d.pid))
        time.sleep(0.02)  # two readings apart: not in the middle of a spawn
        return first if first == len(fds_of(d.pid)) and len(d.children()) == workers else None
    n = wait_until(stable, timeout)
    assert n, "the daemon never settled at %d workers: children %s, fds %s" % (
        workers, d.children(), fds_of(d.pid))
    return n


def assert_fds_back(d, before: int, workers: int = 2) -> None:
    """Once the session is back (and the spare replaced), the daemon holds `before` fds again."""
    after = wait_until(lambda: len(d.children()) == workers and len(fds_of(d.pid)) == before
                       and len(fds_of(d.pid)), 10.0)
    assert after, "the daemon has %d fds (was %d) and children %s: %s" % (
        len(fds_of(d.pid)), before, d.children(), fds_of(d.pid))


# --------------------------------------------------------------------------- answers
def track_requests(d) -> list:
    """Record the id of every request d sends from now on (in d.sent_ids)."""
    d.sent_ids = []
    send = d.send

    def recording_send(msg):
        if isinstance(msg, dict) and "method" in msg and "id" in msg:
            d.sent_ids.append(msg["id"])
        send(msg)
    d.send = recording_send
    return d.sent_ids


def response_counts(d) -> collections.Counter:
    with d._cond:
        msgs = list(d.messages)
    return collections.Counter(_id_key(m["id"]) for m in msgs if isinstance(m, dict)
                               and "method" not in m and ("result" in m or "error" in m))


def assert_each_request_answered_once(d) -> None:
    counts = response_counts(d)
    sent = [_id_key(i) for i in d.sent_ids]
    unanswered = [k[1] for k in sent if counts[k] == 0]
    twice = {k[1]: counts[k] for k in sent if counts[k] > 1}
    unknown = [k[1] for k in counts if k not in set(sent)]
    assert not (unanswered or twice or unknown), (
        "requests never answered: %s; answered more than once: %s; answers to ids never sent: %s"
        % (unanswered, twice, unknown))


def assert_no_request_answered_twice(d) -> None:
    """For a client that went away: what the daemon still answered, it answered once."""
    counts = response_counts(d)
    sent = {_id_key(i) for i in d.sent_ids}
    twice = {k[1]: n for k, n in counts.items() if n > 1}
    unknown = [k[1] for k in counts if k not in sent]
    assert not (twice or unknown), "answered more than once: %s; answers to ids never sent: %s" % (
        twice, unknown)


@pytest.fixture
def start(spawn):
    """start(capabilities=None) -> an initialized Daemon whose requests are all tracked."""
    def _start(capabilities=None, args=()):
        d = spawn(args, initialize=False)
        track_requests(d)
        d.initialize(capabilities)
        return d
    return _start


# --------------------------------------------------------------------------- user code
def wait_output(d, rid, text, timeout=15.0) -> str:
    """Wait until the stdout of exec rid contains text; returns that stdout."""
    found = wait_until(lambda: text in d.outputs(rid), timeout)
    assert found, "no %r in the output of exec %r within %.0f s: %r\n%s" % (
        text, rid, timeout, d.outputs(rid)[-500:], d.stderr()[-2000:])
    return d.outputs(rid)


def child_pid_in(text: str) -> int:
    m = re.search(r"child (\d+)\n", text)
    assert m, "no child pid printed: %r" % text[-500:]
    return int(m.group(1))


START_CHILD = ("import os, subprocess, sys, time\n"
               "child = subprocess.Popen(['sh', '-c', 'sleep 60'])\n"
               "print('child', child.pid, flush=True)\n")


def session_pid(d) -> int:
    r = d.exec("import os\nos.getpid()")
    assert r["status"] == "ok", r
    return int(r["result"]["text/plain"])


def sync(d) -> None:
    """Return once the daemon has read everything sent before: it handles client messages in
    order, and session/list is answered by the supervisor itself."""
    d.call("session/list")


# --------------------------------------------------------------------------- worker deaths
def test_a_worker_sigkilled_mid_exec_fails_that_exec_and_the_queued_one_runs_on_a_new_worker(start):
    d = start()
    old = session_pid(d)
    fds = settled(d)
    running = d.request("exec", {"code": "import time\nprint('begin', flush=True)\ntime.sleep(30)"})
    queued = d.request("exec", {"code": "import os\nos.getpid()"})
    wait_output(d, running, "begin\n")
    sync(d)
    assert not d.has_response(queued), "the second exec did not wait for the first"
    event = time.monotonic()
    os.kill(old, signal.SIGKILL)
    r1 = d.wait_result(running, 5)
    assert time.monotonic() - event < 2.0, "WorkerDied took %.1f s" % (time.monotonic() - event)
    assert r1["status"] == "error" and r1["error"]["type"] == "WorkerDied", r1
    assert re.search(r"\bsignal 9\b", r1["error"]["message"]), r1["error"]
    r2 = d.wait_result(queued, 10)
    assert r2["status"] == "ok", r2
    new = int(r2["result"]["text/plain"])
    assert new != old and d.session_pids() == [new]
    dead = d.wait_notification("status", lambda p: p["state"] == "dead")
    assert dead.get("pid") == old, dead
    assert_gone_by([old], event + 1.0, "the killed worker")
    assert_fds_back(d, fds)
    assert d.exec("6 * 7")["result"]["text/plain"] == "42"
    assert_each_request_answered_once(d)


CRASHES = {
    "segfault": ("import ctypes\nctypes.string_at(0)", r"\bsignal 11\b"),
    "os._exit(7)": ("import os\nos._exit(7)", r"\bcode 7\b"),
}


@pytest.mark.parametrize("how", sorted(CRASHES))
def test_a_worker_crashing_in_user_code_answers_each_request_once_and_leaves_nothing_behind(
        start, tmp_path, how):
    code, pattern = CRASHES[how]
    d = start()
    old = session_pid(d)
    fds = settled(d)
    fifo = str(tmp_path / "gate")
    os.mkfifo(fifo)
    crash = d.request("exec", {"code": gated(fifo, code)})
    queued = d.request("exec", {"code": "import os\nos.getpid()"})
    wait_output(d, crash, "begin\n")
    listed = d.request("session/list")  # answered while the crash is pending
    compiled = d.request("compile", {"code": "x ="})
    assert d.wait_result(listed)["sessions"][0]["state"] == "busy"
    assert d.wait_result(compiled)["status"] == "invalid"
    event = time.monotonic()
    open_gate(fifo)
    r1 = d.wait_result(crash, 5)
    assert time.monotonic() - event < 2.0, "WorkerDied took %.1f s" % (time.monotonic() - event)
    assert r1["error"]["type"] == "WorkerDied" and re.search(pattern, r1["error"]["message"]), r1
    r2 = d.wait_result(queued, 10)
    assert r2["status"] == "ok" and int(r2["result"]["text/plain"]) != old, r2
    assert_gone_by([old], event + 1.0, "the crashed worker")
    assert_fds_back(d, fds)
    assert d.exec("6 * 7")["result"]["text/plain"] == "42"
    assert_each_request_answered_once(d)


DEATHS = ["os._exit(1)", "segfault", "SIGKILL from outside"]


@pytest.mark.parametrize("how", DEATHS)
def test_a_child_holding_the_captured_fds_neither_delays_worker_died_nor_outlives_its_worker(
        start, tmp_path, how):
    d = start()
    old = session_pid(d)
    fds = settled(d)
    fifo = str(tmp_path / "gate")
    os.mkfifo(fifo)
    ending = {"os._exit(1)": "os._exit(1)", "segfault": "import ctypes\nctypes.string_at(0)",
              "SIGKILL from outside": "time.sleep(30)"}[how]
    # the child inherits fd 1 and 2, the pipes the daemon reads the worker's output from
    rid = d.request("exec", {"code": START_CHILD + gated(fifo, ending)})
    child = child_pid_in(wait_output(d, rid, "begin\n"))
    assert stat_of(child) is not None and stat_of(child)[0] != "Z", "the child is not running"
    event = time.monotonic()
    if how == "SIGKILL from outside":
        os.kill(old, signal.SIGKILL)
    else:
        open_gate(fifo)
    r = d.wait_result(rid, 10)
    took = time.monotonic() - event
    assert r["error"]["type"] == "WorkerDied", r
    assert took < 2.0, "WorkerDied came %.1f s after the worker died" % took
    assert_gone_by([old, child], event + 1.0, "the dead worker and its child")
    assert session_pid(d) != old
    assert_fds_back(d, fds)
    assert_each_request_answered_once(d)


FDS_PER_WORKER = 4  # the daemon's ends of a worker's stdout and stderr pipes, its link and its exec lane


def assert_no_fd_leak(d, fixed: int) -> None:
    """The daemon holds its `fixed` fds plus FDS_PER_WORKER per live worker, nothing more."""
    ok = wait_until(lambda: len(fds_of(d.pid)) == fixed + FDS_PER_WORKER * len(d.children()), 10.0)
    assert ok, "the daemon has %d fds for %d workers (expected %d + %d each): %s" % (
        len(fds_of(d.pid)), len(d.children()), fixed, FDS_PER_WORKER, fds_of(d.pid))


def crash_loop(d, crashes: int):
    """Pipeline `crashes` execs that each kill their worker, and an exec behind them; wait for
    every answer."""
    ids = [d.request("exec", {"code": "import os\nos._exit(%d)" % (10 + i)}) for i in range(crashes)]
    ids.append(d.request("exec", {"code": "'after'"}))
    return [d.wait_response(rid, 30) for rid in ids]


def test_a_crash_loop_answers_every_queued_exec_once_and_leaks_no_process_or_fd(start):
    d = start()
    first = session_pid(d)
    fixed = settled(d) - FDS_PER_WORKER * 2
    results = crash_loop(d, 7)
    event = time.monotonic()
    for i, resp in enumerate(results[:5]):
        assert resp["result"]["error"]["type"] == "WorkerDied", (i, resp)
        assert re.search(r"\bcode %d\b" % (10 + i), resp["result"]["error"]["message"]), resp
    # the session is closed at last: what was queued behind is cancelled, not run
    assert "error" in results[-1] and results[-1]["error"]["code"] == REQUEST_CANCELLED, results[-1]
    assert_each_request_answered_once(d)
    assert d.call("session/list")["sessions"] == []
    workers = {p["pid"] for p in d.notifications("status") if p.get("pid")} | {first}
    assert len(workers) >= 5, workers
    assert_gone_by(workers, event + 1.0, "crashed workers")
    assert_no_fd_leak(d, fixed)
    d.call("session/open", {"session": "other"})
    assert d.exec("'again'", session="other")["result"]["text/plain"] == "'again'"
    assert_no_fd_leak(d, fixed)
    assert_each_request_answered_once(d)


def test_a_session_whose_worker_dies_five_times_within_ten_seconds_is_closed(start):
    d = start()
    results = crash_loop(d, 6)
    for i, resp in enumerate(results[:5]):
        assert resp["result"]["error"]["type"] == "WorkerDied", (i, resp)
    # closed after the fifth death: the sixth crash and the exec behind it never run
    for resp in results[5:]:
        assert "error" in resp and resp["error"]["code"] == REQUEST_CANCELLED, resp
    assert_each_request_answered_once(d)


# --------------------------------------------------------------------------- the client goes away
def assert_clean_exit_after_stdin_closed(d, event, pids):
    code = d.wait_exit(5)
    assert code == 0, "the daemon exited with %s after its stdin closed" % code
    assert time.monotonic() - event < 5.0
    assert_gone_by(pids, event + 1.0, "workers and children of user code")
    assert wait_until(lambda: d.eof, 5.0), "the daemon's stdout is still open after it exited"
    assert gone(d.pid)
    assert_no_request_answered_twice(d)


def test_closing_stdin_mid_exec_ends_the_daemon_with_0_and_the_worker_and_its_child(start):
    d = start()
    rid = d.request("exec", {"code": START_CHILD + "print('begin', flush=True)\ntime.sleep(30)"})
    child = child_pid_in(wait_output(d, rid, "begin\n"))
    pids = known_pids(d) | {child}
    event = time.monotonic()
    d.close_stdin()
    assert_clean_exit_after_stdin_closed(d, event, pids)


def test_closing_stdin_mid_output_ends_the_daemon_with_0_and_the_worker(start):
    d = start()
    rid = d.request("exec", {"code": "print('begin', flush=True)\nwhile True: print('x' * 100)"})
    wait_output(d, rid, "x" * 100 + "\n")
    pids = known_pids(d)
    event = time.monotonic()
    d.close_stdin()
    assert_clean_exit_after_stdin_closed(d, event, pids)
    assert set(d.outputs(rid)) <= set("beginx\n")


def test_closing_stdin_mid_output_while_not_reading_stdout_still_ends_the_daemon(start):
    # the client is gone for good: it neither writes nor reads; the daemon's stdout pipe is full
    d = start()
    rid = d.request("exec", {"code": "print('begin', flush=True)\nwhile True: print('x' * 100)"})
    wait_output(d, rid, "x" * 100 + "\n")
    pids = known_pids(d)
    d.pause_reading()
    event = time.monotonic()
    d.close_stdin()
    code = d.wait_exit(5)
    assert code == 0, "the daemon exited with %s after its stdin closed" % code
    assert_gone_by(pids, event + 1.0, "workers")
    # what was left in the pipe nobody reads: the end of it may be cut inside a frame
    d.resume_reading()
    assert wait_until(lambda: d.eof, 5.0)
    cut = [v for v in d.framing_violations if v.startswith("stdout ended inside a frame")]
    d.framing_violations[:] = [v for v in d.framing_violations if v not in cut]
    assert_no_request_answered_twice(d)


def test_answers_queued_for_a_slow_reader_still_reach_it_after_stdin_closes(start, tmp_path):
    # `asyncoded < requests > answers` with a reader that lags: everything the daemon answers
    # must arrive whole before it exits
    d = start()
    d.exec("1")
    marker = tmp_path / "printed"
    d.pause_reading()
    # 900 KiB of output: under the daemon's high-water mark, so the exec runs to its end while
    # the client does not read, and most of it waits in the daemon's queue
    rid = d.request("exec", {"code": "print('x' * (900 << 10))\nopen(%r, 'w').close()"
                                     % str(marker)})
    assert wait_until(marker.exists, 10.0), "the exec never printed"
    d.close_stdin()
    time.sleep(0.5)  # a reader that lags half a second (the daemon allows a client 2 s to read)
    d.resume_reading()
    assert d.wait_exit(5) == 0
    assert wait_until(lambda: d.eof, 5.0)
    # taken out of the harness's list so that teardown checks everything else as usual
    cut = list(d.framing_violations)
    d.framing_violations.clear()
    assert not cut and d.has_response(rid), \
        "exec answered: %s; stdout: %s" % (d.has_response(rid), cut)
    assert_each_request_answered_once(d)
    if "result" in d.wait_response(rid, 0):
        assert d.outputs(rid) == "x" * (900 << 10) + "\n"


def is_input_exec_count_violation(v):
    # a known daemon bug, tested (xfail) by test_interrupts.py: `input` requests carry execCount
    return "request 'input'" in v and "'execCount' was unexpected" in v


def test_an_unanswered_input_request_does_not_keep_the_daemon_when_the_client_goes_away(start):
    d = start({"input": True})
    rid = d.request("exec", {"code": "print('begin', flush=True)\ninput('name? ')"})
    ask = d.wait_request("input")
    assert ask["params"]["requestId"] == rid
    pids = known_pids(d)
    event = time.monotonic()
    d.close_stdin()
    assert_clean_exit_after_stdin_closed(d, event, pids)
    d.take_violations(is_input_exec_count_violation)


# --------------------------------------------------------------------------- SIGTERM
SIGTERM_CASES = {
    "sleeping": "print('begin', flush=True)\ntime.sleep(30)",
    "printing": "print('begin', flush=True)\nwhile True: print('x' * 100)",
}


@pytest.mark.parametrize("case", sorted(SIGTERM_CASES))
def test_sigterm_answers_every_request_once_exits_0_and_leaves_no_process(start, case):
    d = start()
    rid = d.request("exec", {"code": START_CHILD + SIGTERM_CASES[case]})
    queued = d.request("exec", {"code": "'never runs'"})
    child = child_pid_in(wait_output(d, rid, "begin\n"))
    sync(d)
    pids = known_pids(d) | {child}
    event = time.monotonic()
    d.kill(signal.SIGTERM)
    code = d.wait_exit(5)
    assert code == 0, "the daemon exited with %s on SIGTERM" % code
    assert_gone_by(pids, event + 1.0, "workers and the child of user code")
    assert wait_until(lambda: d.eof, 5.0), "the daemon's stdout is still open after it exited"
    assert gone(d.pid)
    # the client is still there: it hears about every request it sent
    assert_each_request_answered_once(d)
    for r in (rid, queued):
        assert d.wait_error(r, 0)["code"] == REQUEST_CANCELLED
