"""Introspection and rich output: MIME bundles of results and display(), complete, inspect,
variables, reset, and input() through the client."""

from __future__ import annotations

import base64
import os
import time

import pytest
from client import open_gate

from client import result_text


# --------------------------------------------------------------------------- rich results
RICH = (
    "class Rich:\n"
    "    def __repr__(self): return 'Rich()'\n"
    "    def _repr_html_(self): return '<b>rich</b>'\n"
    "    def _repr_markdown_(self): return '**rich**'\n"
    "    def _repr_svg_(self): return '<svg xmlns=\"http://www.w3.org/2000/svg\"/>'\n"
    "    def _repr_latex_(self): return r'$\\alpha$'\n"
    "    def _repr_json_(self): return {'a': [1, 2.5, None, True], 'b': {'c': 'd'}}\n"
    "    def _repr_png_(self): return b'\\x89PNG\\r\\n\\x1a\\n\\x00\\xff'\n"
    "    def _repr_jpeg_(self): return b'\\xff\\xd8\\xff\\xe0jpeg'\n"
)


def test_a_result_offers_every_representation_of_the_display_protocol(daemon):
    r = daemon.exec(RICH + "Rich()")
    assert r["status"] == "ok", r
    assert r["result"] == {
        "text/plain": "Rich()",
        "text/html": "<b>rich</b>",
        "text/markdown": "**rich**",
        "image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg"/>',
        "text/latex": "$\\alpha$",
        "application/json": {"a": [1, 2.5, None, True], "b": {"c": "d"}},
        "image/png": base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\xff").decode(),
        "image/jpeg": base64.b64encode(b"\xff\xd8\xff\xe0jpeg").decode(),
    }


def test_repr_json_gives_a_json_value_not_a_string(daemon):
    r = daemon.exec("class J:\n"
                    "    def _repr_json_(self): return [1, {'k': 'v'}]\n"
                    "J()")
    assert r["result"]["application/json"] == [1, {"k": "v"}]


def test_repr_mimebundle_adds_its_types(daemon):
    r = daemon.exec("class M:\n"
                    "    def __repr__(self): return 'M()'\n"
                    "    def _repr_mimebundle_(self, include=None, exclude=None):\n"
                    "        return {'text/html': '<i>m</i>', 'text/markdown': '*m*',\n"
                    "                'application/vnd.e2e+json': {'k': 1}}\n"
                    "M()")
    assert r["result"] == {"text/plain": "M()", "text/html": "<i>m</i>",
                           "text/markdown": "*m*", "application/vnd.e2e+json": {"k": 1}}


def test_display_honours_include_and_exclude(daemon):
    rid = daemon.request("exec", {"code": RICH + (
        "class M:\n"
        "    def __repr__(self): return 'M()'\n"
        "    def _repr_mimebundle_(self, include=None, exclude=None):\n"
        "        return {'text/html': '<i>m</i>', 'text/markdown': '*m*'}\n"
        "display(M(), include=['text/html'])\n"
        "display(M(), exclude=['text/html'])\n"
        "display(Rich(), include=['image/png', 'text/latex'])\n")})
    assert daemon.wait_result(rid)["status"] == "ok"
    shown = daemon.displays(rid)
    assert shown == [
        {"text/plain": "M()", "text/html": "<i>m</i>"},
        {"text/plain": "M()", "text/markdown": "*m*"},
        {"text/plain": "Rich()", "text/latex": "$\\alpha$",
         "image/png": base64.b64encode(b"\x89PNG\r\n\x1a\n\x00\xff").decode()},
    ]


FAILING_HTML = ("class F:\n"
                "    def __repr__(self): return 'F()'\n"
                "    def _repr_html_(self): raise RuntimeError('no html today')\n")


def test_a_failing_repr_html_falls_back_to_text_plain_and_warns_on_stderr(daemon):
    since = daemon.index()
    r = daemon.exec(FAILING_HTML + "F()")
    assert r["status"] == "ok", r
    assert r["result"] == {"text/plain": "F()"}
    warning = daemon.wait_notification("output", lambda p: p["stream"] == "stderr"
                                       and "no html today" in p["text"], since=since)
    assert "_repr_html_" in warning["text"], warning
    # display() of the same object: the same fallback, the warning is the exec's output
    rid = daemon.request("exec", {"code": "display(F())"})
    assert daemon.wait_result(rid)["status"] == "ok"
    assert daemon.displays(rid) == [{"text/plain": "F()"}]
    assert "no html today" in daemon.outputs(rid, "stderr")


