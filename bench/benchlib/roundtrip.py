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
    n = ctx.reps(2000, 1000)
    n_kernel = ctx.reps(1000, 200)
    n_repl = ctx.reps(2000, 300)
    block = 100
    warmup = ctx.reps(200, 100)
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    bodies: list[bytes] = []
    await_bodies: list[bytes] = []
    runs: list[_Run] = []
    with contextlib.ExitStack() as stack:  # closes them all, gracefully unless something failed
        peers: dict[str, Peer] = {}
        placement = {}

        def server(key: str, s: Subject, server_cpu: int | None, client_cpu: int | None, code: str,
                   keep: list[bytes] | None = None) -> None:
            p = stack.enter_context(started(ctx, s, 0))
            if code == AWAIT_CODE:
                _peer_once(p, "import asyncio")()
            if server_cpu is not None:
                os.sched_setaffinity(p.proc.pid, {server_cpu})
            run = _Run(key, _peer_once(p, code, keep), n, client_cpu)
            with client_on(None if client_cpu is None else {client_cpu}):
                for _ in range(warmup):
                    run.once()
            if keep is not None:
                keep.clear()
            peers[key] = p
            placement[key] = {"server_cpu": server_cpu, "client_cpu": client_cpu}
            runs.append(run)

        server("asyncoded", ctx.daemon, None, None, "pass", bodies)
        if len(cpus) >= 2:
            server("floor", ctx.floor, cpus[0], cpus[0], "pass")
            server("floor_cross", ctx.floor, cpus[1], cpus[0], "pass")
        else:
            server("floor", ctx.floor, None, None, "pass")
        server("asyncoded_await", ctx.daemon, None, None, AWAIT_CODE, await_bodies)
        k = ctx.kernel()
        if k is not None:
            _kernel_once(k, "import asyncio")()
            for key, code in (("ipykernel", "pass"), ("ipykernel_await", AWAIT_CODE)):
                run = _Run(key, _kernel_once(k, code), n_kernel)
                for _ in range(warmup):
                    run.once()
                runs.append(run)
            k.drain()
        if ctx.repls_available():
            r = stack.enter_context(AsyncioRepl(ctx))
            r.wait_prompt()
            for key, code in (("asyncio_repl", "pass"), ("asyncio_repl_await", AWAIT_CODE)):
                run = _Run(key, _repl_once(r, code), n_repl)
                for _ in range(warmup):
                    run.once()
                runs.append(run)
        rounds = max(math.ceil(run.n / block) for run in runs)
        for rnd in range(rounds):  # interleaved in blocks, the order rotating
            for j in range(len(runs)):
                run = runs[(rnd + j) % len(runs)]
                if len(run.samples) >= run.n:
                    continue
                with client_on(None if run.client_cpu is None else {run.client_cpu}):
                    for _ in range(min(block, run.n - len(run.samples))):
                        run.samples.append(run.once())
                if k is not None and run.key.startswith("ipykernel"):
                    k.drain(0.005)  # its IOPub messages (busy, execute_input, idle), untimed
        notes = {name: dict(p.notifications) for name, p in peers.items()}
    got = {run.key: run.samples for run in runs}
    # The daemon's own account of each exec (durationMs): what of the round trip the code took to
    # run in the worker, the rest being transport and bookkeeping.
    reported = [json.loads(b)["result"].get("durationMs", 0.0) * 1e3 for b in bodies]
    reported_await = [json.loads(b)["result"].get("durationMs", 0.0) * 1e3 for b in await_bodies]
    extra = {"n": {run.key: run.n for run in runs}, "block": block, "warmup": warmup, "notifications": notes,
             "daemon_reported_duration_us": summary(reported),
             "daemon_reported_duration_us_await": summary(reported_await),
             "placement": placement}
    if reported:
        ctx.notes.append(f"exec round trip: the daemon's own durationMs has a median of {statistics.median(reported):.1f} µs "
                         f"for `pass`, {statistics.median(reported_await):.1f} µs for `{AWAIT_CODE}`; the rest of "
                         f"the round trip is transport and bookkeeping")

    def pick(**keys: str) -> dict[str, list[float]]:
        return {who: got[key] for who, key in keys.items() if key in got}

    metrics = [Metric("exec_roundtrip", "exec round trip `pass`", "µs",
                      pick(asyncoded="asyncoded", floor="floor", ipykernel="ipykernel", asyncio_repl="asyncio_repl"),
                      target=Target("ratio", 3.0, "≤ 3× floor"), extra=extra)]
    if "floor_cross" in got:
        metrics.append(Metric("exec_roundtrip_cross", "exec round trip `pass`", "µs",
                              pick(asyncoded="asyncoded", floor_cross="floor_cross"), baseline="floor_cross"))
    metrics.append(Metric("exec_roundtrip_await", f"exec round trip `{AWAIT_CODE}`", "µs",
                          pick(asyncoded="asyncoded_await", floor="floor", ipykernel="ipykernel_await",
                               asyncio_repl="asyncio_repl_await"),
                          target=Target("ratio", 3.0, "≤ 3× floor"), extra={"same_as": "exec_roundtrip"}))
    return metrics


@benchmark("pipelined", "10,000 exec \"pass\" requests sent without waiting; time until the last response")
def bench_pipelined(ctx: Context) -> list[Metric]:
    count = 10_000
    rounds = ctx.reps(5, 2)
    samples: dict[str, list[float]] = {ctx.daemon.name: [], ctx.floor.name: []}
    notes = {}
    for r, s in ctx.pairs(rounds):
        with started(ctx, s, warmup=100) as p:
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
                    raise BenchError(f"{s.name} answered pipelined exec {rid} with an error: {msg['error']}")
                wanted.discard(rid)
                last_t = t
            writer.join()
            if errors:
                raise BenchError(f"writing to {s.name} failed: {errors[0]}")
            samples[s.name].append((last_t - t0) / 1e3 / count)
            notes[s.name] = {k: (v - before[k]) / count for k, v in p.notifications.items() if v - before[k]}
    # ipykernel: `kernel_count` execute_requests sent with the client's execute() (the client's own
    # message building and signing counted, as the daemon's client's framing is), then every
    # execute_reply read with get_shell_msg. Fewer than the daemon's 10,000: ipykernel takes a
    # millisecond or more each. Its shared kernel, warmed up.
    kernel_count = ctx.reps(1000, 300)
    k = ctx.kernel()
    if k is not None:
        samples["ipykernel"] = []
        for _ in range(ctx.reps(2, 1)):
            for _ in range(100):
                _kernel_once(k, "pass")()
            k.drain()
            t0 = now_ns()
            ids = [k.execute("pass") for _ in range(kernel_count)]
            wanted = set(ids)
            t_last = t0
            while wanted:
                t_last, reply = any_reply(k)
                wanted.discard(reply["parent_header"].get("msg_id"))
            samples["ipykernel"].append((t_last - t0) / 1e3 / kernel_count)
            k.drain()
    return [Metric("exec_pipelined", "pipelined execs, per exec", "µs", samples,
                   target=Target("max", 30.0, "≤ 30 µs"),
                   extra={"count": count, "rounds": rounds, "notifications_per_exec": notes,
                          "ipykernel_count": kernel_count})]
