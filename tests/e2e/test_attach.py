"""session/attach end to end: the real daemon attached to a real program, an aiohttp server
with a periodic task and state (attach_host.py), serving itself with asyncode.serve()."""
import json
import multiprocessing
import os
import shutil
import socket
import stat
import tempfile
import time

import pytest

from attach_support import Host
from client import gated, open_gate, wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def host(tmp_path):
    h = Host(tmp_path / "sockets")
    yield h
    h.close()


def attach(daemon, host, session="app"):
    return daemon.call("session/attach", {"session": session, "socket": host.path})


def status_of(daemon, session, state, since=0):
    return daemon.wait_notification("status", lambda p: p["session"] == session and p["state"] == state,
                                    since=since)


def test_attach_answers_the_programs_pid_and_loop(daemon, host):
    assert attach(daemon, host) == {"session": "app", "pid": host.pid, "backend": "asyncio", "attached": True}
    assert status_of(daemon, "app", "idle")["reason"] == "open"
    listed = daemon.call("session/list")["sessions"]
    assert {"session": "app", "pid": host.pid, "backend": "asyncio", "state": "idle"} in listed


def test_attached_code_reads_and_changes_the_programs_state(daemon, host):
    attach(daemon, host)
    r = daemon.exec("state['ticks'] > 0, state['greeting']", session="app")
    assert r["status"] == "ok", r
    assert r["result"]["text/plain"] == "(True, 'hello')"
    assert daemon.exec("state['greeting'] = 'changed from the daemon'", session="app")["status"] == "ok"
    assert host.get()["greeting"] == "changed from the daemon"
    # Its own running loop: a task of the program's loop, and the program's own objects.
    r = daemon.exec("import asyncio\nasyncio.get_running_loop() is ticker.__globals__['asyncio'].get_running_loop()",
                    session="app")
    assert r["result"]["text/plain"] == "True", r


def test_the_server_answers_while_idle_and_while_an_attached_await_runs(daemon, host):
    attach(daemon, host)
    assert host.get()["hits"] == 1  # idle
    rid = daemon.request("exec", {"code": "import asyncio\nawait asyncio.sleep(1.5)\n'slept'", "session": "app"})
    daemon.wait_notification("status", lambda p: p["session"] == "app" and p["state"] == "busy")
    ticks = host.ticks_seen()
    hits = [host.get()["hits"] for _ in range(3)]
    assert hits == [2, 3, 4]
    assert not daemon.has_response(rid), "the HTTP answers came while the await ran"
    host.wait_line(lambda line: line == "tick %d" % (ticks + 2))  # its task runs on, too
    r = daemon.wait_result(rid)
    assert r["status"] == "ok" and r["awaited"] and r["result"]["text/plain"] == "'slept'"


def test_the_programs_own_prints_are_never_captured(daemon, host):
    attach(daemon, host)
    since = len(host.lines)
    r = daemon.exec("print('from attached code')\nawait asyncio.sleep(0.3)\nprint('again')", session="app")
    assert r["status"] == "ok"
    rid = daemon.notifications("output")[-1]["requestId"]
    assert daemon.outputs(rid) == "from attached code\nagain\n"
    assert all("tick" not in p["text"] for p in daemon.notifications("output"))
    assert all(p["session"] == "app" for p in daemon.notifications("output"))
    host.wait_line(lambda line: line.startswith("tick "), since=since)  # they went to its stdout
    assert "from attached code" not in host.lines


def test_a_task_started_by_attached_code_writes_to_its_exec(daemon, host):
    attach(daemon, host)
    rid = daemon.request("exec", {"code": "async def later():\n    await asyncio.sleep(0.2)\n    print('later')\n"
                                          "import asyncio\nt = asyncio.ensure_future(later())", "session": "app"})
    assert daemon.wait_result(rid)["status"] == "ok"
    wait_until(lambda: daemon.outputs(rid) == "later\n", 15)


def test_an_attached_await_is_interrupted_and_the_program_lives_on(daemon, host):
    attach(daemon, host)
    rid = daemon.request("exec", {"code": "import asyncio\nprint('awaiting')\nawait asyncio.sleep(60)",
                                  "session": "app"})
    daemon.wait_notification("output", lambda p: p["requestId"] == rid)  # the await runs (busy comes sooner)
    started = time.monotonic()
    assert daemon.call("interrupt", {"session": "app"}) == {"interrupted": True, "how": "cancelled"}
    r = daemon.wait_result(rid)
    assert r["status"] == "interrupted" and r["error"]["type"] == "CancelledError", r
    assert time.monotonic() - started < 5
    assert host.proc.poll() is None
    assert host.get()["ticks"] > 0
    assert daemon.exec("1 + 1", session="app")["result"]["text/plain"] == "2"


