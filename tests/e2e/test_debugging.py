"""pdb in a session behaves as in CPython's REPL (issue 11, 3): pdb.pm() after an exec's
error, breakpoint() and stepping past a return with the engine's frames invisible, and
Ctrl-C at the pdb prompt that does not cost the session."""

from __future__ import annotations


def debug_session(spawn):
    d = spawn(initialize=False)
    d.initialize({"input": True})
    return d


def drive(d, code, commands):
    """Run code; answer each `input` request (pdb's prompt) with the next command. Returns
    (exec result, the prompts asked, everything written on stdout)."""
    since = d.index()
    rid = d.request("exec", {"code": code})
    prompts = []
    for command in commands:
        ask = d.wait_request("input", since=since)
        since = d.messages.index(ask) + 1
        prompts.append(ask["params"]["prompt"])
        d.answer_input(ask, command)
    res = d.wait_result(rid)
    out = "".join(m["params"]["text"] for m in d.messages
                  if m.get("method") == "output" and m["params"]["requestId"] == rid)
    return res, prompts, out


def test_sys_last_traceback_is_set_by_an_exec_error_and_pdb_pm_shows_the_failing_frame(spawn):
    d = debug_session(spawn)
    err = d.exec("def f():\n    x = 42\n    1 / 0\nf()")
    assert err["error"]["type"] == "ZeroDivisionError"
    assert d.exec("import sys\nsys.last_type.__name__, type(sys.last_value).__name__, "
                  "sys.last_traceback.tb_frame.f_code.co_filename")["result"]["text/plain"] == \
        "('ZeroDivisionError', 'ZeroDivisionError', '<cell 1>')"
    res, prompts, out = drive(d, "import pdb; pdb.pm()", ["p x", "where", "q"])
    assert res["status"] == "ok", res
    assert prompts == ["(Pdb) "] * 3, prompts
    assert "-> 1 / 0" in out and "\n42\n" in out, out
    assert "<asyncode" not in out, out


def test_breakpoint_and_next_past_the_return_never_stop_in_the_engine(spawn):
    d = debug_session(spawn)
    res, prompts, out = drive(d, "a = 1\nbreakpoint()\nb = 2\n", ["where", "n", "n"])
    assert res["status"] == "ok", res
    assert "<asyncode" not in out, out
    assert "-> b = 2" in out, out
    # Past the cell's end nothing more stops: the session runs the next exec plainly.
    assert d.exec("a + b")["result"]["text/plain"] == "3"
    assert d.exec("import sys\nsys.gettrace() is None")["result"]["text/plain"] == "True"


def test_ctrl_c_at_the_pdb_prompt_keeps_the_session(spawn):
    d = debug_session(spawn)
    d.exec("kept = 'here'")
    since = d.index()
    rid = d.request("exec", {"code": "breakpoint()\nx = 1\n"})
    d.wait_request("input", since=since)
    since = d.index()
    assert d.call("interrupt", {"graceMs": 300})["interrupted"] is True
    ask = d.wait_request("input", since=since)  # pdb caught it and asks again
    d.answer_input(ask, "c")
    assert d.wait_result(rid)["status"] == "ok"
    assert d.exec("kept")["result"]["text/plain"] == "'here'"


# ---- pdb's prompt: the input request's kind, completion in the paused frame -----------------

def next_input(d, since):
    """The next `input` request from index since; (the message, the index after it)."""
    ask = d.wait_request("input", since=since)
    return ask, d.messages.index(ask) + 1


def test_input_requests_say_their_kind_pdb_input_and_getpass(spawn):
    d = debug_session(spawn)
    since = d.index()
    rid = d.request("exec", {"code": "import getpass\nbreakpoint()\nsecret = getpass.getpass()\n"})
    ask, since = next_input(d, since)
    assert (ask["params"]["prompt"], ask["params"]["kind"], ask["params"]["password"]) == ("(Pdb) ", "debugger", False)
    # input() called from a pdb command is user code's input(), not pdb's prompt.
    d.answer_input(ask, "!name = input('name? ')")
    ask, since = next_input(d, since)
    assert (ask["params"]["prompt"], ask["params"]["kind"]) == ("name? ", "input")
    d.answer_input(ask, "ann")
    ask, since = next_input(d, since)
    assert ask["params"]["kind"] == "debugger"
    d.answer_input(ask, "c")
    ask, since = next_input(d, since)
    assert (ask["params"]["kind"], ask["params"]["password"]) == ("password", True)
    d.answer_input(ask, "pw")
    assert d.wait_result(rid)["status"] == "ok"
    assert d.exec("name, secret")["result"]["text/plain"] == "('ann', 'pw')"


