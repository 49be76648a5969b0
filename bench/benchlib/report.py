"""The table the benchmark prints, and what it says about the host."""
from __future__ import annotations

import os
import platform
import statistics
import sys
from pathlib import Path

from benchlib.numbers import Metric, percentile

REPO = Path(__file__).resolve().parents[2]


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "µs" and value >= 10_000:  # long ones (an interrupt of ipykernel) read better in ms
        value, unit = value / 1000, "ms"
    if value >= 100:
        s = f"{value:.0f}"
    elif value >= 10:
        s = f"{value:.1f}"
    else:
        s = f"{value:.2f}"
    return f"{s} {unit}"


# How a baseline other than the floor is named in the table.
BASELINE_NAMES = {"floor_cross": "floor on another CPU", "python3": "plain python3",
                  "python3_devnull": "python3 > /dev/null"}
# The subjects that get columns of their own, beside asyncoded and its baseline.
OTHER_COLUMNS = [("ipykernel", "ipykernel"), ("asyncio_repl", "python -m asyncio")]


def table(metrics: list[Metric]) -> str:
    others = [(key, title) for key, title in OTHER_COLUMNS
              if any(m.samples.get(key) or key in m.missing for m in metrics)]
    head = ["metric", "asyncoded median", "p90", "floor median", "p90"]
    for _, title in others:
        head += [f"{title} median", "p90"]
    head += ["ratio", "target", "met"]
    rows = []

    def cells(m: Metric, who: str) -> list[str]:
        v = m.samples.get(who) or []
        if not v and who in m.missing:
            return [m.missing[who], "-"]
        return [fmt(statistics.median(v) if v else None, m.unit), fmt(percentile(v, 90) if v else None, m.unit)]

    for m in metrics:
        label = m.label if m.baseline == "floor" else f"{m.label} [vs {BASELINE_NAMES.get(m.baseline, m.baseline)}]"
        r = m.ratio()
        met = m.target.met(m) if m.target else None
        row = [label, *cells(m, m.subject), *cells(m, m.baseline)]
        for key, _ in others:
            row += cells(m, key)
        row += ["-" if r is None else f"{r:.1f}×" if r >= 0.995 or r < 0.1 else f"{r:.2f}×",
                m.target.text if m.target else "-",
                "-" if met is None else ("yes" if met else "NO")]
        rows.append(row)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    right = set(range(1, len(head) - 2))

    def line(cells_):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells_, widths))).rstrip()

    out = [line(head), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    return "\n".join(out)


def find_floor(daemon: Path) -> Path:
    candidates = [
        daemon.parent / "bench" / "echo_floor",
        daemon.parent / "echo_floor",
        REPO / "build" / "bench" / "echo_floor",
        REPO / "build" / "echo_floor",
    ]
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    return candidates[0]


def host_info() -> dict:
    info = {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "loadavg_start": os.getloadavg(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info
