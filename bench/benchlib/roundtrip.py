"""One exec at a time (`pass`, an await), and execs sent without waiting (pipelined)."""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import math
import os
import statistics
import threading
from typing import Callable

from benchlib.context import Context, INITIALIZE, benchmark, check_exec_result
from benchlib.numbers import Metric, Target, summary
from benchlib.others import AsyncioRepl, IPyKernel, any_reply
from benchlib.peer import BenchError, Peer, Subject, now_ns
from wire import encode_request


def started(ctx: Context, s: Subject, warmup: int) -> Peer:
    """A server that has answered initialize, opened its default session, and run `warmup` execs."""
    p = ctx.spawn(s)
    try:
        p.call("initialize", INITIALIZE)
        t, msg, body = p.wait(p.request("exec", {"code": "1+1"}))
        check_exec_result(p, msg, body, "2")
        for _ in range(warmup):
            p.wait(p.request("exec", {"code": "pass"}))
    except BaseException:
        p.close(graceful=False)
        raise
    return p


@contextlib.contextmanager
def client_on(cpus: set[int] | None):
    """Runs the timing thread (this process) on `cpus` for a while; None leaves it free."""
    if cpus is None or not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


AWAIT_CODE = "await asyncio.sleep(0)"


@dataclasses.dataclass
class _Run:
    """One series of the round-trip benchmark: a subject running one piece of code, one at a time."""
    key: str  # where its samples go
    once: Callable[[], float]  # one round trip, in µs
    n: int
    client_cpu: int | None = None  # the client is pinned there during this series' blocks
    samples: list[float] = dataclasses.field(default_factory=list)


def _peer_once(p: Peer, code: str, bodies: list[bytes] | None = None) -> Callable[[], float]:
    params = {"code": code}

    def once() -> float:
        i = p.new_id()
        data = encode_request(i, "exec", params)
        t0 = now_ns()
        p.send(data)
        t1, msg, body = p.wait(i)
        if b'"status":"ok"' not in body:  # the daemon's and the floor's answers both say it
            raise BenchError(f"{p.subject.name}: {code!r} did not succeed: {body[:300]!r}")
        if bodies is not None:
            bodies.append(body)
        return (t1 - t0) / 1e3

    return once


def _kernel_once(k: "IPyKernel", code: str) -> Callable[[], float]:
    def once() -> float:
        t0 = now_ns()
        t1, reply = k.reply(k.execute(code))
        if reply["content"].get("status") != "ok":
            raise BenchError(f"ipykernel: {code!r} gave {reply['content']}")
        return (t1 - t0) / 1e3

    return once


def _repl_once(r: "AsyncioRepl", code: str) -> Callable[[], float]:
    line = code.encode() + b"\n"

    def once() -> float:
        t0 = now_ns()
        t1 = r.run(line)
        if b"Traceback" in r.buf:
            raise BenchError(f"python -m asyncio: {code!r} failed: {bytes(r.buf)[-300:]!r}")
        return (t1 - t0) / 1e3

    return once


