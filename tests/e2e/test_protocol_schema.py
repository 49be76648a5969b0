"""Tests of schema/protocol.schema.json and of protocol_schema.TrafficValidator (no daemon needed).

    /usr/bin/python3 -m pytest -q tests/e2e/test_protocol_schema.py
"""

from __future__ import annotations

import copy
import os
import pathlib
import re

import pytest
from jsonschema import Draft202012Validator, ValidationError

import protocol_schema as ps
from protocol_schema import METHODS, SCHEMA, TrafficValidator, errors, validate

REPO = pathlib.Path(__file__).resolve().parents[2]


def ok(def_name, instance):
    problems = errors(def_name, instance)
    assert problems == [], "%s should accept %r: %s" % (def_name, instance, problems)


def bad(def_name, instance, *fragments):
    problems = errors(def_name, instance)
    assert problems, "%s should reject %r" % (def_name, instance)
    text = "\n".join(problems)
    for f in fragments:
        assert f in text, "expected %r in %s" % (f, text)


# --------------------------------------------------------------------------- examples
FRAME = {"filename": "<cell-3>", "line": 2, "name": "g", "source": "raise RuntimeError('x')"}
ERROR_INFO = {
    "type": "RuntimeError", "message": "x",
    "traceback": [{"filename": "<cell-3>", "line": 5, "name": "<module>"}, FRAME],
    "formatted": "Traceback (most recent call last):\n  File \"<cell-3>\", line 5, in <module>\n"
                 "  File \"<cell-3>\", line 2, in g\nRuntimeError: x\n",
}
SYNTAX_ERROR = {"type": "SyntaxError", "message": "unmatched ')'", "line": 1, "column": 4}

# One valid example of every result, every daemon notification and the daemon's input request.
VALID = {
    "InitializeResult": {
        "serverInfo": {"name": "asyncoded", "version": "0.1.0"}, "protocolVersion": 1,
        "python": {"version": "3.11.2", "executable": "/usr/bin/python3"},
        "backends": ["asyncio", "trio"], "positionEncoding": "utf-16", "protocolRevision": 1,
    },
    "ShutdownResult": None,
    "SessionOpenResult": {"session": "s1", "pid": 4242, "backend": "asyncio"},
    "SessionRestartResult": {"session": "s1", "pid": 4243, "backend": "trio"},
    "SessionCloseResult": None,
    "SessionListResult": {"sessions": [
        {"session": "default", "pid": 10, "backend": "asyncio", "state": "idle"},
        {"session": "t", "pid": 11, "backend": "trio", "state": "busy"},
    ]},
    "CompileResult": {"status": "invalid", "needsAwait": False, "error": SYNTAX_ERROR},
    "NeedsAwaitResult": {"needsAwait": True, "status": "complete"},
    "ExecResult": {"execCount": 3, "status": "ok", "result": {"text/plain": "42"},
                   "durationMs": 1.25, "awaited": True},
    "InterruptResult": {"interrupted": True, "how": "keyboardInterrupt"},
    "CompleteResult": {"matches": [{"text": "append", "type": "function"}, {"text": "count"}],
                       "cursorStart": 2, "cursorEnd": 4},
    "InspectResult": {"found": True, "data": {"text/plain": "greet(name)\nSay hello."}},
    "VariablesResult": {"variables": [{"name": "a", "type": "int", "repr": "1"}], "total": 1},
    "ResetResult": None,
    "OutputParams": {"session": "default", "requestId": 7, "execCount": 1, "stream": "stdout",
                     "text": "x\n", "seq": 1},
    "DisplayParams": {"session": "default", "requestId": "abc", "execCount": 2,
                      "data": {"text/plain": "1", "text/html": "<b>1</b>"}, "seq": 2},
    "StatusParams": {"session": "default", "state": "starting", "pid": 99},
    "LogParams": {"level": "info", "message": "worker started"},
    "InputParams": {"session": "default", "requestId": 7, "prompt": "prompt> ",
                    "password": False},
}

# Defs the daemon produces: closed to undocumented keys.
DAEMON_OBJECT_DEFS = sorted(k for k, v in VALID.items() if isinstance(v, dict))


@pytest.mark.parametrize("def_name", sorted(VALID))
def test_valid_examples_pass(def_name):
    ok(def_name, VALID[def_name])