def test_sync_code_gets_keyboard_interrupt_and_code_stuck_in_c_is_not_killed(daemon, host):
    attach(daemon, host)
    rid = daemon.request("exec", {"code": "print('looping')\nn = 0\nwhile True:\n    n += 1", "session": "app"})
    wait_until(lambda: daemon.outputs(rid) == "looping\n", 15)
    assert daemon.call("interrupt", {"session": "app"}) == {"interrupted": True, "how": "keyboardInterrupt"}
    r = daemon.wait_result(rid)
    assert r["status"] == "interrupted" and r["error"]["type"] == "KeyboardInterrupt", r
    # time.sleep blocks in C: the interrupt's last step says false, and nothing is killed.
    rid = daemon.request("exec", {"code": "import time\nprint('sleeping')\ntime.sleep(2)", "session": "app"})
    # Its output comes as it enters time.sleep: the link's thread gets the GIL when it does.
    wait_until(lambda: daemon.outputs(rid) == "sleeping\n", 15)
    time_asked = time.monotonic()
    assert daemon.call("interrupt", {"session": "app", "graceMs": 300}) == {"interrupted": False}
    assert time.monotonic() - time_asked < 1.5
    r = daemon.wait_result(rid)
    assert r["status"] == "interrupted" and r["error"]["type"] == "KeyboardInterrupt"
    assert host.proc.poll() is None and host.get()["ticks"] > 0


def test_compile_complete_and_inspect_answer_while_the_programs_loop_is_busy(daemon, host, tmp_path):
    attach(daemon, host)
    fifo = str(tmp_path / "gate")
    os.mkfifo(fifo)
    # Sync code blocks the program's loop (a blocking read) until the test opens the gate.
    rid = daemon.request("exec", {"code": gated(fifo, "'released'"), "session": "app"})
    wait_until(lambda: daemon.outputs(rid) == "begin\n", 15)
    assert daemon.call("compile", {"code": "for x in y:", "mode": "interactive", "session": "app"})[
        "status"] == "incomplete"
    assert daemon.call("needsAwait", {"code": "await x", "session": "app"})["needsAwait"] is True
    matches = daemon.call("complete", {"code": "stat", "cursor": 4, "session": "app"})["matches"]
    assert "state" in [m["text"] for m in matches]
    assert daemon.call("inspect", {"code": "ticker", "cursor": 3, "session": "app"})["found"] is True
    names = [v["name"] for v in daemon.call("variables", {"session": "app"})["variables"]]
    assert "state" in names
    assert not daemon.has_response(rid)
    open_gate(fifo)
    assert daemon.wait_result(rid)["result"]["text/plain"] == "'released'"


def test_restart_is_refused_and_close_detaches(daemon, host):
    attach(daemon, host)
    assert daemon.exec("attached_value = 41", session="app")["status"] == "ok"
    err = daemon.wait_error(daemon.request("session/restart", {"session": "app"}))
    assert err["code"] == -32602
    assert daemon.call("session/close", {"session": "app"}) is None
    assert status_of(daemon, "app", "dead")["reason"] == "closed"
    assert all(s["session"] != "app" for s in daemon.call("session/list")["sessions"])
    # The program runs on, unchanged: its task ticks, it answers, it keeps what was set.
    since = len(host.lines)
    host.wait_line(lambda line: line.startswith("tick "), since=since)
    assert host.get()["ticks"] > 0
    attach(daemon, host, "again")
    assert daemon.exec("attached_value + 1", session="again")["result"]["text/plain"] == "42"


def test_the_programs_exit_fails_the_running_exec_with_worker_died(daemon, host):
    attach(daemon, host)
    rid = daemon.request("exec", {"code": "import asyncio\nawait asyncio.sleep(60)", "session": "app"})
    status_of(daemon, "app", "busy")
    assert host.get("/quit") == "bye"
    assert host.wait_exit() == 0
    r = daemon.wait_result(rid)
    assert r["status"] == "error" and r["error"]["type"] == "WorkerDied", r
    dead = status_of(daemon, "app", "dead")
    assert dead["reason"] == "detached"
    assert all(s["session"] != "app" for s in daemon.call("session/list")["sessions"])
    err = daemon.wait_error(daemon.request("exec", {"code": "1", "session": "app"}))
    assert err["code"] == -32602  # the name is free: no such session
    assert not os.path.exists(host.path)  # the program removed its socket


