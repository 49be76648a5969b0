"""What every benchmark gets (Context), and the registry they join with @benchmark."""
from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Callable

from benchlib.numbers import Metric
from benchlib.others import IPyKernel
from benchlib.peer import BenchError, Peer, Subject


@dataclasses.dataclass
class Context:
    daemon: Subject
    floor: Subject
    quick: bool
    log: Callable[[str], None]  # progress, to stderr
    notes: list[str] = dataclasses.field(default_factory=list)  # printed under the table
    python: str = "/usr/bin/python3"  # the plain Python of the baselines and of `python3 -m asyncio`
    compare: bool = True  # measure ipykernel and `python3 -m asyncio` too
    logs: Path = Path(".")
    _kernel: "IPyKernel | None" = None
    _no_kernel: str | None = None  # why ipykernel cannot be measured, once known

    def reps(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def spawn(self, subject: Subject) -> Peer:
        return Peer(subject)

    def daemon_with(self, *args: str) -> Subject:
        """The daemon, with more arguments (later ones win over --daemon-arg's)."""
        return Subject(self.daemon.name, [*self.daemon.argv, *args], self.daemon.log)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # -- the other subjects: ipykernel and `python3 -m asyncio`

    def kernels_available(self) -> bool:
        """Whether ipykernel can be measured (jupyter_client and ipykernel importable)."""
        if not self.compare:
            return False
        if self._no_kernel is None:
            try:
                import jupyter_client  # noqa: F401
                import zmq  # noqa: F401
                subprocess.run([self.python, "-c", "import ipykernel"], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                self._no_kernel = ""
            except (ImportError, OSError, subprocess.CalledProcessError) as e:
                self._no_kernel = f"ipykernel not measured: {type(e).__name__}: {e} (install python3-ipykernel and python3-jupyter-client)"
                self.note(self._no_kernel)
        return not self._no_kernel

    def new_kernel(self) -> "IPyKernel":
        return IPyKernel(self)

    def kernel(self) -> "IPyKernel | None":
        """A warm ipykernel shared by the benchmarks that do not need a fresh one (None when ipykernel
        cannot be measured). Closed at the end of the run."""
        if not self.kernels_available():
            return None
        if self._kernel is None or not self._kernel.alive():
            if self._kernel is not None:
                self._kernel.close()
            self._kernel = IPyKernel(self)
            self._kernel.first_reply()
        return self._kernel

    def close_kernel(self) -> None:
        if self._kernel is not None:
            self._kernel.close()
            self._kernel = None

    def repls_available(self) -> bool:
        return self.compare

    def pairs(self, n: int, block: int = 1):
        """(i, subject) for n rounds of daemon and floor, alternating which goes first (ABBA), so that
        drifting machine load falls on both alike. With block > 1 each subject gets `block`
        consecutive turns, so that what one server still does after its answer (the daemon's idle
        notification) does not land in the other's measurement."""
        for i in range(n):
            order = (self.daemon, self.floor) if i % 2 == 0 else (self.floor, self.daemon)
            for s in order:
                for _ in range(block):
                    yield i, s


@dataclasses.dataclass
class Benchmark:
    name: str
    description: str
    func: Callable[[Context], list[Metric]]


BENCHMARKS: list[Benchmark] = []


def benchmark(name: str, description: str):
    def register(func: Callable[[Context], list[Metric]]):
        BENCHMARKS.append(Benchmark(name, description, func))
        return func

    return register


INITIALIZE = {"clientInfo": {"name": "asyncoded-bench"}}


def check_exec_result(peer: Peer, msg: dict | None, body: bytes, expect_text: str | None) -> None:
    if peer.subject.name != "asyncoded":
        return
    result = (msg if msg is not None else json.loads(body))["result"]
    if result.get("status") != "ok":
        raise BenchError(f"exec did not succeed: {result}")
    if expect_text is not None and result.get("result", {}).get("text/plain") != expect_text:
        raise BenchError(f"exec gave {result.get('result')}, not {expect_text!r}")