@pytest.mark.parametrize("def_name", DAEMON_OBJECT_DEFS)
def test_undocumented_key_in_daemon_output_fails(def_name):
    inst = dict(VALID[def_name], undocumented=1)
    bad(def_name, inst, "Additional properties", "undocumented")


def test_schema_is_valid_draft_2020_12():
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_def_has_a_description():
    missing = [k for k, v in SCHEMA["$defs"].items() if not v.get("description")]
    assert missing == []


# --------------------------------------------------------------------------- ExecResult
def test_exec_result_missing_duration_fails():
    r = dict(VALID["ExecResult"])
    del r["durationMs"]
    bad("ExecResult", r, "'durationMs' is a required property")


@pytest.mark.parametrize("key", ["execCount", "status", "awaited"])
def test_exec_result_required_keys(key):
    r = dict(VALID["ExecResult"])
    del r[key]
    bad("ExecResult", r, repr(key))


def test_exec_result_weird_status_fails():
    bad("ExecResult", dict(VALID["ExecResult"], status="weird"), "$.status", "'weird'")


def test_exec_result_number_types():
    ok("ExecResult", dict(VALID["ExecResult"], durationMs=12))       # number: int is fine
    ok("ExecResult", dict(VALID["ExecResult"], durationMs=0.004))
    bad("ExecResult", dict(VALID["ExecResult"], execCount=1.5), "$.execCount")
    bad("ExecResult", dict(VALID["ExecResult"], execCount="1"), "$.execCount")
    bad("ExecResult", dict(VALID["ExecResult"], durationMs="3"), "$.durationMs")
    bad("ExecResult", dict(VALID["ExecResult"], durationMs=-1), "$.durationMs")
    bad("ExecResult", dict(VALID["ExecResult"], awaited=1), "$.awaited")


def test_exec_result_error_statuses():
    base = {"execCount": 1, "durationMs": 3.5, "awaited": False}
    ok("ExecResult", dict(base, status="error", error=ERROR_INFO))
    ok("ExecResult", dict(base, status="interrupted", error=dict(ERROR_INFO,
                                                                    type="KeyboardInterrupt")))
    ok("ExecResult", dict(base, status="timeout"))
    ok("ExecResult", dict(base, status="timeout", error=ERROR_INFO))
    bad("ExecResult", dict(base, status="error"), "'error' is a required property")
    bad("ExecResult", dict(base, status="interrupted"), "'error' is a required property")
    bad("ExecResult", dict(base, status="ok", error=ERROR_INFO))
    ok("ExecResult", dict(base, status="ok", execCount=0))  # a silent exec before any other


def test_exec_result_mime_bundle():
    base = dict(VALID["ExecResult"])
    ok("ExecResult", dict(base, result={
        "text/plain": "P()", "image/png": "iVBORw0KGgo=", "image/svg+xml": "<svg></svg>",
        "text/latex": "$x$", "text/markdown": "# T", "application/json": {"a": [1, None]},
        "application/vnd.vegalite.v5+json": {"mark": "bar"}}))
    ok("ExecResult", dict(base, result={"text/plain": "1", "application/json": 3}))
    bad("ExecResult", dict(base, result={"text/html": "<b>"}), "'text/plain' is a required")
    bad("ExecResult", dict(base, result={"text/plain": 42}), "$.result[\"text/plain\"]")
    bad("ExecResult", dict(base, result={"text/plain": "x", "image/png": 7}),
        "$.result[\"image/png\"]")
    bad("ExecResult", dict(base, result={"text/plain": "x", "not a mime": "y"}))
    bad("ExecResult", dict(base, result="42"), "$.result")


def test_error_info():
    ok("ErrorInfo", ERROR_INFO)
    ok("ErrorInfo", dict(ERROR_INFO, traceback=[]))
    for key in ("type", "message", "traceback", "formatted"):
        e = dict(ERROR_INFO)
        del e[key]
        bad("ErrorInfo", e, repr(key))
    bad("ErrorInfo", dict(ERROR_INFO, traceback=[dict(FRAME, line=0)]), "$.traceback[0].line")
    bad("ErrorInfo", dict(ERROR_INFO, traceback=[dict(FRAME, line="2")]), "$.traceback[0].line")
    bad("ErrorInfo", dict(ERROR_INFO, traceback=[dict(FRAME, locals={})]), "locals")
    frame = dict(FRAME)
    del frame["name"]
    bad("ErrorInfo", dict(ERROR_INFO, traceback=[frame]), "'name' is a required property")
    bad("ErrorInfo", dict(ERROR_INFO, ename="x"), "ename")