def test_the_warning_about_a_failing_repr_is_output_of_the_exec_before_its_answer(daemon):
    daemon.exec("1")
    rid = daemon.request("exec", {"code": FAILING_HTML + "F()"})
    daemon.wait_result(rid)
    assert "no html today" in daemon.outputs(rid, "stderr"), daemon.notifications("output")


def test_a_result_whose_repr_raises_fails_the_exec_with_that_exception(daemon):
    r = daemon.exec("class B:\n"
                    "    def __repr__(self):\n"
                    "        raise ValueError('bad repr')\n"
                    "B()")
    assert r["status"] == "error", r
    assert r["error"]["type"] == "ValueError"
    assert r["error"]["message"] == "bad repr"
    assert "result" not in r
    assert result_text(daemon.exec("1")) == "1"


def test_a_trailing_semicolon_hides_the_result(daemon):
    r = daemon.exec("x = 21\nx * 2;")
    assert r["status"] == "ok" and "result" not in r, r
    r = daemon.exec("x * 2; # a comment after it")
    assert r["status"] == "ok" and "result" not in r, r
    assert result_text(daemon.exec("x * 2")) == "42"


def test_display_of_two_objects_sends_two_notifications_of_the_exec(daemon):
    daemon.exec("1")
    rid = daemon.request("exec", {"code": "display(1, 'two')\n"})
    res = daemon.wait_result(rid)
    assert res["status"] == "ok" and "result" not in res, res
    mine = [p for p in daemon.notifications("display") if p["requestId"] == rid]
    assert [p["data"] for p in mine] == [{"text/plain": "1"}, {"text/plain": "'two'"}]
    assert all(p["execCount"] == res["execCount"] == 2 and p["session"] == "default"
               for p in mine), mine


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_display_works_in_every_session_without_an_import(daemon, backend):
    daemon.call("session/open", {"session": "s", "backend": backend})
    rid = daemon.request("exec", {"code": "display({'k': 1})", "session": "s"})
    assert daemon.wait_result(rid)["status"] == "ok"
    assert daemon.displays(rid) == [{"text/plain": "{'k': 1}"}]
    r = daemon.exec("display.__module__ != '__main__'", session="s")
    assert result_text(r) == "True"


FAKE_PNG = b"\x89PNG\r\n\x1a\nfake"


def test_a_matplotlib_figure_result_shows_as_png(daemon, tmp_path):
    pkg = tmp_path / "matplotlib"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "figure.py").write_text(
        "class Figure:\n"
        "    def __repr__(self):\n"
        "        return '<Figure size 640x480 with 0 Axes>'\n"
        "    def savefig(self, buf, format='png', **kw):\n"
        "        assert format == 'png'\n"
        "        buf.write(%r)\n" % FAKE_PNG)
    daemon.call("session/open", {"session": "m", "env": {"PYTHONPATH": str(tmp_path)}})
    r = daemon.exec("from matplotlib.figure import Figure\nFigure()", session="m")
    assert r["status"] == "ok", r
    assert r["result"]["text/plain"] == "<Figure size 640x480 with 0 Axes>"
    assert r["result"]["image/png"] == base64.b64encode(FAKE_PNG).decode()


# --------------------------------------------------------------------------- complete
NAMESPACE = (
    "import os\n"
    "variable_one = 1\n"
    "変数 = 2\n"
    "d = {'alpha': 1, 'beta': 2}\n"
    "def greet(name, punctuation='!'):\n"
    "    '''Say hello to name.'''\n"
    "    return 'hello ' + name + punctuation\n"
)


@pytest.fixture
def ns_daemon(daemon):
    assert daemon.exec(NAMESPACE)["status"] == "ok"
    return daemon


