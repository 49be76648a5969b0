"""Fixtures of the end-to-end tests: each test gets its own daemon, shut down and checked
(framing, schema, no worker left behind) at teardown."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from client import Daemon, daemon_path  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a couple of seconds")


@pytest.fixture(scope="session")
def daemon_binary():
    path = daemon_path()
    if not os.access(path, os.X_OK):
        pytest.fail("no asyncoded binary at %s: build it, or set ASYNCODE_DAEMON" % path)
    return path


@pytest.fixture
def spawn(daemon_binary):
    """spawn(args=(), env=None, initialize=True) -> Daemon; every daemon spawned is closed
    and checked at teardown."""
    started = []

    def _spawn(args=(), env=None, initialize=True, **kw):
        d = Daemon(args, env, **kw)
        started.append(d)
        if initialize:
            d.initialize()
        return d

    yield _spawn
    errors = []
    for d in started:
        try:
            d.close()
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)


@pytest.fixture
def daemon(spawn):
    """An initialized daemon, closed and checked at teardown."""
    return spawn()


@pytest.fixture
def raw_daemon(spawn):
    """A daemon nobody has initialized yet, closed and checked at teardown."""
    return spawn(initialize=False)


@pytest.fixture
def trio_session(daemon):
    """An initialized daemon with a Trio session named "t" (texec runs code in it)."""
    assert daemon.call("session/open", {"session": "t", "backend": "trio"})["backend"] == "trio"
    return daemon
