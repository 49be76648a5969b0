#!/usr/bin/env python3
"""Benchmarks of asyncoded, each measured against a floor taken in the same run.

    cmake --build build && /usr/bin/python3 bench/bench.py [--quick] [--json FILE]

The project's rule: "Speed is a feature: tens of milliseconds to start, well under a millisecond for
a trivial exec. Measure in bench/ as ratios against a floor measured in the same run; never as timed
assertions." So this prints numbers and ratios and says whether each target is met, and its exit
status never depends on them: it is non-zero only when a benchmark could not run at all (the daemon
did not answer, answered an error, or a process had to be killed).

The floor is bench/echo_floor.c: the same frames over the same pipes, answered at once with zero work.

Adding a benchmark: write a function taking a Context and returning a list of Metric, and register
it with @benchmark("name", "what it measures"). Context.spawn() starts a server (the daemon or the
floor) as a Peer that speaks the protocol; Peer.close() shuts it down and makes sure nothing is left.
See bench/README.md.
"""
from __future__ import annotations

import argparse
import atexit
import collections
import contextlib
import dataclasses
import datetime
import json
import math
import os
import platform
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
now_ns = time.perf_counter_ns

# ---------------------------------------------------------------------------------------------
# Framing: LSP's base protocol (Content-Length headers) around JSON-RPC 2.0 bodies.


def frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def encode_request(id_: int, method: str, params=None) -> bytes:
    msg = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        msg["params"] = params
    return frame(json.dumps(msg, separators=(",", ":")).encode())


def encode_notification(method: str, params=None) -> bytes:
    msg = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        msg["params"] = params
    return frame(json.dumps(msg, separators=(",", ":")).encode())


class BenchError(Exception):
    """A benchmark could not run: no answer, an error answer, a process that would not stop."""


class FrameReader:
    """Reads frames from a pipe with os.read, parsing them incrementally as the bytes come.

    Used from one thread only (the one that times): a reply's timestamp is taken as soon as its frame
    is complete, with no hand-off between threads in between.
    """

    def __init__(self, fd: int):
        self.fd = fd
        self.buf = bytearray()
        self.pos = 0
        self.poller = select.poll()
        self.poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        self.eof = False
        self.bytes_read = 0

    def _fill(self, deadline_ns: int) -> None:
        if self.eof:
            raise BenchError("stdout closed")
        while True:
            left_ms = (deadline_ns - now_ns()) / 1e6
            if left_ms <= 0:
                raise BenchError("timed out waiting for an answer")
            if self.poller.poll(max(1, math.ceil(left_ms))):
                break
        chunk = os.read(self.fd, 1 << 18)
        if not chunk:
            self.eof = True
            raise BenchError("stdout closed")
        self.bytes_read += len(chunk)
        if self.pos == len(self.buf):
            self.buf = bytearray(chunk)
            self.pos = 0
        else:
            if self.pos > (1 << 20):
                del self.buf[: self.pos]
                self.pos = 0
            self.buf += chunk

    def next_body(self, deadline_ns: int) -> bytes:
        """The body of the next frame, waiting for it until the deadline."""
        while True:
            buf, pos = self.buf, self.pos
            end = buf.find(b"\r\n\r\n", pos)
            if end >= 0:
                header = bytes(buf[pos:end])
                if header.startswith(b"Content-Length: ") and b"\r" not in header:
                    length = int(header[16:])
                else:
                    length = -1
                    for line in header.split(b"\r\n"):
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    if length < 0:
                        raise BenchError(f"a frame without Content-Length: {header!r}")
                start = end + 4
                if len(buf) - start >= length:
                    self.pos = start + length
                    return bytes(buf[start : start + length])
            self._fill(deadline_ns)


# A successful response, as both the daemon ({"id":N,"jsonrpc":..., keys sorted}) and the floor
# ({"jsonrpc":"2.0","id":N,...}) write it: told apart without json.loads, so that the client's own
# parsing stays a small part of what the pipelined benchmark measures. Anything that does not match,
# or mentions "method" or "error" anywhere, goes through json.loads.
_FAST_RESPONSE = re.compile(rb'\{(?:"jsonrpc":"2\.0",)?"id":(-?\d+),')


