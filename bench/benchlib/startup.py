"""spawn → first reply, spawn → the result of `1+1`."""
from __future__ import annotations

import dataclasses

from benchlib.context import Context, INITIALIZE, benchmark, check_exec_result
from benchlib.numbers import Metric, Target
from benchlib.others import AsyncioRepl
from benchlib.peer import BenchError, Subject
from wire import encode_request


@dataclasses.dataclass
class StartupSamples:
    first: dict[str, list[float]]    # spawn → first reply
    onepone: dict[str, list[float]]  # spawn → the result of 1+1
    shutdown: dict[str, list[float]]  # shutdown+exit just after start


def server_round(ctx: Context, s: Subject, i: int, got: StartupSamples) -> None:
    """Round i (< 0: unrecorded) of a server (the daemon or the floor)."""
    # spawn → first reply: initialize alone.
    with ctx.spawn(s) as p:
        p.request("initialize", INITIALIZE)
        t, _, _ = p.wait(1)
        if i >= 0:
            got.first[s.name].append((t - p.t_spawn) / 1e6)
        took = p.close()
        if i >= 0 and took is not None:
            got.shutdown[s.name].append(took)
    # spawn → 1+1: initialize and exec sent together, without waiting for initialize's answer.
    with ctx.spawn(s) as p:
        p.send(encode_request(1, "initialize", INITIALIZE) + encode_request(2, "exec", {"code": "1+1"}))
        p.next_id = 3
        t, msg, body = p.wait(2)
        if i >= 0:
            got.onepone[s.name].append((t - p.t_spawn) / 1e6)
        check_exec_result(p, msg, body, "2")
        p.wait(1)


def repl_round(ctx: Context, i: int, got: StartupSamples) -> None:
    # spawn → the first `>>> `; then `1+1` typed, → `2` and the next prompt read.
    with AsyncioRepl(ctx) as r:
        t1 = r.wait_prompt()
        t2 = r.run(b"1+1\n")
        if b"\n2\r\n" not in r.buf:
            raise BenchError(f"python -m asyncio answered 1+1 with {bytes(r.buf)!r}")
        if i >= 0:
            got.first["asyncio_repl"].append((t1 - r.t_spawn) / 1e6)
            got.onepone["asyncio_repl"].append((t2 - r.t_spawn) / 1e6)


def kernel_round(ctx: Context, i: int, got: StartupSamples) -> None:
    # KernelManager.start_kernel → kernel_info_reply; then execute 1+1 → its execute_result
    # (and execute_reply, and idle).
    with ctx.new_kernel() as k:
        t1 = k.first_reply()
        results = []
        _, t2, reply = k.run(k.execute("1+1"), need_result=True,
                             on_iopub=lambda m: results.append(m) if m["msg_type"] == "execute_result" else None)
        if reply["content"].get("status") != "ok" or results[0]["content"]["data"].get("text/plain") != "2":
            raise BenchError(f"ipykernel answered 1+1 with {reply['content']} / {results}")
        if i >= 0:
            got.first["ipykernel"].append((t1 - k.t_spawn) / 1e6)
            got.onepone["ipykernel"].append((t2 - k.t_spawn) / 1e6)


@benchmark("startup", "spawn → first reply (initialize) and spawn → the result of 1+1, fresh process each time")
def bench_startup(ctx: Context) -> list[Metric]:
    n = ctx.reps(30, 15)
    n_repl = ctx.reps(20, 6) if ctx.repls_available() else 0
    n_kernel = ctx.reps(6, 2) if ctx.kernels_available() else 0
    servers = (ctx.daemon.name, ctx.floor.name)
    got = StartupSamples({k: [] for k in servers}, {k: [] for k in servers}, {k: [] for k in servers})
    if n_repl:
        got.first["asyncio_repl"], got.onepone["asyncio_repl"] = [], []
    if n_kernel:
        got.first["ipykernel"], got.onepone["ipykernel"] = [], []
    # The rounds in which ipykernel (a second or so each) is started, spread over the run.
    kernel_rounds = {round(k * n / n_kernel) for k in range(n_kernel)} if n_kernel else set()
    # One unrecorded round first: the first spawn after a build pays for a cold page cache.
    for i in range(-1, n):
        for s in ((ctx.daemon, ctx.floor) if i % 2 == 0 else (ctx.floor, ctx.daemon)):
            server_round(ctx, s, i, got)
        if i < n_repl:
            repl_round(ctx, i, got)
        if n_kernel and ((i < 0 and not ctx.quick) or i in kernel_rounds):
            kernel_round(ctx, i, got)
    extra = {"n": {"asyncoded": n, "floor": n, "asyncio_repl": n_repl, "ipykernel": n_kernel}}
    return [
        Metric("spawn_first_reply", "spawn → first reply", "ms", got.first,
               target=Target("max", 10.0, "≤ 10 ms"), extra=extra),
        Metric("spawn_exec_1plus1", "spawn → `1+1` result", "ms", got.onepone,
               target=Target("max", 40.0, "≤ 40 ms"), extra=extra),
        Metric("shutdown_after_start", "shutdown+exit just after start", "ms", got.shutdown),
    ]
