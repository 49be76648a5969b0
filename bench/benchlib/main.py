"""Running the benchmarks: options, the run, the table and the JSON report."""
from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import signal
import sys
import tempfile
import time
from pathlib import Path

from benchlib.context import BENCHMARKS, Context
from benchlib.numbers import Metric
from benchlib.peer import BenchError, Subject, on_sigterm
from benchlib.publish import readme_block, write_readme, write_svg
from benchlib.report import REPO, find_floor, host_info, table


# The benchmarks, registered in the order they run and are printed.
from benchlib import startup, roundtrip, interrupt, output, memory, restart, stdin  # noqa: E402,F401


def parse_args(argv: list[str] | None, description: str) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--daemon", type=Path, default=REPO / "build" / "asyncoded", help="asyncoded to measure (default: build/asyncoded)")
    ap.add_argument("--floor", type=Path, help="echo_floor (default: bench/echo_floor beside the daemon's build)")
    ap.add_argument("--daemon-arg", action="append", default=[], metavar="ARG",
                    help="pass ARG to the daemon (repeatable), e.g. --daemon-arg=--spares=0")
    ap.add_argument("--json", type=Path, metavar="FILE", help="write every number (and all samples) to FILE")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions: a smoke run of a few seconds")
    ap.add_argument("--only", action="append", metavar="NAME", help="run only this benchmark (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    ap.add_argument("--logs", type=Path, help="directory for the servers' stderr (default: a new temporary one)")
    ap.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable,
                    help="the plain Python of the baselines and of `python -m asyncio` (default: /usr/bin/python3)")
    ap.add_argument("--no-compare", action="store_true",
                    help="measure asyncoded and its floors only, not ipykernel nor python -m asyncio")
    ap.add_argument("--readme", type=Path, metavar="FILE", nargs="?", action="append",
                    help="write the table between the <!-- bench:begin --> and <!-- bench:end --> markers of FILE "
                         "(repeatable); without FILE: of README.md and bench/README.md")
    ap.add_argument("--svg", type=Path, metavar="FILE", nargs="?", const=REPO / "bench" / "results.svg",
                    help="draw the figures side by side into FILE (default bench/results.svg; needs matplotlib)")
    args = ap.parse_args(argv)
    if args.only:
        unknown = set(args.only) - {b.name for b in BENCHMARKS}
        if unknown:
            ap.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}; see --list")
    return args


def make_context(args: argparse.Namespace, daemon: Path, floor: Path) -> Context:
    logs = args.logs or Path(tempfile.mkdtemp(prefix="asyncoded-bench-"))
    logs.mkdir(parents=True, exist_ok=True)
    # jupyter_client's connection files go with the logs, not into ~/.local/share/jupyter/runtime.
    os.environ.setdefault("JUPYTER_RUNTIME_DIR", str(logs / "jupyter-runtime"))
    return Context(
        daemon=Subject("asyncoded", [str(daemon), *args.daemon_arg], logs / "asyncoded.stderr"),
        floor=Subject("floor", [str(floor)], logs / "floor.stderr"),
        quick=args.quick,
        log=lambda s: print(s, file=sys.stderr, flush=True),
        python=args.python,
        compare=not args.no_compare,
        logs=logs,
    )


def run(ctx: Context, selected: list) -> tuple[list[Metric], dict[str, str], dict[str, float]] | None:
    """Runs the benchmarks: their metrics, the errors of those that could not run, the seconds each
    took. None when interrupted."""
    metrics: list[Metric] = []
    errors: dict[str, str] = {}
    timings: dict[str, float] = {}
    for b in selected:
        t = time.monotonic()
        ctx.log(f"running {b.name}: {b.description} ...")
        try:
            metrics += b.func(ctx)
        except BenchError as e:
            errors[b.name] = str(e)
            ctx.log(f"  {b.name} could not run: {e}")
        except KeyboardInterrupt:
            ctx.log("interrupted")  # every Peer has been killed on the way out
            ctx.close_kernel()
            return None
        timings[b.name] = time.monotonic() - t
    ctx.close_kernel()
    return metrics, errors, timings