@dataclasses.dataclass
class Subject:
    name: str  # "asyncoded", "floor", ...
    argv: list[str]
    log: Path  # its stderr goes here, appended


_LIVE: set["Peer"] = set()


class Peer:
    """A server spawned for a benchmark, and the client end of its pipes.

    It gets its own process group, so that close() (and the exit handler) can make sure that neither
    it nor anything it started outlives the benchmark. Its stderr goes straight to a file, so it can
    never block on a full stderr pipe.
    """

    def __init__(self, subject: Subject):
        self.subject = subject
        self.next_id = 1
        self.replies: dict[int, tuple[int, bytes, dict | None]] = {}
        self.notifications: collections.Counter[str] = collections.Counter()
        self.proc: subprocess.Popen | None = None
        self.closed = False
        with open(subject.log, "ab") as log:
            self.t_spawn = now_ns()
            try:
                self.proc = subprocess.Popen(
                    subject.argv,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    bufsize=0,
                    start_new_session=True,
                )
            except OSError as e:
                raise BenchError(f"cannot start {subject.name} ({subject.argv[0]}): {e}") from None
        _LIVE.add(self)
        self.pgid = self.proc.pid
        self.stdin_fd = self.proc.stdin.fileno()
        self.reader = FrameReader(self.proc.stdout.fileno())

    # -- sending

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                n = os.write(self.stdin_fd, view)
                view = view[n:]
        except OSError as e:
            raise BenchError(f"{self.subject.name}: cannot write to its stdin: {e}; its stderr: {self.subject.log}") from None

    def new_id(self) -> int:
        i = self.next_id
        self.next_id += 1
        return i

    def request(self, method: str, params=None) -> int:
        i = self.new_id()
        self.send(encode_request(i, method, params))
        return i

    def notify(self, method: str, params=None) -> None:
        self.send(encode_notification(method, params))

    # -- receiving

    def take_one(self, deadline_ns: int) -> tuple[int, int, bytes, dict | None] | None:
        """Reads one frame. Returns (id, t_ns, body, parsed-or-None) for a response, None otherwise."""
        try:
            body = self.reader.next_body(deadline_ns)
        except BenchError as e:
            status = self.proc.poll()
            if status is None and self.reader.eof:
                _wait_exit(self.proc, 0.2)
                status = self.proc.poll()
            how = "" if status is None else f" (it exited with status {status})"
            raise BenchError(f"{self.subject.name}: {e}{how}; its stderr: {self.subject.log}") from None
        t = now_ns()
        m = _FAST_RESPONSE.match(body)
        if m and b'"method"' not in body and b'"error"' not in body:
            return int(m.group(1)), t, body, None
        msg = json.loads(body)
        if "method" in msg:
            self.notifications[msg["method"]] += 1
            if "id" in msg:  # a request from the server (input): no benchmark asks for one
                self.send(frame(json.dumps({"jsonrpc": "2.0", "id": msg["id"],
                                            "error": {"code": -32601, "message": "not in a benchmark"}}).encode()))
            return None
        return msg.get("id"), t, body, msg

    def wait(self, id_: int, timeout: float = 15.0) -> tuple[int, dict | None, bytes]:
        """Waits for the response to request id_: (time it was read in ns, parsed message or None, body).

        An error response raises BenchError."""
        deadline = now_ns() + int(timeout * 1e9)
        while id_ not in self.replies:
            got = self.take_one(deadline)
            if got is not None:
                rid, t, body, msg = got
                self.replies[rid] = (t, body, msg)
        t, body, msg = self.replies.pop(id_)
        if msg is not None and "error" in msg:
            raise BenchError(f"{self.subject.name} answered request {id_} with an error: {msg['error']}")
        return t, msg, body

    def call(self, method: str, params=None, timeout: float = 15.0):
        t, msg, body = self.wait(self.request(method, params), timeout)
        return (msg if msg is not None else json.loads(body)).get("result")

    # -- stopping

    def close(self, graceful: bool = True, timeout: float = 5.0) -> float | None:
        """Stops the server: shutdown, then exit, then waits; kills its whole process group when any
        of that does not happen in time. Returns the ms from sending shutdown to the process having
        exited when it went gracefully, else None. Raises BenchError when something had to be killed."""
        if self.closed:
            return None
        self.closed = True
        problem = None
        took = None
        try:
            if graceful and self.proc.poll() is not None:
                problem = f"{self.subject.name} had exited by itself, with status {self.proc.returncode}"
            elif graceful:
                try:
                    t0 = now_ns()
                    i = self.request("shutdown")
                    self.wait(i, timeout)
                    self.notify("exit")
                    self.proc.stdin.close()
                    if _wait_exit(self.proc, timeout):
                        took = (now_ns() - t0) / 1e6
                        if self.proc.returncode != 0:
                            problem = f"{self.subject.name} exited with status {self.proc.returncode} after shutdown"
                    else:
                        problem = f"{self.subject.name} did not exit within {timeout} s of shutdown + exit"
                except (BenchError, OSError) as e:
                    problem = f"{self.subject.name} did not shut down cleanly: {e}"
        finally:
            leftover = _stop_group(self.proc, self.pgid)
            for f in (self.proc.stdin, self.proc.stdout):
                try:
                    f.close()
                except OSError:
                    pass
            _LIVE.discard(self)
        if leftover and not problem:
            problem = f"{self.subject.name} left {leftover} process(es) behind after exiting; killed them"
        if problem and graceful:
            raise BenchError(problem)
        return took

    def __enter__(self) -> "Peer":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # After a failure, kill rather than wait through shutdown timeouts.
        self.close(graceful=exc_type is None)


