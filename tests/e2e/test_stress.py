"""Stress: 1 GiB of output from one exec arrives byte-exact while the daemon's memory stays
bounded (user code blocks instead); 10,000 execs sent without waiting are all answered, in order;
100 sessions opened and closed in a loop leak no fd, no process and no memory."""

from __future__ import annotations

import collections
import json
import os
import time

import pytest

from client import Daemon, _id_key, rss_kib, wait_until

MIB = 1 << 20
# The daemon under test was built with ASan (./test's sanitizer stage sets ASAN_OPTIONS).
SANITIZED = "ASAN_OPTIONS" in os.environ


def fd_count(pid: int) -> int:
    return len(os.listdir("/proc/%d/fd" % pid))


def cpu_ticks(pid: int) -> int:
    """User + system CPU time of a process, in clock ticks (/proc/<pid>/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def process_gone(pid: int) -> bool:
    """No process and no zombie: a worker is the daemon's child, and a zombie means the daemon
    did not reap it."""
    return not os.path.exists("/proc/%d" % pid)


def response_counts(d) -> collections.Counter:
    with d._cond:
        msgs = list(d.messages)
    return collections.Counter(_id_key(m["id"]) for m in msgs if isinstance(m, dict)
                               and "method" not in m and ("result" in m or "error" in m))


# --------------------------------------------------------------------------- 1 GiB of output
#: 251 printable characters (a prime count, no JSON escapes), then the stream is this repeated:
#: a byte lost, doubled or moved anywhere shows at that offset
_CHARS = [chr(c) for c in range(33, 127) if chr(c) not in "\"\\"]
ALPHABET = "".join(_CHARS[(i * 7) % len(_CHARS)] for i in range(250)) + "\n"
assert len(ALPHABET) == 251
GIB_CODE = """\
import sys
alphabet = %r
pattern = alphabet * (%d // len(alphabet) + 2)
write = sys.stdout.write
for i in range(%d):
    at = i * %d %% len(alphabet)
    write(pattern[at:at + %d])
sys.stdout.flush()
"""


class StreamingDaemon(Daemon):
    """A Daemon that checks the stdout of one exec (the sink) as it arrives and then drops it,
    instead of keeping every message: 1 GiB of `output` notifications would neither fit in memory
    nor go through the schema check fast enough. Every frame is still parsed strictly as a frame
    and decoded; one `output` in SCHEMA_SAMPLE of the sink (the first included) and every other
    message go through the schema check and into `messages` as usual."""

    SCHEMA_SAMPLE = 256
    CHECK_PIECE = 64 * 1024

    def __init__(self, *args, **kwargs) -> None:
        self.sink_id = None
        self.sink_bytes = 0
        self.sink_notifications = 0
        self.sink_mismatch = None   # (offset, got, expected) of the first wrong character
        self.sink_misfits = []      # sink outputs that are not stdout of the right execCount
        self.sink_answered = False  # the sink's response has arrived
        self.sink_late = 0          # sink outputs after its response
        self.sink_exec_count = None
        self._pattern = ALPHABET * (self.CHECK_PIECE // len(ALPHABET) + 2)
        super().__init__(*args, **kwargs)

    def expect_stream(self, rid, exec_count) -> None:
        self.sink_id, self.sink_exec_count = rid, exec_count

    def _on_body(self, body: bytes) -> None:
        if self.sink_id is not None:
            try:
                msg = json.loads(body)
            except ValueError:
                msg = None
            if isinstance(msg, dict):
                params = msg.get("params") if msg.get("method") == "output" else None
                if isinstance(params, dict) and params.get("requestId") == self.sink_id:
                    self._sink(msg, params)
                    return
                if "method" not in msg and msg.get("id") == self.sink_id:
                    self.sink_answered = True
        super()._on_body(body)

    def _sink(self, msg: dict, params: dict) -> None:
        self.sink_notifications += 1
        if self.sink_notifications % self.SCHEMA_SAMPLE == 1:
            self.validator.on_daemon_message(msg)
        if self.sink_answered:
            self.sink_late += 1
        if (params.get("stream") != "stdout" or params.get("execCount") != self.sink_exec_count) \
                and len(self.sink_misfits) < 5:
            self.sink_misfits.append({k: v for k, v in params.items() if k != "text"})
        text = params.get("text", "")
        if self.sink_mismatch is None:
            for start in range(0, len(text), self.CHECK_PIECE):
                piece = text[start:start + self.CHECK_PIECE]
                at = (self.sink_bytes + start) % len(ALPHABET)
                expected = self._pattern[at:at + len(piece)]
                if piece != expected:
                    i = next(k for k in range(len(piece)) if piece[k] != expected[k])
                    self.sink_mismatch = (self.sink_bytes + start + i, piece[i:i + 40],
                                          expected[i:i + 40])
                    break
        self.sink_bytes += len(text)


@pytest.fixture
def streaming_daemon(daemon_binary):
    d = StreamingDaemon()
    try:
        d.initialize()
        yield d
    finally:
        d.close()


@pytest.mark.slow
def test_1_gib_of_output_arrives_byte_exact_while_the_daemon_stays_under_64_mib(streaming_daemon):
    d = streaming_daemon
    total_blocks = 1024
    worker = int(d.exec("import os\nos.getpid()")["result"]["text/plain"])
    rid = d.request("exec", {"code": GIB_CODE % (ALPHABET, MIB, total_blocks, MIB, MIB)})
    d.expect_stream(rid, 2)
    start = time.monotonic()
    deadline = start + 300
    daemon_max = worker_max = 0
    samples = 0
    pauses = [256 * MIB, 640 * MIB]  # the client stops reading for 1 s when this much has come
    blocked_ticks = []               # the worker's CPU time in the second half of each pause

    def sample():
        nonlocal daemon_max, worker_max, samples
        assert time.monotonic() < deadline, "1 GiB not through within 300 s: %d bytes" % (
            d.sink_bytes)
        assert d.proc.poll() is None, "the daemon died: %s" % d.stderr()[-2000:]
        daemon_max = max(daemon_max, rss_kib(d.pid))
        if os.path.exists("/proc/%d" % worker):
            worker_max = max(worker_max, rss_kib(worker))
        samples += 1
        time.sleep(0.1)  # sampling memory while the output flows: the test is about time passing

    while not d.has_response(rid):
        if pauses and d.sink_bytes >= pauses[0]:
            # a slow client: the daemon must hold back (stop reading the worker), not buffer
            pauses.pop(0)
            d.pause_reading()
            for _ in range(5):
                sample()
            ticks = cpu_ticks(worker)
            for _ in range(5):
                sample()
            blocked_ticks.append(cpu_ticks(worker) - ticks)
            d.resume_reading()
        sample()
    elapsed = time.monotonic() - start
    r = d.wait_result(rid)
    assert r["status"] == "ok", r
    assert r["execCount"] == 2, r
    print("\n1 GiB of output in %.1f s: %.0f MB/s (%.0f MiB/s), %d notifications; max VmRSS: "
          "daemon %.1f MiB, worker %.1f MiB (%d samples); 2 s of it the client did not read"
          % (elapsed, total_blocks * MIB / elapsed / 1e6, total_blocks / elapsed,
             d.sink_notifications, daemon_max / 1024, worker_max / 1024, samples))
    assert d.sink_mismatch is None, "wrong output at offset %d: got %r, expected %r" % (
        d.sink_mismatch)
    assert d.sink_bytes == total_blocks * MIB, "%d bytes of output, expected %d" % (
        d.sink_bytes, total_blocks * MIB)
    assert d.sink_late == 0, "%d outputs of the exec came after its answer" % d.sink_late
    assert not d.sink_misfits, d.sink_misfits
    assert d.outputs(rid, "stderr") == ""
    assert samples >= 20, "too few memory samples to tell"
    assert len(blocked_ticks) == 2, "the client never paused: %d bytes" % d.sink_bytes
    # user code blocks in write() while the client does not read: 0.5 s of a spinning worker
    # would be ~50 ticks
    assert max(blocked_ticks) <= 10, "the worker ran on while the client did not read: CPU " \
        "ticks in 0.5 s: %s" % blocked_ticks
    if not SANITIZED:  # ASan's shadow memory and quarantine make RSS meaningless there
        assert daemon_max < 64 * 1024, "the daemon's VmRSS reached %.1f MiB" % (daemon_max / 1024)
        assert worker_max < 100 * 1024, "the worker's VmRSS reached %.1f MiB" % (worker_max / 1024)
    assert d.exec("'still here'")["result"]["text/plain"] == "'still here'"


# --------------------------------------------------------------------------- 10,000 pipelined execs
@pytest.mark.slow
def test_10000_pipelined_execs_are_all_answered_in_order_with_their_output(daemon):
    n = 10000
    assert daemon.exec("x = -1")["execCount"] == 1
    start = time.monotonic()
    ids = [daemon.request("exec", {"code": "x = %d\nprint('out', x)" % i}) for i in range(n)]
    sent = time.monotonic() - start
    daemon.wait_response(ids[-1], timeout=300)
    elapsed = time.monotonic() - start
    print("\n%d pipelined execs: sent in %.2f s, all answered in %.2f s (%.0f execs/s)"
          % (n, sent, elapsed, n / elapsed))
    with daemon._cond:
        msgs = list(daemon.messages)
    index = {_id_key(rid): i for i, rid in enumerate(ids)}
    answers = []    # (exec number, result), in order of arrival
    outputs = collections.defaultdict(list)
    for m in msgs:
        if not isinstance(m, dict):
            continue
        if m.get("method") == "output":
            p = m["params"]
            k = _id_key(p["requestId"]) if p.get("requestId") is not None else None
            assert k in index, "output of no exec of the batch: %s" % p
            outputs[index[k]].append((len(answers), p))
        elif "method" not in m and _id_key(m.get("id")) in index:
            answers.append((index[_id_key(m["id"])], m.get("result", m.get("error"))))
    counts = response_counts(daemon)
    assert all(counts[_id_key(rid)] == 1 for rid in ids), \
        [rid for rid in ids if counts[_id_key(rid)] != 1][:10]
    order = [i for i, _ in answers]
    assert order == list(range(n)), "answers out of order near %s" % next(
        (order[j - 1:j + 2] for j in range(n) if order[j] != j), None)
    bad = [(i, r) for i, r in answers if r.get("status") != "ok" or r.get("execCount") != i + 2]
    assert not bad, "%d execs not ok or with the wrong execCount, first: %s" % (len(bad), bad[:3])
    for i in range(n):
        got = outputs.get(i, [])
        text = "".join(p["text"] for _, p in got)
        assert text == "out %d\n" % i, "exec %d wrote %r" % (i, text)
        # its output came before its answer (answers[i] is the (i+1)-th answer to arrive)
        assert all(before <= i for before, _ in got), "output of exec %d after its answer" % i
        assert all(p["execCount"] == i + 2 and p["stream"] == "stdout" for _, p in got), got
    assert daemon.exec("x")["result"]["text/plain"] == str(n - 1)


# --------------------------------------------------------------------------- 100 sessions
def settle(d, workers: int, timeout: float = 10.0) -> int:
    """Wait until the daemon has `workers` children and a stable fd count; returns the count."""
    def stable():
        if len(d.children()) != workers:
            return None
        first = fd_count(d.pid)
        time.sleep(0.02)  # two readings apart: not in the middle of a spawn
        return first if first == fd_count(d.pid) and len(d.children()) == workers else None
    n = wait_until(stable, timeout)
    assert n, "the daemon never settled at %d workers: %s" % (workers, d.children())
    return n


FDS_PER_WORKER = 4  # the daemon's ends of a worker's stdout and stderr pipes, its link and its exec lane


@pytest.mark.slow
def test_100_sessions_opened_and_closed_in_a_loop_leak_no_fd_process_or_memory(daemon):
    d = daemon
    default = int(d.exec("import os\nos.getpid()")["result"]["text/plain"])
    fds_before = settle(d, 2)  # the default session's worker and the warm spare
    fixed = fds_before - FDS_PER_WORKER * 2
    rss_before = rss_kib(d.pid)
    start = time.monotonic()
    pids = []
    for i in range(100):
        name = "loop-%d" % i
        opened = d.call("session/open", {"session": name})
        pids.append(opened["pid"])
        r = d.exec("import os\nx = %d\n(x, os.getpid())" % i, session=name)
        assert r["result"]["text/plain"] == "(%d, %d)" % (i, opened["pid"]), r
        assert d.call("session/close", {"session": name}) is None
    closed = time.monotonic()
    print("\n100 sessions opened, used and closed in %.1f s" % (closed - start))
    assert len(set(pids)) == 100, "a worker served two sessions"
    assert wait_until(lambda: all(process_gone(p) for p in pids), 1.0), \
        "workers of closed sessions still there 1 s later: %s" % [
            p for p in pids if not process_gone(p)]
    assert [s["session"] for s in d.call("session/list")["sessions"]] == ["default"]
    assert d.exec("x = 'default'\nos.getpid()")["result"]["text/plain"] == str(default)
    # processes: the default session's worker and at most the warm spare
    kids = d.children()
    assert default in kids and len(kids) <= 2 and not set(kids) & set(pids), kids
    # fds: the daemon's own plus 3 per live worker, as before the loop
    assert wait_until(lambda: fd_count(d.pid) == fixed + FDS_PER_WORKER * len(d.children()),
                      5.0), "the daemon has %d fds for %d workers; before: %d for 2" % (
        fd_count(d.pid), len(d.children()), fds_before)
    rss_after = rss_kib(d.pid)
    print("daemon VmRSS %.1f MiB before, %.1f MiB after" % (rss_before / 1024, rss_after / 1024))
    if not SANITIZED:  # ASan's quarantine keeps freed memory on purpose
        assert rss_after <= rss_before + 8 * 1024, "VmRSS grew from %.1f to %.1f MiB" % (
            rss_before / 1024, rss_after / 1024)


def test_a_warm_spare_is_ready_again_after_each_of_ten_sessions_opened_in_a_row(daemon):
    d = daemon
    assert settle(d, 1)  # the warm spare, started with the daemon
    for i in range(10):
        d.call("session/open", {"session": "s%d" % i})
        assert d.exec("1", session="s%d" % i)["status"] == "ok"
        # i + 1 sessions and one warm spare
        assert wait_until(lambda: len(d.children()) == i + 2, 3.0), \
            "after session %d: %d workers, no spare" % (i + 1, len(d.children()))
