"""asyncode.serve and serve_in_background without a daemon: the socket's rules, and the
session protocol spoken to it directly (the daemon's side is tests/e2e/test_attach.py)."""
import asyncio
import dis
import os
import socket
import stat
import sys
import threading
import time

import pytest

import asyncode
from asyncode._wire import Wire
from support import run, run_trio


class Session:
    """The daemon's half of the link, by hand."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.sock.settimeout(30)
        self.wire = Wire(self.sock)
        self.next = 0
        self.notes = []

    def call(self, method, params=None):
        self.next += 1
        self.wire.send({"jsonrpc": "2.0", "id": self.next, "method": method, "params": params or {}})
        while True:
            msg = self.wire.read()
            if msg.get("id") == self.next:
                return msg
            self.notes.append(msg)

    def close(self):
        self.sock.close()


async def in_thread(fn, *args):
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


def test_the_socket_is_private_and_removed_when_serving_ends(tmp_path):
    directory = tmp_path / "private"
    path = str(directory / "s.sock")

    async def main():
        ready = asyncio.get_running_loop().create_future()
        task = asyncio.ensure_future(asyncode.serve({}, path, ready=ready.set_result))
        assert await ready == path
        modes = stat.S_IMODE(os.lstat(directory).st_mode), stat.S_IMODE(os.lstat(path).st_mode)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return modes

    assert run(main) == (0o700, 0o600)
    assert not os.path.exists(path)


def test_a_directory_others_may_enter_is_refused(tmp_path):
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    os.chmod(open_dir, 0o755)

    async def main():
        await asyncode.serve({}, str(open_dir / "s.sock"))

    with pytest.raises(PermissionError):
        run(main)


def test_the_default_socket_is_in_the_users_runtime_directory(tmp_path, monkeypatch):
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    assert asyncode.default_path() == str(runtime / "asyncode" / ("%d.sock" % os.getpid()))
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert asyncode.socket_dir() == "/tmp/asyncode-%d" % os.getuid()


def test_serve_in_background_runs_code_in_a_loop_of_its_own(tmp_path):
    namespace = {"value": 20}
    server = asyncode.serve_in_background(namespace, str(tmp_path / "bg" / "s.sock"))
    try:
        s = Session(server.path)
        assert s.call("session/open", {"session": "bg"})["result"]["pid"] == os.getpid()
        r = s.call("exec", {"code": "import asyncio, threading\nawait asyncio.sleep(0)\n"
                                    "value * 2, threading.current_thread().name"})["result"]
        assert r["status"] == "ok" and r["result"]["text/plain"] == "(40, 'asyncode-serve')"
        s.call("exec", {"code": "added = 1"})
        assert "added" in namespace
        assert s.call("reset")["result"] is None
        assert "added" not in namespace and namespace["value"] == 20  # the program's own stay
        s.close()
    finally:
        server.close()
    assert not os.path.exists(server.path)


def test_output_is_the_execs_and_the_programs_own_prints_are_not(tmp_path, capsys):
    path = str(tmp_path / "out" / "s.sock")

    async def main():
        ready = asyncio.get_running_loop().create_future()
        task = asyncio.ensure_future(asyncode.serve({}, path, ready=ready.set_result))
        await ready
        stop = asyncio.Event()

        async def program_prints():
            while not stop.is_set():
                print("program")
                await asyncio.sleep(0.01)

        printer = asyncio.ensure_future(program_prints())

        def talk():
            s = Session(path)
            s.call("session/open")
            r = s.call("exec", {"code": "import asyncio\nfor i in range(3):\n    print('attached', i)\n"
                                        "    await asyncio.sleep(0.02)"})
            s.close()
            return r, s.notes

        r, notes = await in_thread(talk)
        stop.set()
        await printer
        task.cancel()
        return r, notes

    r, notes = run(main)
    assert r["result"]["status"] == "ok"
    text = "".join(n["params"]["text"] for n in notes if n["method"] == "output")
    assert text == "attached 0\nattached 1\nattached 2\n"
    assert all(n["params"]["requestId"] == r["id"] for n in notes)
    out = capsys.readouterr().out
    assert "program" in out and "attached" not in out


def test_an_interrupt_cancels_an_await_and_says_false_for_code_stuck_in_c(tmp_path):
    path = str(tmp_path / "int" / "s.sock")
    blocked, release = os.pipe()
    main_thread = threading.get_ident()

    async def main():
        ready = asyncio.get_running_loop().create_future()
        task = asyncio.ensure_future(asyncode.serve({}, path, ready=ready.set_result))
        await ready

        def talk():
            s = Session(path)
            s.call("session/open")

            def interrupted_exec(code, grace, in_c=False):
                exec_id = 100 + s.next
                s.wire.send({"jsonrpc": "2.0", "id": exec_id, "method": "exec", "params": {"code": code}})
                while not any(n.get("method") == "output" for n in s.notes):
                    s.notes.append(s.wire.read())  # it runs: it said so
                if in_c:
                    while not in_a_call(main_thread):
                        time.sleep(0.005)
                answer = s.call("interrupt", {"graceMs": grace})["result"]
                if in_c:
                    os.write(release, b"x")
                while not any(n.get("id") == exec_id for n in s.notes):
                    s.notes.append(s.wire.read())
                result = next(n for n in s.notes if n.get("id") == exec_id)
                s.notes.clear()
                return answer, result

            awaited = interrupted_exec("import asyncio\nprint('started')\nawait asyncio.sleep(60)", 2000)
            # os.read of an empty pipe blocks in C until the test writes to it.
            stuck = interrupted_exec("import os\nprint('started')\nos.read(%d, 1)" % blocked, 100, in_c=True)
            s.close()
            return awaited, stuck

        got = await in_thread(talk)
        task.cancel()
        return got

    (answer, result), (stuck_answer, stuck_result) = run(main)
    assert answer == {"interrupted": True, "how": "cancelled"}
    assert result["result"]["status"] == "interrupted"
    assert result["result"]["error"]["type"] == "CancelledError"
    assert stuck_answer == {"interrupted": False}  # os.read had not returned within 100 ms
    assert stuck_result["result"]["status"] == "interrupted"  # KeyboardInterrupt once it did
    assert stuck_result["result"]["error"]["type"] == "KeyboardInterrupt"


def in_a_call(thread):
    """That thread's Python code is inside a call (of C code, here) right now."""
    frame = sys._current_frames().get(thread)
    return frame is not None and frame.f_code.co_filename.startswith("<cell") and \
        dis.opname[frame.f_code.co_code[frame.f_lasti]] in ("PRECALL", "CALL")


def test_serve_works_under_trio(tmp_path):
    trio = pytest.importorskip("trio")
    path = str(tmp_path / "trio" / "s.sock")

    async def main():
        ready = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: asyncode.serve({"trio": trio}, path, ready=ready.append))
            while not ready:
                await trio.sleep(0.01)

            def talk():
                s = Session(path)
                opened = s.call("session/open")["result"]
                r = s.call("exec", {"code": "await trio.sleep(0.01)\ntrio.lowlevel.current_task().name"})
                s.close()
                return opened, r["result"]

            opened, r = await trio.to_thread.run_sync(talk)
            nursery.cancel_scope.cancel()
        return opened, r

    opened, r = run_trio(main)
    assert opened["backend"] == "trio"
    assert r["status"] == "ok", r
