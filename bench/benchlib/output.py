"""200,000 printed lines: the daemon's own time for them, and the client's."""
from __future__ import annotations

import contextlib
import json
import statistics
import subprocess

from benchlib.context import Context, benchmark
from benchlib.numbers import Metric, Target, summary
from benchlib.others import AsyncioRepl, IPyKernel
from benchlib.peer import BenchError, Peer, now_ns
from benchlib.roundtrip import started
from wire import encode_request


PRINT_LINES = 200_000
PRINT_CODE = f"for i in range({PRINT_LINES}): print(i)"
# The baseline: the same loop in a plain python3 whose stdout is /dev/null, timed inside the process.
PRINT_BASELINE = ("import sys, time\n"
                  "t0 = time.perf_counter()\n"
                  f"{PRINT_CODE}\n"
                  "sys.stdout.flush()\n"
                  "t1 = time.perf_counter()\n"
                  "sys.stderr.write(repr((t1 - t0) * 1e3))\n")


EXPECTED_TEXT = "".join(f"{i}\n" for i in range(PRINT_LINES))


def baseline(ctx: Context) -> float:
    """The loop in a plain python3 whose stdout is /dev/null: its own ms."""
    out = subprocess.run([ctx.python, "-c", PRINT_BASELINE], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         check=True)
    return float(out.stderr)


class DaemonPrints:
    """The loop as an exec: the client's ms until the answer, the daemon's durationMs, and every
    output notification checked (all the lines, in order)."""

    def __init__(self, p: Peer):
        self.p = p
        self.texts: list[str] = []
        self.current = None
        self.chunks: list[int] = []  # output notifications per exec
        p.on_notification = self.on_note

    def on_note(self, msg: dict) -> None:
        params = msg.get("params", {})
        if msg["method"] == "output" and params.get("requestId") == self.current:
            if params.get("stream") != "stdout":
                raise BenchError(f"the loop wrote to {params.get('stream')}: {params.get('text', '')[:200]!r}")
            self.texts.append(params["text"])

    def __call__(self) -> tuple[float, float]:
        self.texts.clear()
        i = self.p.new_id()
        self.current = i
        data = encode_request(i, "exec", {"code": PRINT_CODE})
        t0 = now_ns()
        self.p.send(data)
        t1, msg, body = self.p.wait(i, timeout=120)
        result = (msg if msg is not None else json.loads(body))["result"]
        if result.get("status") != "ok":
            raise BenchError(f"the print loop gave {result}")
        if "".join(self.texts) != EXPECTED_TEXT:
            got = "".join(self.texts)
            raise BenchError(f"the daemon's output of the loop: {got.count(chr(10))} lines, not {PRINT_LINES} "
                             f"(or not in order)")
        self.chunks.append(len(self.texts))
        return (t1 - t0) / 1e6, result["durationMs"]


def kernel_prints(k: IPyKernel) -> float:
    parts: list[str] = []

    def on_iopub(msg: dict) -> None:
        if msg["msg_type"] == "stream":
            parts.append(msg["content"]["text"])

    k.drain(0.01)
    t0 = now_ns()
    _, t1, reply = k.run(k.execute(PRINT_CODE), timeout=300, on_iopub=on_iopub)
    if reply["content"].get("status") != "ok" or "".join(parts) != EXPECTED_TEXT:
        raise BenchError(f"ipykernel: the loop gave {reply['content'].get('status')} and "
                         f"{''.join(parts).count(chr(10))} lines, not {PRINT_LINES}")
    return (t1 - t0) / 1e6


REPL_LINE = PRINT_CODE.encode() + b"\n\n"
REPL_WANTED = [str(i).encode() for i in range(PRINT_LINES)]


def repl_prints(r: AsyncioRepl) -> float:
    t0 = now_ns()
    t1 = r.run(REPL_LINE, timeout=300)
    got = [ln for ln in bytes(r.buf).split(b"\r\n") if ln.isdigit()]
    if got != REPL_WANTED:
        raise BenchError(f"python -m asyncio printed {len(got)} lines of digits, not {PRINT_LINES}")
    return (t1 - t0) / 1e6


@benchmark("output", f"{PRINT_LINES:,} printed lines: `{PRINT_CODE}`, against the same loop in python3 > /dev/null")
def bench_output(ctx: Context) -> list[Metric]:
    """asyncoded: the exec sent → its answer read, every `output` notification before it read and its
    lines counted (they must be all 200,000, in order); also the exec's own durationMs. ipykernel: until
    execute_reply and the `idle` after the last stream message, the lines counted likewise.
    `python -m asyncio`: the loop typed → the next prompt, on its pty. The baseline: the same loop in
    `python3 -c` with stdout to /dev/null, timed inside that process (time.perf_counter around the loop
    and the final flush), so that its start-up does not count."""
    n, n_other = ctx.reps(5, 2), ctx.reps(3, 1)
    client: dict[str, list[float]] = {"asyncoded": [], "python3_devnull": []}
    reported: dict[str, list[float]] = {"asyncoded": [], "python3_devnull": []}
    with contextlib.ExitStack() as stack:
        daemon = DaemonPrints(stack.enter_context(started(ctx, ctx.daemon, 0)))
        k = ctx.kernel()
        r = None
        if ctx.repls_available():
            r = stack.enter_context(AsyncioRepl(ctx))
            r.wait_prompt()
        rounds = {"asyncoded": daemon, "python3_devnull": lambda: baseline(ctx)}
        if k is not None:
            rounds["ipykernel"] = lambda: kernel_prints(k)
        if r is not None:
            rounds["asyncio_repl"] = lambda: repl_prints(r)
        for once in rounds.values():  # one unrecorded round of each
            once()
        daemon.chunks.clear()
        for who in rounds:
            client.setdefault(who, [])
        for i in range(n):  # then n rounds in rotating order
            order = ["asyncoded", "python3_devnull", "ipykernel", "asyncio_repl"]
            for who in order[i % 4:] + order[: i % 4]:
                if who not in rounds or (who in ("ipykernel", "asyncio_repl") and i >= n_other):
                    continue
                got = rounds[who]()
                c, d = got if who == "asyncoded" else (got, got)
                client[who].append(c)
                if who in reported:
                    reported[who].append(d)
    return output_metrics(ctx, client, reported, daemon.chunks)


def output_metrics(ctx: Context, client: dict, reported: dict, chunks: list[int]) -> list[Metric]:
    extra = {"lines": PRINT_LINES, "code": PRINT_CODE, "baseline_code": PRINT_BASELINE,
             "output_notifications_per_exec": summary(chunks)}
    if chunks:
        ctx.note(f"{PRINT_LINES:,} lines: the daemon sent them in a median of {statistics.median(chunks):.0f} output "
                 f"notifications per exec")
    return [
        Metric("print_lines_duration", f"{PRINT_LINES // 1000}k printed lines, exec's durationMs", "ms", reported,
               baseline="python3_devnull", target=Target("ratio", 1.5, "≤ 1.5× baseline"), extra=extra),
        Metric("print_lines_client", f"{PRINT_LINES // 1000}k printed lines, client-side", "ms", client,
               baseline="python3_devnull", target=Target("ratio", 1.5, "≤ 1.5× baseline"), extra=extra),
    ]