def test_a_killed_program_ends_its_session_too(daemon, host):
    attach(daemon, host)
    rid = daemon.request("exec", {"code": "import asyncio\nawait asyncio.sleep(60)", "session": "app"})
    status_of(daemon, "app", "busy")
    host.proc.kill()
    r = daemon.wait_result(rid)
    assert r["error"]["type"] == "WorkerDied"
    assert status_of(daemon, "app", "dead")["reason"] == "detached"


def test_attach_is_refused_for_an_open_name_and_a_missing_socket(daemon, host, tmp_path):
    daemon.exec("1")  # the default session is open
    assert daemon.wait_error(daemon.request("session/attach", {"socket": host.path}))["code"] == -32602
    err = daemon.wait_error(daemon.request("session/attach", {"session": "x", "socket": str(tmp_path / "none")}))
    assert err["code"] == -32602 and "cannot attach" in err["message"]
    attach(daemon, host)
    assert daemon.wait_error(daemon.request("session/attach", {"session": "app", "socket": host.path}))[
        "code"] == -32602
    assert daemon.wait_error(daemon.request("session/open", {"session": "app"}))["code"] == -32602


def test_the_socket_and_its_directory_are_the_users_alone(host):
    directory = os.path.dirname(host.path)
    assert stat.S_IMODE(os.lstat(directory).st_mode) == 0o700
    st = os.lstat(host.path)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.getuid()


NOBODY = 65534


def _as_nobody():
    os.setgid(NOBODY)
    os.setgroups([])
    os.setuid(NOBODY)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to run a program as another user")
def test_a_peer_of_another_user_is_refused_on_both_sides(daemon, tmp_path):
    directory = tempfile.mkdtemp(prefix="asyncode-nobody-")  # pytest's tmp_path is root's alone
    os.chown(directory, NOBODY, NOBODY)
    h = Host(directory, preexec_fn=_as_nobody)
    try:
        assert os.lstat(h.path).st_uid == NOBODY
        # The daemon (root) refuses a program of another user.
        err = daemon.wait_error(daemon.request("session/attach", {"session": "n", "socket": h.path}))
        assert err["code"] == -32602 and "another user" in err["message"]
        # And the program hangs up on a peer that is not its user, before a byte.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(h.path)
        s.settimeout(10)
        try:
            s.sendall(b'Content-Length: 2\r\n\r\n{}')
            assert s.recv(100) == b""
        except (BrokenPipeError, ConnectionResetError):
            pass  # hung up before or after what was sent was read: refused either way
        s.close()
        h.wait_line(lambda line: "refused a connection from uid 0" in line, stream=h.err)
        assert h.get()["ticks"] > 0
    finally:
        h.close()
        shutil.rmtree(directory, ignore_errors=True)


def _fake_program(path, script):
    """A program (a forked child: the daemon names its pid as the session's, and the harness
    stops those) that speaks the socket's protocol badly: `script(read, send)` runs for the
    one daemon that connects."""
    context = multiprocessing.get_context("fork")
    listening = context.Event()

    def main():
        # Bound and listening in the child: SO_PEERCRED names the process that listens.
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(1)
        listening.set()
        conn, _ = listener.accept()
        buffer = b""

        def read():
            message = read_any()
            if message.get("method") == "initialize":  # what a served program says to it
                send({"jsonrpc": "2.0", "id": message["id"], "result": {
                    "serverInfo": {"name": "fake", "version": "0"}, "protocolVersion": 1, "protocolRevision": 1,
                    "python": {"version": "3", "executable": "python3"}, "backends": ["asyncio"],
                    "positionEncoding": "utf-32"}})
                message = read_any()
            return message

        def read_any():
            nonlocal buffer
            while b"\r\n\r\n" not in buffer:
                buffer += conn.recv(65536)
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            length = int(head.split(b":")[1])
            while len(buffer) < length:
                buffer += conn.recv(65536)
            body, buffer = buffer[:length], buffer[length:]
            return json.loads(body)

        def send(body):
            if not isinstance(body, bytes):
                body = json.dumps(body).encode()
            conn.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)

        try:
            script(read, send)
        finally:
            conn.close()
            listener.close()

    child = context.Process(target=main, daemon=True)
    child.start()
    assert listening.wait(20)
    return child


