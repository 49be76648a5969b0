"""A test client for asyncoded: spawns the daemon and speaks its framed JSON-RPC.

Every message in both directions goes through protocol_schema.TrafficValidator, and every byte
the daemon writes on stdout is parsed strictly as Content-Length frames: anything else is recorded
as a framing violation. `Daemon.close()` shuts the daemon down and asserts that neither kind of
violation happened.

    d = Daemon()
    d.initialize()
    r = d.exec("1 + 1")
    assert r["result"]["text/plain"] == "2"
    d.close()

Nothing here sleeps to let things happen: every wait is on a condition (a message, an exit) with
a timeout.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import pathlib
import signal
import subprocess
import tempfile
import threading
import time
from typing import Any, Callable, Iterable

from procs import children_of, pid_alive, proc_state, rss_kib  # noqa: F401  (tests import them from here)
from protocol_schema import TrafficValidator
from wire import frame

REPO = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_TIMEOUT = 15.0


def daemon_path() -> str:
    """The asyncoded binary under test: $ASYNCODE_DAEMON, else <repo>/build/asyncoded."""
    return os.environ.get("ASYNCODE_DAEMON") or str(REPO / "build" / "asyncoded")


def _id_key(i: Any) -> tuple:
    if isinstance(i, bool) or not isinstance(i, (int, str)):
        return ("json", json.dumps(i, sort_keys=True))
    return ("str" if isinstance(i, str) else "int", i)


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.01) -> Any:
    """Poll predicate until it returns something truthy (returned) or timeout passes (returns the
    last falsy value). For conditions no message announces, such as a process being gone."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def gated(fifo: str, body: str) -> str:
    """Code that prints 'begin', then waits until the test opens the FIFO (open_gate), then
    runs body: the test can wait for 'begin' so that it knows the exec runs."""
    return ("print('begin', flush=True)\n"
            "with open(%r) as _gate:\n"
            "    _gate.read()\n" % fifo) + body


def open_gate(fifo: str) -> None:
    """Let an exec built by gated() go on."""
    def writer():
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:  # ENXIO: the reader has not opened it yet
            if e.errno != errno.ENXIO:
                raise
            return None
    fd = wait_until(writer, 10.0)
    assert fd is not None, "the exec never opened the gate"
    try:
        os.write(fd, b"go")
    except BrokenPipeError:
        # The reader opened it and is gone already (code told to stop, such as introspection
        # that ran out of time, stops as soon as its open() returns): the gate did its work.
        pass
    finally:
        os.close(fd)


class DaemonError(AssertionError):
    pass


