"""What the processes of user code can reach (issue 12, items 9, 15 and 16): the worker's own
descriptors, the processes a session started, the supervisor."""

from __future__ import annotations

import re

import pytest

from client import pid_alive, proc_state, wait_until


# --------------------------------------------------------------------------- item 16
# A program that prints the descriptors it was started with.
LIST_FDS = ("import os\nfds = []\nfor fd in range(1024):\n    try:\n        os.fstat(fd)\n"
            "        fds.append(str(fd))\n    except OSError:\n        pass\nprint('fds:', *fds)")
PY = "/usr/bin/python3"


@pytest.mark.parametrize("how", [
    "os.system(%r)" % ("%s -c %s" % (PY, __import__("shlex").quote(LIST_FDS))),
    "os.waitpid(os.posix_spawn(%r, [%r, '-c', %r], os.environ), 0)" % (PY, PY, LIST_FDS),
    "subprocess.run([%r, '-c', %r], close_fds=False)" % (PY, LIST_FDS),
])
def test_a_child_of_user_code_inherits_fds_0_1_2_only(daemon, how):
    r = daemon.exec("import os, subprocess, sys\nsys.stdout.flush()\n" + how + "\nNone")
    assert "error" not in r, r
    out = daemon.outputs(daemon.last_exec_id)
    fds = re.search(r"fds: (.*)", out)
    assert fds, out
    assert fds.group(1).split() == ["0", "1", "2"], out


# --------------------------------------------------------------------------- item 15
# Processes that left the worker's process group: one in a session of its own, and one whose
# parent ended at once (a daemon's double fork), adopted by the worker.
ESCAPEES = """
import subprocess
p = subprocess.Popen(['sleep', '1000'], start_new_session=True)
out = subprocess.run(['sh', '-c', 'setsid sleep 1000 > /dev/null 2>&1 & echo $!'],
                     capture_output=True, text=True).stdout
[p.pid, int(out)]
"""


def start_escapees(d, session="default"):
    r = d.exec(ESCAPEES, session=session)
    assert r["status"] == "ok", r
    pids = [int(x) for x in r["result"]["text/plain"].strip("[]").split(",")]
    assert all(pid_alive(p) for p in pids)
    return pids


@pytest.mark.parametrize("how", ["session/close", "session/restart"])
def test_processes_that_left_the_session_end_with_it(daemon, how):
    daemon.call("session/open", {"session": "s"})
    pids = start_escapees(daemon, "s")
    daemon.call(how, {"session": "s"})
    assert wait_until(lambda: not any(pid_alive(p) for p in pids), 5.0), \
        [p for p in pids if pid_alive(p)]


def test_processes_that_left_the_session_end_with_its_worker_dying(daemon):
    pids = start_escapees(daemon)
    rid = daemon.request("exec", {"code": "import os\nos._exit(3)"})
    daemon.wait_response(rid)
    assert wait_until(lambda: not any(pid_alive(p) for p in pids), 5.0), \
        [p for p in pids if pid_alive(p)]
    assert daemon.exec("1")["status"] == "ok"


def test_processes_that_left_the_session_end_with_the_daemon(spawn):
    d = spawn()
    pids = start_escapees(d)
    d.close()
    assert wait_until(lambda: not any(pid_alive(p) for p in pids), 5.0), \
        [p for p in pids if pid_alive(p)]


def test_an_orphan_inside_a_live_session_lives_on(daemon):
    pids = start_escapees(daemon)
    assert daemon.exec("1 + 1")["result"]["text/plain"] == "2"
    assert all(pid_alive(p) for p in pids)


# --------------------------------------------------------------------------- item 9
ATTACKS = {
    "kill": "os.kill(os.getppid(), signal.SIGKILL)",
    "stop": "os.kill(os.getppid(), signal.SIGSTOP)",
    "killpg": "os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)",
    "sigterm": "os.kill(os.getppid(), signal.SIGTERM)",
    "pidfd": "signal.pidfd_send_signal(os.pidfd_open(os.getppid()), signal.SIGKILL)",
    "read stdin": "open('/proc/%d/fd/0' % os.getppid(), 'rb').read(1)",
    "write stdout": "open('/proc/%d/fd/1' % os.getppid(), 'wb').write(b'Content-Length: 2')",
    "ptrace": ("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
               "if libc.ptrace(16, os.getppid(), 0, 0) != 0:\n"
               "    raise PermissionError(ctypes.get_errno(), 'ptrace')"),
    "mem": "open('/proc/%d/mem' % os.getppid(), 'rb')",
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_user_code_cannot_reach_the_supervisor(daemon, attack):
    r = daemon.exec("import os, signal\n" + ATTACKS[attack])
    assert r["status"] == "error", r
    assert r["error"]["type"] == "PermissionError", r
    assert proc_state(daemon.pid) in ("S", "R"), proc_state(daemon.pid)
    assert daemon.exec("1 + 1")["result"]["text/plain"] == "2"


def test_a_worker_has_a_session_and_a_process_group_of_its_own(daemon):
    r = daemon.exec("import os\n(os.getsid(0) == os.getpid(), os.getpgrp() == os.getpid(), "
                    "os.getsid(0) != os.getsid(os.getppid()))")
    assert r["result"]["text/plain"] == "(True, True, True)", r


def test_signals_between_the_sessions_own_processes_still_work(daemon):
    code = """
import os, signal, subprocess, multiprocessing
p = subprocess.Popen(['sleep', '30'])
os.kill(p.pid, signal.SIGTERM)
rc = p.wait()
q = subprocess.Popen(['sleep', '30'], start_new_session=True)
os.killpg(q.pid, signal.SIGKILL)
signal.signal(signal.SIGUSR1, lambda *a: None)
os.kill(os.getpid(), signal.SIGUSR1)
m = multiprocessing.get_context('fork').Process(target=lambda: None)
m.start(); m.join()
(rc, q.wait(), m.exitcode)
"""
    r = daemon.exec(code)
    assert r["status"] == "ok", r
    assert r["result"]["text/plain"] == "(-15, -9, 0)", r
