"""200,000 printed lines: the daemon's own time for them, and the client's."""
from __future__ import annotations

import contextlib
import json
import statistics
import subprocess

from benchlib.context import Context, benchmark
from benchlib.numbers import Metric, Target, summary
from benchlib.others import AsyncioRepl
from benchlib.peer import BenchError, now_ns
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


@benchmark("output", f"{PRINT_LINES:,} printed lines: `{PRINT_CODE}`, against the same loop in python3 > /dev/null")
def bench_output(ctx: Context) -> list[Metric]:
    """asyncoded: the exec sent → its answer read, every `output` notification before it read and its
    lines counted (they must be all 200,000, in order); also the exec's own durationMs. ipykernel: until
    execute_reply and the `idle` after the last stream message, the lines counted likewise.
    `python -m asyncio`: the loop typed → the next prompt, on its pty. The baseline: the same loop in
    `python3 -c` with stdout to /dev/null, timed inside that process (time.perf_counter around the loop
    and the final flush), so that its start-up does not count."""
    n = ctx.reps(5, 2)
    n_other = ctx.reps(3, 1)
    client: dict[str, list[float]] = {"asyncoded": [], "python3_devnull": []}
    reported: dict[str, list[float]] = {"asyncoded": [], "python3_devnull": []}
    chunks: list[int] = []
    expected_text = "".join(f"{i}\n" for i in range(PRINT_LINES))

    def baseline() -> float:
        out = subprocess.run([ctx.python, "-c", PRINT_BASELINE], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             check=True)
        return float(out.stderr)

    with contextlib.ExitStack() as stack:
        p = stack.enter_context(started(ctx, ctx.daemon, 0))
        texts: list[str] = []
        current = [None]

        def on_note(msg: dict) -> None:
            params = msg.get("params", {})
            if msg["method"] == "output" and params.get("requestId") == current[0]:
                if params.get("stream") != "stdout":
                    raise BenchError(f"the loop wrote to {params.get('stream')}: {params.get('text', '')[:200]!r}")
                texts.append(params["text"])

        p.on_notification = on_note

        def daemon_once() -> tuple[float, float]:
            texts.clear()
            i = p.new_id()
            current[0] = i
            data = encode_request(i, "exec", {"code": PRINT_CODE})
            t0 = now_ns()
            p.send(data)
            t1, msg, body = p.wait(i, timeout=120)
            result = (msg if msg is not None else json.loads(body))["result"]
            if result.get("status") != "ok":
                raise BenchError(f"the print loop gave {result}")
            if "".join(texts) != expected_text:
                got = "".join(texts)
                raise BenchError(f"the daemon's output of the loop: {got.count(chr(10))} lines, not {PRINT_LINES} "
                                 f"(or not in order)")
            chunks.append(len(texts))
            return (t1 - t0) / 1e6, result["durationMs"]

        k = ctx.kernel()
        if k is not None:
            client["ipykernel"] = []

        def kernel_once() -> float:
            parts: list[str] = []

            def on_iopub(msg: dict) -> None:
                if msg["msg_type"] == "stream":
                    parts.append(msg["content"]["text"])

            k.drain(0.01)
            t0 = now_ns()
            _, t1, reply = k.run(k.execute(PRINT_CODE), timeout=300, on_iopub=on_iopub)
            if reply["content"].get("status") != "ok" or "".join(parts) != expected_text:
                raise BenchError(f"ipykernel: the loop gave {reply['content'].get('status')} and "
                                 f"{''.join(parts).count(chr(10))} lines, not {PRINT_LINES}")
            return (t1 - t0) / 1e6

        r = None
        if ctx.repls_available():
            r = stack.enter_context(AsyncioRepl(ctx))
            r.wait_prompt()
            client["asyncio_repl"] = []
        repl_line = PRINT_CODE.encode() + b"\n\n"
        wanted = [str(i).encode() for i in range(PRINT_LINES)]

        def repl_once() -> float:
            t0 = now_ns()
            t1 = r.run(repl_line, timeout=300)
            got = [ln for ln in bytes(r.buf).split(b"\r\n") if ln.isdigit()]
            if got != wanted:
                raise BenchError(f"python -m asyncio printed {len(got)} lines of digits, not {PRINT_LINES}")
            return (t1 - t0) / 1e6

        # One unrecorded round of each, then n rounds in rotating order.
        daemon_once()
        baseline()
        if k is not None:
            kernel_once()
        if r is not None:
            repl_once()
        chunks.clear()
        for i in range(n):
            order = ["asyncoded", "python3_devnull", "ipykernel", "asyncio_repl"]
            for who in order[i % 4:] + order[: i % 4]:
                if who == "asyncoded":
                    c, d = daemon_once()
                    client["asyncoded"].append(c)
                    reported["asyncoded"].append(d)
                elif who == "python3_devnull":
                    b = baseline()
                    client["python3_devnull"].append(b)
                    reported["python3_devnull"].append(b)
                elif who == "ipykernel" and k is not None and i < n_other:
                    client["ipykernel"].append(kernel_once())
                elif who == "asyncio_repl" and r is not None and i < n_other:
                    client["asyncio_repl"].append(repl_once())
    extra = {"lines": PRINT_LINES, "code": PRINT_CODE, "baseline_code": PRINT_BASELINE,
             "output_notifications_per_exec": summary(chunks)}
    if chunks:
        ctx.note(f"{PRINT_LINES:,} lines: the daemon sent them in a median of {statistics.median(chunks):.0f} output "
                 f"notifications per exec")
    return [
        Metric("print_lines_duration", f"{PRINT_LINES // 1000}k printed lines, exec's durationMs", "ms", reported,
               baseline="python3_devnull", target=Target("ratio", 1.2, "≤ 1.2× baseline"), extra=extra),
        Metric("print_lines_client", f"{PRINT_LINES // 1000}k printed lines, client-side", "ms", client,
               baseline="python3_devnull", target=Target("ratio", 1.2, "≤ 1.2× baseline"), extra=extra),
    ]