def test_a_custom_pdb_prompt_is_a_debugger_prompt_too(spawn):
    d = debug_session(spawn)
    since = d.index()
    rid = d.request("exec", {"code": "import pdb, sys\np = pdb.Pdb()\np.prompt = 'dbg> '\np.set_trace(sys._getframe())\nz = 3\n"})
    ask, since = next_input(d, since)
    assert (ask["params"]["prompt"], ask["params"]["kind"]) == ("dbg> ", "debugger")
    d.answer_input(ask, "c")
    assert d.wait_result(rid)["status"] == "ok"


def test_the_nested_pdb_of_debug_asks_at_its_own_prompt_as_a_debugger(spawn):
    d = debug_session(spawn)
    since = d.index()
    rid = d.request("exec", {"code": "v = 1\nbreakpoint()\nw = 2\n"})
    ask, since = next_input(d, since)
    d.answer_input(ask, "debug v + 1")
    ask, since = next_input(d, since)
    # Not pdb's prompt written as output and a bare line read from sys.stdin.
    assert (ask["params"]["prompt"], ask["params"]["kind"]) == ("((Pdb)) ", "debugger")
    d.answer_input(ask, "c")
    ask, since = next_input(d, since)
    assert (ask["params"]["prompt"], ask["params"]["kind"]) == ("(Pdb) ", "debugger")
    d.answer_input(ask, "c")
    assert d.wait_result(rid)["status"] == "ok"
    out = "".join(m["params"]["text"] for m in d.messages
                  if m.get("method") == "output" and m["params"]["requestId"] == rid)
    assert "((Pdb))" not in out, out


def complete(d, code, debugger=True, cursor=None):
    params = {"code": code, "cursor": len(code) if cursor is None else cursor}
    if debugger:
        params["debugger"] = True
    r = d.call("complete", params)
    return [m["text"] for m in r["matches"]], r["cursorStart"], r["cursorEnd"]


def test_complete_with_debugger_completes_in_the_frame_pdb_is_paused_at(spawn):
    d = debug_session(spawn)
    d.exec("def g(a_param_of_g=1):\n    a_local_of_g = 41\n    breakpoint()\n    return a_local_of_g\n"
           "a_global_name = 0\n")
    since = d.index()
    rid = d.request("exec", {"code": "g()"})
    ask, since = next_input(d, since)
    assert ask["params"]["kind"] == "debugger"
    # The paused frame's locals (and the session's globals), after a command taking Python,
    # after `!`, and as a statement of its own.
    matches, start, end = complete(d, "p a_local_o")
    assert matches == ["a_local_of_g"] and (start, end) == (2, 11)
    assert "a_param_of_g" in complete(d, "pp a_")[0]
    assert "a_global_name" in complete(d, "p a_")[0]
    assert complete(d, "!a_local_of_g.bit_len") == (["bit_length"], len("!a_local_of_g."), len("!a_local_of_g.bit_len"))
    assert "a_local_of_g" in complete(d, "x = a_loc")[0]
    # pdb's commands, at the start of the line.
    assert complete(d, "whe")[0] == ["where"]
    assert {"u", "up", "unt", "until", "undisplay", "unalias"} <= set(complete(d, "u")[0])
    # Without `debugger`, completion is the session's namespace: the local is not there.
    assert complete(d, "a_local_o", debugger=False)[0] == []
    # `up` moves pdb to the cell's frame: g's locals are gone from completion there.
    d.answer_input(ask, "up")
    ask, since = next_input(d, since)
    assert complete(d, "p a_local_o")[0] == []
    assert "a_global_name" in complete(d, "p a_gl")[0]
    d.answer_input(ask, "c")
    assert d.wait_result(rid)["status"] == "ok"
    # No pdb at its prompt: `debugger` completes in the session's namespace.
    assert complete(d, "a_global_n")[0] == ["a_global_name"]
