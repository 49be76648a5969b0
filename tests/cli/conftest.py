"""Fixtures of the asyncode (terminal client) tests. The client under test is $ASYNCODE_CLI,
else <repo>/build/asyncode; it starts the asyncoded built beside it. Every test gets a home
directory and a history file of its own."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from terminal import Terminal, descendants, wait_gone  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cli() -> str:
    path = os.environ.get("ASYNCODE_CLI") or str(REPO / "build" / "asyncode")
    if not os.access(path, os.X_OK):
        pytest.fail("no asyncode binary at %s: build it, or set ASYNCODE_CLI" % path)
    return path


@pytest.fixture
def env(tmp_path) -> dict:
    e = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCODE_")}
    e.update(HOME=str(tmp_path), ASYNCODE_HISTORY=str(tmp_path / "history"), TERM="xterm",
             LANG="C.UTF-8", LC_ALL="C.UTF-8", PYTHONDONTWRITEBYTECODE="1")
    return e


@pytest.fixture
def repl(cli, env):
    """repl(*args) -> a Terminal running the asyncode prompt, its first `>>> ` seen. At
    teardown it is killed if still running, and nothing it started may be left."""
    started = []

    def _start(*args, cols=100, rows=40):
        t = Terminal([cli, *args], env, cols=cols, rows=rows)
        started.append(t)
        t.expect(">>> ")
        t.processes = descendants(t.pid)  # the daemon and its workers
        return t

    yield _start
    for t in started:
        t.close()
        left = wait_gone(t.processes)
        assert not left, "processes left behind: %s" % sorted(left)


@pytest.fixture
def run(cli, env, tmp_path):
    """run(*args, input=None, timeout=30) -> CompletedProcess of asyncode (text, captured)."""

    def _run(*args, input=None, timeout=30, cwd=None):
        return subprocess.run([cli, *args], input=input, capture_output=True, text=True, env=env,
                              timeout=timeout, cwd=cwd or tmp_path)

    return _run