def _wait_exit(proc: subprocess.Popen, timeout: float) -> bool:
    """Waits for proc to exit, woken by a pidfd rather than by Popen.wait's sleeping poll loop."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        try:
            proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    try:
        p = select.poll()
        p.register(fd, select.POLLIN)
        if not p.poll(int(timeout * 1000)):
            return False
    finally:
        os.close(fd)
    proc.wait()
    return True


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group pgid."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if fields[0] != b"Z" and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


def _stop_group(proc: subprocess.Popen, pgid: int) -> int:
    """Makes sure proc and every process of its group is gone. Returns how many group members were
    still alive a second after proc itself had exited (0 when proc had to be killed)."""
    killed_leader = False
    if proc.poll() is None:
        killed_leader = True
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    # Workers die with their parent (PR_SET_PDEATHSIG), a few microseconds later: give them a second.
    deadline = time.monotonic() + 1.0
    members = _group_members(pgid)
    while members and time.monotonic() < deadline:
        time.sleep(0.002)
        members = _group_members(pgid)
    if members:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return 0 if killed_leader else len(members)


def _kill_everything() -> None:
    for peer in list(_LIVE):
        try:
            peer.close(graceful=False)
        except Exception:  # noqa: BLE001 - at exit, kill what can be killed
            pass


atexit.register(_kill_everything)


def _on_sigterm(signum, frame_):
    raise SystemExit(128 + signum)  # unwinds through every finally, closing the peers


# ---------------------------------------------------------------------------------------------
# Numbers


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "median": statistics.median(values),
        "p90": percentile(values, 90),
        "mean": statistics.fmean(values),
        "min": min(values),
        "max": max(values),
        "stdev": statistics.stdev(values) if len(values) > 1 else 0.0,
    }


@dataclasses.dataclass
class Target:
    kind: str  # "max": the subject's median at most `value` (in the metric's unit); "ratio": median ratio at most `value`
    value: float
    text: str  # as printed

    def met(self, metric: "Metric") -> bool | None:
        if self.kind == "max":
            m = metric.median(metric.subject)
            return None if m is None else m <= self.value
        r = metric.ratio()
        return None if r is None else r <= self.value


@dataclasses.dataclass
class Metric:
    key: str  # stable name, for --json
    label: str  # as printed
    unit: str  # "ms", "µs"
    samples: dict[str, list[float]]  # subject name -> samples, in `unit`
    subject: str = "asyncoded"
    baseline: str = "floor"
    target: Target | None = None
    extra: dict = dataclasses.field(default_factory=dict)

    def median(self, who: str) -> float | None:
        v = self.samples.get(who)
        return statistics.median(v) if v else None

    def ratio(self) -> float | None:
        a, b = self.median(self.subject), self.median(self.baseline)
        return a / b if a is not None and b else None

    def to_json(self) -> dict:
        met = self.target.met(self) if self.target else None
        return {
            "key": self.key,
            "label": self.label,
            "unit": self.unit,
            "subject": self.subject,
            "baseline": self.baseline,
            "stats": {who: summary(v) for who, v in self.samples.items()},
            "ratio": self.ratio(),
            "target": dataclasses.asdict(self.target) if self.target else None,
            "met": met,
            "extra": self.extra,
            "samples": self.samples,
        }


# ---------------------------------------------------------------------------------------------
# The registry


@dataclasses.dataclass
class Context:
    daemon: Subject
    floor: Subject
    quick: bool
    log: Callable[[str], None]  # progress, to stderr
    notes: list[str] = dataclasses.field(default_factory=list)  # printed under the table

    def reps(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def spawn(self, subject: Subject) -> Peer:
        return Peer(subject)

    def pairs(self, n: int, block: int = 1):
        """(i, subject) for n rounds of daemon and floor, alternating which goes first (ABBA), so that
        drifting machine load falls on both alike. With block > 1 each subject gets `block`
        consecutive turns, so that what one server still does after its answer (the daemon's idle
        notification) does not land in the other's measurement."""
        for i in range(n):
            order = (self.daemon, self.floor) if i % 2 == 0 else (self.floor, self.daemon)
            for s in order:
                for _ in range(block):
                    yield i, s


