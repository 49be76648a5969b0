"""The Trio backend: one Trio run for the session's whole life, in guest mode.

Trio runs as a guest of a minimal host loop on the main thread (its I/O waits happen in a
thread of Trio's own). While the host loop runs, Trio runs; a sync exec runs between
host callbacks, so `trio.run(...)` works inside it as in a script. Execs that await run as
system tasks in a cancel scope the engine can cancel; the name `nursery` in the namespace
is a session nursery whose tasks outlive the exec that started them, and whose failures
are reported rather than ending the session's run.

The interface the engine uses is backend.py's.
"""
import collections
import contextvars
import functools
import os
import select
import signal
import sys

import trio

import _asyncode_c as _c
from _asyncode.backend import Backend
from trio._core._run import GLOBAL_RUN_CONTEXT  # to step out of the run during sync execs


class HostLoop:
    """Callbacks from any thread, run in order on the main thread."""

    def __init__(self):
        self.queue = collections.deque()
        self.rfd, self.wfd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.paused = False

    def call_soon_threadsafe(self, fn):
        self.queue.append(fn)
        try:
            os.write(self.wfd, b"\0")
        except (BlockingIOError, OSError):
            pass  # a wake-up is pending already

    def call_soon(self, fn):
        self.queue.append(fn)

    def wake(self):
        try:
            os.write(self.wfd, b"\0")
        except (BlockingIOError, OSError):
            pass

    def _drain(self):
        try:
            while os.read(self.rfd, 4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def run_ready(self):
        n = len(self.queue)
        while n and self.queue and not self.paused:
            n -= 1
            self.queue.popleft()()

    def run(self, on_jobs):
        """Until pause(): run callbacks; on engine jobs, call on_jobs()."""
        self.paused = False
        wake_fd = _c.wake_fd()
        while not self.paused:
            self.run_ready()
            if self.paused:
                break
            if self.queue:
                continue
            ready, _, _ = select.select([self.rfd, wake_fd], [], [])
            if self.rfd in ready:
                self._drain()
            if wake_fd in ready:
                _c.drain_wake()
                on_jobs()

    def pause(self):
        self.paused = True
        self.wake()


class SessionNursery:
    """`nursery` in a trio session: tasks outlive the exec that started them. A task that
    fails has its traceback printed (as output of the exec that started it) instead of
    cancelling every other task and ending the session's Trio run."""

    def __init__(self, nursery, token):
        self._nursery = nursery
        self._token = token

    @property
    def cancel_scope(self):
        return self._nursery.cancel_scope

    @property
    def child_tasks(self):
        return self._nursery.child_tasks

    def start_soon(self, async_fn, *args, name=None):
        start = functools.partial(self._nursery.start_soon, functools.partial(_guarded, async_fn), *args,
                                  name=name or async_fn)
        if getattr(GLOBAL_RUN_CONTEXT, "runner", None) is not None:
            start()
        else:
            # Code that does not await runs outside the Trio run: the task starts as soon as
            # the run goes on, in this code's context (so its output is this exec's).
            context = contextvars.copy_context()
            self._token.run_sync_soon(context.run, start)

    async def start(self, async_fn, *args, name=None):
        return await self._nursery.start(functools.partial(_guarded_start, async_fn), *args,
                                         name=name or async_fn)

    def __repr__(self):
        return "<session nursery with %d tasks>" % len(self._nursery.child_tasks)


def _report(exc):
    """A task of the session nursery failed: taskError for the exec that started it (the
    task's context names it), and the traceback on stderr."""
    from _asyncode import errors
    import _asyncode_c
    try:
        info = errors.error_info(exc)
        _asyncode_c.task_error(None, info)
        sys.stderr.write("A task of the session's nursery failed (the others go on):\n" + info["formatted"])
    except Exception:
        pass


async def _guarded(async_fn, *args):
    try:
        await async_fn(*args)
    except trio.Cancelled:
        raise
    except BaseException as e:  # noqa: B902 - one task must not end the session
        _report(e)


async def _guarded_start(async_fn, *args, task_status=trio.TASK_STATUS_IGNORED):
    started = False

    class _Status:
        def started(self, value=None):
            nonlocal started
            started = True
            task_status.started(value)

    try:
        await async_fn(*args, task_status=_Status())
    except trio.Cancelled:
        raise
    except BaseException as e:  # noqa: B902
        if not started:
            raise
        _report(e)


class TrioBackend(Backend):
    name = "trio"

    def __init__(self, engine):
        super().__init__(engine)
        self.host = HostLoop()
        self.token = None
        self.nursery = None
        self.exec_tasks = {}
        self.hidden_runner = None
        self.hidden_wakeup_fd = -1
        self._start()

    def _start(self):
        self.nursery = None
        trio.lowlevel.start_guest_run(
            self._session_main,
            run_sync_soon_threadsafe=self.host.call_soon_threadsafe,
            run_sync_soon_not_threadsafe=self.host.call_soon,
            done_callback=self._on_run_done,
        )
        while self.nursery is None:  # let the run come up: `nursery` must exist at once
            self.host.run_ready()
            if self.nursery is None:
                select.select([self.host.rfd], [], [], 0.05)
                self.host._drain()

    async def _session_main(self):
        self.token = trio.lowlevel.current_trio_token()
        async with trio.open_nursery() as nursery:
            self.nursery = SessionNursery(nursery, self.token)
            self.engine.ns["nursery"] = self.nursery
            await trio.sleep_forever()

    def _on_run_done(self, outcome):
        """The session's run ended (something escaped the session nursery): report it
        and start a new run, so the session lives on."""
        try:
            outcome.unwrap()
        except BaseException as e:  # noqa: B902
            _report(e)
        if not self.engine.stopping:
            self.host.call_soon(self._start)

    # ---- running ------------------------------------------------------------------
    def wait(self):
        self.host.run(self._on_jobs)

    def _on_jobs(self):
        if self.engine.current is None and _c.has_jobs():
            self.host.pause()

    def pause(self):
        self.host.pause()

    def tick_if_starved(self):
        self.host.run_ready()

    def before_sync(self):
        """A sync exec runs outside the Trio run: trio.run() must work inside it (so the
        run's thread-local state and its signal wake-up fd step aside meanwhile)."""
        runner = getattr(GLOBAL_RUN_CONTEXT, "runner", None)
        if runner is not None:
            self.hidden_runner = runner
            del GLOBAL_RUN_CONTEXT.runner
            self.hidden_wakeup_fd = signal.set_wakeup_fd(-1)

    def after_sync(self):
        if self.hidden_runner is not None:
            GLOBAL_RUN_CONTEXT.runner = self.hidden_runner
            self.hidden_runner = None
            signal.set_wakeup_fd(self.hidden_wakeup_fd, warn_on_full_buffer=False)

    # ---- execs --------------------------------------------------------------------
    def start_exec(self, st, coro):
        def spawn():
            trio.lowlevel.spawn_system_task(self._run_exec, st, coro, name="exec %d" % st.seq,
                                            context=self.engine.session_ctx)
        self.token.run_sync_soon(spawn)

    @trio.lowlevel.disable_ki_protection
    async def _run_exec(self, st, coro):
        # A system task: whatever escapes it would end the Trio run, so nothing does. The
        # coroutine (engine._run_async) catches the exec's own exceptions.
        outcome = None
        self.exec_tasks[st.seq] = trio.lowlevel.current_task()
        try:
            with trio.CancelScope() as scope:
                st.handle = scope
                if st.cancel_requested:
                    scope.cancel()
                outcome = await coro
        except BaseException:  # noqa: B902 - cancelled before the coroutine ran
            outcome = None
        finally:
            self.exec_tasks.pop(st.seq, None)
            # Finish outside the task (and its context): the host loop runs this next.
            self.host.call_soon(functools.partial(self.engine.async_exec_done, st, outcome))

    def cancel_exec_soon(self, st):
        scope = st.handle
        if scope is not None and self.token is not None:
            try:
                self.token.run_sync_soon(scope.cancel)
            except trio.RunFinishedError:
                pass

    def exec_running_now(self, st):
        try:
            return trio.lowlevel.current_task() is self.exec_tasks.get(st.seq)
        except RuntimeError:
            return False

    @staticmethod
    def ki_protected():
        try:
            return trio.lowlevel.currently_ki_protected()
        except Exception:
            return True

    @staticmethod
    def is_cancellation(exc):
        return isinstance(exc, trio.Cancelled)

    def namespace(self):
        return {"nursery": self.nursery}
