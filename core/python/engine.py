"""The session engine: runs execs in order on the main thread, with top-level await.

Jobs come from the C++ side (_asyncode_c.take_job). An exec whose code needs no `await`
runs while the event loop is stopped (or inside it with syncInLoop); one that needs
`await` runs as a task of the session's loop, which lives as long as the session. The
loop itself is a backend (backend_asyncio, backend_trio): the engine only asks it to
wait, pause, start an exec's task and cancel it.

Interrupts arrive as SIGINT sent to this thread, once each (shared/PROTOCOL.md,
"Interrupt"). The handler decides, in this thread and knowing what runs, what to do and
says so (_c.interrupt_acted): cancel the exec's task when it awaits, raise
KeyboardInterrupt when user code of the exec is running (or, when no exec runs, in the
task that holds the thread), or nothing when nothing runs. A signal landing in the
engine's own code is kept (deferred) until the exec's code starts.
"""
import _signal
import builtins
import contextvars
import os
import sys
import time
import warnings

import _asyncode_c as _c
from _asyncode import display as _display
from _asyncode import cells, debugging, errors, interrupts, introspect, sources, streams, terminal
from _asyncode.backend import IdleBackend

CO_COROUTINE = 0x0080
PyCF_ALLOW_TOP_LEVEL_AWAIT = 0x2000

# The engine's enums, defined once in core/types.h and exported by the native module.
from _asyncode_c import (HOW_CANCELLED, HOW_KEYBOARD_INTERRUPT, HOW_NONE, HOW_TASK_INTERRUPTED,  # noqa: E402,F401
                         REASON_INTERRUPT, REASON_TIMEOUT, STATUS_ERROR, STATUS_INTERRUPTED, STATUS_OK, STATUS_TIMEOUT)


class ExecState:
    __slots__ = ("seq", "count", "owner", "filename", "t0", "units", "kind", "awaited",
                 "in_user", "deferred", "reason", "how", "cancel_requested", "handle", "encoding")

    def __init__(self, seq, count, owner, filename, encoding="utf-32"):
        self.seq = seq
        self.count = count
        self.owner = owner
        self.filename = filename
        self.encoding = encoding    # the client's unit for the columns of its ErrorInfo
        self.t0 = time.perf_counter()
        self.units = ()
        self.kind = None            # "sync" or "async" once compiled
        self.awaited = False
        self.in_user = False        # user code of this exec is on the stack (sync execs)
        self.deferred = False       # an interrupt came while the engine's code ran
        self.reason = None          # REASON_* of the interrupt aimed at this exec
        self.how = HOW_NONE
        self.cancel_requested = False
        self.handle = None          # the backend's task or cancel scope


