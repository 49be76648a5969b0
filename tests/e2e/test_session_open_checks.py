"""What session/open refuses, and what it never waits on (issue 12, items 10, 17 and 18): a
python that is not a Python of the daemon's version, env entries an environment cannot hold,
a venv whose pyvenv.cfg is a FIFO, a worker that never finishes starting."""

from __future__ import annotations

import os

import pytest

INVALID_PARAMS = -32602


def refused(d, params):
    err = d.wait_error(d.request("session/open", {"session": "p", **params}), timeout=5)
    assert err["code"] == INVALID_PARAMS, err
    assert d.call("session/list") == {"sessions": []}
    return err["message"]


# --------------------------------------------------------------------------- item 17
@pytest.mark.parametrize("path", ["/bin/sh", "/bin/true"])
def test_a_program_that_is_not_python_is_refused(daemon, path):
    assert "not a Python interpreter" in refused(daemon, {"python": path})


def test_a_script_named_python_is_refused(daemon, tmp_path):
    prefix = tmp_path / "fake"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "lib" / "python3.11").mkdir(parents=True)
    script = prefix / "bin" / "python3"
    script.write_text("#!/bin/sh\necho not python\n")
    script.chmod(0o755)
    assert "not an executable Python interpreter" in refused(daemon, {"python": str(script)})


def test_the_daemons_own_python_is_taken(daemon):
    r = daemon.call("session/open", {"session": "p", "python": "/usr/bin/python3"})
    assert r["session"] == "p"
    assert daemon.exec("import sys\nsys.executable", session="p")["result"]["text/plain"] \
        == repr("/usr/bin/python3")


# --------------------------------------------------------------------------- item 18
@pytest.mark.parametrize("env", [{"A=B": "1"}, {"": "1"}, {"A\u0000B": "1"}, {"A": "x\u0000y"}])
def test_env_an_environment_cannot_hold_is_refused(daemon, env):
    assert "env" in refused(daemon, {"env": env})


def test_env_with_an_equals_sign_in_a_value_is_taken(daemon):
    daemon.call("session/open", {"session": "p", "env": {"E2E_EQ": "a=b"}})
    r = daemon.exec("import os\nos.environ['E2E_EQ']", session="p")
    assert r["result"]["text/plain"] == "'a=b'"


# --------------------------------------------------------------------------- item 10
def test_a_venv_whose_pyvenv_cfg_is_a_fifo_is_refused_without_waiting(daemon, tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    os.symlink("/usr/bin/python3", venv / "bin" / "python")
    os.mkfifo(venv / "pyvenv.cfg")
    assert "not a regular file" in refused(daemon, {"python": str(venv)})
    assert daemon.exec("1 + 1")["result"]["text/plain"] == "2"


def test_a_worker_that_never_starts_is_stopped_and_its_open_answered(spawn, tmp_path):
    d = spawn(["--start-timeout", "2"])
    (tmp_path / "sitecustomize.py").write_text("import time\nwhile True:\n    time.sleep(1)\n")
    rid = d.request("session/open", {"session": "hang", "env": {"PYTHONPATH": str(tmp_path)}})
    other = d.request("session/list")
    assert d.wait_result(other, timeout=5) is not None  # the daemon answers meanwhile
    err = d.wait_error(rid, timeout=15)
    assert "did not start within 2 s" in err["message"], err
    assert d.call("session/list") == {"sessions": []}
    assert d.exec("1 + 1")["result"]["text/plain"] == "2"