def completions(d, code, cursor=None):
    """The code as each match of complete would leave it."""
    cursor = len(code) if cursor is None else cursor
    r = d.call("complete", {"code": code, "cursor": cursor})
    start, end = r["cursorStart"], r["cursorEnd"]
    assert 0 <= start <= end <= len(code), r
    return [code[:start] + m["text"] + code[end:] for m in r["matches"]]


def test_complete_finds_a_name_defined_earlier(ns_daemon):
    assert "variable_one" in completions(ns_daemon, "vari")


def test_complete_finds_attributes_of_live_objects(ns_daemon):
    got = completions(ns_daemon, "os.pa")
    assert "os.path" in got and "os.pathsep" in got, got


def test_complete_finds_dict_keys(ns_daemon):
    got = completions(ns_daemon, "d['")
    assert "d['alpha'" in got and "d['beta'" in got, got


def test_complete_finds_modules_in_import_lines(ns_daemon):
    assert "import json.decoder" in completions(ns_daemon, "import json.de")


def test_complete_finds_keyword_arguments(ns_daemon):
    assert "greet(punctuation=" in completions(ns_daemon, "greet(pun")


def test_complete_finds_unicode_identifiers(ns_daemon):
    assert "変数" in completions(ns_daemon, "変")


def test_complete_with_the_cursor_in_the_middle_replaces_only_what_is_before_it(ns_daemon):
    code = "x = vari + 1"
    assert "x = variable_one + 1" in completions(ns_daemon, code, cursor=8)


def test_complete_counts_the_cursor_in_code_points(ns_daemon):
    code = "e = '😀 é'\nx = 変 + vari + 1"
    cursor = code.index("vari") + 4  # code points, as Python indexes strings
    assert "e = '😀 é'\nx = 変 + variable_one + 1" in completions(ns_daemon, code, cursor)
    cursor = code.index("変") + 1
    assert "e = '😀 é'\nx = 変数 + vari + 1" in completions(ns_daemon, code, cursor)


# --------------------------------------------------------------------------- inspect
def test_inspect_shows_the_signature_and_docstring_of_a_function_from_a_cell(ns_daemon):
    r = ns_daemon.call("inspect", {"code": "greet", "cursor": 3})
    assert r["found"] is True, r
    text = r["data"]["text/plain"]
    assert "(name, punctuation='!')" in text and "Say hello to name." in text, text


def test_inspect_after_an_open_parenthesis_shows_the_callee(ns_daemon):
    code = "x = greet("
    r = ns_daemon.call("inspect", {"code": code, "cursor": len(code)})
    assert r["found"] is True, r
    assert "(name, punctuation='!')" in r["data"]["text/plain"], r


def test_inspect_shows_a_builtin_and_a_module_attribute(ns_daemon):
    r = ns_daemon.call("inspect", {"code": "len", "cursor": 3})
    assert r["found"] is True, r
    assert "Return the number of items" in r["data"]["text/plain"], r
    code = "os.path.join('a', 'b')"
    r = ns_daemon.call("inspect", {"code": code, "cursor": code.index("join") + 2})
    assert r["found"] is True, r
    assert "join" in r["data"]["text/plain"] and "(a, *p)" in r["data"]["text/plain"], r


def test_inspect_of_an_unknown_name_is_not_found(ns_daemon):
    r = ns_daemon.call("inspect", {"code": "no_such_name_here", "cursor": 5})
    assert r == {"found": False}, r


# --------------------------------------------------------------------------- time bounds
# A property that does not return until the test opens its gate (a FIFO): complete and inspect
# must run it (jedi evaluates `slow.data.`, inspect resolves `slow.data`) and must give up.
STUCK_PROPERTY = (
    "class Slow:\n"
    "    @property\n"
    "    def data(self):\n"
    "        with open(%r) as gate:\n"
    "            gate.read()\n"
    "        return [1, 2]\n"
    "slow = Slow()\n"
)


