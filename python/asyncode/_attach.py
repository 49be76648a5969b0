"""One daemon attached to this program: the daemon's own session protocol (the subset a
session needs), answered on the program's socket.

Requests, as asyncoded's clients send them (PROTOCOL.md): session/open (the daemon's hello:
{session, pid, backend}), session/close (it detaches), exec and reset (in order, run in the
program's loop by the server's task), interrupt and $/cancelRequest, and compile,
needsAwait, complete, inspect and variables, which this link's own thread answers at once,
whatever the program's loop is doing. What attached code prints goes out as `output`
notifications carrying the exec's id; the program's own output is never touched.
"""
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


def _bundle(value):
    import json
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

    def _on_session_open(self, rid, params):
        self.session = params.get("session") or "default"
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

    # ---- the program's loop (the server's task) ----------------------------------------
    async def _start(self, key, rid, fn, params):
        with self.lock:
            if self.closed or not self.queued.pop(key, None):
                return  # cancelled, or the daemon went away
        await fn(rid, params)

    async def _reset(self, rid, params):
        # The program's own names stay: what attached code added goes.
        ns = self.server.namespace
        for name in [k for k in ns if k not in self.server.own_names]:
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
        try:
            units = runner.compiler.compile_cell(code, filename, mode)
        except (SyntaxError, ValueError, OverflowError) as e:
            return {"status": "error", "error": errors.error_info(e, compile_error=True), "awaited": False}

        def sink(stream, text):
            self.seq += 1
            self.wire.notify("output", {"session": self.session, "requestId": rid, "execCount": count,
                                        "stream": stream, "text": text, "seq": self.seq})

        runner.context.run(_capture.TARGET.set, _capture.Capture(sink, True, True, runner._displayhook))
        if state["interrupts"]:  # it came while the exec was on its way to the loop
            return {"status": "interrupted", "awaited": False,
                    "error": errors.error_info(KeyboardInterrupt("interrupted before it started"))}
        outcome = await runner.run(units, self.server.loop)
        result = {"awaited": outcome.awaited}
        exc = outcome.exception
        if exc is not None:
            result["error"] = errors.error_info(exc)
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
