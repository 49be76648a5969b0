"""Processes as /proc shows them: liveness, children, process groups, CPU time and memory.

Shared by the end-to-end harness (client.py) and the benchmark (bench/). Standard library only.
"""

from __future__ import annotations

import os
import select
import subprocess


def _stat_fields(pid: int | str) -> list[bytes] | None:
    """The fields of /proc/pid/stat after the command name (fields[0] is the state letter,
    fields[1] the parent's pid, fields[2] the process group), None when there is no such process."""
    try:
        with open("/proc/%s/stat" % pid, "rb") as f:
            data = f.read()
    except OSError:
        return None
    # "pid (comm) S ppid ...": comm may hold spaces and parentheses; the state follows the last ')'
    return data[data.rindex(b")") + 2:].split()


def proc_state(pid: int) -> str | None:
    """The state letter of /proc/<pid>/stat (R, S, Z, ...), None when there is no such process."""
    fields = _stat_fields(pid)
    return fields[0].decode() if fields else None


def pid_alive(pid: int) -> bool:
    """True when pid is a live process. A zombie counts as dead (orphaned zombies are not reaped
    by every container's init), as does a pid that os.kill(pid, 0) does not find."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return proc_state(pid) not in (None, "Z", "X")


def live_processes() -> list[tuple[int, list[bytes]]]:
    """(pid, stat fields) of every live process that is not a zombie."""
    procs = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(entry)
        if fields and fields[0] not in (b"Z", b"X"):
            procs.append((int(entry), fields))
    return procs


def children_of(ppid: int) -> list[int]:
    """Pids of the live processes whose parent is ppid."""
    return [pid for pid, fields in live_processes() if int(fields[1]) == ppid]


def group_members(pgid: int) -> list[int]:
    """Live processes of process group pgid."""
    return [pid for pid, fields in live_processes() if int(fields[2]) == pgid]


def cpu_ticks(pid: int) -> int:
    """utime + stime of pid, in clock ticks (0 when it is gone)."""
    fields = _stat_fields(pid)
    return int(fields[11]) + int(fields[12]) if fields else 0


def rss_kib(pid: int) -> int:
    """VmRSS of a process in KiB (0 when it has none, e.g. a zombie)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def memory_mib(pid: int) -> dict[str, float]:
    """VmRSS (from /proc/PID/status) and Pss (from /proc/PID/smaps_rollup) of a process, in MiB."""
    out = {"rss": rss_kib(pid) / 1024}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    out["pss"] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return out


def wait_exit(proc: subprocess.Popen, timeout: float) -> bool:
    """Waits for proc to exit, woken by a pidfd rather than by Popen.wait's sleeping poll loop."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        try:
            proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    try:
        p = select.poll()
        p.register(fd, select.POLLIN)
        if not p.poll(int(timeout * 1000)):
            return False
    finally:
        os.close(fd)
    proc.wait()
    return True
