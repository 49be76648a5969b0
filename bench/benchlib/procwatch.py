"""Watching the measured processes: their memory, their children, and when they are idle."""
from __future__ import annotations

import time
from typing import Callable

from procs import children_of, cpu_ticks, memory_mib  # noqa: F401  (re-exported for the benchmarks)

proc_memory = memory_mib


def settle(pids: Callable[[], list[int]], ready: Callable[[list[int]], bool] = lambda _: True,
           quiet: float = 0.15, timeout: float = 10.0) -> bool:
    """Waits until the processes pids() are all idle: their CPU time unchanged for `quiet` seconds,
    and ready(pids) (e.g. a spare exists). Used before a memory reading and between restarts, so that
    a warm spare still starting does not land in the next measurement. False on timeout."""
    deadline = time.monotonic() + timeout
    last = None
    since = time.monotonic()
    while time.monotonic() < deadline:
        ps = sorted(pids())
        now_ticks = (tuple(ps), tuple(cpu_ticks(p) for p in ps))
        if now_ticks != last or not ready(ps):
            last, since = now_ticks, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return True
        time.sleep(0.02)
    return False
