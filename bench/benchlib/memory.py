"""Memory (VmRSS, Pss) of the daemon and one session, and of the warm spare."""
from __future__ import annotations

import statistics

from benchlib.context import Context, benchmark, check_exec_result
from benchlib.numbers import Metric, Target
from benchlib.others import AsyncioRepl, PlainPython
from benchlib.peer import BenchError, Peer
from benchlib.procwatch import children_of, proc_memory, settle
from benchlib.roundtrip import AWAIT_CODE, started


MEMORY_CODE = "import asyncio; await asyncio.sleep(0)"


def _session_pid(p: Peer) -> int:
    sessions = p.call("session/list")["sessions"]
    return next(x["pid"] for x in sessions if x["session"] == "default")


KEYS = ["rss", "pss"]


class MemorySamples:
    """What bench_rss reads, per configuration (spares0, default) and per kind of memory."""

    def __init__(self, cfgs: list[str]):
        self.together = {(c, m): {"asyncoded": [], "python3": []} for c in cfgs for m in KEYS}
        self.spare = {m: {"asyncoded": [], "python3": []} for m in KEYS}
        self.parts: dict[str, list[dict]] = {c: [] for c in cfgs}
        self.others: dict[str, dict[str, list[float]]] = {m: {} for m in KEYS}

    def other(self, who: str, pid: int) -> None:
        settle(lambda: [pid])
        mem = proc_memory(pid)
        for m in KEYS:
            if m in mem:
                self.others[m].setdefault(who, []).append(mem[m])


def daemon_memory(ctx: Context, cfg: str, subject, got: MemorySamples) -> None:
    """A fresh daemon, the code run in its session, its processes idle: daemon + worker, and the spare."""
    with started(ctx, subject, 0) as p:
        t, msg, body = p.wait(p.request("exec", {"code": MEMORY_CODE}))
        check_exec_result(p, msg, body, None)
        worker = _session_pid(p)
        daemon = p.proc.pid
        want_spare = cfg == "default"
        ok = settle(lambda: [daemon, *children_of(daemon)], ready=lambda ps: not want_spare or len(ps) >= 3)
        if not ok:
            raise BenchError(f"the daemon's processes did not settle within 10 s ({cfg})")
        kids = children_of(daemon)
        spares = [k for k in kids if k != worker]
        if worker not in kids or len(spares) != (1 if want_spare else 0):
            raise BenchError(f"the daemon ({cfg}) has children {kids}; its session's worker is {worker}")
        md, mw = proc_memory(daemon), proc_memory(worker)
        ms = proc_memory(spares[0]) if spares else None
        got.parts[cfg].append({"daemon": md, "worker": mw, **({"spare": ms} if ms else {})})
        for m in KEYS:  # the whole tree: a user pays for the spare too
            got.together[(cfg, m)]["asyncoded"].append(md[m] + mw[m] + (ms[m] if ms else 0.0))
            if ms:
                got.spare[m]["asyncoded"].append(ms[m])


def others_memory(ctx: Context, cfgs: list[str], got: MemorySamples) -> None:
    with PlainPython(ctx) as pp:
        settle(lambda: [pp.pid])
        mem = proc_memory(pp.pid)
        for m in KEYS:
            for cfg in cfgs:
                got.together[(cfg, m)]["python3"].append(mem[m])
            got.spare[m]["python3"].append(mem[m])
    if ctx.repls_available():
        with AsyncioRepl(ctx) as r:
            r.wait_prompt()
            r.run(AWAIT_CODE.encode() + b"\n")
            got.other("asyncio_repl", r.pid)
    if ctx.kernels_available():
        with ctx.new_kernel() as k:
            k.first_reply()
            _, _, reply = k.run(k.execute(MEMORY_CODE))
            if reply["content"].get("status") != "ok":
                raise BenchError(f"ipykernel: {MEMORY_CODE!r} gave {reply['content']}")
            got.other("ipykernel", k.pid)


@benchmark("rss", "memory (VmRSS, Pss) of the daemon + one session after `import asyncio; await asyncio.sleep(0)`")
def bench_rss(ctx: Context) -> list[Metric]:
    """A fresh daemon, `import asyncio; await asyncio.sleep(0)` run in its default session, then, once
    every process of it has been idle for 150 ms (a warm spare has finished starting): VmRSS from
    /proc/PID/status and Pss from /proc/PID/smaps_rollup of the daemon and the session's worker,
    summed, and with the default (one warm spare) the spare's too: the whole process tree, since a
    user pays for the spare (whose own memory is also a row of its own). With --spares 0 and with the
    default. Pss shares the pages that the daemon, its workers (the same executable and libpython) share
    between them, so it is the better measure of what they cost together; RSS counts shared pages in
    each process. The baseline: a plain python3 that ran `asyncio.run(asyncio.sleep(0))`; ipykernel's
    kernel process after the same code; `python -m asyncio` after `await asyncio.sleep(0)`."""
    n = ctx.reps(3, 1)
    cfgs = [("spares0", ctx.daemon_with("--spares", "0")), ("default", ctx.daemon)]
    got = MemorySamples([c for c, _ in cfgs])
    for i in range(n):
        for cfg, subject in cfgs:
            daemon_memory(ctx, cfg, subject, got)
        others_memory(ctx, [c for c, _ in cfgs], got)
    return memory_metrics(ctx, n, got)


def memory_metrics(ctx: Context, n: int, got: MemorySamples) -> list[Metric]:
    metrics = []
    targets = {"rss": Target("vs", 1.5, "≤ 1.5× asyncio REPL", other="asyncio_repl"),
               "pss": Target("vs", 1.0, "≤ asyncio REPL", other="asyncio_repl")}
    for cfg, label in (("spares0", "daemon + session (--spares 0)"), ("default", "whole tree: daemon + session + spare")):
        extra = {"n": n, "code": MEMORY_CODE, "parts": got.parts[cfg]}
        for m, title in (("rss", "VmRSS"), ("pss", "Pss")):
            metrics.append(Metric(f"memory_{m}_{cfg}", f"{title} {label}", "MiB",
                                  {**got.together[(cfg, m)], **got.others[m]}, baseline="python3",
                                  target=targets[m], extra=extra))
    for m, title in (("rss", "VmRSS"), ("pss", "Pss")):
        metrics.append(Metric(f"memory_{m}_spare", f"{title} of the warm spare", "MiB", got.spare[m],
                              baseline="python3", extra={"n": n}))
    parts = got.parts["spares0"]
    if parts:
        d = statistics.median(x["daemon"]["rss"] for x in parts)
        w = statistics.median(x["worker"]["rss"] for x in parts)
        dp = statistics.median(x["daemon"]["pss"] for x in parts)
        wp = statistics.median(x["worker"]["pss"] for x in parts)
        ctx.note(f"memory (--spares 0): the daemon {d:.1f} MiB VmRSS ({dp:.1f} Pss), the session's worker "
                 f"{w:.1f} MiB VmRSS ({wp:.1f} Pss)")
    return metrics