# --------------------------------------------------------------------------- compile & co
def test_syntax_error_info():
    ok("SyntaxErrorInfo", SYNTAX_ERROR)
    ok("SyntaxErrorInfo", dict(SYNTAX_ERROR, column=0))
    ok("SyntaxErrorInfo", dict(SYNTAX_ERROR, endLine=1, endColumn=5))
    ok("SyntaxErrorInfo", {"type": "IndentationError", "message": "unexpected indent",
                           "line": 1, "column": 1})
    bad("SyntaxErrorInfo", dict(SYNTAX_ERROR, column=-1), "$.column")
    bad("SyntaxErrorInfo", dict(SYNTAX_ERROR, line=0), "$.line")
    bad("SyntaxErrorInfo", dict(SYNTAX_ERROR, column=1.5), "$.column")
    bad("SyntaxErrorInfo", dict(SYNTAX_ERROR, endLine=0), "$.endLine")
    bad("SyntaxErrorInfo", dict(SYNTAX_ERROR, offset=5), "offset")
    e = dict(SYNTAX_ERROR)
    del e["column"]
    bad("SyntaxErrorInfo", e, "'column' is a required property")


def test_compile_result():
    ok("CompileResult", {"status": "complete", "needsAwait": True})
    ok("CompileResult", {"status": "incomplete", "needsAwait": False, "indent": "    "})
    ok("CompileResult", {"status": "incomplete", "needsAwait": False})
    bad("CompileResult", {"status": "invalid", "needsAwait": False}, "'error'")
    bad("CompileResult", {"status": "complete", "needsAwait": False, "error": SYNTAX_ERROR})
    bad("CompileResult", {"status": "complete", "needsAwait": False, "indent": ""})
    bad("CompileResult", {"status": "complete"}, "'needsAwait' is a required property")
    bad("CompileResult", {"status": "ok", "needsAwait": False}, "$.status")
    bad("CompileResult", {"status": "invalid", "needsAwait": False,
                          "error": {"type": "SyntaxError", "message": "m", "line": 1}},
        "'column' is a required property")


def test_needs_await_result():
    ok("NeedsAwaitResult", {"needsAwait": False, "status": "incomplete"})
    bad("NeedsAwaitResult", {"needsAwait": False}, "'status' is a required property")
    bad("NeedsAwaitResult", {"needsAwait": "yes", "status": "complete"}, "$.needsAwait")


def test_interrupt_result():
    ok("InterruptResult", {"interrupted": False})
    for how in ("cancelled", "keyboardInterrupt", "restarted"):
        ok("InterruptResult", {"interrupted": True, "how": how})
    ok("InterruptResult", {"interrupted": True})
    bad("InterruptResult", {"interrupted": True, "how": "killed"}, "$.how")
    bad("InterruptResult", {"interrupted": False, "how": "cancelled"})
    bad("InterruptResult", {}, "'interrupted' is a required property")


def test_complete_inspect_variables():
    bad("CompleteResult", {"matches": ["append"], "cursorStart": 0, "cursorEnd": 1},
        "$.matches[0]")
    bad("CompleteResult", {"matches": [], "cursorStart": -1, "cursorEnd": 0}, "$.cursorStart")
    bad("CompleteResult", {"matches": []}, "'cursorStart' is a required property")
    ok("InspectResult", {"found": False})
    bad("InspectResult", {"found": True, "data": {"text/html": "x"}}, "text/plain")
    ok("VariablesResult", {"variables": [], "total": 0})
    ok("VariablesResult", {"variables": [{"name": "s", "type": "str", "repr": "\U0001F389" * 200}], "total": 1})
    ok("VariablesResult", {"variables": [{"name": "xs", "type": "list", "repr": "[1]", "ref": 3, "length": 1,
                                          "shape": "(1,)"}], "total": 1})
    bad("VariablesResult", {"variables": []}, "'total'")
    bad("VariablesResult", {"variables": [{"name": "b", "type": "str", "repr": "x" * 201}], "total": 1},
        "$.variables[0].repr")
    bad("VariablesResult", {"variables": [{"name": "b", "type": "str"}], "total": 1}, "'repr'")


