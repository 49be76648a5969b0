"""interrupt → the exec's answer, for a sleep, a busy loop and an await; the floor is a signal round trip."""
from __future__ import annotations

import collections
import contextlib
import json
import os
import signal
import time

from benchlib.context import Context, benchmark
from benchlib.numbers import Metric, Target
from benchlib.others import AsyncioRepl, IPyKernel, SignalFloor
from benchlib.peer import BenchError, Peer, now_ns
from benchlib.roundtrip import started


INTERRUPT_KINDS = [
    ("sleep", "`time.sleep(30)`", "import time; time.sleep(30)"),
    ("busy", "`while True: pass`", "while True: pass"),
    ("await", "`await asyncio.sleep(30)`", "import asyncio; await asyncio.sleep(30)"),
]


class DaemonInterrupts:
    """The daemon's side: an exec sent, `interrupt` sent once the session said busy (10 ms more), timed
    until the exec's interrupted answer; how each interrupt ended is counted per kind."""

    def __init__(self, p: Peer):
        self.p = p
        self.busy = 0
        self.hows: dict[str, collections.Counter] = {kind: collections.Counter() for kind, _, _ in INTERRUPT_KINDS}
        p.on_notification = self.on_note

    def on_note(self, msg: dict) -> None:
        if msg["method"] == "status" and msg["params"].get("state") == "busy":
            self.busy += 1

    def __call__(self, kind: str, code: str) -> float:
        p, seen = self.p, self.busy
        i = p.request("exec", {"code": code})
        p.pump(lambda: self.busy > seen)
        time.sleep(0.01)
        t0 = now_ns()
        j = p.request("interrupt")
        t1, msg, body = p.wait(i, timeout=10)
        result = (msg if msg is not None else json.loads(body))["result"]
        if result.get("status") != "interrupted":
            raise BenchError(f"interrupting {code!r} gave {result.get('status')}, not interrupted: {body[:300]!r}")
        _, imsg, ibody = p.wait(j)
        self.hows[kind][(imsg if imsg is not None else json.loads(ibody))["result"].get("how", "?")] += 1
        return (t1 - t0) / 1e3

    def warm_up(self, ctx: Context) -> list[str]:
        """One interrupted exec of each kind, unrecorded. An interrupt that ended in a restart (the
        worker killed after graceMs) leaves a fresh worker behind: that one is warmed up too."""
        restarts: list[str] = []
        for _ in range(3):
            for kind in self.hows:
                self.hows[kind].clear()
            for kind, _, code in INTERRUPT_KINDS:
                took = self(kind, code)
                if self.hows[kind]["restarted"]:
                    restarts.append(f"{code!r} ({took / 1000:.0f} ms)")
            if not any(h["restarted"] for h in self.hows.values()):
                break
        if restarts:
            ctx.note(f"interrupt: warming up, the daemon did not stop {', '.join(restarts)} but killed and "
                     f"restarted the worker after its grace period (a fresh session's first await, when it also "
                     f"creates the session's event loop); the session was warmed up again")
        for kind in self.hows:
            self.hows[kind].clear()
        return restarts


def kernel_interrupt(k: IPyKernel, code: str, timeout: float) -> float | None:
    """ipykernel: interrupted with KernelManager.interrupt_kernel (SIGINT to its process group), timed
    until the execute_reply; None when it did not answer within `timeout`."""
    k.drain(0.01)
    mid = k.execute(code, stop_on_error=False)  # else ipykernel aborts the next request after the error
    k.wait_started(mid)
    time.sleep(0.01)
    t0 = now_ns()
    k.km.interrupt_kernel()
    try:
        t1, reply = k.reply(mid, timeout=timeout)
    except BenchError:
        return None
    if reply["content"].get("ename") != "KeyboardInterrupt":
        raise BenchError(f"ipykernel: interrupting {code!r} gave {reply['content']}")
    return (t1 - t0) / 1e3


def repl_interrupt(r: AsyncioRepl, code: str) -> float:
    """`python3 -m asyncio`: the line typed (a blank line after it ends a compound statement), its echo
    read, 10 ms more, then SIGINT to the process (as ipykernel gets it: the REPL on the pty has no
    controlling terminal to type Ctrl-C into), timed until `KeyboardInterrupt` and the next prompt."""
    line = code.encode() + (b"\n\n" if code.startswith("while") else b"\n")
    r.buf.clear()
    r.write(line)
    r.read_until(lambda b: b.count(b"\n") >= line.count(b"\n"))
    time.sleep(0.01)
    r.buf.clear()
    t0 = now_ns()
    os.kill(r.pid, signal.SIGINT)
    t1 = r.read_until(lambda b: b.endswith(AsyncioRepl.PROMPT) and b"KeyboardInterrupt" in b, timeout=10)
    return (t1 - t0) / 1e3