@pytest.mark.slow
@pytest.mark.parametrize("method, code", [("complete", "slow.data."), ("inspect", "slow.data")])
def test_introspection_gives_up_on_a_property_that_does_not_return(daemon, tmp_path, method, code):
    fifo = str(tmp_path / "gate")
    os.mkfifo(fifo)
    assert daemon.exec(STUCK_PROPERTY % fifo)["status"] == "ok"
    rid = daemon.request(method, {"code": code, "cursor": len(code)})
    # While it is stuck, compile still answers (it never waits for the session's code).
    cid = daemon.request("compile", {"code": "await x"})
    assert daemon.wait_result(cid, timeout=10) == {"status": "complete", "needsAwait": True}
    try:  # a bound on the wait, not an assertion: what it says decides
        answer = daemon.wait_result(rid, timeout=20)
    except TimeoutError:
        answer = None
    open_gate(fifo)  # the property returns only now
    if answer is None:
        answer = daemon.wait_result(rid)
    assert answer.get("timedOut") is True, answer
    if method == "complete":
        assert answer["matches"] == [], answer
    else:
        assert answer["found"] is False, answer
    assert daemon.position(lambda m: m.get("id") == cid) < daemon.position(lambda m: m.get("id") == rid)
    # The session goes on, and so does introspection.
    assert daemon.exec("1 + 1")["result"]["text/plain"] == "2"
    assert daemon.call("inspect", {"code": "len", "cursor": 3})["found"] is True


# --------------------------------------------------------------------------- variables
def test_variables_lists_names_types_and_reprs_of_the_user_namespace(daemon):
    daemon.exec("import os, json\n"
                "from os import path\n"
                "count = 3\n"
                "name = 'text'\n"
                "items = [1, 2]\n"
                "_private = 1\n"
                "long_one = 'x' * 1000\n")
    got = {v["name"]: v for v in daemon.call("variables")["variables"]}
    assert got["count"] == {"name": "count", "type": "int", "repr": "3"}
    # revision 1 adds length (and a ref to what has children): see test_variables_tree.py
    assert got["name"] == {"name": "name", "type": "str", "repr": "'text'", "length": 4}
    assert {k: v for k, v in got["items"].items() if k != "ref"} == {
        "name": "items", "type": "list", "repr": "[1, 2]", "length": 2}
    assert got["long_one"]["type"] == "str"
    assert len(got["long_one"]["repr"]) <= 200
    assert got["long_one"]["repr"].startswith("'xxxx")
    for hidden in ("_private", "os", "json", "path", "__name__", "__builtins__"):
        assert hidden not in got, got[hidden]


def test_variables_survive_reprs_that_raise_hang_or_sleep(daemon):
    daemon.exec("import time\n"
                "class Raises:\n"
                "    def __repr__(self): raise ValueError('no repr')\n"
                "class Hangs:\n"
                "    def __repr__(self):\n"
                "        while True: pass\n"
                "class Sleeps:\n"
                "    def __repr__(self):\n"
                "        time.sleep(30)\n"
                "        return 'late'\n"
                "a_before = 'A'\n"
                "raises, hangs, sleeps = Raises(), Hangs(), Sleeps()\n"
                "z_after = 'Z'\n")
    start = time.monotonic()
    got = {v["name"]: v for v in daemon.call("variables", timeout=10)["variables"]}
    took = time.monotonic() - start
    print("variables with a raising, a hanging and a sleeping __repr__: %.2f s" % took)
    assert took < 5, took
    assert got["a_before"]["repr"] == "'A'" and got["z_after"]["repr"] == "'Z'", got
    for name, typ in [("raises", "Raises"), ("hangs", "Hangs"), ("sleeps", "Sleeps")]:
        assert got[name]["type"] == typ, got[name]
        assert len(got[name]["repr"]) <= 200
    # the session is fine afterwards
    assert result_text(daemon.exec("a_before + z_after")) == "'AZ'"


# --------------------------------------------------------------------------- reset
def test_reset_empties_the_namespace(daemon):
    daemon.exec("defined_before = 1\nimport os")
    assert daemon.call("reset") is None
    for name in ("defined_before", "os"):
        r = daemon.exec(name)
        assert r["status"] == "error" and r["error"]["type"] == "NameError", r
    assert result_text(daemon.exec("1 + 1")) == "2"