# --------------------------------------------------------------------------- sessions, init
def test_sessions():
    bad("SessionListResult", {"sessions": [{"session": "a", "pid": 1, "backend": "asyncio",
                                            "state": "weird"}]}, "$.sessions[0].state")
    bad("SessionListResult", {"sessions": [{"session": "a", "pid": "1", "backend": "asyncio",
                                            "state": "idle"}]}, "$.sessions[0].pid")
    bad("SessionListResult", {"sessions": [{"session": "a", "backend": "asyncio",
                                            "state": "idle"}]}, "'pid'")
    bad("SessionOpenResult", {"session": "a", "pid": 1, "backend": "curio"}, "$.backend")
    bad("SessionOpenResult", {"session": "a", "pid": 1.0 + 0.5, "backend": "trio"}, "$.pid")
    bad("SessionRestartResult", {"session": "a", "pid": 3, "backend": "trio", "old": 2}, "old")
    for state in ("starting", "idle", "busy", "dead"):
        ok("StatusParams", {"session": "s", "state": state})
    bad("StatusParams", {"session": "s", "state": "running"}, "$.state")
    bad("StatusParams", {"state": "idle"}, "'session'")


def test_initialize_result():
    good = VALID["InitializeResult"]
    ok("InitializeResult", dict(good, backends=["asyncio"]))
    bad("InitializeResult", dict(good, protocolVersion=2), "$.protocolVersion")
    bad("InitializeResult", dict(good, protocolVersion="1"), "$.protocolVersion")
    bad("InitializeResult", dict(good, serverInfo={"name": "asyncoded"}), "'version'")
    bad("InitializeResult", dict(good, python={"version": "3.11"}), "'executable'")
    bad("InitializeResult", dict(good, capabilities={}), "capabilities")


@pytest.mark.parametrize("def_name", ["ShutdownResult", "SessionCloseResult", "ResetResult"])
def test_null_results(def_name):
    ok(def_name, None)
    bad(def_name, {})
    bad(def_name, True)


# --------------------------------------------------------------------------- notifications
def test_output_notification():
    good = VALID["OutputParams"]
    ok("OutputParams", dict(good, requestId=None, execCount=None))   # output no exec owns
    ok("OutputParams", dict(good, requestId="req-1", stream="stderr"))
    ok("OutputParams", dict(good, text=""))
    bad("OutputParams", dict(good, stream="stdin"), "$.stream")
    bad("OutputParams", dict(good, requestId=1.5), "$.requestId")
    bad("OutputParams", dict(good, requestId=True), "$.requestId")
    bad("OutputParams", dict(good, execCount="1"), "$.execCount")
    for key in ("session", "requestId", "execCount", "stream", "text"):
        p = dict(good)
        del p[key]
        bad("OutputParams", p, repr(key))


def test_display_log_input():
    ok("DisplayParams", dict(VALID["DisplayParams"], requestId=None, execCount=None))
    bad("DisplayParams", dict(VALID["DisplayParams"], data={"image/png": "x"}), "text/plain")
    for level in ("trace", "debug", "info", "warn", "error", "critical"):
        ok("LogParams", {"level": level, "message": "m"})
    bad("LogParams", {"level": "warning", "message": "m"}, "$.level")
    bad("LogParams", {"level": "info"}, "'message'")
    ok("InputParams", dict(VALID["InputParams"], password=True))
    bad("InputParams", dict(VALID["InputParams"], password="no"), "$.password")
    for kind in ("input", "password", "debugger"):
        ok("InputParams", dict(VALID["InputParams"], kind=kind))
    bad("InputParams", dict(VALID["InputParams"], kind="pdb"), "$.kind")
    ok("InputResult", {"value": "some text"})
    bad("InputResult", {"value": None}, "$.value")
    bad("InputResult", {}, "'value'")