class Engine:
    def __init__(self):
        main = sys.modules["__main__"]
        self.ns = main.__dict__
        self.session_ctx = contextvars.copy_context()
        self.exec_count = 0
        self.future_flags = 0
        self.current = None
        self.stopping = False
        self.configured = False
        self.backend_name = "asyncio"
        self.sync_in_loop = False
        self.backend = IdleBackend(self)
        self._making_loop = False
        self.task_interrupted = False
        self.terminal = terminal.Terminal()
        self._install()

    # ---- set-up -------------------------------------------------------------------
    def _install(self):
        sys.stdout = sys.__stdout__ = streams.OutputStream(1, "<stdout>")
        sys.stderr = sys.__stderr__ = streams.OutputStream(2, "<stderr>")
        sys.stdin = sys.__stdin__ = streams.InputStream()
        try:
            streams.route_os_write(sys.stdout, sys.stderr)
        except OSError:
            pass  # fd 1 or 2 is closed: os.write stays as it is
        os.register_at_fork(after_in_child=streams.after_fork_in_child)
        sys.displayhook = self._displayhook
        builtins.display = _display.display
        builtins.update_display = _display.update_display
        builtins.clear_output = _display.clear_output
        builtins.input = _input
        _signal.signal(_signal.SIGINT, self._on_sigint)
        self.terminal.install()
        original = warnings._showwarnmsg

        def showwarnmsg(msg, _original=original):
            if not _c.warnings_suppressed():
                _original(msg)
        warnings._showwarnmsg = showwarnmsg
        from _asyncode import hooks
        hooks.install({"asyncio": self._on_asyncio_imported, "getpass": _patch_getpass, "pdb": debugging.patch_pdb,
                       "linecache": sources.linecache_imported,
                       "IPython.core.display_functions": _display.patch_ipython,
                       "IPython.core.display": _display.patch_ipython,
                       "IPython.display": _display.patch_ipython,
                       "ctypes": streams.patch_ctypes,
                       "shutil": self.terminal.patch_shutil})
        if "getpass" in sys.modules:
            _patch_getpass(sys.modules["getpass"])
        if "shutil" in sys.modules:
            self.terminal.patch_shutil(sys.modules["shutil"])
        if "" not in sys.path:
            sys.path.insert(0, "")  # like the REPL: modules in the working directory import

    def configure(self, backend, sync_in_loop, cwd, stdin_stream=False):
        if cwd:
            os.chdir(cwd)
        if stdin_stream:
            # The session's stdin is a byte stream on fd 0: sys.stdin is the file Python makes
            # of a pipe, and input() is Python's own, which reads it (prompt on stdout).
            sys.stdin = sys.__stdin__ = streams.stdin_file()
            builtins.input = _python_input
        self.backend_name = backend
        self.sync_in_loop = bool(sync_in_loop)
        self.configured = True
        self.terminal.apply()
        if backend == "trio":
            from _asyncode import backend_trio
            self._set_backend(backend_trio.TrioBackend(self))
        elif self.sync_in_loop or "asyncio" in sys.modules:
            self._use_asyncio()

    def _on_asyncio_imported(self, module):
        if self.configured and self.backend_name == "asyncio":
            self._use_asyncio()

    def _use_asyncio(self):
        if not isinstance(self.backend, IdleBackend) or self._making_loop:
            return
        self._making_loop = True  # importing the backend imports asyncio, whose hook calls here
        try:
            from _asyncode import backend_asyncio
            self._set_backend(backend_asyncio.AsyncioBackend(self, self.sync_in_loop))
            st = self.current
            if st is not None and st.kind == "sync" and st.in_user:
                self.backend.before_sync()  # `import asyncio` on a plain line: the rest of it sees the loop
        finally:
            self._making_loop = False

    def _set_backend(self, backend):
        self.backend = backend
        self.ns.update(backend.namespace())

    # ---- the main loop ------------------------------------------------------------
    def main(self):
        while not self.stopping:
            try:
                if self.current is None and not self.backend.pumps_in_loop:
                    job = _c.take_job()
                    if job is not None:
                        self.run_job(job)
                        self.backend.tick_if_starved()
                        continue
                self.backend.wait()
            except BaseException as e:  # noqa: B902 - nothing may end the session's loop
                self._stray(e)

    def pump(self):
        """Start queued jobs from inside the event loop (syncInLoop sessions)."""
        while self.current is None and not self.stopping:
            job = _c.take_job()
            if job is None:
                return
            self.run_job(job)

    def run_job(self, job):
        kind = job[0]
        if kind == "exec":
            self._begin_exec(*job[1:])
        elif kind == "reset":
            self._reset()
            _c.job_done(job[1], None)
        elif kind == "configure":
            try:
                self.configure(*job[2:])
                _c.job_done(job[1], None)
            except BaseException as e:  # noqa: B902
                _c.job_done(job[1], "%s: %s" % (type(e).__name__, e))
        elif kind == "preload":
            try:
                import asyncio  # noqa: F401 - a spare worker warms up while nobody waits
            except Exception:
                pass
        elif kind == "shutdown":
            self.stopping = True
            self.backend.pause()

    def _stray(self, exc):
        """An exception that reached the loop itself: report it, keep the session."""
        if isinstance(exc, (KeyboardInterrupt,)) and self.current is None:
            if not self.task_interrupted:
                return  # a late SIGINT handler of user code; nothing to stop
            self.task_interrupted = False  # a task that held the thread: show where it was
            try:
                sys.stderr.write(errors.error_info(exc)["formatted"])
            except BaseException:  # noqa: B902
                pass
            return
        try:
            info = errors.error_info(exc)
            sys.stderr.write("asyncode: the session's loop caught an exception:\n" + info["formatted"])
        except BaseException:  # noqa: B902
            pass

    # ---- execs ----------------------------------------------------------------------
    def _begin_exec(self, seq, code, mode, filename, silent, tag, first_line=1, encoding="utf-32"):
        if not silent:
            self.exec_count += 1
        count = None if silent else self.exec_count
        if not filename:
            filename = "<cell %d>" % count if count is not None else "<silent %d>" % seq
        st = ExecState(seq, count, _c.make_owner(tag, count), filename, encoding)
        self.current = st
        self.terminal.apply()  # COLUMNS and LINES for child processes, whoever handles SIGWINCH
        self.session_ctx.run(_c.OWNER.set, st.owner)
        _c.exec_started(seq, count)
        introspect.forget_refs()  # variables' refs last until the next exec starts
        lines = cells.source_lines(code)
        sources.remember(filename, lines, first_line)
        try:
            st.units = self._compile(code, mode, filename, first_line)
        except (SyntaxError, ValueError, OverflowError) as e:
            info = errors.error_info(e, compile_error=True, encoding=encoding, source=(first_line, lines))
            return self._finish(st, STATUS_ERROR, None, info)
        except BaseException as e:  # noqa: B902 - KeyboardInterrupt from a deferred interrupt
            return self._finish(st, *self._classify(st, e))
        errors.remember_snippet([c for c, _ in st.units], first_line, lines)
        st.awaited = any(c.co_flags & CO_COROUTINE for c, _ in st.units)
        if st.awaited:
            st.kind = "async"
            if st.deferred:  # interrupted while the engine compiled: cancelled as it starts
                st.deferred = False
                st.cancel_requested = True
                st.how = HOW_CANCELLED
                _c.interrupt_acted(HOW_CANCELLED)
            if isinstance(self.backend, IdleBackend):
                import asyncio  # noqa: F401 - the hook makes the session's loop
                self._use_asyncio()
            self.backend.start_exec(st, self._run_async(st))
        else:
            st.kind = "sync"
            self._run_sync(st)

    def _compile(self, code, mode, filename, first_line=1):
        units = cells.compile_units(code, mode, filename, PyCF_ALLOW_TOP_LEVEL_AWAIT | self.future_flags, first_line)
        self.future_flags |= cells.future_flags(units)
        return units

    def _run_sync(self, st):
        value = None
        self.backend.before_sync()
        try:
            try:
                st.in_user = True
                for code, is_tail in st.units:
                    if st.deferred:  # it came while the engine compiled: it stops here
                        st.deferred = False
                        st.how = HOW_KEYBOARD_INTERRUPT
                        _c.interrupt_acted(HOW_KEYBOARD_INTERRUPT)
                        raise KeyboardInterrupt
                    if is_tail:
                        value = self.session_ctx.run(eval, code, self.ns)
                    else:
                        self.session_ctx.run(exec, code, self.ns)
                # In the exec's context: a warning of a failing _repr_html_ is its output.
                result = self.session_ctx.run(self._result, value)
            finally:
                st.in_user = False
        except BaseException as e:  # noqa: B902 - user code may raise anything
            self.backend.after_sync()
            return self._finish(st, *self._classify(st, e))
        self.backend.after_sync()
        self._finish(st, STATUS_OK, result, None)

    async def _run_async(self, st):
        """The exec's task: never raises, so that nothing escapes into the loop. in_user is
        set only while the exec's own code (and what it calls) runs in it."""
        value = None
        try:
            for code, is_tail in st.units:
                st.in_user = True
                try:
                    r = eval(code, self.ns)
                    if code.co_flags & CO_COROUTINE:
                        r = await r
                finally:
                    st.in_user = False
                if is_tail:
                    value = r
            st.in_user = True  # repr() of the result is user code too
            try:
                result = self._result(value)
            finally:
                st.in_user = False
            return STATUS_OK, result, None
        except BaseException as e:  # noqa: B902
            return self._classify(st, e)

    def async_exec_done(self, st, outcome):
        """The backend calls this with the outcome of _run_async (or None when the task
        was cancelled before it ran)."""
        if outcome is None:
            status = STATUS_TIMEOUT if st.reason == REASON_TIMEOUT else STATUS_INTERRUPTED
            outcome = (status, None, {"type": "CancelledError", "message": "cancelled before it started",
                                      "traceback": [], "formatted": "CancelledError: cancelled before it started\n"})
        self._finish(st, *outcome)

    def _result(self, value):
        if value is None:
            return None
        self.ns["_"] = value
        return _display.format_bundle(value)

    def _classify(self, st, exc):
        debugging.remember_error(exc)
        interrupted = st.reason is not None and (
            isinstance(exc, KeyboardInterrupt)
            or (st.cancel_requested and self._is_cancellation(exc)))
        if interrupted:
            status = STATUS_TIMEOUT if st.reason == REASON_TIMEOUT else STATUS_INTERRUPTED
        else:
            status = STATUS_ERROR
        try:
            info = errors.error_info(exc, encoding=st.encoding)
        except BaseException as e:  # noqa: B902
            info = {"type": type(exc).__name__, "message": "", "traceback": [],
                    "formatted": "%s (formatting failed: %r)\n" % (type(exc).__name__, e)}
        return status, None, info

    def _is_cancellation(self, exc):
        check = getattr(self.backend, "is_cancellation", None)
        return bool(check and check(exc))

    def _finish(self, st, status, result, error):
        duration = (time.perf_counter() - st.t0) * 1000.0
        debugging.end_of_exec()
        self.current = None
        self.session_ctx.run(_c.OWNER.set, None)
        _c.exec_done(st.seq, st.count, status, result, error, duration, st.awaited, st.how)
        if st.deferred:  # an interrupt that came too late to stop anything
            st.deferred = False
            _c.interrupt_acted(HOW_NONE)
        self.backend.exec_finished()

    def _displayhook(self, value):
        """sys.displayhook: interactive mode's echo, as Python's REPL prints it."""
        if value is None:
            return
        self.ns["_"] = value
        text = repr(value)
        sys.stdout.write(text + "\n")

    def _reset(self):
        keep = {k: self.ns[k] for k in ("__name__", "__doc__", "__package__", "__loader__",
                                          "__spec__", "__builtins__") if k in self.ns}
        self.ns.clear()
        self.ns.update(keep)
        self.ns.update(self.backend.namespace())

    # ---- interrupts -----------------------------------------------------------------
    def _on_sigint(self, signum, frame):
        return interrupts.on_sigint(self, frame)


_python_input = builtins.input


def _input(prompt=""):
    """input(): asks the client (the exec's `input` request; of kind debugger when pdb asks)."""
    kind = _c.INPUT_DEBUGGER if debugging.asks_pdb(sys._getframe(1)) else _c.INPUT_INPUT
    return _c.input(str(prompt), kind)


def _patch_getpass(module):
    def getpass(prompt="Password: ", stream=None):
        return _c.input(str(prompt), _c.INPUT_PASSWORD)
    module.getpass = getpass


def available_backends():
    from importlib.machinery import PathFinder
    found = ["asyncio"]
    try:
        if PathFinder.find_spec("trio") is not None:
            found.append("trio")
    except (ImportError, ValueError):
        pass
    return found


def main():
    engine = Engine()
    _c.engine_ready(available_backends())
    engine.main()