class RoundtripSetup:
    """The servers and subjects of the round-trip benchmark, warmed up, each with its _Run."""

    def __init__(self, ctx: Context, stack: contextlib.ExitStack):
        self.ctx, self.stack = ctx, stack
        self.n, self.warmup = ctx.reps(2000, 1000), ctx.reps(200, 100)
        self.bodies: list[bytes] = []
        self.await_bodies: list[bytes] = []
        self.runs: list[_Run] = []
        self.peers: dict[str, Peer] = {}
        self.placement: dict[str, dict] = {}

    def warm(self, run: _Run) -> None:
        with client_on(None if run.client_cpu is None else {run.client_cpu}):
            for _ in range(self.warmup):
                run.once()
        self.runs.append(run)

    def server(self, key: str, s: Subject, server_cpu: int | None, client_cpu: int | None, code: str,
               keep: list[bytes] | None = None) -> None:
        p = self.stack.enter_context(started(self.ctx, s, 0))
        if code == AWAIT_CODE:
            _peer_once(p, "import asyncio")()
        if server_cpu is not None:
            os.sched_setaffinity(p.proc.pid, {server_cpu})
        self.warm(_Run(key, _peer_once(p, code, keep), self.n, client_cpu))
        if keep is not None:
            keep.clear()
        self.peers[key] = p
        self.placement[key] = {"server_cpu": server_cpu, "client_cpu": client_cpu}

    def servers(self) -> None:
        cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        self.server("asyncoded", self.ctx.daemon, None, None, "pass", self.bodies)
        if len(cpus) >= 2:
            self.server("floor", self.ctx.floor, cpus[0], cpus[0], "pass")
            self.server("floor_cross", self.ctx.floor, cpus[1], cpus[0], "pass")
        else:
            self.server("floor", self.ctx.floor, None, None, "pass")
        self.server("asyncoded_await", self.ctx.daemon, None, None, AWAIT_CODE, self.await_bodies)

    def others(self) -> IPyKernel | None:
        k = self.ctx.kernel()
        if k is not None:
            _kernel_once(k, "import asyncio")()
            for key, code in (("ipykernel", "pass"), ("ipykernel_await", AWAIT_CODE)):
                self.warm(_Run(key, _kernel_once(k, code), self.ctx.reps(1000, 200)))
            k.drain()
        if self.ctx.repls_available():
            r = self.stack.enter_context(AsyncioRepl(self.ctx))
            r.wait_prompt()
            for key, code in (("asyncio_repl", "pass"), ("asyncio_repl_await", AWAIT_CODE)):
                self.warm(_Run(key, _repl_once(r, code), self.ctx.reps(2000, 300)))
        return k


def interleave(runs: list[_Run], block: int, k: IPyKernel | None) -> None:
    """Every run's samples, in blocks, the order rotating."""
    rounds = max(math.ceil(run.n / block) for run in runs)
    for rnd in range(rounds):
        for j in range(len(runs)):
            run = runs[(rnd + j) % len(runs)]
            if len(run.samples) >= run.n:
                continue
            with client_on(None if run.client_cpu is None else {run.client_cpu}):
                for _ in range(min(block, run.n - len(run.samples))):
                    run.samples.append(run.once())
            if k is not None and run.key.startswith("ipykernel"):
                k.drain(0.005)  # its IOPub messages (busy, execute_input, idle), untimed


@benchmark("roundtrip", "sequential exec request → response in one long-lived process: `pass` and `await asyncio.sleep(0)`")
def bench_roundtrip(ctx: Context) -> list[Metric]:
    """The daemon runs where the scheduler puts it, as it does for an editor. A pipe round trip costs
    twice as much when the two ends run on different CPUs (a wake-up across CPUs) as on the same one,
    and the scheduler picks either for a process's whole life, so the floor is measured pinned: once
    sharing the client's CPU (the best case: the floor the ratio and the target use), and once on
    another CPU (shown for reference, as `floor_cross`). The client is pinned only during the floor's
    blocks. `await asyncio.sleep(0)` runs in a second daemon (so that the `pass` series runs in a
    session without an event loop, as before); the floor answers both alike, so its samples serve
    both rows. ipykernel (execute_request → execute_reply on the shell channel) and
    `python3 -m asyncio` (a line typed → the next prompt) run the same code in the same rotation."""
    block = 100
    with contextlib.ExitStack() as stack:  # closes them all, gracefully unless something failed
        setup = RoundtripSetup(ctx, stack)
        setup.servers()
        k = setup.others()
        interleave(setup.runs, block, k)
        notes = {name: dict(p.notifications) for name, p in setup.peers.items()}
    return roundtrip_metrics(ctx, setup, block, notes)