# --------------------------------------------------------------------------- client params
def test_client_params_are_open_but_typed():
    ok("ExecParams", {"code": "1", "extra": "clients may send this"})
    ok("ExecParams", {"code": "1", "mode": "interactive", "session": "s", "filename": "a.py",
                      "silent": True, "timeoutMs": 500})
    bad("ExecParams", {"mode": "cell"}, "'code' is a required property")
    bad("ExecParams", {"code": "1", "mode": "eval"}, "$.mode")
    ok("CompileParams", {"code": "if x:"})
    ok("NeedsAwaitParams", {"code": "await x", "mode": "module"})
    ok("CompleteParams", {"code": "li", "cursor": 2})
    bad("CompleteParams", {"code": "li"}, "'cursor'")
    ok("CompleteParams", {"code": "p li", "cursor": 4, "debugger": True})
    bad("CompleteParams", {"code": "p li", "cursor": 4, "debugger": "yes"}, "$.debugger")
    bad("InspectParams", {"code": "a", "cursor": -1}, "$.cursor")
    ok("InterruptParams", {})
    ok("InterruptParams", {"session": "s", "graceMs": 100})
    ok("SessionOpenParams", {"session": "s", "backend": "trio", "syncInLoop": True, "cwd": "/tmp",
                             "env": {"A": "1"}, "python": "/venv"})
    bad("SessionOpenParams", {"backend": "curio"}, "$.backend")
    bad("SessionOpenParams", {"env": {"A": 1}}, "$.env.A")
    for name in ("SessionRestartParams", "SessionCloseParams", "VariablesParams", "ResetParams"):
        ok(name, {})
        ok(name, {"session": "x"})
        bad(name, {"session": 3}, "$.session")
    for name in ("ShutdownParams", "SessionListParams", "ExitParams"):
        ok(name, None)
        ok(name, {})
    ok("InitializeParams", {"clientInfo": {"name": "nvim"}, "capabilities": {"input": True},
                            "processId": 1})
    ok("CancelRequestParams", {"id": 3})
    ok("CancelRequestParams", {"id": "x"})
    bad("CancelRequestParams", {}, "'id'")


# --------------------------------------------------------------------------- envelopes
def test_envelopes():
    ok("Message", {"jsonrpc": "2.0", "id": 1, "method": "exec", "params": {"code": "1"}})
    ok("Message", {"jsonrpc": "2.0", "method": "exit"})
    ok("Message", {"jsonrpc": "2.0", "id": "a", "result": None})
    ok("Message", {"jsonrpc": "2.0", "id": None, "error": {"code": -32700,
                                                           "message": "Parse error"}})
    ok("ErrorResponse", {"jsonrpc": "2.0", "id": 4, "error": {"code": -32602, "message": "bad",
                                                              "data": {"why": "x"}}})
    bad("ErrorResponse", {"jsonrpc": "2.0", "id": 4, "error": {"code": "-32602",
                                                               "message": "bad"}}, "$.error.code")
    bad("ErrorResponse", {"jsonrpc": "2.0", "id": 4, "error": {"code": -32602}}, "'message'")
    bad("SuccessResponse", {"jsonrpc": "2.0", "id": 1, "result": 1, "error": {}}, "error")
    bad("SuccessResponse", {"jsonrpc": "2.0", "id": None, "result": 1}, "$.id")
    bad("SuccessResponse", {"jsonrpc": "1.0", "id": 1, "result": 1}, "$.jsonrpc")
    bad("Message", {"jsonrpc": "2.0", "id": 1})
    ok("RequestId", 0)
    ok("RequestId", "x")
    for wrong in (True, 1.5, None, [1]):
        bad("RequestId", wrong)


def test_validate_helper_raises():
    validate("ExecResult", VALID["ExecResult"])
    with pytest.raises(ValidationError):
        validate("ExecResult", {"status": "ok"})
    with pytest.raises(KeyError):
        validate("NoSuchDef", {})


# --------------------------------------------------------------------------- methods map
EXPECTED_METHODS = {
    "initialize": ("request", "client->daemon"), "shutdown": ("request", "client->daemon"),
    "exit": ("notification", "client->daemon"),
    "session/open": ("request", "client->daemon"), "session/restart": ("request", "client->daemon"),
    "session/close": ("request", "client->daemon"), "session/list": ("request", "client->daemon"),
    "session/attach": ("request", "client->daemon"),
    "compile": ("request", "client->daemon"), "needsAwait": ("request", "client->daemon"),
    "exec": ("request", "client->daemon"), "interrupt": ("request", "client->daemon"),
    "complete": ("request", "client->daemon"), "inspect": ("request", "client->daemon"),
    "variables": ("request", "client->daemon"), "reset": ("request", "client->daemon"),
    "$/cancelRequest": ("notification", "both"),
    "output": ("notification", "daemon->client"), "display": ("notification", "daemon->client"),
    "status": ("notification", "daemon->client"), "log": ("notification", "daemon->client"),
    "input": ("request", "daemon->client"),
    "stdin/read": ("request", "daemon->client"),
    # revision 1
    "execStart": ("notification", "daemon->client"), "clearOutput": ("notification", "daemon->client"),
    "taskError": ("notification", "daemon->client"),
    # asyncoded's extensions (the README's protocol section; not in PROTOCOL.md)
    "session/terminal": ("notification", "client->daemon"),
}


