"""What a run leaves in the repository: its table in bench/README.md (between markers) and its
figures side by side as an SVG chart. Both from the run's own metrics: no hand-copied number."""
from __future__ import annotations

import datetime
import re
import statistics
import textwrap
from pathlib import Path

from benchlib.numbers import Metric
from benchlib.report import BASELINE_NAMES, OTHER_COLUMNS, table

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def readme_block(metrics: list[Metric], info: dict, notes: list[str], quick: bool, svg_name: str | None) -> str:
    day = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = " ".join(f"{x:.2f}" for x in info["loadavg_start"])
    load_end = " ".join(f"{x:.2f}" for x in info.get("loadavg_end", ()))
    lines = [BEGIN,
             f"Written by `bench.py --readme` from a{' --quick' if quick else ' full'} run, {day}, on "
             f"{info.get('cpu', '?')} ({info['cpus']} CPUs), Python {info['python']}; load average {load} at "
             f"the start, {load_end} at the end.", ""]
    loads = [info["loadavg_start"][0], *info.get("loadavg_end", ())[:1]]
    if max(loads) > (info["cpus"] or 1) * 0.75:
        lines += ["**The machine was busy with other work during this run** (see the load averages): absolute "
                  "times are slower than on an idle machine, often several times; the ratios, whose sides "
                  "were measured interleaved, less so.", ""]
    if svg_name:
        lines += [f"![The figures side by side (times on a log scale): asyncoded, its floor or baseline, ipykernel, "
                  f"python -m asyncio]({svg_name})", ""]
    lines += ["    " + ln for ln in table(metrics).splitlines()]
    if notes:
        lines += ["", "    notes printed with it:"]
        for n in notes:
            wrapped = textwrap.wrap(n, 100)
            lines += ["    " + wrapped[0]] + ["      " + w for w in wrapped[1:]]
    lines.append(END)
    return "\n".join(lines)


def write_readme(path: Path, block: str) -> None:
    text = path.read_text()
    # The markers on lines of their own (a text may name them, as bench/README.md does).
    pattern = re.compile("^" + re.escape(BEGIN) + "$.*?^" + re.escape(END) + "$", re.S | re.M)
    if not pattern.search(text):
        raise SystemExit(f"bench: {path} has no {BEGIN} .. {END} markers to write the table between")
    path.write_text(pattern.sub(lambda _: block, text, count=1))
    print(f"wrote the table into {path}")


COLORS = {"asyncoded": "#1f77b4", "baseline": "#7f7f7f", "ipykernel": "#ff7f0e", "asyncio_repl": "#2ca02c"}


def write_svg(path: Path, metrics: list[Metric]) -> None:
    """One panel per metric, a bar per subject (median, with a line to the p90), times on a log
    scale (they differ by orders of magnitude, between subjects and between metrics), memory on a
    linear one."""
    import matplotlib
    matplotlib.use("svg")
    matplotlib.rcParams["svg.hashsalt"] = "asyncode-bench"  # the same run draws the same file
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401 - matplotlib.ticker.NullFormatter below
    from benchlib.numbers import percentile

    shown = [m for m in metrics if m.samples.get(m.subject)]
    cols = 3
    rows = -(-len(shown) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 4.6, rows * 1.9), squeeze=False)
    for ax, m in zip(axes.flat, shown):
        who = [(m.subject, "asyncoded", COLORS["asyncoded"]),
               (m.baseline, BASELINE_NAMES.get(m.baseline, m.baseline), COLORS["baseline"])]
        who += [(key, title, COLORS[key]) for key, title in OTHER_COLUMNS]
        bars = [(title, statistics.median(m.samples[key]), percentile(m.samples[key], 90), color)
                for key, title, color in who if m.samples.get(key)]
        labels = [b[0] for b in bars]
        ys = range(len(bars))
        ax.barh(list(ys), [b[1] for b in bars], color=[b[3] for b in bars])
        ax.hlines(list(ys), [b[1] for b in bars], [b[2] for b in bars], color="black", linewidth=1)
        for y, b in zip(ys, bars):
            ax.text(b[1], y, f" {b[1]:.3g}", va="center", fontsize=7)
        for key, reason in m.missing.items():
            labels.append(dict(OTHER_COLUMNS).get(key, key) + f" ({reason})")
        ax.set_yticks(list(range(len(labels))), labels, fontsize=7)
        ax.invert_yaxis()
        if m.unit != "MiB":  # times differ by orders of magnitude; memory is read linearly
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.tick_params(axis="x", labelsize=7)
        met = m.target.met(m) if m.target else None
        mark = "" if met is None else ("  [met]" if met else "  [NOT met]")
        ax.set_title(textwrap.shorten(m.label, 60) + f" ({m.unit}){mark}", fontsize=8)
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    fig.tight_layout()
    if path.suffix == ".png":  # a picture to look at; the README shows the SVG
        fig.savefig(path, format="png", dpi=70)
    else:
        fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)
    print(f"wrote {path}")