def roundtrip_metrics(ctx: Context, setup: RoundtripSetup, block: int, notes: dict) -> list[Metric]:
    got = {run.key: run.samples for run in setup.runs}
    # The daemon's own account of each exec (durationMs): what of the round trip the code took to
    # run in the worker, the rest being transport and bookkeeping.
    reported = [json.loads(b)["result"].get("durationMs", 0.0) * 1e3 for b in setup.bodies]
    reported_await = [json.loads(b)["result"].get("durationMs", 0.0) * 1e3 for b in setup.await_bodies]
    extra = {"n": {run.key: run.n for run in setup.runs}, "block": block, "warmup": setup.warmup,
             "notifications": notes, "daemon_reported_duration_us": summary(reported),
             "daemon_reported_duration_us_await": summary(reported_await), "placement": setup.placement}
    if reported:
        ctx.notes.append(f"exec round trip: the daemon's own durationMs has a median of {statistics.median(reported):.1f} µs "
                         f"for `pass`, {statistics.median(reported_await):.1f} µs for `{AWAIT_CODE}`; the rest of "
                         f"the round trip is transport and bookkeeping")

    def pick(**keys: str) -> dict[str, list[float]]:
        return {who: got[key] for who, key in keys.items() if key in got}

    metrics = [Metric("exec_roundtrip", "exec round trip `pass`", "µs",
                      pick(asyncoded="asyncoded", floor="floor", ipykernel="ipykernel", asyncio_repl="asyncio_repl"),
                      target=Target("ratio", 3.0, "≤ 3× floor, ≤ REPL",
                                    also=Target("vs", 1.0, "", other="asyncio_repl")), extra=extra)]
    if "floor_cross" in got:
        metrics.append(Metric("exec_roundtrip_cross", "exec round trip `pass`", "µs",
                              pick(asyncoded="asyncoded", floor_cross="floor_cross"), baseline="floor_cross"))
    metrics.append(Metric("exec_roundtrip_await", f"exec round trip `{AWAIT_CODE}`", "µs",
                          pick(asyncoded="asyncoded_await", floor="floor", ipykernel="ipykernel_await",
                               asyncio_repl="asyncio_repl_await"),
                          target=Target("ratio", 3.0, "≤ 3× floor"), extra={"same_as": "exec_roundtrip"}))
    return metrics


@benchmark("starts", "exec round trip `pass` in each of several fresh daemons: the worst start, not a lucky one")
def bench_starts(ctx: Context) -> list[Metric]:
    """Where the scheduler puts the client, the supervisor and the worker can move a daemon's round
    trip for its whole life, so one long-lived daemon says little about the next. Each round starts
    a fresh daemon and a fresh `python3 -m asyncio` (neither pinned), warms each up (200 execs or
    lines), and takes the median of 300 round trips of `pass` in each, beside 300 of the floor
    (pinned to the client's CPU, as in `roundtrip`). A sample of the row is one start's median; the
    target is met when the *worst* start is within 3× the floor and no slower than the REPL's
    median."""
    rounds, n, warmup = ctx.reps(8, 3), 300, 200
    samples: dict[str, list[float]] = {"asyncoded": [], "floor": []}
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    with contextlib.ExitStack() as stack:
        floor = stack.enter_context(started(ctx, ctx.floor, 0))
        if cpus:
            os.sched_setaffinity(floor.proc.pid, {cpus[0]})
        floor_once = _peer_once(floor, "pass")
        for r in range(rounds):
            with started(ctx, ctx.daemon, 0) as p:
                once = _peer_once(p, "pass")
                for _ in range(warmup):
                    once()
                samples["asyncoded"].append(statistics.median(once() for _ in range(n)))
            with client_on({cpus[0]} if cpus else None):
                samples["floor"].append(statistics.median(floor_once() for _ in range(n)))
            if ctx.repls_available():
                with AsyncioRepl(ctx) as repl:
                    repl.wait_prompt()
                    once = _repl_once(repl, "pass")
                    for _ in range(warmup):
                        once()
                    samples.setdefault("asyncio_repl", []).append(statistics.median(once() for _ in range(n)))
    worst = max(samples["asyncoded"])
    ctx.note(f"round trip per daemon start: medians {', '.join(f'{x:.0f}' for x in sorted(samples['asyncoded']))} µs "
             f"over {rounds} starts (worst {worst:.0f} µs)")
    return [Metric("exec_roundtrip_starts", f"exec round trip `pass`, each of {rounds} daemon starts", "µs", samples,
                   target=Target("worst_ratio", 3.0, "worst ≤ 3× floor, ≤ REPL",
                                 also=Target("worst_vs", 1.0, "", other="asyncio_repl")),
                   extra={"rounds": rounds, "n": n, "warmup": warmup})]


