"""Byte limits (issue 12): the code a session's unanswered execs hold is bounded (64 MiB);
an exec past it is refused at once with -32600, and those before it run. A child that writes
without pause neither stalls later execs nor grows the supervisor (item 3)."""

from __future__ import annotations

import os

from client import gated, open_gate, rss_kib

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
    # Answered execs hold nothing: as many are taken again.
    again = [daemon.request("exec", {"code": big}) for _ in range(3)]
    for rid in again:
        assert daemon.wait_result(rid, timeout=60)["result"]["text/plain"] == str(20 * MIB)


def test_a_child_writing_without_pause_neither_stalls_later_execs_nor_grows_the_supervisor(daemon):
    daemon.exec("import subprocess\nzero = subprocess.Popen(['cat', '/dev/zero'])")
    flood = 0
    peak_kib = rss_kib(daemon.pid)
    for i in range(20):
        r = daemon.exec("%d * 2" % i, timeout=30)
        assert r["status"] == "ok" and r["result"]["text/plain"] == str(i * 2), r
        peak_kib = max(peak_kib, rss_kib(daemon.pid))
        flood += sum(len(m["params"]["text"]) for m in daemon.messages
                     if m.get("method") == "output" and "\0" in m["params"]["text"])
        daemon.forget(lambda m: m.get("method") == "output")
    assert flood >= MIB, "the child's output did not flow (%d bytes)" % flood
    assert peak_kib < 200 * 1024, "the supervisor's RSS reached %d KiB" % peak_kib
    r = daemon.exec("zero.kill()\nzero.wait()")
    assert r["result"]["text/plain"] == "-9", r
