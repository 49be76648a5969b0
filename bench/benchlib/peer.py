"""The benchmark's client: a server (the daemon, or the floor) spawned in a process group of its
own, spoken to over its pipes with the framing the end-to-end tests use (tests/e2e/wire.py), its
replies read and timed in the one thread that times.
"""
from __future__ import annotations

import atexit
import collections
import dataclasses
import json
import math
import os
import re
import select
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

from procs import group_members, wait_exit
from wire import content_length, encode_notification, encode_request, frame

now_ns = time.perf_counter_ns


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
                # The daemon and the floor write exactly "Content-Length: N": read without a call.
                if header.startswith(b"Content-Length: ") and b"\r" not in header:
                    length = int(header[16:])
                else:
                    length = content_length(header)
                if length is None:
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
                wait_exit(self.proc, 0.2)
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
                    if wait_exit(self.proc, timeout):
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


def end_stdin_child(proc: subprocess.Popen) -> None:
    """Ends a child that exits at EOF on its stdin: closes it, then kills it after 2 s."""
    if proc.poll() is None:
        proc.stdin.close()
        if not wait_exit(proc, 2.0):
            proc.kill()
            proc.wait()
    proc.stdout.close()


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
    members = group_members(pgid)
    while members and time.monotonic() < deadline:
        time.sleep(0.002)
        members = group_members(pgid)
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


def on_sigterm(signum, frame_):
    raise SystemExit(128 + signum)  # unwinds through every finally, closing the peers
