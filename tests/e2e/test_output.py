"""Output: `output` notifications carry the exec's requestId and execCount, come before its
response, keep stdout and stderr apart, and capture writes at the file-descriptor level."""

from __future__ import annotations

import os

import pytest

from client import gated, open_gate


def output_params(d, rid):
    return [p for p in d.notifications("output") if p.get("requestId") == rid]


def test_output_arrives_as_notifications_with_the_execs_id_and_count_before_its_response(daemon):
    daemon.exec("1")  # so that the exec under test is not the first
    rid = daemon.request("exec", {"code": "for i in range(5):\n    print('line', i)\n"})
    res = daemon.wait_result(rid)
    outs = output_params(daemon, rid)
    assert outs, "no output notification"
    assert all(p["execCount"] == res["execCount"] == 2 for p in outs), outs
    assert all(p["session"] == "default" and p["stream"] == "stdout" for p in outs), outs
    assert daemon.outputs(rid) == "".join("line %d\n" % i for i in range(5))
    answer = daemon.position(lambda m: m.get("id") == rid and "result" in m)
    last_output = max(i for i, m in enumerate(daemon.messages)
                      if m.get("method") == "output" and m["params"].get("requestId") == rid)
    assert last_output < answer


def test_stdout_and_stderr_arrive_as_separate_streams(daemon):
    daemon.exec("import sys\nprint('out 1')\nprint('err 1', file=sys.stderr)\nprint('out 2')\n"
                "sys.stderr.write('err 2\\n')")
    rid = daemon.last_exec_id
    assert daemon.outputs(rid, "stdout") == "out 1\nout 2\n"
    assert daemon.outputs(rid, "stderr") == "err 1\nerr 2\n"


def test_output_of_one_exec_is_not_attributed_to_another(daemon):
    daemon.exec("print('first')")
    first = daemon.last_exec_id
    daemon.exec("print('second')")
    assert daemon.outputs(first) == "first\n"
    assert daemon.outputs(daemon.last_exec_id) == "second\n"


def test_unicode_output_and_identifiers_round_trip(daemon):
    r = daemon.exec("π = 3.14\nnäme = 'ünïcödé ✓ 😀 中文'\nprint(näme)\nπ")
    assert r["result"]["text/plain"] == "3.14"
    assert daemon.outputs(daemon.last_exec_id) == "ünïcödé ✓ 😀 中文\n"


def test_display_sends_display_notifications_of_the_exec_before_its_response(daemon):
    rid = daemon.request("exec", {"code": (
        "class H:\n"
        "    def _repr_html_(self):\n"
        "        return '<b>h</b>'\n"
        "display(1)\n"
        "display(H())\n")})
    res = daemon.wait_result(rid)
    assert res["status"] == "ok" and "result" not in res, res
    shown = daemon.displays(rid)
    assert shown[0] == {"text/plain": "1"}
    assert shown[1]["text/html"] == "<b>h</b>" and "H object" in shown[1]["text/plain"]
    assert all(p["execCount"] == res["execCount"] for p in daemon.notifications("display"))
    answer = daemon.position(lambda m: m.get("id") == rid)
    assert daemon.position(lambda m: m.get("method") == "display") < answer


def gated_exec(d, tmp_path, body):
    """Run body in an exec that first prints 'begin' and then waits on a FIFO until the test
    has seen 'begin' arrive as output of that exec: by then the daemon knows the exec runs, so
    what body writes is owned by it without any race. Returns (request id, ExecResult)."""
    fifo = str(tmp_path / "gate")
    os.mkfifo(fifo)
    rid = d.request("exec", {"code": gated(fifo, body)})
    d.wait_notification("output", lambda p: p["requestId"] == rid and "begin" in p["text"])
    open_gate(fifo)
    return rid, d.wait_result(rid)


def after_begin(d, rid, stream="stdout"):
    text = d.outputs(rid, stream)
    return text.split("begin\n", 1)[1] if stream == "stdout" else text


def test_os_write_to_fd_1_and_2_is_output_of_the_exec(daemon, tmp_path):
    rid, _ = gated_exec(daemon, tmp_path,
                        "import os\nos.write(1, b'raw out\\n')\nos.write(2, b'raw err\\n')")
    assert after_begin(daemon, rid) == "raw out\n"
    assert daemon.outputs(rid, "stderr") == "raw err\n"


def test_c_level_printf_is_output_of_the_exec(daemon, tmp_path):
    rid, _ = gated_exec(daemon, tmp_path, "import ctypes\nlibc = ctypes.CDLL(None)\n"
                        "libc.printf(b'from C %d\\n', 42)\nlibc.fflush(None)\n")
    assert after_begin(daemon, rid) == "from C 42\n"


def test_a_child_processs_stdout_is_output_of_the_exec(daemon, tmp_path):
    rid, r = gated_exec(daemon, tmp_path,
                        "import subprocess\nsubprocess.run(['echo', 'hi']).returncode")
    assert r["result"]["text/plain"] == "0"
    assert after_begin(daemon, rid) == "hi\n"


def test_a_child_processs_stderr_is_output_of_the_exec(daemon, tmp_path):
    rid, _ = gated_exec(daemon, tmp_path,
                        "import subprocess\nsubprocess.run(['sh', '-c', 'echo oops >&2'])")
    assert daemon.outputs(rid, "stderr") == "oops\n"
    assert after_begin(daemon, rid) == ""


