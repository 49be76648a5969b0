"""Revision 1, the streaming side: `tag` everywhere an exec's words go, `execStart` before
anything it writes and after the answer of the exec before it, the Order rule with `seq`,
displays that change, `taskError`, and input withdrawn before the answer."""

from __future__ import annotations

import pytest


def by_request(d, method, rid):
    return [p for p in d.notifications(method) if p.get("requestId") == rid]


def test_tag_is_echoed_in_the_result_and_every_notification_of_the_exec_and_its_tasks(daemon):
    rid = daemon.request("exec", {"tag": "cell-A", "code": (
        "import asyncio\n"
        "print('now')\n"
        "display(1)\n"
        "clear_output()\n"
        "async def later():\n"
        "    await asyncio.sleep(0.2)\n"
        "    print('later')\n"
        "t = asyncio.ensure_future(later())\n")})
    res = daemon.wait_result(rid)
    assert res["tag"] == "cell-A"
    daemon.wait_notification("output", lambda p: p["text"] == "later\n")
    for method in ("execStart", "output", "display", "clearOutput"):
        got = by_request(daemon, method, rid)
        assert got and all(p.get("tag") == "cell-A" for p in got), (method, got)
    untagged = daemon.exec("print('plain')")
    assert "tag" not in untagged
    assert all("tag" not in p for p in by_request(daemon, "output", daemon.last_exec_id))


def test_exec_start_comes_before_the_output_and_after_the_previous_answer(daemon):
    ids = [daemon.request("exec", {"code": "for i in range(30):\n    print(%d, i)\n" % n}) for n in range(12)]
    for rid in ids:
        daemon.wait_result(rid)
    msgs = daemon.messages
    for n, rid in enumerate(ids):
        start = daemon.position(lambda m: m.get("method") == "execStart" and m["params"]["requestId"] == rid)
        answer = daemon.position(lambda m: m.get("id") == rid and "result" in m)
        outs = [i for i, m in enumerate(msgs) if m.get("method") == "output" and m["params"]["requestId"] == rid]
        assert start is not None and outs and start < min(outs) and max(outs) < answer, n
        if n:
            before = daemon.position(lambda m: m.get("id") == ids[n - 1] and "result" in m)
            assert before < start, "exec %d started before exec %d was answered" % (n, n - 1)
    starts = daemon.notifications("execStart")
    assert [p["execCount"] for p in starts if p["requestId"] in ids] == list(range(1, 13))


def test_a_long_exec_that_writes_nothing_is_said_to_start_while_it_runs(daemon):
    """The worker holds an exec's start back until the exec writes (a trivial exec then costs no
    wake-up), but not for long: a silent exec that runs on is said to have started while it runs,
    not only just before its answer."""
    daemon.exec("import time")
    rid = daemon.request("exec", {"code": "time.sleep(30)"})
    daemon.wait_notification("execStart", lambda p: p["requestId"] == rid)
    assert daemon.position(lambda m: m.get("id") == rid and "result" in m) is None
    daemon.request("interrupt")
    assert daemon.wait_result(rid)["status"] == "interrupted"


def streams_of(d, rid):
    """The exec's output in arrival order, consecutive chunks of one stream joined."""
    runs = []
    for p in by_request(d, "output", rid):
        if runs and runs[-1][0] == p["stream"]:
            runs[-1][1] += p["text"]
        else:
            runs.append([p["stream"], p["text"]])
    return [tuple(r) for r in runs]


@pytest.mark.parametrize("how", ["print", "os.write"])
def test_stdout_and_stderr_of_one_thread_arrive_in_the_order_written(daemon, how):
    if how == "print":
        body = "    print('out', i)\n    print('err', i, file=sys.stderr)\n"
    else:
        body = "    os.write(1, b'out %d\\n' % i)\n    os.write(2, b'err %d\\n' % i)\n"
    for _ in range(5):
        daemon.exec("import os, sys\nfor i in range(20):\n" + body)
        want = []
        for i in range(20):
            want += [("stdout", "out %d\n" % i), ("stderr", "err %d\n" % i)]
        assert streams_of(daemon, daemon.last_exec_id) == want


def test_print_then_c_code_through_ctypes_keeps_the_order(daemon):
    for _ in range(5):
        daemon.exec("import ctypes\nlibc = ctypes.CDLL(None)\n"
                    "print('a')\nlibc.write(1, b'b\\n', 2)\nprint('c')\nlibc.write(1, b'd\\n', 2)\n")
        assert daemon.outputs(daemon.last_exec_id) == "a\nb\nc\nd\n"


def test_output_display_and_clear_output_carry_a_per_session_seq_that_grows_by_one(daemon):
    daemon.exec("import sys\nprint('a')\ndisplay(2)\nprint('b', file=sys.stderr)\nclear_output(wait=True)\nprint('c')")
    daemon.exec("print('d')")
    seqs = [m["params"]["seq"] for m in daemon.messages
            if m.get("method") in ("output", "display", "clearOutput")]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 6
    clear = daemon.notifications("clearOutput")[0]
    assert clear["wait"] is True and clear["execCount"] == 1


