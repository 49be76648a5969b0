"""The asyncio backend: one event loop for the session's whole life (interface: backend.py).

Tasks an exec starts go on running while the session is idle. Sync execs run while the
loop is stopped, or inside it with syncInLoop.

A sync exec's code (a "plain line") sees the session's loop as the running loop, as code of
`python -m asyncio` does: get_running_loop(), create_task(), all_tasks(), current_task()
(None) work, and what they schedule runs on the session's loop after the line. The loop is
only *marked* running for this thread (asyncio's C-level _set_running_loop, which its C
functions read); it does not turn meanwhile. So that asyncio.run() and a new loop's
run_until_complete() keep working there, as in a script, asyncio's own two checks for "another
loop is running" (events._get_running_loop, which only asyncio's Python code calls) do not
count that mark, and a loop that ends (events._set_running_loop(None)) puts it back.
run_until_complete()/run_forever() on the session's loop itself are refused with a clear error:
it runs between lines, not inside one.
"""
import _thread
import asyncio
import time
import weakref
from asyncio import events as _events

import _asyncode_c as _c
from _asyncode.backend import Backend

# A sync exec (or a run of them) may keep the loop stopped this long before the loop
# gets one turn, so background tasks keep ticking between pipelined execs.
_STARVE_SECONDS = 0.005


# The exec that started each task (its owner): an exception that escapes the task is reported
# as that exec's taskError, wherever the task is collected.
_task_owners = weakref.WeakKeyDictionary()


def _task_factory(loop, coro, context=None):
    task = asyncio.Task(coro, loop=loop, context=context)
    owner = context.get(_c.OWNER) if context is not None else _c.OWNER.get(None)
    if owner is not None:
        try:
            _task_owners[task] = owner
        except TypeError:
            pass
    return task


def _on_loop_exception(loop, context):
    """asyncio's "exception was never retrieved" (and the like): taskError for the exec that
    started the task, then asyncio's own report on stderr."""
    exc = context.get("exception")
    task = context.get("future") or context.get("task")
    if isinstance(exc, BaseException) and isinstance(task, asyncio.Future):
        try:
            from _asyncode import errors
            _c.task_error(_task_owners.get(task), errors.error_info(exc))
        except Exception:
            pass
    loop.default_exception_handler(context)


_REFUSED = ("the session's event loop is already running: it runs between lines, not inside one. "
            "Await the coroutine instead (top-level await), or run it on a loop of its own with asyncio.run()")


class _SessionLoop(asyncio.SelectorEventLoop):
    """The session's loop: refuses to be run from inside a plain line (it would run the
    session's tasks nested in the line, and stop when the engine wants it stopped)."""

    plain_line = False  # a sync exec's code runs, with this loop marked running

    def _check_running(self):
        if self.plain_line:
            raise RuntimeError(_REFUSED)
        super()._check_running()

    def is_running(self):  # as get_running_loop() says on a plain line
        return self.plain_line or super().is_running()


def _install_running_loop_checks(backend):
    """asyncio's Python-level checks that no other loop runs (Runner.run, run_forever) ignore
    the plain line's mark, and a loop that stops running on this thread restores it."""
    c_get, c_set = _events._get_running_loop, _events._set_running_loop
    main = _thread.get_ident()

    def _get_running_loop():
        loop = c_get()
        if loop is not None and loop is backend.marked and _thread.get_ident() == main:
            return None
        return loop

    def _set_running_loop(loop):
        if loop is None and backend.marked is not None and _thread.get_ident() == main:
            loop = backend.marked
        c_set(loop)

    _events._get_running_loop = _get_running_loop
    _events._set_running_loop = _set_running_loop
    return c_set


class AsyncioBackend(Backend):
    name = "asyncio"

    def __init__(self, engine, sync_in_loop):
        super().__init__(engine)
        self.pumps_in_loop = sync_in_loop
        self.marked = None  # the loop marked running for a plain line (none with syncInLoop)
        self._set_running = _install_running_loop_checks(self)
        self.loop = self._new_loop()
        self.last_turn = time.monotonic()

    def _new_loop(self):
        loop = _SessionLoop()
        asyncio.set_event_loop(loop)
        loop.add_reader(_c.wake_fd(), self._on_wake)
        loop.set_task_factory(_task_factory)
        loop.set_exception_handler(_on_loop_exception)
        return loop

    # ---- running ----------------------------------------------------------------
    def wait(self):
        loop = self._usable_loop()
        if self.pumps_in_loop and self.engine.current is None and _c.has_jobs():
            loop.call_soon(self.engine.pump)
        try:
            loop.run_forever()
        finally:
            self.last_turn = time.monotonic()

    def pause(self):
        if self.loop.is_running():
            self.loop.stop()

    def _on_wake(self):
        _c.drain_wake()
        engine = self.engine
        if engine.current is not None or not _c.has_jobs():
            return
        if self.pumps_in_loop:
            engine.pump()
        else:
            self.loop.stop()

    def exec_finished(self):
        if not _c.has_jobs() and not self.engine.stopping:
            return
        if self.pumps_in_loop and self.loop.is_running() and not self.engine.stopping:
            self.loop.call_soon(self.engine.pump)
        else:
            self.pause()

    def tick_if_starved(self):
        """One loop turn when sync execs have kept it stopped for a while."""
        if time.monotonic() - self.last_turn < _STARVE_SECONDS or self.loop.is_running():
            return
        loop = self._usable_loop()
        loop.call_soon(loop.stop)
        try:
            loop.run_forever()
        finally:
            self.last_turn = time.monotonic()

    def before_sync(self):
        """A plain line sees the session's loop as running (with syncInLoop it is)."""
        if self.pumps_in_loop or self.marked is not None:
            return
        loop = self._usable_loop()
        loop.plain_line = True
        self.marked = loop
        self._set_running(loop)

    def after_sync(self):
        """The mark goes; user code may have run asyncio.run(), which leaves no current loop."""
        marked, self.marked = self.marked, None
        if marked is not None:
            marked.plain_line = False
            self._set_running(None)
        try:
            policy = asyncio.get_event_loop_policy()
            if policy._local._loop is not self.loop:  # noqa: SLF001 - no public way to peek
                asyncio.set_event_loop(self.loop)
        except Exception:
            asyncio.set_event_loop(self.loop)

    def _usable_loop(self):
        if self.loop.is_closed():  # user code closed the session's loop: start a new one
            self.loop = self._new_loop()
        return self.loop

    # ---- execs --------------------------------------------------------------------
    def start_exec(self, st, coro):
        loop = self._usable_loop()
        task = loop.create_task(coro, context=self.engine.session_ctx)
        st.handle = task

        def done(t, st=st):
            if t.cancelled():
                outcome = None
            else:
                outcome = t.result()
            self.engine.async_exec_done(st, outcome)
        task.add_done_callback(done)
        if st.cancel_requested:  # interrupted before its task existed
            task.cancel()

    def cancel_exec_soon(self, st):
        task = st.handle
        if task is not None and not task.done():
            self.loop.call_soon_threadsafe(task.cancel)

    def exec_running_now(self, st):
        try:
            return st.handle is not None and asyncio.current_task(self.loop) is st.handle
        except RuntimeError:
            return False

    @staticmethod
    def is_cancellation(exc):
        return isinstance(exc, asyncio.CancelledError)
