"""One daemon attached to this program: the daemon's own session protocol (the subset a
session needs), answered on the program's socket.

Requests, as asyncoded's clients send them (PROTOCOL.md): initialize (the unit of the
client's positions, for tracebacks' columns), session/open (the daemon's hello:
{session, pid, backend}), session/close (it detaches), exec and reset (in order, run in the
program's loop by the server's task), interrupt and $/cancelRequest, and compile,
needsAwait, complete, inspect and variables, which this link's own thread answers at once,
whatever the program's loop is doing. What attached code prints goes out as `output`
notifications carrying the exec's id, after its `execStart`; display() and clear_output()
(names the attach puts in the namespace, as a session has them as builtins) send `display`
and `clearOutput`; the program's own output is never touched.
"""
import json
import linecache
import os
import sys
import threading
import time

from . import _capture, _compiler
from ._core import display, errors, introspect

METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR, CANCELLED = -32601, -32602, -32603, -32800
_COMPILE_MODES = {"cell": "cell", "interactive": "single", "module": "exec"}
_introspect_lock = threading.Lock()
_ENCODINGS = ("utf-8", "utf-16", "utf-32")
# What attached code gets as names, as a session has them as builtins (the program's own
# names of these are left alone).
_DISPLAY_NAMES = ("display", "update_display", "clear_output")

display.set_sink(_capture.DisplaySink())


def _bundle(value):
    bundle = {}
    for mime, data, is_json in display.format_bundle(value):
        bundle[mime] = json.loads(data) if is_json else data
    return bundle


def _with_namespace(namespace, fn, *args):
    """introspect's functions read __main__'s namespace; the server's may be another."""
    with _introspect_lock:
        saved = introspect._namespace
        introspect._namespace = lambda: namespace
        try:
            return fn(*args)
        finally:
            introspect._namespace = saved