def test_display_handles_update_display_and_named_ids(daemon):
    r = daemon.exec("h = display('one', display_id=True)\nh.update('two')\n"
                    "display('x', display_id='mine', metadata={'k': 1})\nupdate_display('y', display_id='mine')\n"
                    "h")
    assert "DisplayHandle" in r["result"]["text/plain"]
    shown = by_request(daemon, "display", daemon.last_exec_id)
    assert [p["data"]["text/plain"] for p in shown] == ["'one'", "'two'", "'x'", "'y'"]
    assert shown[0]["displayId"] == shown[1]["displayId"] and not shown[0].get("update") and shown[1]["update"]
    assert shown[2]["displayId"] == "mine" and shown[2]["metadata"] == {"k": 1}
    assert shown[3]["displayId"] == "mine" and shown[3]["update"] is True
    assert daemon.exec("display(5)")["status"] == "ok"
    assert "displayId" not in by_request(daemon, "display", daemon.last_exec_id)[0]


def test_a_failing_asyncio_task_is_reported_as_task_error_of_the_exec_that_started_it(daemon):
    rid = daemon.request("exec", {"tag": "T", "code": (
        "import asyncio\nasync def boom():\n    raise ValueError('task boom')\n"
        "asyncio.ensure_future(boom())\nawait asyncio.sleep(0.05)")})
    res = daemon.wait_result(rid)
    err = daemon.wait_notification("taskError", lambda p: p["requestId"] == rid)
    assert err["execCount"] == res["execCount"] and err["tag"] == "T"
    assert err["error"]["type"] == "ValueError" and err["error"]["message"] == "task boom"
    assert any(f["name"] == "boom" for f in err["error"]["traceback"])
    daemon.wait_notification("output", lambda p: p["stream"] == "stderr" and "task boom" in p["text"])


def test_a_failing_task_of_the_trio_session_nursery_is_reported_as_task_error(daemon):
    pytest.importorskip("trio")
    daemon.call("session/open", {"session": "t", "backend": "trio"})
    rid = daemon.request("exec", {"session": "t", "code": (
        "import trio\nasync def boom():\n    raise KeyError('nursery boom')\n"
        "nursery.start_soon(boom)\nawait trio.sleep(0.05)")})
    daemon.wait_result(rid)
    err = daemon.wait_notification("taskError", lambda p: p["requestId"] == rid)
    assert err["session"] == "t" and err["error"]["type"] == "KeyError"


def test_an_input_request_is_withdrawn_before_the_exec_that_asked_is_answered(spawn):
    d = spawn(initialize=False)
    d.initialize(capabilities={"input": True})
    for _ in range(3):
        since = d.index()
        rid = d.request("exec", {"code": "input('name? ')", "timeoutMs": 300})
        req = d.wait_request("input", since=since)
        res = d.wait_result(rid)
        assert res["status"] in ("timeout", "interrupted"), res
        cancel = d.position(lambda m: m.get("method") == "$/cancelRequest" and m["params"]["id"] == req["id"])
        answer = d.position(lambda m: m.get("id") == rid and "result" in m)
        assert cancel is not None and cancel < answer


def test_ipython_display_functions_become_the_sessions_when_ipython_is_imported(daemon, tmp_path):
    # A stand-in IPython with the modules and names of IPython 8 (the real one is not needed).
    core = tmp_path / "IPython" / "core"
    core.mkdir(parents=True)
    (tmp_path / "IPython" / "__init__.py").write_text("")
    (core / "__init__.py").write_text("")
    (core / "display_functions.py").write_text(
        "def display(*objs, **kw):\n    print('IPython without a kernel')\n"
        "def update_display(obj, *, display_id, **kw):\n    print('IPython without a kernel')\n"
        "def clear_output(wait=False):\n    print('IPython without a kernel')\n"
        "class DisplayHandle:\n    pass\n")
    (tmp_path / "IPython" / "display.py").write_text(
        "from IPython.core.display_functions import display, update_display, clear_output, DisplayHandle\n")
    daemon.exec("import sys\nsys.path.insert(0, %r)" % str(tmp_path))
    r = daemon.exec("from IPython.display import display, update_display, clear_output\n"
                    "h = display('x', display_id=True)\nh.update('y')\nupdate_display('z', display_id=h.display_id)\n"
                    "clear_output(wait=True)")
    assert r["status"] == "ok", r
    rid = daemon.last_exec_id
    assert daemon.outputs(rid) == ""
    shown = by_request(daemon, "display", rid)
    assert [p["data"]["text/plain"] for p in shown] == ["'x'", "'y'", "'z'"]
    assert [p.get("update", False) for p in shown] == [False, True, True]
    assert len({p["displayId"] for p in shown}) == 1
    assert by_request(daemon, "clearOutput", rid)[0]["wait"] is True