class Daemon:
    """One asyncoded process and a strict client for it."""

    MAX_HEADER = 8192

    def __init__(self, args: Iterable[str] = (), env: dict[str, str] | None = None,
                 *, strict_ids: bool = True, program: list[str] | None = None) -> None:
        """Start `asyncoded *args` (program: another command line to run instead, for testing
        the harness itself) with env added to this process's environment."""
        self.args = [*(program or [daemon_path()]), *args]
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        self._stderr = tempfile.NamedTemporaryFile(prefix="asyncoded-stderr-", suffix=".log",
                                                   delete=False)
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, env=full_env, start_new_session=True,
                                     bufsize=0)
        self.pid = self.proc.pid
        self.validator = TrafficValidator(strict_ids=strict_ids)
        self.framing_violations: list[str] = []
        self.messages: list[dict] = []          # every daemon message, in order of arrival
        self.raw_bytes = 0
        self.eof = False
        self.last_exec_id: Any = None
        self._responses: dict[tuple, dict] = {}
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stdin_closed = False
        self._closed = False
        self._stderr_text: str | None = None
        self._seen_children: set[int] = set()
        self._reading = threading.Event()      # cleared by pause_reading()
        self._reading.set()
        self._reader = threading.Thread(target=self._read_loop, name="asyncoded-reader",
                                        daemon=True)
        self._reader.start()

    # ------------------------------------------------------------------ reading
    def _violation(self, text: str) -> None:
        with self._cond:
            self.framing_violations.append(text)
            self._cond.notify_all()

    def _read_loop(self) -> None:
        fd = self.proc.stdout.fileno()
        buf = bytearray()
        while True:
            self._reading.wait()
            try:
                chunk = os.read(fd, 1 << 20)
            except OSError as e:
                self._violation("reading stdout failed: %s" % e)
                chunk = b""
            if not chunk:
                break
            self.raw_bytes += len(chunk)
            buf += chunk
            self._parse(buf)
        if buf:
            self._violation("stdout ended inside a frame: %d bytes left: %r"
                            % (len(buf), bytes(buf[:200])))
        with self._cond:
            self.eof = True
            self._cond.notify_all()

    def _parse(self, buf: bytearray) -> None:
        """Take every complete frame off the front of buf; record anything that is not one."""
        pos = 0
        while True:
            end = buf.find(b"\r\n\r\n", pos)
            if end < 0:
                if len(buf) - pos > self.MAX_HEADER:
                    self._violation("no frame header end within %d bytes: %r"
                                    % (self.MAX_HEADER, bytes(buf[pos:pos + 200])))
                    pos = len(buf)
                break
            header = bytes(buf[pos:end])
            length = self._parse_header(header)
            if length is None:
                # resynchronise at the next frame start, if any
                nxt = buf.find(b"Content-Length:", pos + 1)
                pos = nxt if nxt >= 0 else end + 4
                continue
            body_start = end + 4
            if len(buf) - body_start < length:
                break
            body = bytes(buf[body_start:body_start + length])
            pos = body_start + length
            self._on_body(body)
        del buf[:pos]

    def _parse_header(self, header: bytes) -> int | None:
        length = None
        try:
            text = header.decode("ascii")
        except UnicodeDecodeError:
            self._violation("non-ASCII frame header: %r" % header[:200])
            return None
        for line in text.split("\r\n"):
            name, sep, value = line.partition(": ")
            if not sep or not name or any(c in name for c in " \t\r\n:"):
                self._violation("malformed header line %r in %r" % (line[:100], text[:200]))
                return None
            if name.lower() == "content-length":
                if length is not None or not value.isdigit():
                    self._violation("bad Content-Length header in %r" % text[:200])
                    return None
                length = int(value)
            elif name.lower() != "content-type":
                self._violation("unexpected header %r" % line[:100])
        if length is None:
            self._violation("frame header without Content-Length: %r" % text[:200])
        return length

    def _on_body(self, body: bytes) -> None:
        try:
            msg = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            self._violation("frame body is not UTF-8 JSON (%s): %r" % (e, body[:200]))
            return
        self.validator.on_daemon_message(msg)
        with self._cond:
            self.messages.append(msg)
            if isinstance(msg, dict) and "method" not in msg and "id" in msg:
                self._responses.setdefault(_id_key(msg["id"]), msg)
            if isinstance(msg, dict) and msg.get("method") == "status":
                pid = (msg.get("params") or {}).get("pid")
                if isinstance(pid, int):
                    self._seen_children.add(pid)
            self._cond.notify_all()

    def pause_reading(self) -> None:
        """Stop reading the daemon's stdout (after the read in progress, if any) until
        resume_reading(), as a slow client would: the pipe fills up and the daemon has to
        hold its output back. close() resumes reading."""
        self._reading.clear()

    def resume_reading(self) -> None:
        self._reading.set()

    # ------------------------------------------------------------------ writing
    def _write(self, data: bytes) -> None:
        with self._write_lock:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def send(self, msg: Any) -> None:
        """Send one JSON message (dict or list), recorded by the validator."""
        self.validator.on_client_message(msg)
        self._write(frame(msg))

    def send_raw(self, data: bytes, *, record: Any = None) -> None:
        """Write bytes as they are. record: the message(s) those bytes carry, if the daemon may
        see one (a dict, or a list of dicts), so that the validator knows the ids it may answer."""
        if record is not None:
            for m in (record if isinstance(record, list) else [record]):
                self.validator.on_client_message(m)
        self._write(data)

    def request(self, method: str, params: Any = None, id: Any = None) -> Any:
        """Send a request; returns its id (a fresh integer unless id is given)."""
        if id is None:
            id = next(self._ids)
        msg = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        return id

    def notify(self, method: str, params: Any = None) -> None:
        msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)

    # ------------------------------------------------------------------ waiting
    def _describe(self) -> str:
        tail = self.messages[-8:]
        return ("daemon pid %d, exit code %s, %d messages; last: %s\nstderr tail:\n%s"
                % (self.pid, self.proc.poll(), len(self.messages),
                   json.dumps(tail, ensure_ascii=False)[:3000], self.stderr()[-3000:]))

    def _wait_for(self, find: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = find()
                if found is not None:
                    return found
                if self.eof:
                    raise DaemonError("stdout closed while waiting for %s\n%s"
                                      % (what, self._describe()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no %s within %.1f s\n%s" % (what, timeout,
                                                                   self._describe()))
                self._cond.wait(left)

    def wait_response(self, id: Any, timeout: float = DEFAULT_TIMEOUT) -> dict:
        """The response (whole message: result or error) to the request with this id."""
        key = _id_key(id)
        return self._wait_for(lambda: self._responses.get(key), timeout,
                              "response to id %r" % (id,))

    def has_response(self, id: Any) -> bool:
        with self._cond:
            return _id_key(id) in self._responses

    def wait_result(self, id: Any, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """The result of a request that must succeed."""
        resp = self.wait_response(id, timeout)
        if "error" in resp:
            raise DaemonError("request %r failed: %s" % (id, json.dumps(resp["error"])))
        return resp["result"]

    def wait_error(self, id: Any, timeout: float = DEFAULT_TIMEOUT) -> dict:
        """The error member of the response to a request that must fail."""
        resp = self.wait_response(id, timeout)
        if "error" not in resp:
            raise DaemonError("request %r should have failed: %s" % (id, json.dumps(resp)))
        return resp["error"]

    def call(self, method: str, params: Any = None, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """request + wait_result."""
        return self.wait_result(self.request(method, params), timeout)

    def notifications(self, method: str, predicate: Callable[[dict], bool] | None = None,
                      since: int = 0) -> list[dict]:
        """The params of the notifications named method received so far (from index since of
        self.messages on), optionally filtered."""
        with self._cond:
            msgs = self.messages[since:]
        return [m.get("params") for m in msgs
                if isinstance(m, dict) and m.get("method") == method and "id" not in m
                and (predicate is None or predicate(m.get("params")))]

    def wait_notification(self, method: str, predicate: Callable[[dict], bool] | None = None,
                          timeout: float = DEFAULT_TIMEOUT, since: int = 0) -> dict:
        """The params of the first notification named method (from index since of
        self.messages on) for which predicate is true; waits for it."""
        def find():
            for m in self.messages[since:]:
                if (isinstance(m, dict) and m.get("method") == method and "id" not in m
                        and (predicate is None or predicate(m.get("params")))):
                    return m.get("params")
            return None
        return self._wait_for(find, timeout, "%r notification" % method)

    def wait_message(self, predicate: Callable[[Any], bool], timeout: float = DEFAULT_TIMEOUT,
                     since: int = 0, what: str = "matching message") -> Any:
        """The first daemon message (from index since of self.messages on) for which predicate
        is true; waits for it."""
        def find():
            for m in self.messages[since:]:
                if predicate(m):
                    return m
            return None
        return self._wait_for(find, timeout, what)

    def wait_request(self, method: str, timeout: float = DEFAULT_TIMEOUT, since: int = 0) -> dict:
        """The first request (whole message) named method that the daemon sent."""
        def find():
            for m in self.messages[since:]:
                if isinstance(m, dict) and m.get("method") == method and "id" in m:
                    return m
            return None
        return self._wait_for(find, timeout, "%r request from the daemon" % method)

    def index(self) -> int:
        """The number of daemon messages received so far (a `since` for later waits)."""
        with self._cond:
            return len(self.messages)

    def position(self, predicate: Callable[[dict], bool], since: int = 0) -> int | None:
        """Index in self.messages of the first message (from index since on) for which
        predicate is true; None when there is none (yet)."""
        with self._cond:
            for i in range(since, len(self.messages)):
                m = self.messages[i]
                if isinstance(m, dict) and predicate(m):
                    return i
        return None

    # ------------------------------------------------------------------ protocol helpers
    def initialize(self, capabilities: dict | None = None, timeout: float = DEFAULT_TIMEOUT) -> dict:
        params: dict[str, Any] = {"clientInfo": {"name": "asyncode-e2e", "version": "1"}}
        if capabilities is not None:
            params["capabilities"] = capabilities
        return self.wait_result(self.request("initialize", params), timeout)

    def exec(self, code: str, timeout: float = DEFAULT_TIMEOUT, **params: Any) -> dict:
        """Run code (request + wait); returns the ExecResult. The request's id is left in
        self.last_exec_id."""
        rid = self.request("exec", {"code": code, **params})
        self.last_exec_id = rid
        return self.wait_result(rid, timeout)

    def outputs(self, request_id: Any, stream: str = "stdout") -> str:
        """The text of every `output` of that exec on that stream, concatenated."""
        key = _id_key(request_id) if request_id is not None else None
        with self._cond:
            msgs = list(self.messages)
        parts = []
        for m in msgs:
            if isinstance(m, dict) and m.get("method") == "output":
                p = m.get("params") or {}
                rid = p.get("requestId")
                if p.get("stream") == stream and (
                        (rid is None and key is None)
                        or (rid is not None and key is not None and _id_key(rid) == key)):
                    parts.append(p.get("text", ""))
        return "".join(parts)

    def displays(self, request_id: Any) -> list[dict]:
        """The data (MimeBundle) of every `display` of that exec, in order."""
        key = _id_key(request_id)
        return [p["data"] for p in self.notifications("display")
                if p.get("requestId") is not None and _id_key(p["requestId"]) == key]

    def answer_input(self, request: dict | Any, value: str) -> None:
        """Answer the daemon's `input` request (the message, or its id) with value."""
        rid = request["id"] if isinstance(request, dict) else request
        self.send({"jsonrpc": "2.0", "id": rid, "result": {"value": value}})

    def session_pids(self) -> list[int]:
        """The worker pids session/list shows."""
        return [s["pid"] for s in self.call("session/list")["sessions"]]

    def children(self) -> list[int]:
        """The daemon's live child processes (its workers, spares included)."""
        return children_of(self.pid)

    def remember_children(self) -> list[int]:
        """Note the daemon's current children so that close() checks they end with it."""
        kids = self.children()
        self._seen_children.update(kids)
        return kids

    def forget(self, predicate: Callable[[Any], bool]) -> int:
        """Drop the messages received so far for which predicate is true; returns how many. A
        test that receives a flood (a child writing without pause) keeps its own memory bounded.
        Indexes of self.messages taken before (since, position) no longer hold."""
        with self._cond:
            kept = [m for m in self.messages if not predicate(m)]
            dropped = len(self.messages) - len(kept)
            self.messages[:] = kept
        return dropped

    def take_violations(self, predicate: Callable[[str], bool]) -> list[str]:
        """Remove the schema violations recorded so far for which predicate is true, and return
        them: a test of a known daemon bug takes that bug's violations out, so that close()
        still fails on any other one."""
        with self.validator._lock:
            taken = [v for v in self.validator.violations if predicate(v)]
            self.validator.violations[:] = [v for v in self.validator.violations
                                            if not predicate(v)]
        return taken

    def stderr(self) -> str:
        """Everything the daemon wrote on stderr so far (kept after close())."""
        if self._stderr_text is not None:
            return self._stderr_text
        with open(self._stderr.name, "rb") as f:
            return f.read().decode("utf-8", "replace")

    # ------------------------------------------------------------------ ending
    def close_stdin(self) -> None:
        with self._write_lock:
            if not self._stdin_closed:
                self._stdin_closed = True
                try:
                    self.proc.stdin.close()
                except BrokenPipeError:
                    pass

    def wait_exit(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        """The daemon's exit code (negative: killed by that signal); raises on timeout."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError("the daemon did not exit within %.1f s\n%s"
                               % (timeout, self._describe())) from None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send sig to the daemon only (not to its workers)."""
        if self.proc.poll() is None:
            os.kill(self.pid, sig)

    def _kill_everything(self) -> None:
        pids = set(self._seen_children) | set(self.children())
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for pid in pids:
            if pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        wait_until(lambda: not any(pid_alive(p) for p in pids), 2.0)

    def close(self, timeout: float = 10.0) -> None:
        """Shut down (shutdown + exit, expecting code 0), kill the daemon on timeout, then assert
        that the daemon wrote nothing but frames, broke no schema rule, and left no worker."""
        if self._closed:
            return
        self._closed = True
        self.resume_reading()
        problems = []
        try:
            if self.proc.poll() is None:
                self.remember_children()
                try:
                    if not self._stdin_closed:
                        rid = self.request("shutdown")
                        resp = self.wait_response(rid, timeout)
                        if resp.get("result", "missing") is not None:
                            problems.append("shutdown answered %s" % json.dumps(resp))
                        self.notify("exit")
                    code = self.wait_exit(timeout)
                    if code != 0:
                        problems.append("the daemon exited with %s after shutdown + exit" % code)
                except (TimeoutError, DaemonError, BrokenPipeError, OSError) as e:
                    problems.append("clean shutdown failed: %s" % e)
                    self._kill_everything()
            self._reader.join(5)
            if self._reader.is_alive():
                problems.append("stdout still open 5 s after the daemon exited (a process it "
                                "started holds it?)")
            left = wait_until(lambda: not [p for p in self._seen_children if pid_alive(p)], 3.0)
            if not left:
                alive = [p for p in self._seen_children if pid_alive(p)]
                problems.append("worker processes outlived the daemon: %s" % alive)
        finally:
            if self.proc.poll() is None or any(pid_alive(p) for p in self._seen_children):
                self._kill_everything()
            for f in (self.proc.stdin, self.proc.stdout):
                try:
                    f.close()
                except OSError:
                    pass
            self._stderr.close()
        if self.framing_violations:
            problems.append("bytes on stdout that are not frames:\n  " +
                            "\n  ".join(self.framing_violations[:20]))
        try:
            self.validator.assert_clean()
        except AssertionError as e:
            problems.append(str(e))
        self._stderr_text = self.stderr()
        os.unlink(self._stderr.name)
        if problems:
            raise AssertionError("\n".join(problems) + "\n--- daemon stderr, tail:\n"
                                 + self._stderr_text[-3000:])

    def __enter__(self) -> "Daemon":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def result_text(r: dict) -> str:
    """The text/plain of an ExecResult's value (its status must be "ok")."""
    assert r["status"] == "ok", r
    return r["result"]["text/plain"]


def texec(d: "Daemon", code: str, **kw: Any) -> dict:
    """exec in the Trio session "t" (the trio_session fixture's)."""
    return d.exec(code, session="t", **kw)