class Link:
    def __init__(self, server, wire, peer_pid):
        self.server = server
        self.wire = wire
        self.peer_pid = peer_pid
        self.runner = server.runner
        self.session = "default"
        self.seq = 0  # revision 1's per-session counter of output and display (the daemon renumbers)
        self.count = 0            # non-silent execs, as the daemon counts them
        self.silent = 0
        self.lock = threading.Lock()
        self.queued = {}          # request id (as JSON text) -> job not started yet
        self.running = None       # (id, done event, interrupts asked) of the exec that runs
        self.execs = []           # the same, of every exec not answered yet, oldest first
        self.closed = False
        self.encoding = "utf-32"  # the client's unit for columns (initialize)
        self.input_capable = False  # the client answers input requests (initialize)
        self.inputs = {}          # our input request's id -> [done event, answer message]
        self.next_input = 0

    # ---- the link's thread ------------------------------------------------------------
    def serve(self):
        try:
            while True:
                message = self.wire.read()
                self._dispatch(message)
        except (EOFError, OSError):
            pass
        except Exception as e:  # a daemon that speaks something else: the link ends
            _log("asyncode: the attached daemon's link failed: %s" % e)
        finally:
            self.close()

    def close(self):
        with self.lock:
            if self.closed:
                return
            self.closed = True
            self.queued.clear()
            for waiting in self.inputs.values():
                waiting[0].set()
            self.inputs.clear()
        self.wire.close()
        try:
            self.wire.sock.close()
        except OSError:
            pass
        self.server.forget(self)

    def _dispatch(self, message):
        method = message.get("method")
        params = message.get("params") or {}
        rid = message.get("id")
        if method is None and rid is not None and ("result" in message or "error" in message):
            return self._answered(rid, message)  # the answer to our input request
        if not isinstance(method, str) or not isinstance(params, dict):
            if rid is not None and "result" not in message and "error" not in message:
                self.wire.error(rid, -32600, "not a request")
            return
        if rid is None:  # a notification
            if method == "$/cancelRequest":
                self._cancel(params.get("id"))
            return
        handler = getattr(self, "_on_" + method.replace("/", "_").replace("$", ""), None)
        if handler is None:
            return self.wire.error(rid, METHOD_NOT_FOUND, "not served by an attached program: " + method)
        try:
            handler(rid, params)
        except (KeyError, TypeError, ValueError) as e:
            self.wire.error(rid, INVALID_PARAMS, "%s: %s" % (type(e).__name__, e))
        except Exception as e:
            self.wire.error(rid, INTERNAL_ERROR, "%s: %s" % (type(e).__name__, e))

    def _on_initialize(self, rid, params):
        capabilities = params.get("capabilities") or {}
        self.input_capable = bool(capabilities.get("input"))
        wanted = capabilities.get("positionEncodings") or []
        self.encoding = next((e for e in wanted if e in _ENCODINGS), "utf-32")
        from . import __version__
        self.wire.reply(rid, {
            "serverInfo": {"name": "asyncode", "version": __version__},
            "protocolVersion": 1, "protocolRevision": 1,
            "python": {"version": "%d.%d.%d" % sys.version_info[:3], "executable": sys.executable},
            "backends": [self.server.loop.name], "positionEncoding": self.encoding})

    def _on_session_open(self, rid, params):
        self.session = params.get("session") or "default"
        ns = self.server.namespace
        for name in _DISPLAY_NAMES:
            ns.setdefault(name, getattr(display, name))
        self.wire.reply(rid, {"session": self.session, "pid": os.getpid(), "backend": self.server.loop.name})

    def _on_session_close(self, rid, params):
        self.runner_interrupt_own()
        self.wire.reply(rid, None)
        self.close()

    def _on_compile(self, rid, params):
        r = _compiler.check(params["code"], _COMPILE_MODES[params.get("mode", "cell")])
        result = {"status": r.status, "needsAwait": r.needs_await}
        if r.indent is not None and r.status == "incomplete":
            result["indent"] = r.indent
        if r.error is not None:
            e = r.error
            result["error"] = {"type": e.type, "message": e.message, "line": e.line, "column": e.column}
            if e.end_line is not None:
                result["error"]["endLine"] = e.end_line
            if e.end_column is not None:
                result["error"]["endColumn"] = e.end_column
        self.wire.reply(rid, result)

    def _on_needsAwait(self, rid, params):
        r = _compiler.check(params["code"], _COMPILE_MODES[params.get("mode", "cell")])
        self.wire.reply(rid, {"needsAwait": r.needs_await, "status": r.status})

    def _on_complete(self, rid, params):
        matches, start, end, gave_up = _with_namespace(self.server.namespace, introspect.complete,
                                                       params["code"], int(params["cursor"]))
        items = [{"text": t, "type": k} if k else {"text": t} for t, k in matches]
        result = {"matches": items, "cursorStart": start, "cursorEnd": end}
        if gave_up:
            result["timedOut"] = True
        self.wire.reply(rid, result)

    def _on_inspect(self, rid, params):
        data, gave_up = _with_namespace(self.server.namespace, introspect.inspect, params["code"],
                                        int(params["cursor"]))
        result = {"found": True, "data": data} if data else {"found": False}
        if gave_up:
            result["timedOut"] = True
        self.wire.reply(rid, result)

    def _on_variables(self, rid, params):
        count = params.get("count")
        try:
            found, total = _with_namespace(self.server.namespace, introspect.variables, int(params.get("ref") or 0),
                                           int(params.get("start") or 0), -1 if count is None else int(count))
        except introspect.InvalidRef as e:
            self.wire.error(rid, INVALID_PARAMS, str(e))
            return
        entries = []
        for name, type_name, text, ref, length, shape in found:
            entry = {"name": name, "type": type_name, "repr": text}
            if ref:
                entry["ref"] = ref
            if length is not None:
                entry["length"] = length
            if shape is not None:
                entry["shape"] = shape
            entries.append(entry)
        self.wire.reply(rid, {"variables": entries, "total": total})

    def _on_exec(self, rid, params):
        if not isinstance(params.get("code"), str):
            raise TypeError("params.code: expected a string")
        # What an interrupt needs, from now on: one that comes before the exec starts stops it.
        entry = (rid, threading.Event(), {"interrupts": 0, "timeout": False})
        with self.lock:
            self.execs.append(entry)
        self._queue(rid, lambda r, p: self._exec(r, p, entry), params)

    def _on_reset(self, rid, params):
        self._queue(rid, self._reset, params)

    def _queue(self, rid, fn, params):
        key = repr(rid)
        with self.lock:
            self.queued[key] = True
        self.server.submit(self, lambda: self._start(key, rid, fn, params))

    def _on_interrupt(self, rid, params):
        grace = max(0, int(params.get("graceMs", 2000))) / 1000.0
        with self.lock:
            running = self.running or (self.execs[0] if self.execs else None)
        if running is None or params.get("force"):
            # Nothing runs; and nothing kills the program: force does nothing more.
            return self.wire.reply(rid, {"interrupted": False})
        threading.Thread(target=self._interrupt_and_wait, args=(rid, running, grace),
                         name="asyncode-interrupt", daemon=True).start()

    def _interrupt_and_wait(self, rid, running, grace):
        _, done, state = running
        awaited = any(getattr(r, "awaited", False) for r in list(self.runner._runs))
        state["interrupts"] += 1
        self.runner.interrupt()
        if done.wait(grace):
            how = "cancelled" if awaited else "keyboardInterrupt"
            self.wire.reply(rid, {"interrupted": True, "how": how})
        else:  # stuck in C code: a program is never killed, so this is where it ends
            self.wire.reply(rid, {"interrupted": False})

    def _cancel(self, rid):
        key = repr(rid)
        with self.lock:
            if self.queued.pop(key, None):
                for entry in [e for e in self.execs if repr(e[0]) == key]:
                    self.execs.remove(entry)
                    entry[1].set()
                self.wire.error(rid, CANCELLED, "cancelled before it ran")
                return
            running = self.running
        if running is not None and repr(running[0]) == key:
            running[2]["interrupts"] += 1
            self.runner.interrupt()

    def runner_interrupt_own(self):
        with self.lock:
            running = self.running
        if running is not None:
            self.runner.interrupt()

    # ---- input() of attached code ---------------------------------------------------------
    def ask_input(self, rid, prompt):
        """input() in attached code (the program's loop thread): an `input` request to the
        daemon, which asks its client. Ctrl-C while it waits withdraws it."""
        if not self.input_capable:
            raise EOFError("input(): the client cannot answer input requests (it did not declare capabilities.input)")
        with self.lock:
            self.next_input += 1
            key = "input-%d" % self.next_input
            waiting = self.inputs[key] = [threading.Event(), None]
        self.wire.send({"jsonrpc": "2.0", "id": key, "method": "input",
                        "params": {"session": self.session, "requestId": rid, "prompt": prompt, "password": False,
                                   "kind": "input"}})
        try:
            # In slices: an interrupt (an asynchronous KeyboardInterrupt) lands between them.
            while not waiting[0].wait(0.02):
                if self.closed:
                    raise EOFError("input(): the daemon went away")
        except BaseException:
            with self.lock:
                self.inputs.pop(key, None)
            self.wire.notify("$/cancelRequest", {"id": key})
            raise
        answer = waiting[1] or {}
        value = (answer.get("result") or {}).get("value") if isinstance(answer.get("result"), dict) else None
        if not isinstance(value, str):
            raise EOFError  # end of input, or the request was withdrawn
        return value

    def _answered(self, rid, message):
        with self.lock:
            waiting = self.inputs.pop(rid, None) if isinstance(rid, str) else None
        if waiting is not None:
            waiting[1] = message
            waiting[0].set()

    # ---- the program's loop (the server's task) ----------------------------------------
    async def _start(self, key, rid, fn, params):
        with self.lock:
            if self.closed or not self.queued.pop(key, None):
                return  # cancelled, or the daemon went away
        await fn(rid, params)

    async def _reset(self, rid, params):
        # The program's own names stay: what attached code added goes.
        ns = self.server.namespace
        for name in [k for k in ns if k not in self.server.own_names and k not in _DISPLAY_NAMES]:
            ns.pop(name, None)
        self.wire.reply(rid, None)

    async def _exec(self, rid, params, entry):
        silent = bool(params.get("silent", False))
        if silent:
            self.silent += 1
            count, name = None, "<silent %d>" % self.silent
        else:
            self.count += 1
            count, name = self.count, "<cell %d>" % self.count
        filename = params.get("filename") or name
        code = params["code"]
        with _introspect_lock:
            introspect.forget_refs()  # variables' refs last until the next exec starts
        linecache.cache[filename] = (len(code), None, code.splitlines(True) or [""], filename)
        started = time.monotonic()
        self.wire.notify("execStart", {"session": self.session, "requestId": rid, "execCount": count})
        _, done, state = entry
        with self.lock:
            self.running = entry
        timer = None
        if params.get("timeoutMs") is not None:
            timer = threading.Timer(float(params["timeoutMs"]) / 1000.0, self._timeout, (state,))
            timer.daemon = True
            timer.start()
        try:
            result = await self._run(rid, count, filename, code, params.get("mode", "cell"), state)
        finally:
            if timer is not None:
                timer.cancel()
            with self.lock:
                self.running = None
                if entry in self.execs:
                    self.execs.remove(entry)
            done.set()
        result["execCount"] = count if count is not None else self.count
        result["durationMs"] = (time.monotonic() - started) * 1000.0
        self.wire.reply(rid, result)

    def _timeout(self, state):
        state["timeout"] = True
        self.runner.interrupt()

    async def _run(self, rid, count, filename, code, mode, state):
        runner = self.runner
        encoding = self.encoding
        try:
            units = runner.compiler.compile_cell(code, filename, mode)
        except (SyntaxError, ValueError, OverflowError) as e:
            info = errors.error_info(e, compile_error=True, encoding=encoding,
                                     source=(1, code.splitlines(True)))
            return {"status": "error", "error": info, "awaited": False}
        about = {"session": self.session, "requestId": rid, "execCount": count}

        def sink(stream, text):
            self.seq += 1
            self.wire.notify("output", dict(about, stream=stream, text=text, seq=self.seq))

        def show(items, display_id, update, metadata_json):
            self.seq += 1
            params = dict(about, seq=self.seq,
                          data={mime: json.loads(data) if is_json else data for mime, data, is_json in items})
            if display_id is not None:
                params["displayId"] = display_id
            if update:
                params["update"] = True
            if metadata_json is not None:
                params["metadata"] = json.loads(metadata_json)
            self.wire.notify("display", params)

        def clear(wait):
            self.seq += 1
            self.wire.notify("clearOutput", dict(about, wait=bool(wait), seq=self.seq))

        runner.context.run(_capture.TARGET.set,
                           _capture.Capture(sink, True, True, runner._displayhook, show, clear,
                                            lambda prompt: self.ask_input(rid, prompt)))
        if state["interrupts"]:  # it came while the exec was on its way to the loop
            return {"status": "interrupted", "awaited": False,
                    "error": errors.error_info(KeyboardInterrupt("interrupted before it started"))}
        outcome = await runner.run(units, self.server.loop)
        result = {"awaited": outcome.awaited}
        exc = outcome.exception
        if exc is not None:
            result["error"] = errors.error_info(exc, encoding=encoding)
            if state["timeout"]:
                result["status"] = "timeout"
            elif outcome.interrupted:
                result["status"] = "interrupted"
            else:
                result["status"] = "error"
            return result
        result["status"] = "ok"
        if outcome.value is not None:
            self.server.namespace["_"] = outcome.value
            try:
                result["result"] = _bundle(outcome.value)
            except BaseException as e:  # noqa: B902 - a failing __repr__ is the exec's error
                return {"status": "error", "error": errors.error_info(e), "awaited": outcome.awaited}
        return result


def _log(text):
    stream = _capture.original("stderr") or sys.__stderr__
    try:
        stream.write(text + "\n")
    except Exception:
        pass
