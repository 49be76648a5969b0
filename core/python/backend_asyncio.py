"""The asyncio backend: one event loop for the session's whole life (interface: backend.py).

Tasks an exec starts go on running while the session is idle. Sync execs run while the
loop is stopped (asyncio.run() works in them), or inside it with syncInLoop.
"""
import asyncio
import time
import weakref

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


class AsyncioBackend(Backend):
    name = "asyncio"

    def __init__(self, engine, sync_in_loop):
        super().__init__(engine)
        self.pumps_in_loop = sync_in_loop
        self.loop = self._new_loop()
        self.last_turn = time.monotonic()

    def _new_loop(self):
        loop = asyncio.new_event_loop()
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

    def after_sync(self):
        """User code may have run asyncio.run(), which leaves no current loop."""
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