def test_methods_map_shape():
    assert {m: (e["kind"], e["direction"]) for m, e in METHODS.items()} == EXPECTED_METHODS
    for name, entry in SCHEMA["x-methods"].items():
        assert set(entry) <= {"kind", "direction", "params", "result"}, name
        assert entry["params"]["$ref"].split("/")[-1] in SCHEMA["$defs"], name
        if entry["kind"] == "request":
            assert entry["result"]["$ref"].split("/")[-1] in SCHEMA["$defs"], name
        else:
            assert "result" not in entry, name


def _resolve(def_name):
    d = SCHEMA["$defs"][def_name]
    while set(d) <= {"$ref", "description"} and "$ref" in d:
        d = SCHEMA["$defs"][d["$ref"].split("/")[-1]]
    return d


def test_daemon_output_closed_client_params_open():
    for name, e in METHODS.items():
        if e["direction"] == "both":  # $/cancelRequest: {id} both ways, checked with the client's rules
            continue
        daemon_made = [e["result"]] if e["direction"] == "client->daemon" else [e["params"]]
        client_made = [e["params"]] if e["direction"] == "client->daemon" else [e["result"]]
        for d in filter(None, daemon_made):
            sch = _resolve(d)
            assert sch.get("type") == "null" or sch.get("additionalProperties") is False, d
        for d in filter(None, client_made):
            assert _resolve(d).get("additionalProperties", True) is not False, d


def _protocol_md():
    candidates = [os.environ.get("ASYNCODE_PROTOCOL_MD"), REPO.parent / "shared" / "PROTOCOL.md",
                  REPO / "PROTOCOL.md", REPO / "docs" / "PROTOCOL.md"]
    for c in candidates:
        if c and pathlib.Path(c).is_file():
            return pathlib.Path(c).read_text(encoding="utf-8")
    pytest.skip("PROTOCOL.md not found (set ASYNCODE_PROTOCOL_MD)")


EXTENSIONS = {"stdin/read", "session/terminal"}  # not in PROTOCOL.md: the README's protocol section describes them


def test_every_method_of_protocol_md_is_mapped():
    text = _protocol_md()
    found = {}
    header = None
    for line in text.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            continue
        m = re.match(r"`([^`]+)`(.*)", cells[0])
        if not m:
            continue
        name = m.group(1)
        if header[:2] == ["name", "kind"]:
            found[name] = (cells[1], "daemon->client")
        else:
            kind = "notification" if "notification" in m.group(2) else "request"
            found[name] = (kind, "client->daemon")
    assert len(found) >= 20, found
    for name in re.findall(r"`(\$/[A-Za-z]+)", text):
        found.setdefault(name, ("notification", "client->daemon"))
    assert "$/cancelRequest" in found
    for name in re.findall(r"`(session/[a-z]+) \{", text):  # revision 1's prose: session/attach
        found.setdefault(name, ("request", "client->daemon"))
    missing = sorted(set(found) - set(METHODS))
    assert missing == [], "methods of PROTOCOL.md missing from x-methods: %s" % missing
    for name, (kind, direction) in found.items():
        if name == "$/cancelRequest":  # also daemon->client: asyncoded's extension (input)
            direction = "both"
        assert (METHODS[name]["kind"], METHODS[name]["direction"]) == (kind, direction), name
    # Revision 1 names its notifications in prose: `execStart {session, ...}`.
    found.update({name: ("notification", "daemon->client") for name in re.findall(r"`([A-Za-z]+) \{session", text)
                  if name in METHODS and name not in found})
    # asyncoded's own additive extensions, which the README's protocol section describes.
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in EXTENSIONS:
        assert "`%s" % name in readme, "the README does not describe the extension %s" % name
        found[name] = (METHODS[name]["kind"], METHODS[name]["direction"])
    extra = sorted(set(METHODS) - set(found))
    assert extra == [], "x-methods has methods PROTOCOL.md does not name: %s" % extra


# --------------------------------------------------------------------------- TrafficValidator
def _req(i, method, params=None):
    m = {"jsonrpc": "2.0", "id": i, "method": method}
    if params is not None:
        m["params"] = params
    return m


def _res(i, result):
    return {"jsonrpc": "2.0", "id": i, "result": result}


def _note(method, params):
    return {"jsonrpc": "2.0", "method": method, "params": params}


