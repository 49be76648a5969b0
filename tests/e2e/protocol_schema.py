"""Check asyncoded's wire traffic against schema/protocol.schema.json.

Usage in an end-to-end test::

    tv = TrafficValidator()
    tv.on_client_message(request_dict)      # every message the test sends
    tv.on_daemon_message(message_dict)      # every message the daemon sends
    ...
    tv.assert_clean()

Only the standard library and jsonschema (Draft 2020-12) are used. Validators are compiled once per
$def and shared; validation is serialized by a lock because jsonschema's RefResolver keeps a scope
stack per validator and is not thread-safe.
"""

from __future__ import annotations

import json
import pathlib
import threading
from typing import Any, Iterable

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

SCHEMA_PATH = (pathlib.Path(__file__).resolve().parent / ".." / ".." / "schema"
               / "protocol.schema.json").resolve()

with open(SCHEMA_PATH, encoding="utf-8") as _f:
    SCHEMA: dict[str, Any] = json.load(_f)

DEFS: dict[str, Any] = SCHEMA["$defs"]


def _def_name(ref: dict[str, str] | None) -> str | None:
    if not ref:
        return None
    prefix = "#/$defs/"
    target = ref["$ref"]
    if not target.startswith(prefix):
        raise ValueError("x-methods may only point into $defs: %r" % target)
    return target[len(prefix):]


#: method name -> {"kind", "direction", "params": def name, "result": def name or None}
METHODS: dict[str, dict[str, Any]] = {
    name: {
        "kind": entry["kind"],
        "direction": entry["direction"],
        "params": _def_name(entry.get("params")),
        "result": _def_name(entry.get("result")),
    }
    for name, entry in SCHEMA["x-methods"].items()
}

CLIENT_TO_DAEMON = "client->daemon"
DAEMON_TO_CLIENT = "daemon->client"
BOTH = "both"  # $/cancelRequest: the daemon withdraws its own input requests with it

_LOCK = threading.RLock()
_VALIDATORS: dict[str, Draft202012Validator] = {}
_MAX_TEXT = 300


def validator_for(def_name: str) -> Draft202012Validator:
    """The compiled validator of one $def (created on first use, then cached)."""
    with _LOCK:
        v = _VALIDATORS.get(def_name)
        if v is None:
            if def_name not in DEFS:
                raise KeyError("no $defs entry %r in %s" % (def_name, SCHEMA_PATH))
            v = Draft202012Validator({
                "$schema": SCHEMA["$schema"],
                "$defs": DEFS,
                "$ref": "#/$defs/" + def_name,
            })
            _VALIDATORS[def_name] = v
        return v


def _clip(text: str, limit: int = _MAX_TEXT) -> str:
    return text if len(text) <= limit else text[:limit] + "...(%d chars)" % len(text)


