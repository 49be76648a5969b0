#!/usr/bin/env python3
"""Benchmarks of asyncoded, each measured against a floor taken in the same run.

    bench/run [--quick] [--json FILE]      (installs what is missing, builds, runs this)
    cmake --build build && /usr/bin/python3 bench/bench.py [--quick] [--json FILE]

The project's rule: "Speed is a feature: tens of milliseconds to start, well under a millisecond for
a trivial exec. Measure in bench/ as ratios against a floor measured in the same run; never as timed
assertions." So this prints numbers and ratios and says whether each target is met, and its exit
status never depends on them: it is non-zero only when a benchmark could not run at all (the daemon
did not answer, answered an error, or a process had to be killed).

The floor is bench/echo_floor.c: the same frames over the same pipes, answered at once with zero work
(and, run as `echo_floor --sigint-echo`, a signal round trip: the interrupt benchmark's floor). Some
metrics have another baseline (a plain python3). ipykernel (driven by jupyter_client) and
`python3 -m asyncio` (on a pty) are measured beside asyncoded where a metric applies to them.

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
import queue
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
        # Called with every notification (parsed) as it is read, when set.
        self.on_notification: Callable[[dict], None] | None = None
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
            if self.on_notification is not None and "id" not in msg:
                self.on_notification(msg)
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

    def pump(self, done: Callable[[], bool], timeout: float = 15.0) -> None:
        """Reads messages (keeping responses for wait()) until done() is true."""
        deadline = now_ns() + int(timeout * 1e9)
        while not done():
            got = self.take_one(deadline)
            if got is not None:
                rid, t, body, msg = got
                self.replies[rid] = (t, body, msg)

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


def _end_stdin_child(proc: subprocess.Popen) -> None:
    """Ends a child that exits at EOF on its stdin: closes it, then kills it after 2 s."""
    if proc.poll() is None:
        proc.stdin.close()
        if not _wait_exit(proc, 2.0):
            proc.kill()
            proc.wait()
    proc.stdout.close()


def _live_processes() -> list[tuple[int, list[bytes]]]:
    """(pid, the fields of /proc/pid/stat after the command name) of every live, non-zombie
    process: fields[1] is the parent's pid, fields[2] the process group."""
    procs = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if fields[0] != b"Z":
            procs.append((int(entry), fields))
    return procs


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group pgid."""
    return [pid for pid, fields in _live_processes() if int(fields[2]) == pgid]


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
    # A subject that was measured but gave no number, and why (printed in its column), e.g.
    # {"ipykernel": "none in 3 s"}.
    missing: dict[str, str] = dataclasses.field(default_factory=dict)

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
            "missing": self.missing,
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
    python: str = "/usr/bin/python3"  # the plain Python of the baselines and of `python3 -m asyncio`
    compare: bool = True  # measure ipykernel and `python3 -m asyncio` too
    logs: Path = Path(".")
    _kernel: "IPyKernel | None" = None
    _no_kernel: str | None = None  # why ipykernel cannot be measured, once known

    def reps(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def spawn(self, subject: Subject) -> Peer:
        return Peer(subject)

    def daemon_with(self, *args: str) -> Subject:
        """The daemon, with more arguments (later ones win over --daemon-arg's)."""
        return Subject(self.daemon.name, [*self.daemon.argv, *args], self.daemon.log)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # -- the other subjects: ipykernel and `python3 -m asyncio`

    def kernels_available(self) -> bool:
        """Whether ipykernel can be measured (jupyter_client and ipykernel importable)."""
        if not self.compare:
            return False
        if self._no_kernel is None:
            try:
                import jupyter_client  # noqa: F401
                import zmq  # noqa: F401
                subprocess.run([self.python, "-c", "import ipykernel"], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                self._no_kernel = ""
            except (ImportError, OSError, subprocess.CalledProcessError) as e:
                self._no_kernel = f"ipykernel not measured: {type(e).__name__}: {e} (install python3-ipykernel and python3-jupyter-client)"
                self.note(self._no_kernel)
        return not self._no_kernel

    def new_kernel(self) -> "IPyKernel":
        return IPyKernel(self)

    def kernel(self) -> "IPyKernel | None":
        """A warm ipykernel shared by the benchmarks that do not need a fresh one (None when ipykernel
        cannot be measured). Closed at the end of the run."""
        if not self.kernels_available():
            return None
        if self._kernel is None or not self._kernel.alive():
            if self._kernel is not None:
                self._kernel.close()
            self._kernel = IPyKernel(self)
            self._kernel.first_reply()
        return self._kernel

    def close_kernel(self) -> None:
        if self._kernel is not None:
            self._kernel.close()
            self._kernel = None

    def repls_available(self) -> bool:
        return self.compare

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
# The other subjects: ipykernel (driven by jupyter_client), `python3 -m asyncio` (on a pty), the
# signal floor, and reading processes' memory.

_LIVE_OTHERS: set = set()  # IPyKernel, AsyncioRepl, SignalFloor and plain processes still running


def _kill_others() -> None:
    for o in list(_LIVE_OTHERS):
        try:
            o.close()
        except Exception:  # noqa: BLE001 - at exit, kill what can be killed
            pass


atexit.register(_kill_others)


class _Other:
    """What the other subjects share: each is in _LIVE_OTHERS from its start to close() (so that the
    exit handler ends what a failed run left behind), close() runs once and ends it through _end(),
    and each is a context manager."""

    closed = False

    def _end(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        _LIVE_OTHERS.discard(self)
        self._end()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class IPyKernel(_Other):
    """ipykernel as a Jupyter front end drives it: a jupyter_client KernelManager starts the kernel
    (Debian's python3-ipykernel, kernel spec `python3`) and a BlockingKernelClient talks to it.
    Requests go out with the client's own methods (execute, kernel_info), replies are read with
    get_shell_msg / get_iopub_msg; a zmq.Poller on the two sockets only says which to read."""

    def __init__(self, ctx: Context):
        # Finding the kernel spec imports ipykernel here too, and with it debugpy, which warns on
        # stderr about frozen modules unless told not to (the kernel inherits the setting).
        os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        from jupyter_client import KernelManager
        import zmq

        self.ctx = ctx
        self.log = open(ctx.logs / "ipykernel.stderr", "ab")
        env = dict(os.environ)
        self.km = KernelManager(kernel_name="python3")
        self.t_spawn = now_ns()
        try:
            self.km.start_kernel(stdout=self.log, stderr=self.log, env=env)
        except Exception as e:  # noqa: BLE001 - jupyter_client raises many kinds
            self.log.close()
            raise BenchError(f"ipykernel: cannot start the kernel: {e}") from None
        _LIVE_OTHERS.add(self)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.poller = zmq.Poller()
        self.poller.register(self.kc.shell_channel.socket, zmq.POLLIN)
        self.poller.register(self.kc.iopub_channel.socket, zmq.POLLIN)

    @property
    def pid(self) -> int:
        return self.km.provisioner.process.pid

    def alive(self) -> bool:
        return not self.closed and self.km.is_alive()

    def _next(self, deadline_ns: int) -> tuple[str, int, dict]:
        """The next message of either channel: ("shell" | "iopub", time read, message)."""
        while True:
            left_ms = (deadline_ns - now_ns()) / 1e6
            if left_ms <= 0:
                raise BenchError("ipykernel: timed out waiting for a message")
            ready = dict(self.poller.poll(max(1, math.ceil(left_ms))))
            if self.kc.shell_channel.socket in ready:
                msg = self.kc.get_shell_msg(timeout=0)
                return "shell", now_ns(), msg
            if self.kc.iopub_channel.socket in ready:
                msg = self.kc.get_iopub_msg(timeout=0)
                return "iopub", now_ns(), msg

    def first_reply(self, timeout: float = 30.0, resend: float = 0.05) -> int:
        """Sends kernel_info_request until one is answered and an IOPub message has arrived too (the
        kernel publishes `busy` and `idle` around each request): the time the first reply was read
        (ns). What wait_for_ready does (it checks IOPub as well, since a SUB socket misses what is
        published before it is connected), without its extra 0.2 s waits for IOPub to be quiet and
        resending every `resend` s rather than every second (after a restart the first request may
        have gone to the old process)."""
        ids = set()
        t_reply = None
        iopub = False
        deadline = now_ns() + int(timeout * 1e9)
        while True:
            ids.add(self.kc.kernel_info())
            until = min(deadline, now_ns() + int(resend * 1e9))
            while True:
                try:
                    chan, t, msg = self._next(until)
                except BenchError:
                    if not self.km.is_alive():
                        raise BenchError(f"ipykernel died at start; its stderr: {self.log.name}") from None
                    if now_ns() >= deadline:
                        raise BenchError(f"ipykernel did not answer kernel_info in {timeout} s") from None
                    break
                if chan == "shell" and msg["parent_header"].get("msg_id") in ids and t_reply is None:
                    t_reply = t
                elif chan == "iopub":
                    iopub = True
                if t_reply is not None and iopub:
                    return t_reply

    def execute(self, code: str, **kw) -> str:
        return self.kc.execute(code, **kw)

    def reply(self, msg_id: str, timeout: float = 15.0) -> tuple[int, dict]:
        """Waits for the reply to msg_id on the shell channel with get_shell_msg, as a blocking
        front end does (IOPub is left alone: drain() it later, untimed). Replies to other requests
        are skipped. The time it was read (ns) and the reply."""
        deadline = now_ns() + int(timeout * 1e9)
        while True:
            left = (deadline - now_ns()) / 1e9
            if left <= 0:
                raise BenchError(f"ipykernel: no reply in {timeout} s")
            try:
                msg = self.kc.get_shell_msg(timeout=left)
            except queue.Empty:
                raise BenchError(f"ipykernel: no reply in {timeout} s") from None
            if msg["parent_header"].get("msg_id") == msg_id:
                return now_ns(), msg

    def run(self, msg_id: str, timeout: float = 30.0, on_iopub: Callable[[dict], None] | None = None,
            need_result: bool = False) -> tuple[int, int, dict]:
        """Waits until request msg_id is done as a front end sees it: its execute_reply read, and on
        IOPub its `idle` status (which the kernel publishes after all the request's output), and its
        execute_result when need_result. Returns (time of the reply, time when all was there, reply)."""
        deadline = now_ns() + int(timeout * 1e9)
        t_reply = t_idle = t_result = None
        reply = None
        while t_reply is None or t_idle is None or (need_result and t_result is None):
            chan, t, msg = self._next(deadline)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if chan == "shell":
                t_reply, reply = t, msg
            else:
                kind = msg["msg_type"]
                if kind == "status" and msg["content"].get("execution_state") == "idle":
                    t_idle = t
                elif kind == "execute_result":
                    t_result = t
                if on_iopub is not None:
                    on_iopub(msg)
        return t_reply, max(t_reply, t_idle, t_result or 0), reply

    def wait_started(self, msg_id: str, timeout: float = 15.0) -> None:
        """Waits for the kernel to publish execute_input for msg_id on IOPub: it has begun running it."""
        deadline = now_ns() + int(timeout * 1e9)
        while True:
            left = (deadline - now_ns()) / 1e9
            try:
                msg = self.kc.get_iopub_msg(timeout=max(left, 0.001))
            except queue.Empty:
                raise BenchError(f"ipykernel: did not start running the code in {timeout} s") from None
            if msg["msg_type"] == "execute_input" and msg["parent_header"].get("msg_id") == msg_id:
                return

    def drain(self, quiet: float = 0.05) -> int:
        """Reads whatever is pending on both channels until they have been quiet for `quiet` s."""
        n = 0
        while self.poller.poll(int(quiet * 1000)):
            for sock, _ in self.poller.poll(0):
                (self.kc.get_shell_msg if sock is self.kc.shell_channel.socket else self.kc.get_iopub_msg)(timeout=0)
                n += 1
        return n

    def restart(self) -> int:
        """Restarts the kernel (a new process on the same ports, as a front end's restart does) and
        waits until it answers kernel_info. Returns that answer's time."""
        self.km.restart_kernel(now=True)
        return self.first_reply()

    def _end(self) -> None:
        try:
            self.kc.stop_channels()
        except Exception:  # noqa: BLE001
            pass
        try:
            self.km.shutdown_kernel(now=True)
        except Exception:  # noqa: BLE001
            try:
                self.km.provisioner.process.kill()
            except Exception:  # noqa: BLE001
                pass
        self.log.close()


class AsyncioRepl(_Other):
    """`python3 -m asyncio` on a pseudo-terminal, as a person (or a terminal-driving tool) runs it.
    A pty rather than pipes: without a tty it prompts on stderr and buffers its stdout. TERM=dumb
    keeps readline's escape sequences out of the output. A line of code has been run when the
    next `>>> ` prompt has been read after it."""

    PROMPT = b">>> "

    def __init__(self, ctx: Context):
        master, slave = os.openpty()
        env = dict(os.environ, TERM="dumb")
        env.pop("PYTHONSTARTUP", None)
        self.t_spawn = now_ns()
        try:
            self.proc = subprocess.Popen([ctx.python, "-m", "asyncio"], stdin=slave, stdout=slave, stderr=slave,
                                         start_new_session=True, env=env)
        except OSError as e:
            os.close(master)
            os.close(slave)
            raise BenchError(f"cannot start {ctx.python} -m asyncio: {e}") from None
        os.close(slave)
        _LIVE_OTHERS.add(self)
        self.fd = master
        self.buf = bytearray()
        self.poller = select.poll()
        self.poller.register(master, select.POLLIN)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def read_until(self, done: Callable[[bytearray], bool], timeout: float = 15.0) -> int:
        """Reads into self.buf until done(self.buf); returns the time of the last read (ns)."""
        deadline = now_ns() + int(timeout * 1e9)
        while not done(self.buf):
            left_ms = (deadline - now_ns()) / 1e6
            if left_ms <= 0:
                raise BenchError(f"python -m asyncio: timed out; the end of its output: {bytes(self.buf[-200:])!r}")
            if not self.poller.poll(max(1, math.ceil(left_ms))):
                continue
            try:
                chunk = os.read(self.fd, 1 << 16)
            except OSError:  # EIO: the child has closed the pty
                chunk = b""
            if not chunk:
                raise BenchError(f"python -m asyncio exited; the end of its output: {bytes(self.buf[-200:])!r}")
            self.buf += chunk
        return now_ns()

    def wait_prompt(self, timeout: float = 15.0) -> int:
        return self.read_until(lambda b: b.endswith(self.PROMPT), timeout)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def run(self, line: bytes, timeout: float = 15.0) -> int:
        """Types `line` (newline included) and waits for the next prompt; the time it was read (ns)."""
        self.buf.clear()
        self.write(line)
        return self.wait_prompt(timeout)

    def _end(self) -> None:
        try:
            self.write(b"exit()\n")
        except OSError:
            pass
        if not _wait_exit(self.proc, 2.0):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        os.close(self.fd)


class SignalFloor(_Other):
    """The interrupt benchmark's floor: `echo_floor --sigint-echo`, a C process asleep in read()
    whose SIGINT handler writes one byte. once() times kill(pid, SIGINT) -> that byte read: a signal
    round trip between two processes, the least any interrupt can cost."""

    def __init__(self, floor: Path):
        self.proc = subprocess.Popen([str(floor), "--sigint-echo"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     bufsize=0, start_new_session=True)
        _LIVE_OTHERS.add(self)
        self.fd = self.proc.stdout.fileno()
        self.poller = select.poll()
        self.poller.register(self.fd, select.POLLIN)
        try:
            self._read_byte(b"r")
        except BaseException:
            self.close()
            raise

    def _read_byte(self, want: bytes) -> None:
        if not self.poller.poll(5000):
            raise BenchError("the signal floor did not answer (is echo_floor built from this bench/?)")
        got = os.read(self.fd, 1)
        if got != want:
            raise BenchError(f"the signal floor wrote {got!r}, not {want!r} (is echo_floor built from this bench/?)")

    def once(self) -> float:
        """One signal round trip, in µs."""
        t0 = now_ns()
        os.kill(self.proc.pid, signal.SIGINT)
        self._read_byte(b"i")
        return (now_ns() - t0) / 1e3

    def _end(self) -> None:
        _end_stdin_child(self.proc)


class PlainPython(_Other):
    """A plain `python3` that has run `import asyncio; asyncio.run(asyncio.sleep(0))` and waits on its
    stdin: the memory baseline (one interpreter that has used asyncio, nothing else)."""

    CODE = ("import asyncio, sys\nasyncio.run(asyncio.sleep(0))\n"
            "sys.stdout.write('r'); sys.stdout.flush()\nsys.stdin.read()\n")

    def __init__(self, ctx: Context):
        self.proc = subprocess.Popen([ctx.python, "-c", self.CODE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     bufsize=0, start_new_session=True)
        _LIVE_OTHERS.add(self)
        p = select.poll()
        p.register(self.proc.stdout.fileno(), select.POLLIN)
        if not p.poll(15000) or self.proc.stdout.read(1) != b"r":
            self.close()
            raise BenchError(f"{ctx.python} -c ... did not start")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _end(self) -> None:
        _end_stdin_child(self.proc)


def proc_memory(pid: int) -> dict[str, float]:
    """VmRSS (from /proc/PID/status) and Pss (from /proc/PID/smaps_rollup) of a process, in MiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                out["rss"] = int(line.split()[1]) / 1024
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    out["pss"] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return out


def children_of(pid: int) -> list[int]:
    """Live (not zombie) child processes of pid."""
    return [child for child, fields in _live_processes() if int(fields[1]) == pid]


def cpu_ticks(pid: int) -> int:
    """utime + stime of pid, in clock ticks (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return 0
    fields = stat[stat.rfind(b")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def settle(pids: Callable[[], list[int]], ready: Callable[[list[int]], bool] = lambda _: True,
           quiet: float = 0.15, timeout: float = 10.0) -> bool:
    """Waits until the processes pids() are all idle: their CPU time unchanged for `quiet` seconds,
    and ready(pids) (e.g. a spare exists). Used before a memory reading and between restarts, so that
    a warm spare still starting does not land in the next measurement. False on timeout."""
    deadline = time.monotonic() + timeout
    last = None
    since = time.monotonic()
    while time.monotonic() < deadline:
        ps = sorted(pids())
        now_ticks = (tuple(ps), tuple(cpu_ticks(p) for p in ps))
        if now_ticks != last or not ready(ps):
            last, since = now_ticks, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return True
        time.sleep(0.02)
    return False


# ---------------------------------------------------------------------------------------------
# The benchmarks


@benchmark("startup", "spawn → first reply (initialize) and spawn → the result of 1+1, fresh process each time")
def bench_startup(ctx: Context) -> list[Metric]:
    n = ctx.reps(30, 15)
    n_repl = ctx.reps(20, 6) if ctx.repls_available() else 0
    n_kernel = ctx.reps(6, 2) if ctx.kernels_available() else 0
    first: dict[str, list[float]] = {ctx.daemon.name: [], ctx.floor.name: []}
    onepone: dict[str, list[float]] = {ctx.daemon.name: [], ctx.floor.name: []}
    shutdown: dict[str, list[float]] = {ctx.daemon.name: [], ctx.floor.name: []}
    if n_repl:
        first["asyncio_repl"], onepone["asyncio_repl"] = [], []
    if n_kernel:
        first["ipykernel"], onepone["ipykernel"] = [], []
    # The rounds in which ipykernel (a second or so each) is started, spread over the run.
    kernel_rounds = {round(k * n / n_kernel) for k in range(n_kernel)} if n_kernel else set()

    def server(i: int, s: Subject) -> None:
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

    def repl(i: int) -> None:
        # spawn → the first `>>> `; then `1+1` typed, → `2` and the next prompt read.
        with AsyncioRepl(ctx) as r:
            t1 = r.wait_prompt()
            t2 = r.run(b"1+1\n")
            if b"\n2\r\n" not in r.buf:
                raise BenchError(f"python -m asyncio answered 1+1 with {bytes(r.buf)!r}")
            if i >= 0:
                first["asyncio_repl"].append((t1 - r.t_spawn) / 1e6)
                onepone["asyncio_repl"].append((t2 - r.t_spawn) / 1e6)

    def kernel(i: int) -> None:
        # KernelManager.start_kernel → kernel_info_reply; then execute 1+1 → its execute_result
        # (and execute_reply, and idle).
        with ctx.new_kernel() as k:
            t1 = k.first_reply()
            results = []
            _, t2, reply = k.run(k.execute("1+1"), need_result=True,
                                 on_iopub=lambda m: results.append(m) if m["msg_type"] == "execute_result" else None)
            if reply["content"].get("status") != "ok" or results[0]["content"]["data"].get("text/plain") != "2":
                raise BenchError(f"ipykernel answered 1+1 with {reply['content']} / {results}")
            if i >= 0:
                first["ipykernel"].append((t1 - k.t_spawn) / 1e6)
                onepone["ipykernel"].append((t2 - k.t_spawn) / 1e6)

    # One unrecorded round first: the first spawn after a build pays for a cold page cache.
    for i in range(-1, n):
        for s in ((ctx.daemon, ctx.floor) if i % 2 == 0 else (ctx.floor, ctx.daemon)):
            server(i, s)
        if i < n_repl:
            repl(i)
        if n_kernel and ((i < 0 and not ctx.quick) or i in kernel_rounds):
            kernel(i)
    extra = {"n": {"asyncoded": n, "floor": n, "asyncio_repl": n_repl, "ipykernel": n_kernel}}
    return [
        Metric("spawn_first_reply", "spawn → first reply", "ms", first,
               target=Target("max", 10.0, "≤ 10 ms"), extra=extra),
        Metric("spawn_exec_1plus1", "spawn → `1+1` result", "ms", onepone,
               target=Target("max", 40.0, "≤ 40 ms"), extra=extra),
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


AWAIT_CODE = "await asyncio.sleep(0)"


@dataclasses.dataclass
class _Run:
    """One series of the round-trip benchmark: a subject running one piece of code, one at a time."""
    key: str  # where its samples go
    once: Callable[[], float]  # one round trip, in µs
    n: int
    client_cpu: int | None = None  # the client is pinned there during this series' blocks
    samples: list[float] = dataclasses.field(default_factory=list)


def _peer_once(p: Peer, code: str, bodies: list[bytes] | None = None) -> Callable[[], float]:
    params = {"code": code}

    def once() -> float:
        i = p.new_id()
        data = encode_request(i, "exec", params)
        t0 = now_ns()
        p.send(data)
        t1, msg, body = p.wait(i)
        if b'"status":"ok"' not in body:  # the daemon's and the floor's answers both say it
            raise BenchError(f"{p.subject.name}: {code!r} did not succeed: {body[:300]!r}")
        if bodies is not None:
            bodies.append(body)
        return (t1 - t0) / 1e3

    return once


def _kernel_once(k: "IPyKernel", code: str) -> Callable[[], float]:
    def once() -> float:
        t0 = now_ns()
        t1, reply = k.reply(k.execute(code))
        if reply["content"].get("status") != "ok":
            raise BenchError(f"ipykernel: {code!r} gave {reply['content']}")
        return (t1 - t0) / 1e3

    return once


def _repl_once(r: "AsyncioRepl", code: str) -> Callable[[], float]:
    line = code.encode() + b"\n"

    def once() -> float:
        t0 = now_ns()
        t1 = r.run(line)
        if b"Traceback" in r.buf:
            raise BenchError(f"python -m asyncio: {code!r} failed: {bytes(r.buf)[-300:]!r}")
        return (t1 - t0) / 1e3

    return once


@benchmark("roundtrip", "sequential exec request → response in one long-lived process: `pass` and `await asyncio.sleep(0)`")
def bench_roundtrip(ctx: Context) -> list[Metric]:
    """The daemon runs where the scheduler puts it, as it does for an editor. A pipe round trip costs
    twice as much when the two ends run on different CPUs (a wake-up across CPUs) as on the same one,
    and the scheduler picks either for a process's whole life, so the floor is measured pinned: once
    sharing the client's CPU (the best case: the floor the ratio and the target use), and once on
    another CPU (shown for reference, as `floor_cross`). The client is pinned only during the floor's
    blocks. `await asyncio.sleep(0)` runs in a second daemon (so that the `pass` series runs in a
    session without an event loop, as before); the floor answers both alike, so its samples serve
    both rows. ipykernel (execute_request → execute_reply on the shell channel) and
    `python3 -m asyncio` (a line typed → the next prompt) run the same code in the same rotation."""
    n = ctx.reps(2000, 1000)
    n_kernel = ctx.reps(1000, 200)
    n_repl = ctx.reps(2000, 300)
    block = 100
    warmup = ctx.reps(200, 100)
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    bodies: list[bytes] = []
    await_bodies: list[bytes] = []
    runs: list[_Run] = []
    with contextlib.ExitStack() as stack:  # closes them all, gracefully unless something failed
        peers: dict[str, Peer] = {}
        placement = {}

        def server(key: str, s: Subject, server_cpu: int | None, client_cpu: int | None, code: str,
                   keep: list[bytes] | None = None) -> None:
            p = stack.enter_context(_started(ctx, s, 0))
            if code == AWAIT_CODE:
                _peer_once(p, "import asyncio")()
            if server_cpu is not None:
                os.sched_setaffinity(p.proc.pid, {server_cpu})
            run = _Run(key, _peer_once(p, code, keep), n, client_cpu)
            with client_on(None if client_cpu is None else {client_cpu}):
                for _ in range(warmup):
                    run.once()
            if keep is not None:
                keep.clear()
            peers[key] = p
            placement[key] = {"server_cpu": server_cpu, "client_cpu": client_cpu}
            runs.append(run)

        server("asyncoded", ctx.daemon, None, None, "pass", bodies)
        if len(cpus) >= 2:
            server("floor", ctx.floor, cpus[0], cpus[0], "pass")
            server("floor_cross", ctx.floor, cpus[1], cpus[0], "pass")
        else:
            server("floor", ctx.floor, None, None, "pass")
        server("asyncoded_await", ctx.daemon, None, None, AWAIT_CODE, await_bodies)
        k = ctx.kernel()
        if k is not None:
            _kernel_once(k, "import asyncio")()
            for key, code in (("ipykernel", "pass"), ("ipykernel_await", AWAIT_CODE)):
                run = _Run(key, _kernel_once(k, code), n_kernel)
                for _ in range(warmup):
                    run.once()
                runs.append(run)
            k.drain()
        if ctx.repls_available():
            r = stack.enter_context(AsyncioRepl(ctx))
            r.wait_prompt()
            for key, code in (("asyncio_repl", "pass"), ("asyncio_repl_await", AWAIT_CODE)):
                run = _Run(key, _repl_once(r, code), n_repl)
                for _ in range(warmup):
                    run.once()
                runs.append(run)
        rounds = max(math.ceil(run.n / block) for run in runs)
        for rnd in range(rounds):  # interleaved in blocks, the order rotating
            for j in range(len(runs)):
                run = runs[(rnd + j) % len(runs)]
                if len(run.samples) >= run.n:
                    continue
                with client_on(None if run.client_cpu is None else {run.client_cpu}):
                    for _ in range(min(block, run.n - len(run.samples))):
                        run.samples.append(run.once())
                if k is not None and run.key.startswith("ipykernel"):
                    k.drain(0.005)  # its IOPub messages (busy, execute_input, idle), untimed
        notes = {name: dict(p.notifications) for name, p in peers.items()}
    got = {run.key: run.samples for run in runs}
    # The daemon's own account of each exec (durationMs): what of the round trip the code took to
    # run in the worker, the rest being transport and bookkeeping.
    reported = [json.loads(b)["result"].get("durationMs", 0.0) * 1e3 for b in bodies]
    reported_await = [json.loads(b)["result"].get("durationMs", 0.0) * 1e3 for b in await_bodies]
    extra = {"n": {run.key: run.n for run in runs}, "block": block, "warmup": warmup, "notifications": notes,
             "daemon_reported_duration_us": summary(reported),
             "daemon_reported_duration_us_await": summary(reported_await),
             "placement": placement}
    if reported:
        ctx.notes.append(f"exec round trip: the daemon's own durationMs has a median of {statistics.median(reported):.1f} µs "
                         f"for `pass`, {statistics.median(reported_await):.1f} µs for `{AWAIT_CODE}`; the rest of "
                         f"the round trip is transport and bookkeeping")

    def pick(**keys: str) -> dict[str, list[float]]:
        return {who: got[key] for who, key in keys.items() if key in got}

    metrics = [Metric("exec_roundtrip", "exec round trip `pass`", "µs",
                      pick(asyncoded="asyncoded", floor="floor", ipykernel="ipykernel", asyncio_repl="asyncio_repl"),
                      target=Target("ratio", 3.0, "≤ 3× floor"), extra=extra)]
    if "floor_cross" in got:
        metrics.append(Metric("exec_roundtrip_cross", "exec round trip `pass`", "µs",
                              pick(asyncoded="asyncoded", floor_cross="floor_cross"), baseline="floor_cross"))
    metrics.append(Metric("exec_roundtrip_await", f"exec round trip `{AWAIT_CODE}`", "µs",
                          pick(asyncoded="asyncoded_await", floor="floor", ipykernel="ipykernel_await",
                               asyncio_repl="asyncio_repl_await"),
                          target=Target("ratio", 3.0, "≤ 3× floor"), extra={"same_as": "exec_roundtrip"}))
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
    # ipykernel: `kernel_count` execute_requests sent with the client's execute() (the client's own
    # message building and signing counted, as the daemon's client's framing is), then every
    # execute_reply read with get_shell_msg. Fewer than the daemon's 10,000: ipykernel takes a
    # millisecond or more each. Its shared kernel, warmed up.
    kernel_count = ctx.reps(1000, 300)
    k = ctx.kernel()
    if k is not None:
        samples["ipykernel"] = []
        for _ in range(ctx.reps(2, 1)):
            for _ in range(100):
                _kernel_once(k, "pass")()
            k.drain()
            t0 = now_ns()
            ids = [k.execute("pass") for _ in range(kernel_count)]
            wanted = set(ids)
            t_last = t0
            while wanted:
                t_last, reply = _any_reply(k)
                wanted.discard(reply["parent_header"].get("msg_id"))
            samples["ipykernel"].append((t_last - t0) / 1e3 / kernel_count)
            k.drain()
    return [Metric("exec_pipelined", "pipelined execs, per exec", "µs", samples,
                   target=Target("max", 30.0, "≤ 30 µs"),
                   extra={"count": count, "rounds": rounds, "notifications_per_exec": notes,
                          "ipykernel_count": kernel_count})]


def _any_reply(k: "IPyKernel", timeout: float = 120.0) -> tuple[int, dict]:
    try:
        msg = k.kc.get_shell_msg(timeout=timeout)
    except queue.Empty:
        raise BenchError(f"ipykernel: no reply in {timeout} s") from None
    return now_ns(), msg


INTERRUPT_KINDS = [
    ("sleep", "`time.sleep(30)`", "import time; time.sleep(30)"),
    ("busy", "`while True: pass`", "while True: pass"),
    ("await", "`await asyncio.sleep(30)`", "import asyncio; await asyncio.sleep(30)"),
]


@benchmark("interrupt", "interrupt → the exec's answer: time.sleep, a busy loop, an await; floor: a signal round trip")
def bench_interrupt(ctx: Context) -> list[Metric]:
    """An exec is sent; once the daemon has said the session is busy (10 ms more, so the code is
    well into its sleep or loop), `interrupt` is sent and timed until the exec's answer (status
    "interrupted") has been read. The session is warmed first by one interrupted exec of each kind, so
    that first-time imports (of the traceback machinery, say) do not count. ipykernel the same way,
    interrupted with KernelManager.interrupt_kernel (SIGINT to its process group) and timed until the
    execute_reply; execute_input on IOPub says it has started. The floor: kill(SIGINT) to a C process
    asleep in read() → the byte its handler writes, read (echo_floor --sigint-echo)."""
    n = ctx.reps(20, 5)
    # ipykernel cannot interrupt a top-level await (ipykernel#881): do not wait the 30 s out.
    kernel_timeout = 3.0 if not ctx.quick else 1.0
    samples = {kind: {"asyncoded": [], "floor": []} for kind, _, _ in INTERRUPT_KINDS}
    hows: dict[str, collections.Counter] = {kind: collections.Counter() for kind, _, _ in INTERRUPT_KINDS}
    missing: dict[str, dict[str, str]] = {kind: {} for kind, _, _ in INTERRUPT_KINDS}
    busy = [0]

    def on_note(msg: dict) -> None:
        if msg["method"] == "status" and msg["params"].get("state") == "busy":
            busy[0] += 1

    with contextlib.ExitStack() as stack:
        p = stack.enter_context(_started(ctx, ctx.daemon, 0))
        p.on_notification = on_note
        sf = stack.enter_context(SignalFloor(ctx.floor.argv[0]))

        def daemon_once(kind: str, code: str) -> float:
            seen = busy[0]
            i = p.request("exec", {"code": code})
            p.pump(lambda: busy[0] > seen)
            time.sleep(0.01)
            t0 = now_ns()
            j = p.request("interrupt")
            t1, msg, body = p.wait(i, timeout=10)
            result = (msg if msg is not None else json.loads(body))["result"]
            if result.get("status") != "interrupted":
                raise BenchError(f"interrupting {code!r} gave {result.get('status')}, not interrupted: {body[:300]!r}")
            _, imsg, ibody = p.wait(j)
            hows[kind][(imsg if imsg is not None else json.loads(ibody))["result"].get("how", "?")] += 1
            return (t1 - t0) / 1e3

        k = ctx.kernel()
        kernel_kinds = []
        if k is not None:
            for kind, _, _ in INTERRUPT_KINDS:
                samples[kind]["ipykernel"] = []
            kernel_kinds = [kind for kind, _, _ in INTERRUPT_KINDS]

        def kernel_once(kind: str, code: str) -> float | None:
            k.drain(0.01)
            mid = k.execute(code, stop_on_error=False)  # else ipykernel aborts the next request after the error
            k.wait_started(mid)
            time.sleep(0.01)
            t0 = now_ns()
            k.km.interrupt_kernel()
            try:
                t1, reply = k.reply(mid, timeout=kernel_timeout)
            except BenchError:
                return None
            if reply["content"].get("ename") != "KeyboardInterrupt":
                raise BenchError(f"ipykernel: interrupting {code!r} gave {reply['content']}")
            return (t1 - t0) / 1e3

        # Warm-up: one interrupted exec of each kind, unrecorded. An interrupt that ended in a restart
        # (the worker killed after graceMs) leaves a fresh worker behind: warm that one up too.
        warmup_restarts: list[str] = []
        for _ in range(3):
            for kind in hows:
                hows[kind].clear()
            for kind, _, code in INTERRUPT_KINDS:
                took = daemon_once(kind, code)
                if hows[kind]["restarted"]:
                    warmup_restarts.append(f"{code!r} ({took / 1000:.0f} ms)")
            if not any(h["restarted"] for h in hows.values()):
                break
        if warmup_restarts:
            ctx.note(f"interrupt: warming up, the daemon did not stop {', '.join(warmup_restarts)} but killed and "
                     f"restarted the worker after its grace period (a fresh session's first await, when it also "
                     f"creates the session's event loop); the session was warmed up again")
        for kind, _, code in INTERRUPT_KINDS:
            sf.once()
            if kind in kernel_kinds and kernel_once(kind, code) is None:
                kernel_kinds.remove(kind)
                del samples[kind]["ipykernel"]
                missing[kind]["ipykernel"] = f"none in {kernel_timeout:.0f} s"
                ctx.log(f"  ipykernel did not answer an interrupted {code!r} within {kernel_timeout} s: restarting it")
                k.restart()
        for kind in hows:
            hows[kind].clear()
        for r in range(n):
            for kind, _, code in INTERRUPT_KINDS:
                order = ["asyncoded", "floor", "ipykernel"]
                for who in order[r % 3:] + order[: r % 3]:
                    if who == "asyncoded":
                        samples[kind]["asyncoded"].append(daemon_once(kind, code))
                    elif who == "floor":
                        time.sleep(0.01)  # as the others wait before interrupting: what ran before settles
                        samples[kind]["floor"].append(sf.once())
                    elif kind in kernel_kinds:
                        got = kernel_once(kind, code)
                        if got is None:
                            raise BenchError(f"ipykernel did not answer an interrupted {code!r} within {kernel_timeout} s")
                        samples[kind]["ipykernel"].append(got)
    return [Metric(f"interrupt_{kind}", f"interrupt {label}", "µs", samples[kind],
                   target=Target("max", 1000.0, "≤ 1 ms"), missing=missing[kind],
                   extra={"n": n, "how": dict(hows[kind]), "code": code, "ipykernel_timeout_s": kernel_timeout,
                          "warmup_restarts": warmup_restarts})
            for kind, label, code in INTERRUPT_KINDS]


PRINT_LINES = 200_000
PRINT_CODE = f"for i in range({PRINT_LINES}): print(i)"
# The baseline: the same loop in a plain python3 whose stdout is /dev/null, timed inside the process.
PRINT_BASELINE = ("import sys, time\n"
                  "t0 = time.perf_counter()\n"
                  f"{PRINT_CODE}\n"
                  "sys.stdout.flush()\n"
                  "t1 = time.perf_counter()\n"
                  "sys.stderr.write(repr((t1 - t0) * 1e3))\n")


@benchmark("output", f"{PRINT_LINES:,} printed lines: `{PRINT_CODE}`, against the same loop in python3 > /dev/null")
def bench_output(ctx: Context) -> list[Metric]:
    """asyncoded: the exec sent → its answer read, every `output` notification before it read and its
    lines counted (they must be all 200,000, in order); also the exec's own durationMs. ipykernel: until
    execute_reply and the `idle` after the last stream message, the lines counted likewise.
    `python -m asyncio`: the loop typed → the next prompt, on its pty. The baseline: the same loop in
    `python3 -c` with stdout to /dev/null, timed inside that process (time.perf_counter around the loop
    and the final flush), so that its start-up does not count."""
    n = ctx.reps(5, 2)
    n_other = ctx.reps(3, 1)
    client: dict[str, list[float]] = {"asyncoded": [], "python3_devnull": []}
    reported: dict[str, list[float]] = {"asyncoded": [], "python3_devnull": []}
    chunks: list[int] = []
    expected_text = "".join(f"{i}\n" for i in range(PRINT_LINES))

    def baseline() -> float:
        out = subprocess.run([ctx.python, "-c", PRINT_BASELINE], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             check=True)
        return float(out.stderr)

    with contextlib.ExitStack() as stack:
        p = stack.enter_context(_started(ctx, ctx.daemon, 0))
        texts: list[str] = []
        current = [None]

        def on_note(msg: dict) -> None:
            params = msg.get("params", {})
            if msg["method"] == "output" and params.get("requestId") == current[0]:
                if params.get("stream") != "stdout":
                    raise BenchError(f"the loop wrote to {params.get('stream')}: {params.get('text', '')[:200]!r}")
                texts.append(params["text"])

        p.on_notification = on_note

        def daemon_once() -> tuple[float, float]:
            texts.clear()
            i = p.new_id()
            current[0] = i
            data = encode_request(i, "exec", {"code": PRINT_CODE})
            t0 = now_ns()
            p.send(data)
            t1, msg, body = p.wait(i, timeout=120)
            result = (msg if msg is not None else json.loads(body))["result"]
            if result.get("status") != "ok":
                raise BenchError(f"the print loop gave {result}")
            if "".join(texts) != expected_text:
                got = "".join(texts)
                raise BenchError(f"the daemon's output of the loop: {got.count(chr(10))} lines, not {PRINT_LINES} "
                                 f"(or not in order)")
            chunks.append(len(texts))
            return (t1 - t0) / 1e6, result["durationMs"]

        k = ctx.kernel()
        if k is not None:
            client["ipykernel"] = []

        def kernel_once() -> float:
            parts: list[str] = []

            def on_iopub(msg: dict) -> None:
                if msg["msg_type"] == "stream":
                    parts.append(msg["content"]["text"])

            k.drain(0.01)
            t0 = now_ns()
            _, t1, reply = k.run(k.execute(PRINT_CODE), timeout=300, on_iopub=on_iopub)
            if reply["content"].get("status") != "ok" or "".join(parts) != expected_text:
                raise BenchError(f"ipykernel: the loop gave {reply['content'].get('status')} and "
                                 f"{''.join(parts).count(chr(10))} lines, not {PRINT_LINES}")
            return (t1 - t0) / 1e6

        r = None
        if ctx.repls_available():
            r = stack.enter_context(AsyncioRepl(ctx))
            r.wait_prompt()
            client["asyncio_repl"] = []
        repl_line = PRINT_CODE.encode() + b"\n\n"
        wanted = [str(i).encode() for i in range(PRINT_LINES)]

        def repl_once() -> float:
            t0 = now_ns()
            t1 = r.run(repl_line, timeout=300)
            got = [ln for ln in bytes(r.buf).split(b"\r\n") if ln.isdigit()]
            if got != wanted:
                raise BenchError(f"python -m asyncio printed {len(got)} lines of digits, not {PRINT_LINES}")
            return (t1 - t0) / 1e6

        # One unrecorded round of each, then n rounds in rotating order.
        daemon_once()
        baseline()
        if k is not None:
            kernel_once()
        if r is not None:
            repl_once()
        chunks.clear()
        for i in range(n):
            order = ["asyncoded", "python3_devnull", "ipykernel", "asyncio_repl"]
            for who in order[i % 4:] + order[: i % 4]:
                if who == "asyncoded":
                    c, d = daemon_once()
                    client["asyncoded"].append(c)
                    reported["asyncoded"].append(d)
                elif who == "python3_devnull":
                    b = baseline()
                    client["python3_devnull"].append(b)
                    reported["python3_devnull"].append(b)
                elif who == "ipykernel" and k is not None and i < n_other:
                    client["ipykernel"].append(kernel_once())
                elif who == "asyncio_repl" and r is not None and i < n_other:
                    client["asyncio_repl"].append(repl_once())
    extra = {"lines": PRINT_LINES, "code": PRINT_CODE, "baseline_code": PRINT_BASELINE,
             "output_notifications_per_exec": summary(chunks)}
    if chunks:
        ctx.note(f"{PRINT_LINES:,} lines: the daemon sent them in a median of {statistics.median(chunks):.0f} output "
                 f"notifications per exec")
    return [
        Metric("print_lines_duration", f"{PRINT_LINES // 1000}k printed lines, exec's durationMs", "ms", reported,
               baseline="python3_devnull", target=Target("ratio", 1.2, "≤ 1.2× baseline"), extra=extra),
        Metric("print_lines_client", f"{PRINT_LINES // 1000}k printed lines, client-side", "ms", client,
               baseline="python3_devnull", target=Target("ratio", 1.2, "≤ 1.2× baseline"), extra=extra),
    ]


MEMORY_CODE = "import asyncio; await asyncio.sleep(0)"


def _session_pid(p: Peer) -> int:
    sessions = p.call("session/list")["sessions"]
    return next(x["pid"] for x in sessions if x["session"] == "default")


@benchmark("rss", "memory (VmRSS, Pss) of the daemon + one session after `import asyncio; await asyncio.sleep(0)`")
def bench_rss(ctx: Context) -> list[Metric]:
    """A fresh daemon, `import asyncio; await asyncio.sleep(0)` run in its default session, then, once
    every process of it has been idle for 150 ms (a warm spare has finished starting): VmRSS from
    /proc/PID/status and Pss from /proc/PID/smaps_rollup of the daemon and the session's worker,
    summed. With --spares 0 and with the default (one warm spare, whose own memory is a row of its
    own). Pss shares the pages that the daemon, its workers (the same executable and libpython) share
    between them, so it is the better measure of what they cost together; RSS counts shared pages in
    each process. The baseline: a plain python3 that ran `asyncio.run(asyncio.sleep(0))`; ipykernel's
    kernel process after the same code; `python -m asyncio` after `await asyncio.sleep(0)`."""
    n = ctx.reps(3, 1)
    keys = ["rss", "pss"]
    cfgs = [("spares0", ctx.daemon_with("--spares", "0")), ("default", ctx.daemon)]
    together = {(c, m): {"asyncoded": [], "python3": []} for c, _ in cfgs for m in keys}
    spare = {m: {"asyncoded": [], "python3": []} for m in keys}
    parts: dict[str, list[dict]] = {c: [] for c, _ in cfgs}
    others: dict[str, dict[str, list[float]]] = {m: {} for m in keys}

    def record_other(who: str, pid: int) -> None:
        settle(lambda: [pid])
        mem = proc_memory(pid)
        for m in keys:
            if m in mem:
                others[m].setdefault(who, []).append(mem[m])

    for i in range(n):
        for cfg, subject in cfgs:
            with _started(ctx, subject, 0) as p:
                t, msg, body = p.wait(p.request("exec", {"code": MEMORY_CODE}))
                check_exec_result(p, msg, body, None)
                worker = _session_pid(p)
                daemon = p.proc.pid
                want_spare = cfg == "default"
                ok = settle(lambda: [daemon, *children_of(daemon)],
                            ready=lambda ps: not want_spare or len(ps) >= 3)
                if not ok:
                    raise BenchError(f"the daemon's processes did not settle within 10 s ({cfg})")
                kids = children_of(daemon)
                spares = [k for k in kids if k != worker]
                if worker not in kids or len(spares) != (1 if want_spare else 0):
                    raise BenchError(f"the daemon ({cfg}) has children {kids}; its session's worker is {worker}")
                md, mw = proc_memory(daemon), proc_memory(worker)
                parts[cfg].append({"daemon": md, "worker": mw})
                for m in keys:
                    together[(cfg, m)]["asyncoded"].append(md[m] + mw[m])
                if spares:
                    ms = proc_memory(spares[0])
                    for m in keys:
                        spare[m]["asyncoded"].append(ms[m])
        with PlainPython(ctx) as pp:
            settle(lambda: [pp.pid])
            mem = proc_memory(pp.pid)
            for m in keys:
                for cfg, _ in cfgs:
                    together[(cfg, m)]["python3"].append(mem[m])
                spare[m]["python3"].append(mem[m])
        if ctx.repls_available():
            with AsyncioRepl(ctx) as r:
                r.wait_prompt()
                r.run(AWAIT_CODE.encode() + b"\n")
                record_other("asyncio_repl", r.pid)
        if ctx.kernels_available():
            with ctx.new_kernel() as k:
                k.first_reply()
                _, _, reply = k.run(k.execute(MEMORY_CODE))
                if reply["content"].get("status") != "ok":
                    raise BenchError(f"ipykernel: {MEMORY_CODE!r} gave {reply['content']}")
                record_other("ipykernel", k.pid)
    metrics = []
    for cfg, label in (("spares0", "--spares 0"), ("default", "default: 1 spare")):
        extra = {"n": n, "code": MEMORY_CODE, "parts": parts[cfg]}
        for m, title in (("rss", "VmRSS"), ("pss", "Pss")):
            metrics.append(Metric(f"memory_{m}_{cfg}", f"{title} daemon + session ({label})", "MiB",
                                  {**together[(cfg, m)], **others[m]}, baseline="python3",
                                  target=Target("max", 22.0, "≤ 22 MiB") if m == "rss" else None, extra=extra))
    for m, title in (("rss", "VmRSS"), ("pss", "Pss")):
        metrics.append(Metric(f"memory_{m}_spare", f"{title} of the warm spare", "MiB", spare[m], baseline="python3",
                              extra={"n": n}))
    if parts["spares0"]:
        d = statistics.median(x["daemon"]["rss"] for x in parts["spares0"])
        w = statistics.median(x["worker"]["rss"] for x in parts["spares0"])
        dp = statistics.median(x["daemon"]["pss"] for x in parts["spares0"])
        wp = statistics.median(x["worker"]["pss"] for x in parts["spares0"])
        ctx.note(f"memory (--spares 0): the daemon {d:.1f} MiB VmRSS ({dp:.1f} Pss), the session's worker "
                 f"{w:.1f} MiB VmRSS ({wp:.1f} Pss)")
    return metrics


CRASH_CODE = "import os; os._exit(1)"


@benchmark("restart", "session/restart → its answer; a crash (os._exit) → the next `1+1`; warm spare and --spares 0")
def bench_restart(ctx: Context) -> list[Metric]:
    """A fresh daemon each round, its default session warmed by `1+1`. session/restart → its answer,
    which the daemon sends once the new worker is ready. Then crash recovery:
    `import os; os._exit(1)` and `1+1` sent together → the answer of `1+1`, which the daemon runs on the
    session's new worker (the crash's own answer, WorkerDied, comes first). Before each of the two
    every process of the daemon has been idle for 150 ms, so that with the default the warm spare is
    ready, as it is when a person restarts. (A fresh daemon each round because the daemon starts at most
    five spares in ten seconds, whatever became of them: faster restarts find no warm spare.) The
    floor answers the same frames at once. ipykernel (in the --spares 0 row, having no spare either):
    KernelManager.restart_kernel(now=True) → kernel_info_reply."""
    n = ctx.reps(10, 2)
    n_kernel = ctx.reps(3, 1)
    cfgs = [("default", "warm spare", ctx.daemon_with(), True),
            ("spares0", "--spares 0", ctx.daemon_with("--spares", "0"), False)]
    restart = {cfg: {"asyncoded": [], "floor": []} for cfg, *_ in cfgs}
    crash = {cfg: {"asyncoded": [], "floor": []} for cfg, *_ in cfgs}
    crash_answer = {cfg: [] for cfg, *_ in cfgs}

    def round_(peer: Peer, quiet: Callable[[], None]) -> tuple[float, float, float]:
        quiet()
        t0 = now_ns()
        t1, _, _ = peer.wait(peer.request("session/restart", {"session": "default"}))
        t, msg, body = peer.wait(peer.request("exec", {"code": "1+1"}))
        check_exec_result(peer, msg, body, "2")
        quiet()
        a, b = peer.new_id(), peer.new_id()
        data = encode_request(a, "exec", {"code": CRASH_CODE}) + encode_request(b, "exec", {"code": "1+1"})
        t2 = now_ns()
        peer.send(data)
        ta, amsg, abody = peer.wait(a)
        tb, bmsg, bbody = peer.wait(b)
        if peer.subject.name == "asyncoded":
            res = (amsg if amsg is not None else json.loads(abody))["result"]
            if res.get("error", {}).get("type") != "WorkerDied":
                raise BenchError(f"os._exit(1) gave {res}, not WorkerDied")
            check_exec_result(peer, bmsg, bbody, "2")
        return (t1 - t0) / 1e6, (tb - t2) / 1e6, (ta - t2) / 1e6

    with _started(ctx, ctx.floor, 0) as f:
        for i in range(-1, n):  # one unrecorded round first
            for cfg, _, subject, want_spare in (cfgs if i % 2 == 0 else cfgs[::-1]):
                with _started(ctx, subject, 0) as p:
                    daemon = p.proc.pid

                    def quiet() -> None:
                        if not settle(lambda: [daemon, *children_of(daemon)],
                                      ready=lambda ps: not want_spare or len(ps) >= 3):
                            raise BenchError(f"the daemon's processes did not settle within 10 s ({cfg})")

                    r, c, a = round_(p, quiet)
                if i >= 0:
                    restart[cfg]["asyncoded"].append(r)
                    crash[cfg]["asyncoded"].append(c)
                    crash_answer[cfg].append(a)
                    r, c, a = round_(f, lambda: None)
                    restart[cfg]["floor"].append(r)
                    crash[cfg]["floor"].append(c)
    if ctx.kernels_available() and n_kernel:
        kernel_restart: list[float] = []
        with ctx.new_kernel() as k:
            k.first_reply()
            k.run(k.execute("1+1"))
            for _ in range(n_kernel):
                t0 = now_ns()
                t1 = k.restart()
                kernel_restart.append((t1 - t0) / 1e6)
        restart["spares0"]["ipykernel"] = kernel_restart
    metrics = []
    for cfg, label, _, _ in cfgs:
        metrics.append(Metric(f"restart_{cfg}", f"session/restart → answer ({label})", "ms", restart[cfg],
                              target=Target("max", 50.0, "≤ 50 ms"), extra={"n": n}))
    for cfg, label, _, _ in cfgs:
        metrics.append(Metric(f"crash_recovery_{cfg}", f"crash → next `1+1` result ({label})", "ms", crash[cfg],
                              target=Target("max", 50.0, "≤ 50 ms"),
                              extra={"n": n, "crash_answer_ms": crash_answer[cfg]}))
    return metrics


# ---------------------------------------------------------------------------------------------
# Running and reporting


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "µs" and value >= 10_000:  # long ones (an interrupt of ipykernel) read better in ms
        value, unit = value / 1000, "ms"
    if value >= 100:
        s = f"{value:.0f}"
    elif value >= 10:
        s = f"{value:.1f}"
    else:
        s = f"{value:.2f}"
    return f"{s} {unit}"


# How a baseline other than the floor is named in the table.
BASELINE_NAMES = {"floor_cross": "floor on another CPU", "python3": "plain python3",
                  "python3_devnull": "python3 > /dev/null"}
# The subjects that get columns of their own, beside asyncoded and its baseline.
OTHER_COLUMNS = [("ipykernel", "ipykernel"), ("asyncio_repl", "python -m asyncio")]


def table(metrics: list[Metric]) -> str:
    others = [(key, title) for key, title in OTHER_COLUMNS
              if any(m.samples.get(key) or key in m.missing for m in metrics)]
    head = ["metric", "asyncoded median", "p90", "floor median", "p90"]
    for _, title in others:
        head += [f"{title} median", "p90"]
    head += ["ratio", "target", "met"]
    rows = []

    def cells(m: Metric, who: str) -> list[str]:
        v = m.samples.get(who) or []
        if not v and who in m.missing:
            return [m.missing[who], "-"]
        return [fmt(statistics.median(v) if v else None, m.unit), fmt(percentile(v, 90) if v else None, m.unit)]

    for m in metrics:
        label = m.label if m.baseline == "floor" else f"{m.label} [vs {BASELINE_NAMES.get(m.baseline, m.baseline)}]"
        r = m.ratio()
        met = m.target.met(m) if m.target else None
        row = [label, *cells(m, m.subject), *cells(m, m.baseline)]
        for key, _ in others:
            row += cells(m, key)
        row += ["-" if r is None else f"{r:.1f}×" if r >= 0.995 or r < 0.1 else f"{r:.2f}×",
                m.target.text if m.target else "-",
                "-" if met is None else ("yes" if met else "NO")]
        rows.append(row)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    right = set(range(1, len(head) - 2))

    def line(cells_):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells_, widths))).rstrip()

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
    ap.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable,
                    help="the plain Python of the baselines and of `python -m asyncio` (default: /usr/bin/python3)")
    ap.add_argument("--no-compare", action="store_true",
                    help="measure asyncoded and its floors only, not ipykernel nor python -m asyncio")
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
        python=args.python,
        compare=not args.no_compare,
        logs=logs,
    )
    # jupyter_client's connection files go with the logs, not into ~/.local/share/jupyter/runtime.
    os.environ.setdefault("JUPYTER_RUNTIME_DIR", str(logs / "jupyter-runtime"))
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
            ctx.close_kernel()
            return 130
        timings[b.name] = time.monotonic() - t
    ctx.close_kernel()
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
        # The restart benchmark's crashes (os._exit(1)) are logged on purpose: not counted.
        warns = [ln for ln in ctx.daemon.log.read_text(errors="replace").splitlines()
                 if ("[warning]" in ln or "[error]" in ln or "[critical]" in ln)
                 and not re.search(r"session default: the worker \(pid \d+\) exited with code 1$", ln)]
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