def _conversation(tv, capabilities_input=True):
    tv.on_client_message(_req(1, "initialize", {"clientInfo": {"name": "t"},
                                                "capabilities": {"input": capabilities_input}}))
    tv.on_daemon_message(_res(1, VALID["InitializeResult"]))
    tv.on_client_message(_req(2, "exec", {"code": "print(input('p> '))"}))
    tv.on_daemon_message(_note("status", {"session": "default", "state": "busy", "pid": 5}))


def test_traffic_clean_conversation():
    tv = TrafficValidator()
    _conversation(tv)
    tv.on_daemon_message(_req(900, "input", {"session": "default", "requestId": 2,
                                             "prompt": "p> ", "password": False}))
    tv.on_client_message(_res(900, {"value": "hi"}))
    tv.on_daemon_message(_note("output", dict(VALID["OutputParams"], requestId=2, text="hi\n")))
    tv.on_daemon_message(_note("output", dict(VALID["OutputParams"], requestId=None,
                                              execCount=None)))
    tv.on_daemon_message(_note("log", {"level": "debug", "message": "x"}))
    tv.on_daemon_message(_res(2, {"execCount": 1, "status": "ok", "durationMs": 3.2,
                                  "awaited": False}))
    tv.on_client_message(_req("c", "compile", {"code": "if x:"}))
    tv.on_daemon_message(_res("c", {"status": "incomplete", "needsAwait": False,
                                    "indent": "    "}))
    tv.on_client_message(_req(3, "session/list"))
    tv.on_daemon_message(_res(3, VALID["SessionListResult"]))
    tv.on_client_message(_req(4, "shutdown"))
    tv.on_daemon_message(_res(4, None))
    tv.on_client_message({"jsonrpc": "2.0", "method": "exit"})
    tv.assert_clean()
    assert tv.client_issues == []
    assert tv.pending_requests() == {}


def test_traffic_bad_result_reported_with_method_and_path():
    tv = TrafficValidator()
    _conversation(tv)
    tv.on_daemon_message(_res(2, {"execCount": 1, "status": "weird", "awaited": False}))
    text = "\n".join(tv.violations)
    assert "'exec'" in text and "$.result.status" in text and "durationMs" in text
    with pytest.raises(AssertionError, match="protocol violation"):
        tv.assert_clean()


def test_traffic_result_checked_against_method_of_that_id():
    tv = TrafficValidator()
    tv.on_client_message(_req(7, "needsAwait", {"code": "await x"}))
    tv.on_client_message(_req(8, "compile", {"code": "await x"}))
    tv.on_daemon_message(_res(8, {"status": "complete", "needsAwait": True}))
    tv.on_daemon_message(_res(7, {"status": "complete", "needsAwait": True}))
    tv.assert_clean()
    tv.on_client_message(_req(9, "needsAwait", {"code": "await x"}))
    tv.on_daemon_message(_res(9, {"status": "complete", "needsAwait": True, "indent": ""}))
    assert len(tv.violations) == 1 and "'needsAwait'" in tv.violations[0]


def test_traffic_unknown_notification_and_extra_keys():
    tv = TrafficValidator()
    tv.on_daemon_message(_note("progress", {"x": 1}))
    tv.on_daemon_message(_note("$/cancelRequest", {"id": 1}))  # withdraws an input request
    tv.on_daemon_message(_note("log", {"level": "info", "message": "m", "ts": 1}))
    tv.on_daemon_message({"jsonrpc": "2.0", "method": "status"})
    assert len(tv.violations) == 3, tv.violations
    assert "'progress'" in tv.violations[0]
    assert "ts" in tv.violations[1]


def test_traffic_envelope_problems():
    tv = TrafficValidator()
    tv.on_client_message(_req(1, "reset"))
    tv.on_client_message(_req(2, "reset"))
    tv.on_client_message(_req(3, "reset"))
    tv.on_daemon_message({"jsonrpc": "2.0", "id": 1, "result": None, "error": {"code": 1,
                                                                              "message": "m"}})
    tv.on_daemon_message({"id": 2, "result": None})
    tv.on_daemon_message({"jsonrpc": "2.0", "id": 3})
    tv.on_daemon_message("not an object")
    assert len(tv.violations) >= 4
    assert any("both result and error" in v for v in tv.violations)
    assert any("$.jsonrpc" in v for v in tv.violations)