def _short(obj: Any) -> str:
    try:
        text = json.dumps(obj, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        text = repr(obj)
    return _clip(text, 200)


def _json_path(prefix: str, parts: Iterable[Any]) -> str:
    out = prefix
    for p in parts:
        if isinstance(p, int):
            out += "[%d]" % p
        elif isinstance(p, str) and p.isidentifier():
            out += "." + p
        else:
            out += "[%s]" % json.dumps(p)
    return out


def _describe(err: ValidationError, prefix: str) -> str:
    # anyOf/oneOf errors say only "not valid under any of the given schemas": show the best
    # matching sub-error, which names the real problem.
    deepest = err
    while deepest.context:
        deepest = best_match(deepest.context)
    path = _json_path(prefix, err.absolute_path)
    msg = _clip(err.message)
    if deepest is not err:
        sub = _json_path(prefix, deepest.absolute_path)
        msg += " (%s: %s)" % (sub, _clip(deepest.message))
    return "%s: %s" % (path, msg)


def errors(def_name: str, instance: Any, prefix: str = "$") -> list[str]:
    """Readable descriptions ("<json path>: <schema message>") of everything wrong with
    instance under $defs/def_name; empty when it is valid. prefix starts every path."""
    v = validator_for(def_name)
    with _LOCK:
        errs = sorted(v.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
        return [_describe(e, prefix) for e in errs]


def is_valid(def_name: str, instance: Any) -> bool:
    v = validator_for(def_name)
    with _LOCK:
        return v.is_valid(instance)


def validate(def_name: str, instance: Any) -> None:
    """Raise jsonschema.ValidationError (the most relevant error) when instance is not valid
    under $defs/def_name; return None otherwise."""
    v = validator_for(def_name)
    with _LOCK:
        err = best_match(v.iter_errors(instance))
    if err is not None:
        raise err


def _id_key(i: Any) -> tuple:
    """A hashable key for a JSON-RPC id that keeps 1, "1", 1.0 and true apart."""
    if isinstance(i, bool) or not isinstance(i, (int, str)):
        return ("json", json.dumps(i, sort_keys=True, default=repr))
    return ("str" if isinstance(i, str) else "int", i)


class TrafficValidator:
    """Checks every message the daemon sends against the schema.

    Client messages are only recorded (request id -> method, exec ids, whether initialize asked
    for capabilities.input); problems in them are listed in `client_issues` but never count as
    violations, since a test may send bad params on purpose.

    strict_ids: when true (the default), a response to an id the client never sent (or already
    got an answer for), and an output/display/input whose requestId is not an exec the client
    sent, are violations. Turn it off when the validator does not see every client message.
    """

    def __init__(self, *, strict_ids: bool = True) -> None:
        self.strict_ids = strict_ids
        self.violations: list[str] = []
        self.client_issues: list[str] = []
        self.daemon_messages = 0
        self._pending: dict[tuple, str] = {}        # client request id -> method, unanswered
        self._answered: set[tuple] = set()
        self._exec_ids: set[tuple] = set()
        self._daemon_requests: dict[tuple, str] = {}  # daemon->client request id -> method
        self._input_capability: bool | None = None  # None until initialize is seen
        self._client_sent_batch = False
        self._lock = threading.RLock()

    # ---------------------------------------------------------------- client side
    def on_client_message(self, msg: Any) -> None:
        """Record a message the client sent (a dict, or a list for a JSON-RPC batch)."""
        with self._lock:
            if isinstance(msg, list):
                self._client_sent_batch = True
                for item in msg:
                    self._on_client_one(item)
            else:
                self._on_client_one(msg)

    def _on_client_one(self, msg: Any) -> None:
        if not isinstance(msg, dict):
            return
        method = msg.get("method")
        if "method" not in msg and ("result" in msg or "error" in msg):
            # the client's answer to a daemon->client request (input)
            key = _id_key(msg.get("id"))
            answered = self._daemon_requests.pop(key, None)
            spec = METHODS.get(answered) if answered else None
            if spec and "result" in msg and spec["result"]:
                for e in errors(spec["result"], msg["result"], "$.result"):
                    self.client_issues.append("client answer to %r: %s" % (answered, e))
            return
        if "id" in msg:
            # a request, even a malformed one: the daemon must answer this id exactly once
            key = _id_key(msg["id"])
            self._pending[key] = method if isinstance(method, str) else ""
            self._answered.discard(key)
            if method == "exec":
                self._exec_ids.add(key)
            if method == "initialize":
                params = msg.get("params")
                caps = params.get("capabilities") if isinstance(params, dict) else None
                self._input_capability = isinstance(caps, dict) and caps.get("input") is True
        if not isinstance(method, str):
            return
        spec = METHODS.get(method)
        kind = "request" if "id" in msg else "notification"
        if spec and spec["direction"] in (CLIENT_TO_DAEMON, BOTH) and spec["kind"] == kind:
            # omitted params mean "no params": the same as {} for every method of the protocol,
            # and so does an empty array (revision 1: Lua encodes {} as [])
            params = msg["params"] if "params" in msg else {}
            if params == []:
                params = {}
            for e in errors(spec["params"], params, "$.params"):
                self.client_issues.append("client %s %r: %s" % (kind, method, e))
        else:
            self.client_issues.append("client %s %r: not a %s of the protocol"
                                      % (kind, method, kind))

    # ---------------------------------------------------------------- daemon side
    def on_daemon_message(self, msg: Any) -> None:
        """Validate one message the daemon sent (a dict, or a list for a batch answer)."""
        with self._lock:
            self.daemon_messages += 1
            if isinstance(msg, list):
                if not self._client_sent_batch:
                    self._fail(msg, "message", "$", "a JSON array (batch) although the client "
                                                     "never sent a batch")
                elif not msg:
                    self._fail(msg, "message", "$", "an empty batch")
                for item in msg:
                    self._on_daemon_one(item)
            else:
                self._on_daemon_one(msg)

    def _fail(self, msg: Any, what: str, path: str, problem: str) -> None:
        self.violations.append("daemon %s: %s: %s -- in %s" % (what, path, problem, _short(msg)))

    def _check(self, msg: Any, what: str, def_name: str, instance: Any, prefix: str) -> None:
        for e in errors(def_name, instance, prefix):
            self.violations.append("daemon %s: %s -- in %s" % (what, e, _short(msg)))

    def _on_daemon_one(self, msg: Any) -> None:
        if not isinstance(msg, dict):
            self._fail(msg, "message", "$", "not a JSON object")
            return
        if msg.get("jsonrpc") != "2.0":
            self._fail(msg, "message", "$.jsonrpc", "must be \"2.0\", got %s" % _short(
                msg.get("jsonrpc", "<missing>")))
        if "method" in msg:
            if "result" in msg or "error" in msg:
                self._fail(msg, "message", "$", "has both method and result/error")
            if "id" in msg:
                self._daemon_request(msg)
            else:
                self._daemon_notification(msg)
        elif "result" in msg or "error" in msg:
            self._daemon_response(msg)
        else:
            self._fail(msg, "message", "$", "neither a request/notification (method) nor a "
                                            "response (result or error)")

    def _daemon_notification(self, msg: dict) -> None:
        method = msg.get("method")
        what = "notification %r" % (method,)
        self._check(msg, what, "Notification", msg, "$")
        spec = METHODS.get(method) if isinstance(method, str) else None
        if not spec or spec["kind"] != "notification" or spec["direction"] not in (DAEMON_TO_CLIENT, BOTH):
            self._fail(msg, what, "$.method", "not a notification the daemon may send "
                                              "(output, display, status, log)")
            return
        if "params" not in msg:
            self._fail(msg, what, "$.params", "missing")
            return
        self._check(msg, what, spec["params"], msg["params"], "$.params")
        if method in ("output", "display"):
            self._check_owner(msg, what)

    def _check_owner(self, msg: dict, what: str) -> None:
        params = msg.get("params")
        if not (self.strict_ids and isinstance(params, dict)):
            return
        rid = params.get("requestId")
        if rid is None or not isinstance(rid, (int, str)) or isinstance(rid, bool):
            return
        if _id_key(rid) not in self._exec_ids:
            self._fail(msg, what, "$.params.requestId",
                       "%s is not the id of an exec request the client sent" % _short(rid))

    def _daemon_request(self, msg: dict) -> None:
        method = msg.get("method")
        what = "request %r" % (method,)
        self._check(msg, what, "Request", msg, "$")
        spec = METHODS.get(method) if isinstance(method, str) else None
        if not spec or spec["kind"] != "request" or spec["direction"] != DAEMON_TO_CLIENT:
            self._fail(msg, what, "$.method", "not a request the daemon may send (input)")
            return
        if "params" not in msg:
            self._fail(msg, what, "$.params", "missing")
        else:
            self._check(msg, what, spec["params"], msg["params"], "$.params")
        if method == "input":
            if self._input_capability is False:
                self._fail(msg, what, "$", "sent to a client whose initialize did not set "
                                          "capabilities.input")
            self._check_owner(msg, what)
        rid = msg.get("id")
        if isinstance(rid, (int, str)) and not isinstance(rid, bool):
            key = _id_key(rid)
            if key in self._daemon_requests:
                self._fail(msg, what, "$.id", "reuses the id of a daemon request still "
                                              "unanswered")
            self._daemon_requests[key] = method

    def _daemon_response(self, msg: dict) -> None:
        has_result, has_error = "result" in msg, "error" in msg
        rid = msg.get("id")
        if has_result and has_error:
            self._fail(msg, "response", "$", "has both result and error")
            return
        if "id" not in msg:
            self._fail(msg, "response", "$.id", "missing")
            return
        method = None
        if rid is not None:
            key = _id_key(rid)
            method = self._pending.pop(key, None)
            if method is None:
                if self.strict_ids:
                    if key in self._answered:
                        self._fail(msg, "response", "$.id", "second response to id %s"
                                   % _short(rid))
                    else:
                        self._fail(msg, "response", "$.id", "id %s is not a pending request "
                                   "of the client" % _short(rid))
            else:
                self._answered.add(key)
        what = "response to %r" % (method or "?",)
        if has_error:
            self._check(msg, what, "ErrorResponse", msg, "$")
            return
        self._check(msg, what, "SuccessResponse", msg, "$")
        if rid is None:
            return  # already reported by the envelope check: a result needs a real id
        if method is None:
            return
        spec = METHODS.get(method)
        if not spec or spec["kind"] != "request" or spec["direction"] not in (CLIENT_TO_DAEMON, BOTH):
            self._fail(msg, what, "$.result", "a result for a method the daemon does not "
                                              "have (expected error -32601)")
            return
        self._check(msg, what, spec["result"], msg["result"], "$.result")

    # ---------------------------------------------------------------- reporting
    def assert_clean(self) -> None:
        """Raise AssertionError listing every violation seen so far."""
        with self._lock:
            if not self.violations:
                return
            shown = self.violations[:50]
            more = len(self.violations) - len(shown)
            text = "%d protocol violation(s) in %d daemon message(s):\n%s" % (
                len(self.violations), self.daemon_messages,
                "\n".join("  - " + v for v in shown))
            if more:
                text += "\n  ... and %d more" % more
            raise AssertionError(text)

    def pending_requests(self) -> dict[Any, str]:
        """Client requests not answered yet: {id: method} (ids as sent)."""
        with self._lock:
            return {k[1] if k[0] != "json" else json.loads(k[1]): m
                    for k, m in self._pending.items()}


__all__ = ["SCHEMA", "SCHEMA_PATH", "DEFS", "METHODS", "TrafficValidator", "validate",
           "errors", "is_valid", "validator_for"]