@dataclasses.dataclass
class Benchmark:
    name: str
    description: str
    func: Callable[[Context], list[Metric]]


BENCHMARKS: list[Benchmark] = []


def benchmark(name: str, description: str):
    def register(func: Callable[[Context], list[Metric]]):
        BENCHMARKS.append(Benchmark(name, description, func))
        return func

    return register


INITIALIZE = {"clientInfo": {"name": "asyncoded-bench"}}


def check_exec_result(peer: Peer, msg: dict | None, body: bytes, expect_text: str | None) -> None:
    if peer.subject.name != "asyncoded":
        return
    result = (msg if msg is not None else json.loads(body))["result"]
    if result.get("status") != "ok":
        raise BenchError(f"exec did not succeed: {result}")
    if expect_text is not None and result.get("result", {}).get("text/plain") != expect_text:
        raise BenchError(f"exec gave {result.get('result')}, not {expect_text!r}")


# ---------------------------------------------------------------------------------------------
# The benchmarks


@benchmark("startup", "spawn → first reply (initialize) and spawn → the result of 1+1, fresh process each time")
def bench_startup(ctx: Context) -> list[Metric]:
    n = ctx.reps(30, 15)
    first: dict[str, list[float]] = {ctx.daemon.name: [], ctx.floor.name: []}
    onepone: dict[str, list[float]] = {ctx.daemon.name: [], ctx.floor.name: []}
    shutdown: dict[str, list[float]] = {ctx.daemon.name: [], ctx.floor.name: []}

    # One unrecorded round first: the first spawn after a build pays for a cold page cache.
    for i, s in [(-1, ctx.daemon), (-1, ctx.floor)] + list(ctx.pairs(n)):
        # spawn → first reply: initialize alone.
        with ctx.spawn(s) as p:
            p.request("initialize", INITIALIZE)
            t, _, _ = p.wait(1)
            if i >= 0:
                first[s.name].append((t - p.t_spawn) / 1e6)
            took = p.close()
            if i >= 0 and took is not None:
                shutdown[s.name].append(took)
        # spawn → 1+1: initialize and exec sent together, without waiting for initialize's answer.
        with ctx.spawn(s) as p:
            p.send(encode_request(1, "initialize", INITIALIZE) + encode_request(2, "exec", {"code": "1+1"}))
            p.next_id = 3
            t, msg, body = p.wait(2)
            if i >= 0:
                onepone[s.name].append((t - p.t_spawn) / 1e6)
            check_exec_result(p, msg, body, "2")
            p.wait(1)
    return [
        Metric("spawn_first_reply", "spawn → first reply", "ms", first,
               target=Target("max", 10.0, "≤ 10 ms")),
        Metric("spawn_exec_1plus1", "spawn → `1+1` result", "ms", onepone,
               target=Target("max", 40.0, "≤ 40 ms")),
        Metric("shutdown_after_start", "shutdown+exit just after start", "ms", shutdown),
    ]


