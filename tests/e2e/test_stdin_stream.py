"""session/open's stdinStream: the session's stdin is a byte stream that the daemon pulls
from the client with `stdin/read` requests, two at most at a time and put in order, into the
worker's fd 0 (a pipe), so sys.stdin is a real file (`.buffer`, "\\r" kept, surrogateescape),
child processes read it, and the daemon holds at most two answers. Sessions without it keep
`input` requests."""

from __future__ import annotations

import base64

from client import gated, open_gate


def open_stream(d, session="s"):
    d.call("session/open", {"session": session, "stdinStream": True})
    return session


def is_read(m):
    return isinstance(m, dict) and m.get("method") == "stdin/read" and "id" in m


def answer(d, read, piece: bytes, eof: bool, binary: bool = False):
    try:
        text = None if binary else piece.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    result = {"data": text} if text is not None else {"data": base64.b64encode(piece).decode(), "base64": True}
    if eof:
        result["eof"] = True
    d.send({"jsonrpc": "2.0", "id": read["id"], "result": result})


def serve(d, rid, data: bytes, *, chunk: int | None = None, binary: bool = False, since: int = 0):
    """Answers the daemon's stdin/read requests with `data` (eof with its last bytes) until
    exec `rid` is answered (each answer at most the maxBytes asked, or `chunk`); returns (its
    result, the reads' params)."""
    pos = 0
    reads = []
    while True:
        m = d.wait_message(lambda m: is_read(m) or (isinstance(m, dict) and m.get("id") == rid and "method" not in m),
                           since=since, what="a stdin/read or the exec's answer")
        since = next(i for i in range(since, len(d.messages)) if d.messages[i] is m) + 1
        if not is_read(m):
            assert "result" in m, m
            return m["result"], reads
        p = m["params"]
        reads.append(p)
        n = min(p["maxBytes"], chunk or p["maxBytes"])
        piece = data[pos:pos + n]
        pos += len(piece)
        answer(d, m, piece, pos >= len(data), binary)


def out(d, rid):
    return d.outputs(rid)


def test_sys_stdin_reads_the_bytes_as_sent_with_cr_kept_and_no_newline_added(daemon):
    s = open_stream(daemon)
    rid = daemon.request("exec", {"session": s, "code": "import sys\nprint(repr(sys.stdin.read()))"})
    res, reads = serve(daemon, rid, b"one\r\ntwo\rthree")
    assert res["status"] == "ok", res
    assert out(daemon, rid) == repr("one\r\ntwo\rthree") + "\n"
    assert reads and all(r["session"] == s and r["maxBytes"] >= 1 for r in reads)
    assert not daemon.notifications("input") and not [m for m in daemon.messages
                                                      if isinstance(m, dict) and m.get("method") == "input"]


def test_readline_iteration_input_and_eof_as_python(daemon):
    s = open_stream(daemon)
    code = ("import sys\n"
            "print(repr(sys.stdin.readline()))\n"
            "print(repr(input('? ')))\n"
            "print([l for l in sys.stdin])\n"
            "print(repr(sys.stdin.read()), repr(sys.stdin.readline()))\n"
            "try:\n    input()\nexcept EOFError:\n    print('EOFError')\n")
    rid = daemon.request("exec", {"session": s, "code": code})
    res, _ = serve(daemon, rid, b"first\nsecond\nthird\nfourth", chunk=5)
    assert res["status"] == "ok", res
    assert out(daemon, rid) == ("'first\\n'\n? 'second'\n['third\\n', 'fourth']\n'' ''\nEOFError\n")


def test_bytes_that_are_not_utf8_come_as_surrogate_escapes_and_raw_in_buffer(daemon):
    s = open_stream(daemon)
    code = ("import sys\n"
            "print(sys.stdin.buffer.read(3))\n"
            "t = sys.stdin.read()\n"
            "print(ascii(t), t.encode('utf-8', 'surrogateescape'))\n"
            "print(sys.stdin.encoding, sys.stdin.errors, sys.stdin.fileno(), sys.stdin.name, sys.stdin.isatty())\n")
    rid = daemon.request("exec", {"session": s, "code": code})
    data = b"ab\xffc\xe9\xa0d\xc3\xa9"
    res, _ = serve(daemon, rid, data, binary=True)
    assert res["status"] == "ok", res
    assert out(daemon, rid) == ("b'ab\\xff'\n"
                                "'c\\udce9\\udca0d\\xe9' b'c\\xe9\\xa0d\\xc3\\xa9'\n"
                                "utf-8 surrogateescape 0 <stdin> False\n")


def test_a_character_split_between_two_answers_is_whole(daemon):
    s = open_stream(daemon)
    rid = daemon.request("exec", {"session": s, "code": "import sys\nprint(ascii(sys.stdin.read()))"})
    res, _ = serve(daemon, rid, "é€😀".encode(), chunk=1, binary=True)
    assert res["status"] == "ok", res
    assert out(daemon, rid) == ascii("é€😀") + "\n"


def test_big_input_flows_one_bounded_read_at_a_time(daemon):
    s = open_stream(daemon)
    data = b"".join(b"%d\n" % i for i in range(400000))  # 2.6 MB
    rid = daemon.request("exec", {"session": s, "code": "import sys\nprint(sum(int(l) for l in sys.stdin))"})
    res, reads = serve(daemon, rid, data)
    assert res["status"] == "ok", res
    assert out(daemon, rid) == "%d\n" % sum(range(400000))
    assert len(reads) >= len(data) // 65536
    assert max(r["maxBytes"] for r in reads) <= 65536


