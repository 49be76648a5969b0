"""Byte limits (issue 12): the code a session's unanswered execs hold is bounded (64 MiB);
an exec past it is refused at once with -32600, and those before it run."""

from __future__ import annotations

import os

from client import gated, open_gate

INVALID_REQUEST = -32600
MIB = 1 << 20


def test_execs_past_the_sessions_queue_limit_are_refused_and_the_others_run(daemon, tmp_path):
    fifo = str(tmp_path / "gate")
    os.mkfifo(fifo)
    first = daemon.request("exec", {"code": gated(fifo, "'first'")})
    daemon.wait_notification("output", lambda p: p["requestId"] == first and "begin" in p["text"])
    big = "len(%r)" % ("x" * (20 * MIB))
    taken = [daemon.request("exec", {"code": big}) for _ in range(3)]
    refused = daemon.request("exec", {"code": big})
    err = daemon.wait_error(refused)
    assert err["code"] == INVALID_REQUEST, err
    assert "64 MiB" in err["message"], err
    open_gate(fifo)
    assert daemon.wait_result(first)["result"]["text/plain"] == "'first'"
    for rid in taken:
        assert daemon.wait_result(rid, timeout=60)["result"]["text/plain"] == str(20 * MIB)
