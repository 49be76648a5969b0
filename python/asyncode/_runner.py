"""The console's core: compile with the daemon's rules, run in the program's own loop,
capture output per task, and tell how it went. No `code`-module API here: the console
(_console.py) is built on it, and so will be the daemon's side of an attached program.

Code that needs no `await` runs at once in the caller's thread, blocking the loop while it
runs (as a plain call would). Code that awaits runs as a task of the running loop (asyncio's
or Trio's). Both run in the runner's context, where the capture target is set: what that
code prints, and what the tasks it starts print, goes to the runner's sink; the program's
other tasks print where they always did. Context variables that the code sets stay for the
next inputs (the context is the runner's, not the caller's).

interrupt() stops what runs: a task that awaits is cancelled; code that runs at that moment
(sync code, or a task's code between two awaits, when the call comes from another thread)
gets KeyboardInterrupt at its next Python instruction.
"""
import contextvars
import functools
import os
import sys
import threading
import types
from typing import Any, NamedTuple, Optional

from . import _capture, _compiler, _loops, _native
from ._core import cells, errors

errors.add_engine_files(os.path.dirname(os.path.abspath(__file__)) + os.sep)


class Outcome(NamedTuple):
    value: Any                            # the tail's value ("cell" units), else None
    exception: Optional[BaseException]    # what the code raised (SystemExit too)
    awaited: bool                         # it ran as a task of the loop
    interrupted: bool                     # interrupt() stopped it


class _Run:
    """One input while it runs: what interrupt() needs to know to stop it."""

    def __init__(self, loop, awaited):
        self.loop = loop
        self.awaited = awaited
        self.lock = threading.RLock()  # RLock: a signal handler may interrupt() in this thread
        self.thread = None
        self.in_user = False           # the input's own code runs at this moment
        self.raised = False            # a KeyboardInterrupt is pending in self.thread
        self.requested = False
        self.handle = None             # the loop's task or cancel scope
        self.cancels = 0               # cancellations we asked of it

    def enter_user(self):
        with self.lock:
            self.thread = threading.get_ident()
            if self.requested and not self.awaited:
                raise KeyboardInterrupt  # it came before the code started
            self.in_user = True

    def leave_user(self):
        with self.lock:
            self.in_user = False
            if self.raised:  # it came too late: it must not land in what runs next
                self.raised = False
                _native.async_clear(self.thread)

    def attach(self, handle):
        """The loop made the task (or scope); on the loop's thread."""
        with self.lock:
            self.handle = handle
            if self.requested:
                self._cancel()

    def _cancel(self):
        with self.lock:
            if self.handle is not None:
                self.cancels += 1
                self.loop.cancel(self.handle)

    def interrupt(self):
        with self.lock:
            self.requested = True
            if self.in_user:
                if threading.get_ident() == self.thread:
                    if not self.awaited:
                        raise KeyboardInterrupt  # a signal handler, or the code itself
                elif not self.awaited or _in_user_frame(self.thread):
                    if not self.raised:
                        self.raised = _native.async_raise(self.thread)
                    return
        if self.awaited:
            try:
                self.loop.call_soon(self._cancel)
            except RuntimeError:
                pass


def _in_user_frame(thread):
    """Is that thread in code of its own (not the loop's, not ours)? The GIL is held."""
    frame = sys._current_frames().get(thread)
    return frame is not None and not errors.is_machinery_file(frame.f_code.co_filename)


class _Guarded:
    """`await coroutine`, with the run marked as running user code exactly while the
    coroutine's own steps run (not while the loop runs other tasks)."""

    __slots__ = ("coro", "run")

    def __init__(self, coro, run):
        self.coro = coro
        self.run = run

    def __await__(self):
        coro, run = self.coro, self.run
        value, error = None, None
        try:
            while True:
                run.enter_user()
                try:
                    if error is not None:
                        step, error = error, None
                        yielded = coro.throw(step)
                    else:
                        yielded = coro.send(value)
                except StopIteration as stop:
                    return stop.value
                finally:
                    run.leave_user()
                try:
                    value = yield yielded
                except BaseException as e:  # noqa: B902 - cancellation and the like: the coroutine's
                    value, error = None, e
        except BaseException:
            coro.close()
            raise


class Runner:
    def __init__(self, namespace, sink, *, stdout=True, stderr=True):
        self.namespace = namespace
        self.compiler = _compiler.CommandCompiler()
        self.capture = _capture.Capture(sink, stdout, stderr, self._displayhook)
        self.context = contextvars.copy_context()
        self.context.run(_capture.TARGET.set, self.capture)
        self._runs = set()

    # ---- compiling ---------------------------------------------------------------------
    def check(self, source, mode="single"):
        return self.compiler.check(source, mode)

    def compile(self, source, filename="<input>", symbol="single"):
        return self.compiler(source, filename, symbol)

    # ---- running -----------------------------------------------------------------------
    @property
    def running(self):
        return bool(self._runs)

    async def run(self, code, loop=None):
        """Run a code object (or [(code, is_tail)] from compile_cell) in the running loop."""
        units = [(code, False)] if isinstance(code, types.CodeType) else list(code)
        loop = loop or _loops.current()
        _capture.install()
        awaited = cells.needs_await(units)
        run = _Run(loop, awaited)
        self._runs.add(run)
        try:
            if awaited:
                body = functools.partial(self._async_body, units, run)
                value, exc = await loop.run_task(body, self.context.copy(), run)
            else:
                value, exc = self.context.copy().run(self._sync_body, units, run)
        finally:
            self._runs.discard(run)
        interrupted = run.requested and (isinstance(exc, KeyboardInterrupt) or loop.is_cancellation(exc))
        return Outcome(value, exc, awaited, interrupted)

    def interrupt(self):
        """Stop the running input(s); False when nothing runs. Any thread."""
        runs = list(self._runs)
        for run in runs:
            run.interrupt()
        return bool(runs)

    def _sync_body(self, units, run):
        value = None
        try:
            try:
                run.enter_user()
                for code, is_tail in units:
                    if is_tail:
                        value = eval(code, self.namespace)
                    else:
                        exec(code, self.namespace)
            finally:
                run.leave_user()
        except BaseException as e:  # noqa: B902 - the input may raise anything
            return None, e
        finally:
            self.context = contextvars.copy_context()
        return value, None

    async def _async_body(self, units, run):
        try:
            value = None
            for code, is_tail in units:
                run.enter_user()
                try:
                    result = eval(code, self.namespace)
                finally:
                    run.leave_user()
                if code.co_flags & cells.CO_COROUTINE:
                    result = await _Guarded(result, run)
                if is_tail:
                    value = result
            return value
        finally:
            self.context = contextvars.copy_context()

    def _displayhook(self, value):
        """Results of the 'single' symbol: their repr goes to the console's stdout and `_`
        is the runner's own (the program's builtins._ stays as it was)."""
        if value is None:
            return
        text = repr(value)
        sys.stdout.write(text + "\n")
        self.namespace["_"] = value