def test_answers_go_into_the_pipe_in_the_order_the_reads_were_sent(daemon):
    s = open_stream(daemon)
    rid = daemon.request("exec", {"session": s, "code": "import sys\nprint(sys.stdin.read())"})
    first = daemon.wait_message(is_read)
    second = daemon.wait_message(is_read, since=daemon.messages.index(first) + 1)
    assert first["id"] != second["id"]
    assert first["params"]["maxBytes"] + second["params"]["maxBytes"] <= 2 * 65536
    answer(daemon, second, b"second ", False)  # back first: held until the first's answer
    answer(daemon, first, b"first ", False)
    res, _ = serve(daemon, rid, b"last", since=daemon.messages.index(second) + 1)
    assert res["status"] == "ok", res
    assert out(daemon, rid) == "first second last\n"


def test_a_child_process_reads_the_stream(daemon):
    s = open_stream(daemon)
    code = "import subprocess\nsubprocess.run(['head', '-1'])\n"
    rid = daemon.request("exec", {"session": s, "code": code})
    res, _ = serve(daemon, rid, b"line one\nline two\n")
    assert res["status"] == "ok", res
    assert out(daemon, rid) == "line one\n"


def test_the_daemon_asks_for_no_more_than_the_pipe_takes_while_nobody_reads(daemon, tmp_path):
    import os
    fifo = str(tmp_path / "gate")
    os.mkfifo(fifo)
    s = open_stream(daemon)
    code = ("import fcntl\nprint('pipe', fcntl.fcntl(0, 1032), flush=True)\n" +  # F_GETPIPE_SZ
            gated(fifo, "import sys\nprint(len(sys.stdin.buffer.read()))\n"))
    rid = daemon.request("exec", {"session": s, "code": code})
    pipe = int(daemon.wait_notification("output", lambda p: p["text"].startswith("pipe "))["text"].split()[1])
    daemon.wait_notification("output", lambda p: p["text"] == "begin\n")
    total = 8 * 1024 * 1024
    asked = 0
    since = 0
    # The script reads nothing yet: the daemon asks, puts the answer into the pipe, asks again,
    # until an answer does not fit; then it waits. It handles its client's messages in order, so
    # a read sent on an answer comes before the answer of a session/list sent right after it.
    while True:
        m = daemon.wait_message(is_read, since=since)
        since = daemon.messages.index(m) + 1
        asked += m["params"]["maxBytes"]
        answer(daemon, m, b"x" * m["params"]["maxBytes"], False)
        listed = daemon.request("session/list")
        daemon.wait_result(listed)
        at_list = next(i for i, m in enumerate(daemon.messages) if isinstance(m, dict) and m.get("id") == listed
                       and "method" not in m)
        if not [m for m in daemon.messages[since:at_list] if is_read(m)]:
            break  # the pipe is full and one answer waits: no more reads
        assert asked <= total, "the daemon went on asking while nobody read"
    assert asked <= pipe + 2 * 65536  # the pipe, and at most the window of two answers held
    open_gate(fifo)
    third = daemon.wait_message(is_read, since=since)  # once the script reads the pipe
    res, _ = serve(daemon, rid, b"y" * (total - asked), since=daemon.messages.index(third))
    assert res["status"] == "ok", res
    assert out(daemon, rid).endswith("%d\n" % total)


def test_an_error_answer_ends_the_stream(daemon):
    s = open_stream(daemon)
    rid = daemon.request("exec", {"session": s, "code": "import sys\nprint(repr(sys.stdin.read()))"})
    m = daemon.wait_request("stdin/read")
    answer(daemon, m, b"kept", False)
    m2 = daemon.wait_message(is_read, since=daemon.messages.index(m) + 1)
    daemon.send({"jsonrpc": "2.0", "id": m2["id"], "error": {"code": -32800, "message": "gone"}})
    assert daemon.wait_result(rid)["status"] == "ok"
    assert out(daemon, rid) == "'kept'\n"


def test_a_read_waiting_for_the_client_is_interrupted(daemon):
    s = open_stream(daemon)
    rid = daemon.request("exec", {"session": s, "code": "import sys\nprint('go', flush=True)\nsys.stdin.read()"})
    daemon.wait_request("stdin/read")
    daemon.wait_notification("output", lambda p: p["text"] == "go\n")
    daemon.call("interrupt", {"session": s})
    res = daemon.wait_result(rid)
    assert res["status"] == "interrupted", res


def test_sessions_without_a_stream_keep_input_requests_and_give_children_end_of_file(daemon):
    rid = daemon.request("exec", {"code": "import subprocess\nprint(subprocess.run(['cat'], capture_output=True).stdout)"})
    assert daemon.wait_result(rid)["status"] == "ok"
    assert out(daemon, rid) == "b''\n"
    assert not [m for m in daemon.messages if is_read(m)]


def test_input_requests_work_as_before_in_a_session_without_a_stream(spawn):
    d = spawn(initialize=False)
    d.initialize({"input": True})
    rid = d.request("exec", {"code": "import sys\nprint(repr(input('name? ')), repr(sys.stdin.readline()))"})
    req = d.wait_request("input")
    assert req["params"]["prompt"] == "name? "
    d.answer_input(req, "ada")
    req2 = d.wait_message(lambda m: isinstance(m, dict) and m.get("method") == "input" and m is not req)
    d.answer_input(req2, "line")
    assert d.wait_result(rid)["status"] == "ok"
    assert d.outputs(rid) == "'ada' 'line\\n'\n"


def test_reopening_with_another_stdin_setting_is_refused(daemon):
    s = open_stream(daemon)
    err = daemon.wait_error(daemon.request("session/open", {"session": s}))
    assert err["code"] == -32602
    assert daemon.call("session/open", {"session": s, "stdinStream": True})["session"] == s
