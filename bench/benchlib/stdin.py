"""A script reading a million lines from its stdin: `seq 1000000 | asyncode -c SUM` against
`python3 -c SUM` reading the same file, in the same run."""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from benchlib.context import Context, benchmark
from benchlib.numbers import Metric, Target
from benchlib.peer import BenchError, now_ns

LINES = 1_000_000
# Timed inside the process (the read loop alone), and printed with the sum that checks it.
SUM_CODE = ("import sys, time\n"
            "t0 = time.perf_counter()\n"
            "total = sum(int(line) for line in sys.stdin)\n"
            "t1 = time.perf_counter()\n"
            "print(total, (t1 - t0) * 1e3)\n")
EXPECTED = LINES * (LINES + 1) // 2


def client_path(ctx: Context) -> Path:
    """The terminal client beside the measured daemon (build/asyncode)."""
    return Path(ctx.daemon.argv[0]).resolve().parent / "asyncode"


def once(argv: list[str], data: Path) -> tuple[float, float]:
    """(the whole command's ms, the read loop's own ms) of one run with stdin from `data`."""
    with open(data, "rb") as stdin:
        t0 = now_ns()
        out = subprocess.run(argv, stdin=stdin, capture_output=True, timeout=600)
        t1 = now_ns()
    if out.returncode != 0:
        raise BenchError(f"{argv[0]} exited with {out.returncode}: {out.stderr.decode(errors='replace')[-500:]}")
    total, loop_ms = out.stdout.split()
    if int(total) != EXPECTED:
        raise BenchError(f"{argv[0]} summed {int(total)}, not {EXPECTED}: lines were lost or changed")
    return (t1 - t0) / 1e6, float(loop_ms)


@benchmark("stdin", f"{LINES:,} lines piped into a script's sys.stdin (`seq {LINES} | asyncode -c ...`), "
                    "against python3 reading the same input")
def bench_stdin(ctx: Context) -> list[Metric]:
    """Both read a file of `seq 1000000` (6.9 MB) as their stdin and sum its lines: asyncode as
    `asyncode -c CODE` (its stdin streamed to the session with stdin/read), python3 as `python3 -c
    CODE`. Two numbers each: the read loop's own time (time.perf_counter inside the process, so
    that start-up does not count) and the whole command's (start-up and shutdown included)."""
    client = client_path(ctx)
    if not client.exists():
        raise BenchError(f"no terminal client at {client}: build the asyncode target")
    n = ctx.reps(5, 2)
    loop: dict[str, list[float]] = {"asyncoded": [], "python3": []}
    whole: dict[str, list[float]] = {"asyncoded": [], "python3": []}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "seq.txt"
        data.write_bytes(b"".join(b"%d\n" % i for i in range(1, LINES + 1)))
        argvs = {"asyncoded": [str(client), "--daemon", ctx.daemon.argv[0], "-c", SUM_CODE],
                 "python3": [ctx.python, "-c", SUM_CODE]}
        for argv in argvs.values():  # one unrecorded round of each
            once(argv, data)
        for i in range(n):
            order = list(argvs) if i % 2 == 0 else list(reversed(argvs))
            for who in order:
                w, l = once(argvs[who], data)
                whole[who].append(w)
                loop[who].append(l)
    extra = {"lines": LINES, "code": SUM_CODE}
    return [
        Metric("stdin_lines_loop", f"{LINES // 1000}k stdin lines summed, the read loop", "ms", loop,
               baseline="python3", target=Target("ratio", 2.0, "≤ 2× python3"), extra=extra),
        Metric("stdin_lines_command", f"{LINES // 1000}k stdin lines summed, whole command", "ms", whole,
               baseline="python3", target=Target("ratio", 3.0, "≤ 3× python3"), extra=extra),
    ]
