"""The harness itself: close() must fail on each kind of misbehaviour it promises to catch
(run against fake_daemon.py, a stand-in that misbehaves on request)."""

from __future__ import annotations

import os
import sys

import pytest

from client import Daemon, pid_alive

FAKE = [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                     "fake_daemon.py")]


def fake(scenario):
    d = Daemon([scenario], program=FAKE)
    d.initialize()
    return d


def test_a_well_behaved_daemon_passes_the_checks():
    fake("good").close()


def test_bytes_on_stdout_that_are_not_frames_fail_the_checks():
    d = fake("stray")
    with pytest.raises(AssertionError, match="not frames"):
        d.close()
    assert any("debug: hello" in v for v in d.framing_violations)


def test_a_message_that_breaks_the_schema_fails_the_checks():
    d = fake("bad_schema")
    with pytest.raises(AssertionError, match="protocolVersion"):
        d.close()


def test_a_daemon_that_does_not_answer_shutdown_is_killed_and_fails_the_checks():
    d = fake("deaf")
    with pytest.raises(AssertionError, match="clean shutdown failed"):
        d.close(timeout=1)
    assert d.proc.poll() is not None


def test_a_child_process_that_outlives_the_daemon_fails_the_checks():
    d = fake("orphan")
    kids = d.remember_children()
    assert kids
    with pytest.raises(AssertionError, match="outlived the daemon"):
        d.close()
    assert not any(pid_alive(p) for p in kids), "close() must not leave the orphan running"