@benchmark("interrupt", "interrupt → the exec's answer: time.sleep, a busy loop, an await; floor: a signal round trip")
def bench_interrupt(ctx: Context) -> list[Metric]:
    """An exec is sent; once the daemon has said the session is busy (10 ms more, so the code is
    well into its sleep or loop), `interrupt` is sent and timed until the exec's answer (status
    "interrupted") has been read. The session is warmed first by one interrupted exec of each kind, so
    that first-time imports (of the traceback machinery, say) do not count. ipykernel the same way,
    interrupted with KernelManager.interrupt_kernel (SIGINT to its process group) and timed until the
    execute_reply; execute_input on IOPub says it has started. The floor: kill(SIGINT) to a C process
    asleep in read() → the byte its handler writes, read (echo_floor --sigint-echo)."""
    n = ctx.reps(20, 5)
    # ipykernel cannot interrupt a top-level await (ipykernel#881): do not wait the 30 s out.
    kernel_timeout = 3.0 if not ctx.quick else 1.0
    samples = {kind: {"asyncoded": [], "floor": []} for kind, _, _ in INTERRUPT_KINDS}
    missing: dict[str, dict[str, str]] = {kind: {} for kind, _, _ in INTERRUPT_KINDS}
    with contextlib.ExitStack() as stack:
        daemon = DaemonInterrupts(stack.enter_context(started(ctx, ctx.daemon, 0)))
        sf = stack.enter_context(SignalFloor(ctx.floor.argv[0]))
        k = ctx.kernel()
        kernel_kinds = [kind for kind, _, _ in INTERRUPT_KINDS] if k is not None else []
        for kind in kernel_kinds:
            samples[kind]["ipykernel"] = []
        repl = stack.enter_context(AsyncioRepl(ctx)) if ctx.repls_available() else None
        if repl is not None:
            repl.wait_prompt()
            repl.run(b"import asyncio, time\n")
            for kind, _, code in INTERRUPT_KINDS:
                samples[kind]["asyncio_repl"] = []
                repl_interrupt(repl, code)  # warm-up
        warmup_restarts = daemon.warm_up(ctx)
        for kind, _, code in INTERRUPT_KINDS:
            sf.once()
            if kind in kernel_kinds and kernel_interrupt(k, code, kernel_timeout) is None:
                kernel_kinds.remove(kind)
                del samples[kind]["ipykernel"]
                missing[kind]["ipykernel"] = f"none in {kernel_timeout:.0f} s"
                ctx.log(f"  ipykernel did not answer an interrupted {code!r} within {kernel_timeout} s: restarting it")
                k.restart()
        for r in range(n):
            for kind, _, code in INTERRUPT_KINDS:
                order = ["asyncoded", "floor", "ipykernel", "asyncio_repl"]
                for who in order[r % 4:] + order[: r % 4]:
                    if who == "asyncoded":
                        samples[kind]["asyncoded"].append(daemon(kind, code))
                    elif who == "floor":
                        time.sleep(0.01)  # as the others wait before interrupting: what ran before settles
                        samples[kind]["floor"].append(sf.once())
                    elif who == "asyncio_repl":
                        if repl is not None:
                            samples[kind]["asyncio_repl"].append(repl_interrupt(repl, code))
                    elif kind in kernel_kinds:
                        got = kernel_interrupt(k, code, kernel_timeout)
                        if got is None:
                            raise BenchError(f"ipykernel did not answer an interrupted {code!r} within {kernel_timeout} s")
                        samples[kind]["ipykernel"].append(got)
    return [Metric(f"interrupt_{kind}", f"interrupt {label}", "µs", samples[kind],
                   target=Target("max", 1000.0, "≤ 1 ms, ≤ REPL", also=Target("vs", 1.0, "", other="asyncio_repl")),
                   missing=missing[kind],
                   extra={"n": n, "how": dict(daemon.hows[kind]), "code": code, "ipykernel_timeout_s": kernel_timeout,
                          "warmup_restarts": warmup_restarts})
            for kind, label, code in INTERRUPT_KINDS]