def test_traffic_ids():
    tv = TrafficValidator()
    tv.on_client_message(_req(1, "reset"))
    tv.on_daemon_message(_res(1, None))
    tv.assert_clean()
    tv.on_daemon_message(_res(1, None))                      # answered twice
    tv.on_daemon_message(_res(77, None))                     # never asked
    tv.on_client_message(_req(5, "reset"))
    tv.on_daemon_message(_res("5", None))                    # id type changed
    assert len(tv.violations) == 3, tv.violations
    assert "second response" in tv.violations[0]
    loose = TrafficValidator(strict_ids=False)
    loose.on_daemon_message(_res(77, None))
    loose.on_daemon_message(_note("output", VALID["OutputParams"]))
    loose.assert_clean()


def test_traffic_error_responses():
    tv = TrafficValidator()
    tv.on_daemon_message({"jsonrpc": "2.0", "id": None,
                          "error": {"code": -32700, "message": "Parse error"}})
    tv.on_client_message({"jsonrpc": "2.0", "id": 90001, "params": {}})   # no method
    tv.on_daemon_message({"jsonrpc": "2.0", "id": 90001,
                          "error": {"code": -32600, "message": "Invalid Request"}})
    tv.on_client_message(_req(3, "no/such/method", {}))
    tv.on_daemon_message({"jsonrpc": "2.0", "id": 3,
                          "error": {"code": -32601, "message": "Method not found"}})
    tv.on_client_message(_req(4, "exec", {"code": "1"}))
    tv.on_daemon_message({"jsonrpc": "2.0", "id": 4,
                          "error": {"code": -32800, "message": "cancelled"}})
    tv.assert_clean()
    tv.on_client_message(_req(5, "no/such/method", {}))
    tv.on_daemon_message(_res(5, {}))
    tv.on_client_message(_req(6, "exec", {"code": "1"}))
    tv.on_daemon_message({"jsonrpc": "2.0", "id": 6, "error": {"code": -32603}})
    assert len(tv.violations) == 2, tv.violations
    assert "-32601" in tv.violations[0]


def test_traffic_client_params_never_violations():
    tv = TrafficValidator()
    tv.on_client_message(_req(1, "exec", {"mode": "eval"}))
    tv.on_client_message(_req(2, "complete", {"code": "x"}))
    tv.on_client_message(_req(3, "exec"))
    tv.on_client_message(_req(4, "variables"))                 # no params: fine
    tv.on_client_message({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {}})
    tv.assert_clean()
    assert len(tv.client_issues) == 5, tv.client_issues   # exec 1 has two problems


def test_traffic_input_capability_and_owner():
    tv = TrafficValidator()
    _conversation(tv, capabilities_input=False)
    tv.on_daemon_message(_req(900, "input", {"session": "default", "requestId": 2,
                                             "prompt": "", "password": False}))
    assert len(tv.violations) == 1 and "capabilities.input" in tv.violations[0]
    tv = TrafficValidator()
    _conversation(tv)
    tv.on_daemon_message(_note("output", dict(VALID["OutputParams"], requestId=1)))  # initialize
    tv.on_daemon_message(_note("display", dict(VALID["DisplayParams"], requestId=2)))
    tv.on_daemon_message(_req(901, "exec", {"code": "1"}))     # daemon may only request input
    assert len(tv.violations) == 2, tv.violations
    assert "not the id of an exec" in tv.violations[0]


def test_traffic_batch():
    tv = TrafficValidator()
    tv.on_daemon_message([_res(1, None)])
    assert "batch" in tv.violations[0]
    tv = TrafficValidator()
    tv.on_client_message([_req(1, "reset"), _req(2, "compile", {"code": "1"})])
    tv.on_daemon_message([_res(1, None), _res(2, {"status": "complete", "needsAwait": False})])
    tv.assert_clean()


def test_traffic_is_fast_enough():
    import time
    tv = TrafficValidator()
    tv.on_client_message(_req(1, "exec", {"code": "..."}))
    msg = _note("output", dict(VALID["OutputParams"], requestId=1, text="x" * 4096))
    t0 = time.perf_counter()
    for _ in range(5000):
        tv.on_daemon_message(msg)
    elapsed = time.perf_counter() - t0
    tv.assert_clean()
    assert elapsed < 5.0, "5000 output notifications took %.2fs" % elapsed


def test_examples_are_not_mutated():
    snapshot = copy.deepcopy(VALID)
    for name, inst in VALID.items():
        errors(name, inst)
    assert VALID == snapshot
    assert ps.SCHEMA_PATH.name == "protocol.schema.json"