def test_reset_keeps_running_tasks_and_the_same_loop(daemon):
    rid = daemon.request("exec", {"code": (
        "import asyncio, sys\n"
        "sys._e2e_loop = asyncio.get_running_loop()\n"
        "async def ticker(sleep=asyncio.sleep):  # needs no global name: reset drops them\n"
        "    i = 0\n"
        "    while True:\n"
        "        print('tick', i, flush=True)\n"
        "        i += 1\n"
        "        await sleep(0.05)\n"
        "sys._e2e_task = asyncio.create_task(ticker())\n"
        "await asyncio.sleep(0)\n")})
    assert daemon.wait_result(rid)["status"] == "ok"
    assert daemon.call("reset") is None
    after = daemon.index()
    daemon.wait_notification("output", lambda p: p["text"].startswith("tick"), since=after)
    since = daemon.index()  # and again: the task was not ending as the reset came
    daemon.wait_notification("output", lambda p: p["text"].startswith("tick"), since=since)
    r = daemon.exec("import asyncio, sys\n"
                    "await asyncio.sleep(0)\n"
                    "sys._e2e_loop is asyncio.get_running_loop(), sys._e2e_task.done()")
    assert result_text(r) == "(True, False)"
    r = daemon.exec("ticker")
    assert r["status"] == "error" and r["error"]["type"] == "NameError", r


def test_reset_keeps_the_trio_backend_and_its_nursery(daemon):
    daemon.call("session/open", {"session": "t", "backend": "trio"})
    daemon.exec("import trio\ny = 1\nold_nursery = nursery", session="t")
    assert daemon.call("reset", {"session": "t"}) is None
    r = daemon.exec("type(nursery).__name__, 'y' in dir(), 'old_nursery' in dir()", session="t")
    assert result_text(r) == "('SessionNursery', False, False)"
    r = daemon.exec("import trio\nawait trio.sleep(0)\n'trio still runs'", session="t")
    assert result_text(r) == "'trio still runs'"
    [s] = daemon.call("session/list")["sessions"]
    assert s["backend"] == "trio"


# --------------------------------------------------------------------------- input
@pytest.fixture
def input_daemon(spawn):
    d = spawn(initialize=False)
    d.initialize({"input": True})
    return d


def test_input_asks_the_client_and_returns_its_answer(input_daemon):
    d = input_daemon
    rid = d.request("exec", {"code": "answer = input('prompt> ')\nprint('got', answer)"})
    ask = d.wait_request("input")
    p = ask["params"]
    assert (p["session"], p["requestId"], p["prompt"], p["password"]) == \
        ("default", rid, "prompt> ", False), p
    d.answer_input(ask, "hello there")
    assert d.wait_result(rid)["status"] == "ok"
    assert d.outputs(rid) == "got hello there\n"


def test_getpass_asks_for_a_password(input_daemon):
    d = input_daemon
    rid = d.request("exec", {"code": "import getpass\ngetpass.getpass('pw: ')"})
    ask = d.wait_request("input")
    assert ask["params"]["prompt"] == "pw: " and ask["params"]["password"] is True, ask
    d.answer_input(ask, "s3cret")
    assert result_text(d.wait_result(rid)) == "'s3cret'"


def test_sys_stdin_readline_asks_too(input_daemon):
    d = input_daemon
    rid = d.request("exec", {"code": "import sys\nsys.stdin.readline()"})
    ask = d.wait_request("input")
    assert ask["params"]["requestId"] == rid and ask["params"]["password"] is False, ask
    d.answer_input(ask, "a line")
    assert result_text(d.wait_result(rid)) == repr("a line\n")


def test_an_input_request_answered_with_an_error_makes_input_raise_eof_error(input_daemon):
    d = input_daemon
    rid = d.request("exec", {"code": "input('q? ')"})
    ask = d.wait_request("input")
    d.send({"jsonrpc": "2.0", "id": ask["id"],
            "error": {"code": -32000, "message": "the user closed the prompt"}})
    r = d.wait_result(rid)
    assert r["status"] == "error" and r["error"]["type"] == "EOFError", r
    assert result_text(d.exec("'fine'")) == "'fine'"


def test_without_the_input_capability_input_raises_eof_error_naming_it(daemon):
    r = daemon.exec("input('never asked> ')")
    assert r["status"] == "error", r
    assert r["error"]["type"] == "EOFError", r["error"]
    assert "capabilities.input" in r["error"]["message"], r["error"]
    assert not [m for m in daemon.messages if m.get("method") == "input"]