def report(ctx: Context, info: dict, metrics: list[Metric], errors: dict[str, str], timings: dict[str, float]) -> None:
    print()
    print(table(metrics))
    print()
    print("ratio = asyncoded median / floor median. Targets are for a 2-core machine; they are reported, never asserted.")
    print(f"ran {', '.join(f'{k} {v:.1f} s' for k, v in timings.items())}; "
          f"load {' '.join(f'{x:.2f}' for x in info['loadavg_end'])} at the end")
    if max(info["loadavg_start"][0], info["loadavg_end"][0]) > (info["cpus"] or 1) * 0.75:
        print("note: the machine was busy with other work (see the load averages): every number is noisier "
              "and start-up slower than on an idle machine; run again when it is idle")
    for note in ctx.notes:
        print(f"note: {note}")
    for name, e in errors.items():
        print(f"error: {name}: {e}")
    try:
        # The restart benchmark's crashes (os._exit(1)) are logged on purpose: not counted.
        warns = [ln for ln in ctx.daemon.log.read_text(errors="replace").splitlines()
                 if ("[warning]" in ln or "[error]" in ln or "[critical]" in ln)
                 and not re.search(r"session default: the worker \(pid \d+\) exited with code 1$", ln)]
    except OSError:
        warns = []
    if warns:
        print(f"the daemon logged {len(warns)} warning/error line(s) in {ctx.daemon.log}, the first: {warns[0]}")


def write_json(path: Path, ctx: Context, floor: Path, quick: bool, info: dict, metrics: list[Metric],
               errors: dict[str, str], timings: dict[str, float], seconds: float) -> None:
    doc = {
        "tool": "asyncoded bench/bench.py",
        "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "daemon": ctx.daemon.argv,
        "floor": str(floor),
        "quick": quick,
        "host": info,
        "seconds": timings,
        "total_seconds": seconds,
        "errors": errors,
        "notes": ctx.notes,
        "metrics": [m.to_json() for m in metrics],
    }
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {path}")


def main(argv: list[str] | None = None, description: str = "") -> int:
    args = parse_args(argv, description)
    if args.list:
        for b in BENCHMARKS:
            print(f"{b.name:12} {b.description}")
        return 0
    selected = [b for b in BENCHMARKS if not args.only or b.name in args.only]
    daemon = args.daemon.resolve()
    floor = (args.floor or find_floor(daemon)).resolve()
    for what, path in (("daemon", daemon), ("floor", floor)):
        if not (path.is_file() and os.access(path, os.X_OK)):
            print(f"bench: no {what} at {path}: build it first (cmake --build build), or pass --{what}", file=sys.stderr)
            return 2
    signal.signal(signal.SIGTERM, on_sigterm)
    ctx = make_context(args, daemon, floor)
    info = host_info()
    print(f"daemon: {' '.join(ctx.daemon.argv)}")
    print(f"floor:  {floor}")
    print(f"stderr: {ctx.logs}/")
    print(f"host:   {info.get('cpu', '?')}, {info['cpus']} CPUs, load {' '.join(f'{x:.2f}' for x in info['loadavg_start'])}"
          f"{'  (quick run)' if args.quick else ''}")
    started_at = time.monotonic()
    ran = run(ctx, selected)
    if ran is None:
        return 130
    metrics, errors, timings = ran
    info["loadavg_end"] = os.getloadavg()
    report(ctx, info, metrics, errors, timings)
    if args.svg:
        write_svg(args.svg, metrics)
    readmes = [f for f in (args.readme or []) if f is not None]
    if args.readme and None in args.readme:
        readmes += [REPO / "README.md", REPO / "bench" / "README.md"]
    for readme in readmes:
        svg = os.path.relpath(args.svg.resolve(), readme.resolve().parent) if args.svg else None
        write_readme(readme, readme_block(metrics, info, ctx.notes, args.quick, svg))
    if args.json:
        write_json(args.json, ctx, floor, args.quick, info, metrics, errors, timings, time.monotonic() - started_at)
    return 1 if errors else 0