def _started(ctx: Context, s: Subject, warmup: int) -> Peer:
    """A server that has answered initialize, opened its default session, and run `warmup` execs."""
    p = ctx.spawn(s)
    try:
        p.call("initialize", INITIALIZE)
        t, msg, body = p.wait(p.request("exec", {"code": "1+1"}))
        check_exec_result(p, msg, body, "2")
        for _ in range(warmup):
            p.wait(p.request("exec", {"code": "pass"}))
    except BaseException:
        p.close(graceful=False)
        raise
    return p


@contextlib.contextmanager
def client_on(cpus: set[int] | None):
    """Runs the timing thread (this process) on `cpus` for a while; None leaves it free."""
    if cpus is None or not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


@benchmark("roundtrip", "sequential exec \"pass\" request → response in one long-lived process")
def bench_roundtrip(ctx: Context) -> list[Metric]:
    """The daemon runs where the scheduler puts it, as it does for an editor. A pipe round trip costs
    twice as much when the two ends run on different CPUs (a wake-up across CPUs) as on the same one,
    and the scheduler picks either for a process's whole life, so the floor is measured pinned: once
    sharing the client's CPU (the best case: the floor the ratio and the target use), and once on
    another CPU (shown for reference, as `floor_cross`). The client is pinned only during the floor's
    blocks."""
    n = ctx.reps(2000, 1000)
    block = 100
    warmup = ctx.reps(200, 100)
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    # (name, subject, the floor's CPU, the client's CPU): None = free
    runs = [(ctx.daemon.name, ctx.daemon, None, None)]
    if len(cpus) >= 2:
        runs += [(ctx.floor.name, ctx.floor, cpus[0], cpus[0]), ("floor_cross", ctx.floor, cpus[1], cpus[0])]
    else:
        runs += [(ctx.floor.name, ctx.floor, None, None)]
    samples: dict[str, list[float]] = {name: [] for name, *_ in runs}
    params = {"code": "pass"}
    bodies: list[bytes] = []
    with contextlib.ExitStack() as stack:  # closes them all, gracefully unless something failed
        peers: dict[str, Peer] = {}
        for name, s, server_cpu, client_cpu in runs:
            p = stack.enter_context(_started(ctx, s, 0))
            if server_cpu is not None:
                os.sched_setaffinity(p.proc.pid, {server_cpu})
            with client_on(None if client_cpu is None else {client_cpu}):
                for _ in range(warmup):
                    p.wait(p.request("exec", params))
            peers[name] = p
        for r in range(math.ceil(n / block)):  # interleaved in blocks, the order rotating
            for k in range(len(runs)):
                name, s, _, client_cpu = runs[(r + k) % len(runs)]
                p = peers[name]
                with client_on(None if client_cpu is None else {client_cpu}):
                    for _ in range(block):
                        i = p.new_id()
                        data = encode_request(i, "exec", params)
                        t0 = now_ns()
                        p.send(data)
                        t1, msg, body = p.wait(i)
                        samples[name].append((t1 - t0) / 1e3)
                        if name == ctx.daemon.name:
                            bodies.append(body)
        notes = {name: dict(p.notifications) for name, p in peers.items()}
    # The daemon's own account of each exec (durationMs): what of the round trip the code took to
    # run in the worker, the rest being transport and bookkeeping.
    reported = [json.loads(b)["result"].get("durationMs", 0.0) * 1e3 for b in bodies]
    extra = {"n": n, "block": block, "warmup": warmup, "notifications": notes,
             "daemon_reported_duration_us": summary(reported),
             "placement": {name: {"server_cpu": sc, "client_cpu": cc} for name, _, sc, cc in runs}}
    if reported:
        ctx.notes.append(f"exec round trip: the daemon's own durationMs for exec \"pass\" has a median of "
                         f"{statistics.median(reported):.1f} µs; the rest of the round trip is transport and bookkeeping")
    metrics = [Metric("exec_roundtrip", "exec round trip", "µs",
                      {k: v for k, v in samples.items() if k != "floor_cross"},
                      target=Target("ratio", 3.0, "≤ 3× floor"), extra=extra)]
    if "floor_cross" in samples:
        metrics.append(Metric("exec_roundtrip_cross", "exec round trip", "µs",
                              {ctx.daemon.name: samples[ctx.daemon.name], "floor_cross": samples["floor_cross"]},
                              baseline="floor_cross"))
    return metrics


