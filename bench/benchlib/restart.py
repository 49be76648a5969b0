"""session/restart → its answer; a crash → the next `1+1`."""
from __future__ import annotations

import json
from typing import Callable

from benchlib.context import Context, benchmark, check_exec_result
from benchlib.numbers import Metric, Target
from benchlib.peer import BenchError, Peer, now_ns
from benchlib.procwatch import children_of, settle
from benchlib.roundtrip import started
from wire import encode_request


CRASH_CODE = "import os; os._exit(1)"


def restart_round(peer: Peer, quiet: Callable[[], None]) -> tuple[float, float, float]:
    """session/restart → its answer; then a crash and `1+1` sent together → the answer of `1+1` (and
    of the crash), in ms."""
    quiet()
    t0 = now_ns()
    t1, _, _ = peer.wait(peer.request("session/restart", {"session": "default"}))
    t, msg, body = peer.wait(peer.request("exec", {"code": "1+1"}))
    check_exec_result(peer, msg, body, "2")
    quiet()
    a, b = peer.new_id(), peer.new_id()
    data = encode_request(a, "exec", {"code": CRASH_CODE}) + encode_request(b, "exec", {"code": "1+1"})
    t2 = now_ns()
    peer.send(data)
    ta, amsg, abody = peer.wait(a)
    tb, bmsg, bbody = peer.wait(b)
    if peer.subject.name == "asyncoded":
        res = (amsg if amsg is not None else json.loads(abody))["result"]
        if res.get("error", {}).get("type") != "WorkerDied":
            raise BenchError(f"os._exit(1) gave {res}, not WorkerDied")
        check_exec_result(peer, bmsg, bbody, "2")
    return (t1 - t0) / 1e6, (tb - t2) / 1e6, (ta - t2) / 1e6


def daemon_round(ctx: Context, cfg: str, subject, want_spare: bool) -> tuple[float, float, float]:
    """A round on a fresh daemon, each step once its processes are idle (and its spare is there)."""
    with started(ctx, subject, 0) as p:
        daemon = p.proc.pid

        def quiet() -> None:
            if not settle(lambda: [daemon, *children_of(daemon)], ready=lambda ps: not want_spare or len(ps) >= 3):
                raise BenchError(f"the daemon's processes did not settle within 10 s ({cfg})")

        return restart_round(p, quiet)


def kernel_restarts(ctx: Context, n: int) -> list[float]:
    """ipykernel: KernelManager.restart_kernel(now=True) → kernel_info_reply, in ms."""
    out: list[float] = []
    with ctx.new_kernel() as k:
        k.first_reply()
        k.run(k.execute("1+1"))
        for _ in range(n):
            t0 = now_ns()
            t1 = k.restart()
            out.append((t1 - t0) / 1e6)
    return out


@benchmark("restart", "session/restart → its answer; a crash (os._exit) → the next `1+1`; warm spare and --spares 0")
def bench_restart(ctx: Context) -> list[Metric]:
    """A fresh daemon each round, its default session warmed by `1+1`. session/restart → its answer,
    which the daemon sends once the new worker is ready. Then crash recovery:
    `import os; os._exit(1)` and `1+1` sent together → the answer of `1+1`, which the daemon runs on the
    session's new worker (the crash's own answer, WorkerDied, comes first). Before each of the two
    every process of the daemon has been idle for 150 ms, so that with the default the warm spare is
    ready, as it is when a person restarts. (A fresh daemon each round because the daemon starts at most
    five spares in ten seconds, whatever became of them: faster restarts find no warm spare.) The
    floor answers the same frames at once. ipykernel (in the --spares 0 row, having no spare either):
    KernelManager.restart_kernel(now=True) → kernel_info_reply."""
    n, n_kernel = ctx.reps(10, 2), ctx.reps(3, 1)
    cfgs = [("default", "warm spare", ctx.daemon_with(), True),
            ("spares0", "--spares 0", ctx.daemon_with("--spares", "0"), False)]
    restart = {cfg: {"asyncoded": [], "floor": []} for cfg, *_ in cfgs}
    crash = {cfg: {"asyncoded": [], "floor": []} for cfg, *_ in cfgs}
    crash_answer = {cfg: [] for cfg, *_ in cfgs}
    with started(ctx, ctx.floor, 0) as f:
        for i in range(-1, n):  # one unrecorded round first
            for cfg, _, subject, want_spare in (cfgs if i % 2 == 0 else cfgs[::-1]):
                r, c, a = daemon_round(ctx, cfg, subject, want_spare)
                if i >= 0:
                    restart[cfg]["asyncoded"].append(r)
                    crash[cfg]["asyncoded"].append(c)
                    crash_answer[cfg].append(a)
                    r, c, a = restart_round(f, lambda: None)
                    restart[cfg]["floor"].append(r)
                    crash[cfg]["floor"].append(c)
    if ctx.kernels_available() and n_kernel:
        restart["spares0"]["ipykernel"] = kernel_restarts(ctx, n_kernel)
    metrics = [Metric(f"restart_{cfg}", f"session/restart → answer ({label})", "ms", restart[cfg],
                      target=Target("max", 50.0, "≤ 50 ms"), extra={"n": n}) for cfg, label, _, _ in cfgs]
    metrics += [Metric(f"crash_recovery_{cfg}", f"crash → next `1+1` result ({label})", "ms", crash[cfg],
                       target=Target("max", 50.0, "≤ 50 ms"), extra={"n": n, "crash_answer_ms": crash_answer[cfg]})
                for cfg, label, _, _ in cfgs]
    return metrics
