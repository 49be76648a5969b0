#!/usr/bin/env python3
"""Benchmarks of asyncoded, each measured against a floor taken in the same run.

    bench/run [--quick] [--json FILE]      (installs what is missing, builds, runs this)
    cmake --build build && /usr/bin/python3 bench/bench.py [--quick] [--json FILE]

The project's rule: "Speed is a feature: tens of milliseconds to start, well under a millisecond for
a trivial exec. Measure in bench/ as ratios against a floor measured in the same run; never as timed
assertions." So this prints numbers and ratios and says whether each target is met, and its exit
status never depends on them: it is non-zero only when a benchmark could not run at all (the daemon
did not answer, answered an error, or a process had to be killed).

The floor is bench/echo_floor.c: the same frames over the same pipes, answered at once with zero work
(and, run as `echo_floor --sigint-echo`, a signal round trip: the interrupt benchmark's floor). Some
metrics have another baseline (a plain python3). ipykernel (driven by jupyter_client) and
`python3 -m asyncio` (on a pty) are measured beside asyncoded where a metric applies to them.

The parts, in bench/benchlib/: peer (a server and its pipes, the framing of tests/e2e/wire.py),
numbers (metrics and targets), context (what a benchmark gets, the registry), others (ipykernel,
`python -m asyncio`, the signal floor), procwatch (memory, idleness; tests/e2e/procs.py), one module
per benchmark (startup, roundtrip, interrupt, output, memory, restart), report (the table), main.

Adding a benchmark: a module of benchlib/ with a function taking a Context and returning a list of
Metric, registered with @benchmark("name", "what it measures"), imported by benchlib/main.py.
Context.spawn() starts a server (the daemon or the floor) as a Peer that speaks the protocol;
Peer.close() shuts it down and makes sure nothing is left. See bench/README.md.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# benchlib beside this file; the wire and /proc helpers that the end-to-end tests use.
sys.path[:0] = [str(HERE), str(HERE.parent / "tests" / "e2e")]

from benchlib.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(description=__doc__.split("\n\n")[0]))