def test_nothing_the_program_sends_is_passed_on_unchecked(daemon, tmp_path):
    path = str(tmp_path / "fake.sock")

    def script(read, send):
        hello = read()
        send({"jsonrpc": "2.0", "id": hello["id"], "result": {"session": "x", "pid": 1, "backend": "asyncio"}})
        run = read()
        rid = run["id"]
        note = {"jsonrpc": "2.0", "method": "output"}
        send(dict(note, params={"session": "x", "requestId": rid, "execCount": 1, "stream": "nowhere", "text": "a"}))
        send(dict(note, params={"session": "x", "requestId": rid, "execCount": 1, "stream": "stdout"}))
        send(b"[" * 10000 + b"]" * 10000)  # deeper than the rpc library reads
        send(b"not json at all")
        send({"jsonrpc": "2.0", "id": 7, "method": "exec", "params": {"code": "1"}})  # a request: refused
        send(dict(note, params={"session": "other", "requestId": rid, "execCount": 1, "stream": "stdout",
                                "text": "good\n", "seq": 99, "extra": "dropped"}))  # seq: the daemon's own
        send({"jsonrpc": "2.0", "id": rid, "result": {"status": "fine", "execCount": 1}})  # not an ExecResult
        read()  # the refusal of its request

    child = _fake_program(path, script)
    assert daemon.call("session/attach", {"session": "app", "socket": path})["pid"] == child.pid
    rid = daemon.request("exec", {"code": "1", "session": "app"})
    err = daemon.wait_error(rid)
    assert err["code"] == -32603 and "unexpected answer" in err["message"]
    outputs = daemon.notifications("output")
    assert outputs == [{"session": "app", "requestId": rid, "execCount": 1, "stream": "stdout", "text": "good\n",
                        "seq": 1}]
    child.join(10)
    assert status_of(daemon, "app", "dead")["reason"] == "detached"
    assert daemon.exec("1 + 1")["result"]["text/plain"] == "2"  # the daemon carries on


def test_a_program_that_never_answers_is_answered_for(daemon, tmp_path):
    path = str(tmp_path / "mute.sock")

    def script(read, send):
        read()
        time.sleep(60)  # ended by the test

    child = _fake_program(path, script)
    started = time.monotonic()
    err = daemon.wait_error(daemon.request("session/attach", {"session": "app", "socket": path}), timeout=30)
    assert err["code"] == -32602 and "did not answer in time" in err["message"]
    assert 9 < time.monotonic() - started < 20
    child.kill()
    child.join()


def test_an_interrupt_sent_right_after_the_exec_is_never_lost(daemon, host):
    attach(daemon, host)
    for _ in range(3):  # whether it reaches the program before the exec starts or after
        rid = daemon.request("exec", {"code": "while True:\n    pass", "session": "app"})
        assert daemon.call("interrupt", {"session": "app"})["interrupted"] is True
        r = daemon.wait_result(rid)
        assert r["status"] == "interrupted" and r["error"]["type"] == "KeyboardInterrupt", r
    assert host.get()["ticks"] > 0


# ---- revision 1 on an attached session: tag, execStart, displays, positions, input --------------

def test_an_attached_exec_says_it_started_and_carries_its_tag_everywhere(daemon, host):
    attach(daemon, host)
    since = daemon.index()
    rid = daemon.request("exec", {"code": "print('one')\nawait asyncio.sleep(0.01)\nprint('two')", "session": "app",
                                  "tag": "cell-7"})
    r = daemon.wait_result(rid)
    assert r["status"] == "ok" and r["tag"] == "cell-7", r
    start = daemon.wait_notification("execStart", lambda p: p["requestId"] == rid, since=since)
    assert start == {"session": "app", "requestId": rid, "tag": "cell-7", "execCount": r["execCount"]}
    outputs = daemon.notifications("output", lambda p: p["requestId"] == rid, since=since)
    assert "".join(p["text"] for p in outputs) == "one\ntwo\n" and all(p["tag"] == "cell-7" for p in outputs)
    first = daemon.position(lambda m: m.get("method") == "execStart" and m["params"]["requestId"] == rid)
    first_output = daemon.position(lambda m: m.get("method") == "output" and m["params"]["requestId"] == rid)
    answer = daemon.position(lambda m: m.get("id") == rid and "result" in m)
    assert first < first_output < answer
    # Exactly one execStart per exec.
    assert len(daemon.notifications("execStart", lambda p: p["requestId"] == rid)) == 1


