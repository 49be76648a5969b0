"""Attach: the running program made reachable by the asyncode daemon, on a Unix socket.

    await asyncode.serve()                 # in an asyncio or Trio program, as a task of it
    asyncode.serve_in_background()         # any program, from any thread: a loop of its own

The socket lives in a directory that only this user can enter (made with mode 0700, and
refused when it is anyone else's or open to others), is itself mode 0600, and every
connection's peer must be this user (SO_PEERCRED): anyone else is hung up on at once. It is
never TCP. By default the socket is $XDG_RUNTIME_DIR/asyncode/<pid>.sock, or, without a
runtime directory of this user's, /tmp/asyncode-<uid>/<pid>.sock; `asyncode attach` lists
them. Each daemon that connects is a Link (_attach.py); execs of all of them run one at a
time, in the order they came, in the server's task, in the program's own loop.
"""
import atexit
import collections
import os
import socket
import stat
import struct
import sys
import threading

from . import _loops
from ._attach import Link, _log
from ._runner import Runner
from ._wire import Wire


def socket_dir():
    """Where this user's programs put their sockets by default."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        try:
            st = os.stat(runtime)
            if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid():
                return os.path.join(runtime, "asyncode")
        except OSError:
            pass
    return "/tmp/asyncode-%d" % os.getuid()


def default_path(pid=None):
    return os.path.join(socket_dir(), "%d.sock" % (pid or os.getpid()))


def _private_dir(path):
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise PermissionError("asyncode: %s must be a directory of this user's that only this user can "
                              "enter (mode 0700, not a symlink)" % path)


def _in_use(path):
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def _listen(path):
    _private_dir(os.path.dirname(path))
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISSOCK(st.st_mode) or _in_use(path):
            raise FileExistsError("asyncode: %s is in use" % path)
        os.unlink(path)  # a socket left by a program that is gone
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)   # in a directory nobody else can enter: the chmod closes no window
        os.chmod(path, 0o600)
        sock.listen(8)
    except BaseException:
        sock.close()
        raise
    return sock, os.lstat(path).st_ino


def peer_uid(conn):
    pid, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
    return pid, uid


class Server:
    """The socket, its accepting thread, the links, and the jobs they send to the loop."""

    def __init__(self, namespace, path, loop):
        self.namespace = namespace
        self.own_names = set(namespace)
        self.loop = loop
        self.runner = Runner(namespace, lambda stream, text: None)
        self.path = os.path.abspath(path or default_path())
        self._lock = threading.Lock()
        self._jobs = collections.deque()
        self._event = None
        self._links = set()
        self._closed = False
        self._listener, self._inode = _listen(self.path)
        atexit.register(self.close)
        threading.Thread(target=self._accept, name="asyncode-accept", daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            try:
                pid, uid = peer_uid(conn)
            except OSError:
                conn.close()
                continue
            if uid != os.getuid():
                _log("asyncode: refused a connection from uid %d (pid %d) on %s" % (uid, pid, self.path))
                conn.close()
                continue
            link = Link(self, Wire(conn), pid)
            with self._lock:
                if self._closed:
                    conn.close()
                    return
                self._links.add(link)
            threading.Thread(target=link.serve, name="asyncode-link", daemon=True).start()

    def forget(self, link):
        with self._lock:
            self._links.discard(link)

    # ---- jobs: any thread puts, the server's task takes -------------------------------
    def submit(self, link, job):
        with self._lock:
            self._jobs.append(job)
            event, self._event = self._event, None
        if event is not None:
            try:
                self.loop.call_soon(event.set)
            except RuntimeError:
                pass  # the loop is gone

    async def next_job(self):
        while True:
            with self._lock:
                if self._jobs:
                    return self._jobs.popleft()
                event = self._event = self.loop.event()
            await event.wait()

    def close(self):
        with self._lock:
            if self._closed:
                return
            self._closed = True
            links, self._links = list(self._links), set()
        atexit.unregister(self.close)
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
        except OSError:
            pass
        self._listener.close()
        try:
            if os.lstat(self.path).st_ino == self._inode:
                os.unlink(self.path)
        except OSError:
            pass
        for link in links:
            link.close()


def _namespace(locals):
    if locals is not None:
        return locals
    return sys.modules["__main__"].__dict__


async def serve(locals=None, path=None, *, ready=None):
    """Serve this program to asyncode daemons until cancelled: attached code runs in this
    loop (asyncio or Trio) and in `locals` (by default the namespace of __main__, the
    program's globals). `path`: the socket (by default default_path()). `ready(path)` is
    called once the socket listens."""
    loop = _loops.current()
    server = Server(_namespace(locals), path, loop)
    if ready is not None:
        ready(server.path)
    try:
        while True:
            job = await server.next_job()
            try:
                await job()
            except Exception as e:  # noqa: BLE001 - one link's failure is not the program's
                _log("asyncode: an attached request failed: %r" % (e,))
    finally:
        server.close()


class Background:
    """serve() in a thread of its own, with an asyncio loop of its own."""

    def __init__(self, locals, path):
        import asyncio
        self._asyncio = asyncio
        self._ready = threading.Event()
        self._error = None
        self._loop = None
        self._task = None
        self.path = None
        self._thread = threading.Thread(target=self._main, args=(locals, path), name="asyncode-serve", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def _main(self, locals, path):
        asyncio = self._asyncio

        def started(path):
            self.path = path
            self._ready.set()

        async def main():
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.current_task()
            await serve(locals, path, ready=started)

        try:
            asyncio.run(main())
        except asyncio.CancelledError:
            pass
        except BaseException as e:  # noqa: B902 - the caller of serve_in_background learns it
            self._error = e
        finally:
            self._ready.set()

    def close(self):
        """Stops serving: attached daemons see the program go, the socket is removed."""
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:
                pass
        if threading.current_thread() is not self._thread:
            self._thread.join()


def serve_in_background(locals=None, path=None):
    """serve() for any program, from any thread: a daemon thread runs an asyncio loop of its
    own, where attached code runs. Returns once the socket listens; `.path` is the socket,
    `.close()` stops."""
    return Background(_namespace(locals), path)
