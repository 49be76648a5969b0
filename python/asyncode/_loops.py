"""The program's event loop, asyncio's or Trio's: what a console needs from it.

current() finds the loop the caller runs in (Trio first: a Trio run in guest mode may sit on
an asyncio loop). An adapter runs an input's coroutine as a task of that loop and cancels it
on request, starts the console's output task, and hands work over from other threads.

run_task(body, context, run) runs `await body()` in a task and returns (value, None), or
(None, exception) for whatever the input raised, SystemExit included: nothing the input
raises reaches the loop. A cancellation requested through run.cancel() is the input's
outcome too; one that comes from outside (the caller is cancelled) goes on outward.
"""
import contextvars
import sys
import threading


class NoLoopError(RuntimeError):
    pass


def current():
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            return TrioLoop(trio, trio.lowlevel.current_trio_token())
        except RuntimeError:
            pass
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None:
        try:
            return AsyncioLoop(asyncio, asyncio.get_running_loop())
        except RuntimeError:
            pass
    raise NoLoopError("asyncode: await this in a running asyncio or Trio program")


def _contains(exc, kind):
    """exc is a `kind`, or an exception group holding one."""
    if isinstance(exc, kind):
        return True
    return any(_contains(e, kind) for e in getattr(exc, "exceptions", None) or ())


class _Loop:
    def __init__(self, key):
        self.key = key                      # the same loop gives the same key
        self.thread = threading.get_ident()  # made on the loop's thread (current() is)

    def on_loop_thread(self):
        return threading.get_ident() == self.thread


class AsyncioLoop(_Loop):
    name = "asyncio"

    def __init__(self, asyncio, loop):
        super().__init__(loop)
        self.asyncio = asyncio
        self.loop = loop

    def call_soon(self, fn, *args):
        """fn(*args) on the loop's thread, from any thread. RuntimeError once it is closed."""
        if self.on_loop_thread():
            self.loop.call_soon(fn, *args)
        else:
            self.loop.call_soon_threadsafe(fn, *args)

    def spawn(self, async_fn, context):
        """A task of its own for async_fn() (the console's output); loop thread only."""
        self.loop.create_task(async_fn(), context=context)

    def event(self):
        return self.asyncio.Event()

    def is_cancellation(self, exc):
        return isinstance(exc, self.asyncio.CancelledError)

    def cancel(self, task):
        task.cancel()

    async def run_task(self, body, context, run):
        asyncio = self.asyncio

        async def task_main():
            try:
                return await body(), None
            except asyncio.CancelledError as e:
                # Ours only when no cancel() other than ours reached the task.
                if run.cancels and asyncio.current_task().cancelling() <= run.cancels:
                    return None, e
                raise
            except BaseException as e:  # noqa: B902 - SystemExit, KeyboardInterrupt: the input's
                return None, e

        task = self.loop.create_task(task_main(), context=context)
        run.attach(task)
        return await task  # a caller cancelled here cancels the task too

    async def to_thread(self, fn, *args):
        """fn(*args) in a daemon thread (one that never holds the program's exit up)."""
        loop = self.loop
        future = loop.create_future()

        def settle(result, exc):
            if not future.done():
                if exc is not None:
                    future.set_exception(exc)
                else:
                    future.set_result(result)

        def thread_main():
            try:
                result, exc = fn(*args), None
            except BaseException as e:  # noqa: B902 - EOFError, KeyboardInterrupt: the caller's
                result, exc = None, e
            try:
                loop.call_soon_threadsafe(settle, result, exc)
            except RuntimeError:
                pass  # the loop is closed: nobody waits any more

        threading.Thread(target=thread_main, name="asyncode-thread", daemon=True).start()
        return await future


class TrioLoop(_Loop):
    name = "trio"

    def __init__(self, trio, token):
        super().__init__(token)
        self.trio = trio
        self.token = token

    def call_soon(self, fn, *args):
        try:
            self.token.run_sync_soon(fn, *args)
        except self.trio.RunFinishedError as e:
            raise RuntimeError("the Trio run is over") from e

    def spawn(self, async_fn, context):
        # A system task: it is not the child of whichever input happened to print first.
        self.trio.lowlevel.spawn_system_task(async_fn, context=context)

    def event(self):
        return self.trio.Event()

    def is_cancellation(self, exc):
        return isinstance(exc, self.trio.Cancelled)

    def cancel(self, scope):
        scope.cancel()

    async def run_task(self, body, context, run):
        trio = self.trio
        outcome = None

        async def task_main():
            nonlocal outcome
            cancelled = None
            try:
                with trio.CancelScope() as scope:
                    run.attach(scope)
                    try:
                        outcome = (await body(), None)
                    except BaseException as e:  # noqa: B902
                        if _contains(e, trio.Cancelled):
                            cancelled = e
                            raise  # Trio's to take apart: the scope keeps what is ours
                        outcome = (None, e)
            except BaseException as e:  # noqa: B902
                if _contains(e, trio.Cancelled):
                    raise  # a cancellation from outside: the caller's
                outcome = (None, e)  # what was left of a group once our cancellation was taken out
                return
            if scope.cancelled_caught and outcome is None:
                outcome = (None, cancelled)

        # The input's task: a child of the caller (in a nursery of its own), in the console's
        # context (start_soon copies the context it is called in).
        async with trio.open_nursery() as nursery:
            context.run(nursery.start_soon, task_main)
        return outcome

    async def to_thread(self, fn, *args):
        return await self.trio.to_thread.run_sync(fn, *args, cancellable=True)


def empty_context():
    """A context without a console's capture: for the console's own tasks."""
    from ._capture import TARGET
    context = contextvars.copy_context()
    context.run(TARGET.set, None)
    return context