@benchmark("pipelined", "10,000 exec \"pass\" requests sent without waiting; time until the last response")
def bench_pipelined(ctx: Context) -> list[Metric]:
    count = 10_000
    rounds = ctx.reps(5, 2)
    samples: dict[str, list[float]] = {ctx.daemon.name: [], ctx.floor.name: []}
    notes = {}
    for r, s in ctx.pairs(rounds):
        with _started(ctx, s, warmup=100) as p:
            first = p.next_id
            blob = b"".join(encode_request(first + k, "exec", {"code": "pass"}) for k in range(count))
            p.next_id = first + count
            wanted = set(range(first, first + count))
            errors: list[BaseException] = []

            def write():
                try:
                    p.send(blob)
                except BaseException as e:  # noqa: BLE001 - reported below
                    errors.append(e)

            before = collections.Counter(p.notifications)
            writer = threading.Thread(target=write, name="pipelined-writer", daemon=True)
            t0 = now_ns()
            writer.start()
            deadline = now_ns() + 120 * 10**9
            last_t = t0
            while wanted:
                got = p.take_one(deadline)
                if got is None:
                    continue
                rid, t, body, msg = got
                if msg is not None and "error" in msg:
                    raise BenchError(f"{s.name} answered pipelined exec {rid} with an error: {msg['error']}")
                wanted.discard(rid)
                last_t = t
            writer.join()
            if errors:
                raise BenchError(f"writing to {s.name} failed: {errors[0]}")
            samples[s.name].append((last_t - t0) / 1e3 / count)
            notes[s.name] = {k: (v - before[k]) / count for k, v in p.notifications.items() if v - before[k]}
    return [Metric("exec_pipelined", "pipelined execs, per exec", "µs", samples,
                   target=Target("max", 30.0, "≤ 30 µs"),
                   extra={"count": count, "rounds": rounds, "notifications_per_exec": notes})]


# ---------------------------------------------------------------------------------------------
# Running and reporting


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if value >= 100:
        s = f"{value:.0f}"
    elif value >= 10:
        s = f"{value:.1f}"
    else:
        s = f"{value:.2f}"
    return f"{s} {unit}"


# How a baseline other than the floor is named in the table.
BASELINE_NAMES = {"floor_cross": "floor on another CPU"}


def table(metrics: list[Metric]) -> str:
    head = ["metric", "asyncoded median", "p90", "floor median", "p90", "ratio", "target", "met"]
    rows = []
    for m in metrics:
        a, b = m.samples.get(m.subject) or [], m.samples.get(m.baseline) or []
        label = m.label if m.baseline == "floor" else f"{m.label} [vs {BASELINE_NAMES.get(m.baseline, m.baseline)}]"
        r = m.ratio()
        met = m.target.met(m) if m.target else None
        rows.append([
            label,
            fmt(statistics.median(a) if a else None, m.unit),
            fmt(percentile(a, 90) if a else None, m.unit),
            fmt(statistics.median(b) if b else None, m.unit),
            fmt(percentile(b, 90) if b else None, m.unit),
            "-" if r is None else f"{r:.1f}×",
            m.target.text if m.target else "-",
            "-" if met is None else ("yes" if met else "NO"),
        ])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    right = {1, 2, 3, 4, 5}

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line(head), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def find_floor(daemon: Path) -> Path:
    candidates = [
        daemon.parent / "bench" / "echo_floor",
        daemon.parent / "echo_floor",
        REPO / "build" / "bench" / "echo_floor",
        REPO / "build" / "echo_floor",
    ]
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    return candidates[0]