def test_display_update_and_clear_output_in_attached_code(daemon, host):
    attach(daemon, host)
    since = daemon.index()
    r = daemon.exec("h = display('first', display_id=True)\nh.update('second')\nclear_output(wait=True)\n"
                    "display({'text/html': '<b>x</b>'}, raw=True)", session="app", tag="d")
    assert r["status"] == "ok", r
    rid = daemon.last_exec_id
    shown = daemon.notifications("display", lambda p: p["requestId"] == rid, since=since)
    assert [p["data"]["text/plain"] for p in shown[:2]] == ["'first'", "'second'"]
    assert shown[0]["displayId"] == shown[1]["displayId"] and shown[1].get("update") is True
    assert shown[2]["data"]["text/html"] == "<b>x</b>" and all(p["tag"] == "d" for p in shown)
    clear = daemon.wait_notification("clearOutput", lambda p: p["requestId"] == rid, since=since)
    assert clear["wait"] is True and clear["tag"] == "d" and shown[1]["seq"] < clear["seq"] < shown[2]["seq"]
    # reset takes what attached code added, not the names a session has.
    daemon.call("reset", {"session": "app"})
    assert daemon.exec("display(7)", session="app")["status"] == "ok"
    assert daemon.displays(daemon.last_exec_id) == [{"text/plain": "7"}]


@pytest.mark.parametrize("unit, cursor, start", [("utf-16", 15, 8), ("utf-8", 18, 11)])
def test_an_attached_session_counts_positions_in_the_clients_unit(spawn, host, unit, cursor, start):
    d = spawn(initialize=False)
    assert d.initialize(capabilities={"positionEncodings": [unit]})["positionEncoding"] == unit
    attach(d, host)
    d.exec("alpha_beta = 1", session="app")
    r = d.call("complete", {"code": "'\U0001F600é' + alpha_b + 1", "cursor": cursor, "session": "app"})
    assert (r["cursorStart"], r["cursorEnd"]) == (start, cursor), r
    assert "alpha_beta" in [m["text"] for m in r["matches"]]
    # A traceback's columns, counted by the program in the client's unit as a session counts them.
    code = "s = '\U0001F600é'; x = 1 + alpha_beta.nope"
    d.exec("alpha_beta = 1")
    here, there = d.exec(code)["error"]["traceback"][-1], d.exec(code, session="app")["error"]["traceback"][-1]
    assert (there["column"], there["endColumn"]) == (here["column"], here["endColumn"]), (here, there)


def test_input_in_attached_code_asks_the_client(spawn, host):
    d = spawn(initialize=False)
    d.initialize(capabilities={"input": True})
    attach(d, host)
    since = d.index()
    rid = d.request("exec", {"code": "name = input('name? ')\nname.upper()", "session": "app", "tag": "q"})
    req = d.wait_request("input", since=since)
    assert req["params"] == {"session": "app", "requestId": rid, "prompt": "name? ", "password": False, "kind": "input",
                             "tag": "q"}
    d.answer_input(req, "ada")
    r = d.wait_result(rid)
    assert r["status"] == "ok" and r["result"]["text/plain"] == "'ADA'", r
    # Ctrl-C while input() waits: the request is withdrawn and the program lives on.
    since = d.index()
    rid = d.request("exec", {"code": "input('again? ')", "session": "app"})
    req = d.wait_request("input", since=since)
    assert d.call("interrupt", {"session": "app"})["interrupted"] is True
    r = d.wait_result(rid)
    assert r["status"] == "interrupted", r
    d.wait_notification("$/cancelRequest", lambda p: p["id"] == req["id"], since=since)
    assert host.get()["hits"] >= 1


def test_input_in_attached_code_is_end_of_file_for_a_client_without_input(daemon, host):
    attach(daemon, host)
    r = daemon.exec("input('name? ')", session="app")
    assert r["status"] == "error" and r["error"]["type"] == "EOFError", r


def test_session_terminal_for_an_attached_default_session_opens_no_worker(daemon, host):
    attach(daemon, host, session="default")
    daemon.notify("session/terminal", {"terminal": {"columns": 70, "rows": 20, "isatty": True}})
    r = daemon.exec("import shutil\nshutil.get_terminal_size().columns != 70")  # the program's own terminal
    assert r["result"]["text/plain"] == "True", r
    assert [s["session"] for s in daemon.call("session/list")["sessions"]] == ["default"]