def test_multibyte_characters_split_across_fd_writes_arrive_whole(daemon, tmp_path):
    rid, _ = gated_exec(daemon, tmp_path, (
        "import os\ndata = '😀é'.encode()\nfor i in range(len(data)):\n"
        "    os.write(1, data[i:i + 1])\nos.write(1, b'\\n')"))
    assert after_begin(daemon, rid) == "😀é\n"


def test_invalid_utf8_written_at_the_fd_level_arrives_as_replacement_characters(daemon, tmp_path):
    rid, r = gated_exec(daemon, tmp_path, "import os\nos.write(1, b'bad \\xff\\xfe end\\n')\nNone")
    assert r["status"] == "ok"
    assert after_begin(daemon, rid) == "bad \ufffd\ufffd end\n"


def test_python_and_fd_level_output_keep_their_order(daemon, tmp_path):
    rid, _ = gated_exec(daemon, tmp_path, (
        "import os\nprint('a', flush=True)\nos.write(1, b'b\\n')\n"
        "print('c', flush=True)\nos.write(1, b'd\\n')"))
    assert after_begin(daemon, rid) == "a\nb\nc\nd\n"


FD_WRITERS = {
    "os.write": "import os\nos.write(1, b'x\\n')\nNone",
    "printf": "import ctypes\nlibc = ctypes.CDLL(None)\nlibc.printf(b'x\\n')\nlibc.fflush(None)\nNone",
}


@pytest.mark.parametrize("writer", sorted(FD_WRITERS))
def test_fd_level_output_written_as_an_exec_starts_belongs_to_that_exec(daemon, writer):
    # the exec is running when the daemon reads the bytes: they are its output, every time
    for _ in range(10):
        daemon.exec(FD_WRITERS[writer])
        rid = daemon.last_exec_id
        assert daemon.outputs(rid) == "x\n", \
            "output of exec %r: %s" % (rid, daemon.notifications("output")[-3:])
    assert daemon.outputs(None) == ""


def test_fd_level_output_of_the_first_exec_of_a_session_belongs_to_it(spawn):
    # the first exec of a fresh session: its worker is configured while the exec is queued
    for _ in range(5):
        d = spawn()
        d.exec("import os\nos.write(1, b'first\\n')\nNone")
        assert d.outputs(d.last_exec_id) == "first\n", d.notifications("output")
        d.close()


@pytest.mark.slow
def test_10_mb_of_output_arrives_complete_and_in_order(daemon):
    lines = 10 * 1024
    rid = daemon.request("exec", {"code": (
        "import sys\n"
        "for i in range(%d):\n"
        "    sys.stdout.write('%%08d %%s\\n' %% (i, 'x' * 1014))\n" % lines)})
    res = daemon.wait_result(rid, timeout=60)
    assert res["status"] == "ok", res
    text = daemon.outputs(rid)
    assert len(text) == lines * 1024
    expected = "".join("%08d %s\n" % (i, "x" * 1014) for i in range(lines))
    assert text == expected


@pytest.mark.slow
def test_10_mb_written_at_the_fd_level_arrives_complete(daemon):
    rid = daemon.request("exec", {"code": (
        "import os\n"
        "block = b''.join(b'%07d\\n' % i for i in range(1024 * 128))\n"
        "view = memoryview(block * 10)\n"
        "while view:\n"
        "    view = view[os.write(1, view):]\n")})
    res = daemon.wait_result(rid, timeout=60)
    assert res["status"] == "ok", res
    block = "".join("%07d\n" % i for i in range(1024 * 128))
    assert daemon.outputs(rid) == block * 10


def test_a_forked_childs_output_is_output_of_the_exec_and_the_child_never_answers(daemon):
    # The child of os.fork() finishes the cell and must exit: it must not take the session's
    # requests, answer them, or run later cells a second time.
    r = daemon.exec("import os, sys\npid = os.fork()\nprint('child' if pid == 0 else 'parent', flush=True)\n"
                    "if pid:\n    os.waitpid(pid, 0)\npid != 0")
    rid = daemon.last_exec_id
    assert r["status"] == "ok" and r["result"]["text/plain"] == "True"
    assert sorted(daemon.outputs(rid).splitlines()) == ["child", "parent"]
    after = daemon.exec("print('once')\n1 + 1")
    assert after["result"]["text/plain"] == "2"
    assert daemon.outputs(daemon.last_exec_id) == "once\n"
    assert len([m for m in daemon.messages if m.get("id") == daemon.last_exec_id]) == 1


def test_what_a_forked_child_printed_without_a_newline_is_flushed_when_it_ends(daemon):
    daemon.exec("import os\npid = os.fork()\nif pid == 0:\n    print('no newline', end='')\n"
                "else:\n    os.waitpid(pid, 0)")
    assert daemon.outputs(daemon.last_exec_id) == "no newline"


def test_multiprocessing_children_run_and_print_into_the_exec(daemon):
    r = daemon.exec("import multiprocessing as mp\n"
                    "p = mp.get_context('fork').Process(target=print, args=('from the child',))\n"
                    "p.start(); p.join(); p.exitcode", timeout=30)
    assert r["status"] == "ok" and r["result"]["text/plain"] == "0"
    assert daemon.outputs(daemon.last_exec_id) == "from the child\n"
    assert daemon.exec("1 + 1")["result"]["text/plain"] == "2"