def host_info() -> dict:
    info = {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "loadavg_start": os.getloadavg(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--daemon", type=Path, default=REPO / "build" / "asyncoded", help="asyncoded to measure (default: build/asyncoded)")
    ap.add_argument("--floor", type=Path, help="echo_floor (default: bench/echo_floor beside the daemon's build)")
    ap.add_argument("--daemon-arg", action="append", default=[], metavar="ARG",
                    help="pass ARG to the daemon (repeatable), e.g. --daemon-arg=--spares=0")
    ap.add_argument("--json", type=Path, metavar="FILE", help="write every number (and all samples) to FILE")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions: a smoke run of a few seconds")
    ap.add_argument("--only", action="append", metavar="NAME", help="run only this benchmark (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    ap.add_argument("--logs", type=Path, help="directory for the servers' stderr (default: a new temporary one)")
    args = ap.parse_args(argv)

    if args.list:
        for b in BENCHMARKS:
            print(f"{b.name:12} {b.description}")
        return 0
    selected = BENCHMARKS
    if args.only:
        unknown = set(args.only) - {b.name for b in BENCHMARKS}
        if unknown:
            ap.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}; see --list")
        selected = [b for b in BENCHMARKS if b.name in args.only]

    daemon = args.daemon.resolve()
    floor = (args.floor or find_floor(daemon)).resolve()
    for what, path in (("daemon", daemon), ("floor", floor)):
        if not (path.is_file() and os.access(path, os.X_OK)):
            print(f"bench: no {what} at {path}: build it first (cmake --build build), or pass --{what}", file=sys.stderr)
            return 2
    logs = args.logs or Path(tempfile.mkdtemp(prefix="asyncoded-bench-"))
    logs.mkdir(parents=True, exist_ok=True)

    signal.signal(signal.SIGTERM, _on_sigterm)
    ctx = Context(
        daemon=Subject("asyncoded", [str(daemon), *args.daemon_arg], logs / "asyncoded.stderr"),
        floor=Subject("floor", [str(floor)], logs / "floor.stderr"),
        quick=args.quick,
        log=lambda s: print(s, file=sys.stderr, flush=True),
    )
    info = host_info()
    print(f"daemon: {' '.join(ctx.daemon.argv)}")
    print(f"floor:  {floor}")
    print(f"stderr: {logs}/")
    print(f"host:   {info.get('cpu', '?')}, {info['cpus']} CPUs, load {' '.join(f'{x:.2f}' for x in info['loadavg_start'])}"
          f"{'  (quick run)' if args.quick else ''}")

    metrics: list[Metric] = []
    errors: dict[str, str] = {}
    timings: dict[str, float] = {}
    started = time.monotonic()
    for b in selected:
        t = time.monotonic()
        ctx.log(f"running {b.name}: {b.description} ...")
        try:
            metrics += b.func(ctx)
        except BenchError as e:
            errors[b.name] = str(e)
            ctx.log(f"  {b.name} could not run: {e}")
        except KeyboardInterrupt:
            ctx.log("interrupted")  # every Peer has been killed on the way out
            return 130
        timings[b.name] = time.monotonic() - t
    info["loadavg_end"] = os.getloadavg()

    print()
    print(table(metrics))
    print()
    print("ratio = asyncoded median / floor median. Targets are for a 2-core machine; they are reported, never asserted.")
    print(f"ran {', '.join(f'{k} {v:.1f} s' for k, v in timings.items())}; "
          f"load {' '.join(f'{x:.2f}' for x in info['loadavg_end'])} at the end")
    if max(info["loadavg_start"][0], info["loadavg_end"][0]) > (info["cpus"] or 1) * 0.75:
        print("note: the machine was busy with other work (see the load averages): every number is noisier "
              "and start-up slower than on an idle machine; run again when it is idle")
    for note in ctx.notes:
        print(f"note: {note}")
    for name, e in errors.items():
        print(f"error: {name}: {e}")
    try:
        warns = [ln for ln in ctx.daemon.log.read_text(errors="replace").splitlines()
                 if "[warning]" in ln or "[error]" in ln or "[critical]" in ln]
    except OSError:
        warns = []
    if warns:
        print(f"the daemon logged {len(warns)} warning/error line(s) in {ctx.daemon.log}, the first: {warns[0]}")

    if args.json:
        doc = {
            "tool": "asyncoded bench/bench.py",
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "daemon": ctx.daemon.argv,
            "floor": str(floor),
            "quick": args.quick,
            "host": info,
            "seconds": timings,
            "total_seconds": time.monotonic() - started,
            "errors": errors,
            "notes": ctx.notes,
            "metrics": [m.to_json() for m in metrics],
        }
        args.json.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {args.json}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
