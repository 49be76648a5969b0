"""The other subjects: ipykernel (driven by jupyter_client), `python3 -m asyncio` (on a pty), the
signal floor, and a plain python3.
"""
from __future__ import annotations

import atexit
import math
import os
import queue
import select
import signal
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from benchlib.peer import BenchError, end_stdin_child, now_ns
from procs import wait_exit

if TYPE_CHECKING:
    from benchlib.context import Context


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
        if not wait_exit(self.proc, 2.0):
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
        end_stdin_child(self.proc)


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
        end_stdin_child(self.proc)


def any_reply(k: "IPyKernel", timeout: float = 120.0) -> tuple[int, dict]:
    try:
        msg = k.kc.get_shell_msg(timeout=timeout)
    except queue.Empty:
        raise BenchError(f"ipykernel: no reply in {timeout} s") from None
    return now_ns(), msg
