"""`asyncode attach`: the list of this user's serving programs, and the prompt inside one of
them (the attach tests' aiohttp host, tests/e2e/attach_host.py), through a pseudo-terminal."""

from __future__ import annotations

import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "e2e"))

from attach_support import Host  # noqa: E402

PROMPT = ">>> "


@pytest.fixture
def runtime(env, tmp_path):
    """A runtime directory of this user's, for the client and the program alike."""
    directory = tmp_path / "run"
    directory.mkdir(mode=0o700)
    env["XDG_RUNTIME_DIR"] = str(directory)
    return directory


@pytest.fixture
def host(env, runtime):
    h = Host(env=env)  # its default socket: $XDG_RUNTIME_DIR/asyncode/<pid>.sock
    yield h
    h.close()


def test_attach_alone_lists_the_running_programs(run, host, runtime):
    assert host.path == str(runtime / "asyncode" / ("%d.sock" % host.pid))
    r = run("attach")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].startswith("%s  pid %d  %s" % (host.path, host.pid, sys.executable))


def test_attach_alone_says_where_it_looked_when_nothing_serves(run, runtime):
    r = run("attach")
    assert r.returncode == 1
    assert str(runtime / "asyncode") in r.stderr and "asyncode.serve()" in r.stderr


def test_the_prompt_runs_in_the_program_and_ctrl_d_detaches(repl, host):
    t = repl("attach", host.path)
    assert "attached to process %d" % host.pid in t.text
    t.sendline("state['greeting']")
    t.expect("\n'hello'\n>>> ")
    t.sendline("state['greeting'] = 'set at the prompt'")
    t.expect(PROMPT)
    assert host.get()["greeting"] == "set at the prompt"
    t.sendline("print('sleeping'); await asyncio.sleep(60)")
    t.expect("\nsleeping\n")  # the await runs (a Ctrl-C before it started would be a KeyboardInterrupt)
    host.get()  # the server answers while the attached await runs
    t.ctrl("c")
    t.expect("CancelledError")
    t.expect(PROMPT)
    assert "tick" not in t.text  # the program's own prints stay on its stdout
    t.ctrl("d")
    assert t.wait_exit() == 0
    since = len(host.lines)
    host.wait_line(lambda line: line.startswith("tick "), since=since)  # it runs on
    assert host.get()["greeting"] == "set at the prompt"


def test_the_prompt_ends_when_the_program_exits(repl, host):
    t = repl("attach", host.path)
    assert host.get("/quit") == "bye"
    t.expect("the program this prompt was attached to has exited")
    assert t.wait_exit() == 1
    assert host.wait_exit() == 0
