"""stdout that is not a pipe: a regular file or /dev/null (issue 12, item 4). Writes to a file
complete at once; the daemon must still answer each request once and exit."""

from __future__ import annotations

import json
import subprocess

import pytest

from client import daemon_path
from wire import frame


def run_to_exit(stdout, args=()):
    """initialize, session/list, shutdown, exit; the daemon's exit code and stderr."""
    proc = subprocess.Popen([daemon_path(), *args], stdin=subprocess.PIPE, stdout=stdout,
                            stderr=subprocess.PIPE, start_new_session=True)
    msgs = [{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
            {"jsonrpc": "2.0", "id": 2, "method": "session/list"},
            {"jsonrpc": "2.0", "id": 3, "method": "shutdown"},
            {"jsonrpc": "2.0", "method": "exit"}]
    try:
        _, err = proc.communicate(b"".join(frame(m) for m in msgs), timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the daemon did not exit within 15 s of shutdown + exit")
    return proc.returncode, err.decode("utf-8", "replace")


def bodies(data: bytes) -> list[dict]:
    out = []
    while data:
        header, _, rest = data.partition(b"\r\n\r\n")
        length = int(header.split(b":")[1])
        out.append(json.loads(rest[:length]))
        data = rest[length:]
    return out


@pytest.mark.parametrize("level", ["warn", "trace"])
def test_stdout_a_regular_file_gets_each_answer_once_and_the_daemon_exits(tmp_path, level):
    path = tmp_path / "out"
    with open(path, "wb") as f:
        code, err = run_to_exit(f, ["--log-level", level])
    assert code == 0, err[-2000:]
    msgs = bodies(path.read_bytes())
    answers = [m["id"] for m in msgs if "id" in m and "method" not in m]
    assert answers == [1, 2, 3], msgs
    assert [m for m in msgs if m.get("id") == 2][0]["result"] == {"sessions": []}
    assert "answered twice" not in err, err[-2000:]


def test_stdout_dev_null_the_daemon_exits():
    with open("/dev/null", "wb") as f:
        code, err = run_to_exit(f)
    assert code == 0, err[-2000:]
    assert "answered twice" not in err, err[-2000:]