def pipelined_once(p: Peer, name: str, count: int) -> tuple[float, dict]:
    """`count` execs written at once (by a thread, so that the pipes never deadlock) → the last answer:
    µs per exec, and the notifications per exec."""
    first = p.next_id
    blob = b"".join(encode_request(first + k, "exec", {"code": "pass"}) for k in range(count))
    p.next_id = first + count
    wanted = set(range(first, first + count))
    errors: list[BaseException] = []

    def write():
        try:
            p.send(blob)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    before = collections.Counter(p.notifications)
    writer = threading.Thread(target=write, name="pipelined-writer", daemon=True)
    t0 = now_ns()
    writer.start()
    deadline = now_ns() + 120 * 10**9
    last_t = t0
    while wanted:
        got = p.take_one(deadline)
        if got is None:
            continue
        rid, t, body, msg = got
        if msg is not None and "error" in msg:
            raise BenchError(f"{name} answered pipelined exec {rid} with an error: {msg['error']}")
        wanted.discard(rid)
        last_t = t
    writer.join()
    if errors:
        raise BenchError(f"writing to {name} failed: {errors[0]}")
    return (last_t - t0) / 1e3 / count, {k: (v - before[k]) / count for k, v in p.notifications.items() if v - before[k]}


def kernel_pipelined(ctx: Context, k: IPyKernel, count: int) -> list[float]:
    """ipykernel: `count` execute_requests sent with the client's execute() (the client's own message
    building and signing counted, as the daemon's client's framing is), then every execute_reply read
    with get_shell_msg. Fewer than the daemon's 10,000: ipykernel takes a millisecond or more each.
    Its shared kernel, warmed up."""
    samples = []
    for _ in range(ctx.reps(2, 1)):
        for _ in range(100):
            _kernel_once(k, "pass")()
        k.drain()
        t0 = now_ns()
        ids = [k.execute("pass") for _ in range(count)]
        wanted = set(ids)
        t_last = t0
        while wanted:
            t_last, reply = any_reply(k)
            wanted.discard(reply["parent_header"].get("msg_id"))
        samples.append((t_last - t0) / 1e3 / count)
        k.drain()
    return samples


@benchmark("pipelined", "10,000 exec \"pass\" requests sent without waiting; time until the last response")
def bench_pipelined(ctx: Context) -> list[Metric]:
    count = 10_000
    rounds = ctx.reps(5, 2)
    samples: dict[str, list[float]] = {ctx.daemon.name: [], ctx.floor.name: []}
    notes = {}
    for r, s in ctx.pairs(rounds):
        with started(ctx, s, warmup=100) as p:
            per_exec, notes[s.name] = pipelined_once(p, s.name, count)
            samples[s.name].append(per_exec)
    kernel_count = ctx.reps(1000, 300)
    k = ctx.kernel()
    if k is not None:
        samples["ipykernel"] = kernel_pipelined(ctx, k, kernel_count)
    return [Metric("exec_pipelined", "pipelined execs, per exec", "µs", samples,
                   target=Target("max", 20.0, "≤ 20 µs"),
                   extra={"count": count, "rounds": rounds, "notifications_per_exec": notes,
                          "ipykernel_count": kernel_count})]
