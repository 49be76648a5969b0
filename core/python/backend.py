"""What the engine needs from an event loop: the backend interface.

A backend is one file (backend_asyncio.py, backend_trio.py); adding curio or anyio's
loop is one more subclass of Backend. The engine runs on the main thread and calls:

  wait()                  Run the loop until pause() is called (the engine then runs a job
                          outside the loop: a sync exec, a reset). The loop must also wake
                          when _asyncode_c.wake_fd() turns readable: that is how work posted
                          from other threads (the I/O thread's jobs) arrives. When the
                          engine is idle (engine.current is None) and _asyncode_c.has_jobs(),
                          the backend pauses so that the engine takes the job.
  pause()                 Make wait() return soon. Safe from a signal handler.
  start_exec(st, coro)    Run the exec's coroutine (engine._run_async, which never raises)
                          as a task of the session, in the session's context
                          (engine.session_ctx), so context variables persist across execs;
                          set st.handle to what cancel_exec_soon() needs; when the task is
                          over, call engine.async_exec_done(st, outcome) from outside the
                          task (outcome None: cancelled before it ran).
  cancel_exec_soon(st)    Cancel that task (asyncio: Task.cancel; trio: its CancelScope).
                          Called from the SIGINT handler: only schedules.
  exec_running_now(st)    Is the exec's own task running this very moment? (The SIGINT
                          handler then raises KeyboardInterrupt in it instead of cancelling.)
  namespace()             Names every session of this backend offers (trio: `nursery`,
                          where user code spawns tasks that outlive the exec).

and, with defaults below: exec_finished() after each exec (pause when jobs wait),
before_sync()/after_sync() around sync user code, tick_if_starved() between sync execs
(let tasks run), ki_protected() (the loop's own code must not get KeyboardInterrupt),
is_cancellation(exc) (the loop's cancellation exception), pumps_in_loop (True when jobs
start inside the loop: asyncio's syncInLoop).
"""
import _asyncode_c as _c


class Backend:
    name = "?"
    pumps_in_loop = False

    def __init__(self, engine):
        self.engine = engine

    # ---- required ---------------------------------------------------------------
    def wait(self):
        raise NotImplementedError

    def pause(self):
        raise NotImplementedError

    def start_exec(self, st, coro):
        raise NotImplementedError

    def cancel_exec_soon(self, st):
        raise NotImplementedError

    def exec_running_now(self, st):
        return False

    def namespace(self):
        return {}

    # ---- with defaults --------------------------------------------------------------
    def exec_finished(self):
        if _c.has_jobs() or self.engine.stopping:
            self.pause()

    def before_sync(self):
        pass

    def after_sync(self):
        pass

    def tick_if_starved(self):
        pass

    @staticmethod
    def ki_protected():
        return False

    @staticmethod
    def is_cancellation(exc):
        return False


class IdleBackend(Backend):
    """Before any event loop exists: wait for jobs, run everything inline.

    The asyncio loop is made on first need: an exec that awaits, user code importing
    asyncio, or a session opened with syncInLoop. A session that never touches asyncio
    never pays for it.
    """
    name = "asyncio"

    def wait(self):
        _c.wait_jobs()

    def pause(self):
        pass

    def exec_finished(self):
        pass

    def start_exec(self, st, coro):  # the engine switches to asyncio before any await
        raise RuntimeError("no event loop yet")

    def cancel_exec_soon(self, st):
        pass
