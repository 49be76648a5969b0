"""exec: results, execCount, modes, top-level await and the persistent event loop."""

from __future__ import annotations

from client import result_text


def test_the_value_of_a_cells_last_expression_is_its_result_as_text_plain(daemon):
    r = daemon.exec("x = 6\nx * 7")
    assert r["status"] == "ok"
    assert r["result"] == {"text/plain": "42"}
    assert result_text(daemon.exec("'hi'")) == "'hi'"
    assert result_text(daemon.exec("[1, 'a', None]")) == "[1, 'a', None]"


def test_a_cell_whose_last_expression_is_none_has_no_result(daemon):
    r = daemon.exec("None")
    assert r["status"] == "ok" and "result" not in r, r
    r = daemon.exec("print('x')")
    assert r["status"] == "ok" and "result" not in r, r


def test_a_cell_ending_in_a_statement_has_no_result(daemon):
    r = daemon.exec("x = 1\nif x:\n    y = 2\n")
    assert r["status"] == "ok" and "result" not in r, r


def test_underscore_holds_the_last_result(daemon):
    daemon.exec("40 + 2")
    assert result_text(daemon.exec("_")) == "42"
    daemon.exec("'second'")
    assert result_text(daemon.exec("_ * 2")) == "'secondsecond'"


def test_exec_count_counts_non_silent_execs_from_1(daemon):
    assert daemon.exec("1")["execCount"] == 1
    assert daemon.exec("2")["execCount"] == 2
    daemon.exec("3", silent=True)
    daemon.exec("x = 4", silent=True)
    assert daemon.exec("5")["execCount"] == 3
    assert daemon.exec("1 / 0")["execCount"] == 4  # errors count too
    assert daemon.exec("6")["execCount"] == 5


def test_a_silent_exec_has_no_count_of_its_own_and_its_output_says_so(daemon):
    daemon.exec("1")
    r = daemon.exec("print('quiet'); display('shown')", silent=True)
    assert r["status"] == "ok" and r["execCount"] == 1, r
    rid = daemon.last_exec_id
    assert daemon.outputs(rid) == "quiet\n"
    notes = [m["params"] for m in list(daemon.messages)
             if isinstance(m, dict) and m.get("method") in ("output", "display")
             and (m.get("params") or {}).get("requestId") == rid]
    assert len(notes) == 2 and all(p["execCount"] is None for p in notes), notes
    assert daemon.exec("2")["execCount"] == 2


def test_the_namespace_persists_across_execs(daemon):
    daemon.exec("def f(a):\n    return a * 2\nvalue = 21")
    assert result_text(daemon.exec("f(value)")) == "42"


def test_interactive_mode_echoes_an_expression_statement_to_stdout_like_the_repl(daemon):
    r = daemon.exec("1+1", mode="interactive")
    assert r["status"] == "ok"
    assert "result" not in r, r
    assert daemon.outputs(daemon.last_exec_id) == "2\n"


def test_interactive_mode_echoes_every_expression_statement_and_not_none(daemon):
    r = daemon.exec("for i in range(3):\n    i\n    None\n\n", mode="interactive")
    assert r["status"] == "ok" and "result" not in r, r
    assert daemon.outputs(daemon.last_exec_id) == "0\n1\n2\n"


def test_interactive_mode_echoes_the_repr(daemon):
    daemon.exec("'text'", mode="interactive")
    assert daemon.outputs(daemon.last_exec_id) == "'text'\n"


def test_module_mode_echoes_nothing_and_has_no_result(daemon):
    r = daemon.exec("1 + 1\nx = 3\nx * 2", mode="module")
    assert r["status"] == "ok" and "result" not in r, r
    assert daemon.outputs(daemon.last_exec_id) == ""
    assert result_text(daemon.exec("x")) == "3"


def test_top_level_await_runs_and_says_awaited_true(daemon):
    r = daemon.exec("import asyncio\nawait asyncio.sleep(0)\nawait asyncio.sleep(0, result=5)")
    assert r["awaited"] is True
    assert result_text(r) == "5"


def test_plain_code_says_awaited_false(daemon):
    r = daemon.exec("5")
    assert r["awaited"] is False
    assert result_text(r) == "5"


def test_async_for_and_async_with_work_at_top_level(daemon):
    code = (
        "import contextlib\n"
        "async def gen():\n"
        "    for i in range(3):\n"
        "        yield i\n"
        "@contextlib.asynccontextmanager\n"
        "async def ctx():\n"
        "    yield 'entered'\n"
        "got = []\n"
        "async for v in gen():\n"
        "    got.append(v)\n"
        "async with ctx() as c:\n"
        "    got.append(c)\n"
        "got + [w async for w in gen()]\n"
    )
    r = daemon.exec(code)
    assert r["awaited"] is True
    assert result_text(r) == "[0, 1, 2, 'entered', 0, 1, 2]"


def test_asyncio_run_works_in_code_that_does_not_await(daemon):
    r = daemon.exec("import asyncio\nasync def f():\n    return 9\nasyncio.run(f())")
    assert result_text(r) == "9"
    assert r["awaited"] is False


def test_a_task_created_in_one_exec_is_still_alive_in_the_next(daemon):
    daemon.exec(
        "import asyncio\n"
        "ev = asyncio.Event()\n"
        "async def waiter():\n"
        "    await ev.wait()\n"
        "    return 'woken'\n"
        "t = asyncio.create_task(waiter())\n"
        "await asyncio.sleep(0)\n")
    assert result_text(daemon.exec("t.done()")) == "False"
    assert result_text(daemon.exec("t.done()")) == "False"
    assert result_text(daemon.exec("ev.set()\nawait asyncio.wait_for(t, 10)")) == "'woken'"


def test_a_task_goes_on_running_while_the_session_is_idle(daemon):
    rid = daemon.request("exec", {"code": (
        "import asyncio\n"
        "async def later():\n"
        "    await asyncio.sleep(0.05)\n"
        "    print('from the task', flush=True)\n"
        "t = asyncio.create_task(later())\n"
        "await asyncio.sleep(0)\n")})
    res = daemon.wait_result(rid)
    assert res["status"] == "ok"
    # no exec runs now: the loop must still run the task, whose output keeps the exec's id
    out = daemon.wait_notification("output", lambda p: "from the task" in p["text"])
    assert out["requestId"] == rid and out["execCount"] == res["execCount"], out
    assert result_text(daemon.exec("t.done()")) == "True"


def test_a_custom_filename_shows_in_tracebacks(daemon):
    r = daemon.exec("x = 1\nraise ValueError('v')", filename="/tmp/my_script.py")
    assert r["status"] == "error"
    assert [f["filename"] for f in r["error"]["traceback"]] == ["/tmp/my_script.py"]
    assert r["error"]["traceback"][0]["line"] == 2


def test_duration_is_measured(daemon):
    r = daemon.exec("import time\ntime.sleep(0.2)")
    assert 150 <= r["durationMs"] < 10000, r


def test_a_future_import_holds_for_the_cells_after_it(daemon):
    # As in Python's REPL (codeop): every __future__ feature, annotations included.
    daemon.exec("from __future__ import annotations")
    daemon.exec("def f(x: undefined_name): pass")
    assert result_text(daemon.exec("f.__annotations__")) == "{'x': 'undefined_name'}"
