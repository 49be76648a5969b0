"""The engine's SIGINT handler: each interrupt acts once (shared/PROTOCOL.md, "Interrupt").

It runs on the main thread, knowing what runs there, and says what it did
(_c.interrupt_acted), which is how the daemon knows the worker is not stuck in C code:
cancel the exec's task when it awaits, raise KeyboardInterrupt when user code of the exec
runs (or, when no exec runs, in the task that holds the thread), nothing when nothing runs.
A signal landing in the engine's own code is kept (st.deferred) until the exec's code starts.
"""
import _asyncode_c as _c
from _asyncode import errors
from _asyncode_c import HOW_CANCELLED, HOW_KEYBOARD_INTERRUPT, HOW_NONE, HOW_TASK_INTERRUPTED


def on_sigint(engine, frame):
    st = engine.current
    reason = _c.interrupt_reason(st.seq if st is not None else 0)
    if reason is None:
        return _c.interrupt_acted(HOW_NONE)
    if st is None:
        return _interrupt_task(engine, frame)
    st.reason = reason
    if st.kind != "async":
        if st.in_user:
            st.how = HOW_KEYBOARD_INTERRUPT
            _c.interrupt_acted(HOW_KEYBOARD_INTERRUPT)
            raise KeyboardInterrupt
        st.deferred = True  # acted on when the exec's code starts (or ends)
        return None
    if (st.in_user and engine.backend.exec_running_now(st) and frame is not None
            and not errors.is_machinery_file(frame.f_code.co_filename)
            and not engine.backend.ki_protected()):
        st.how = HOW_KEYBOARD_INTERRUPT
        _c.interrupt_acted(HOW_KEYBOARD_INTERRUPT)
        raise KeyboardInterrupt
    # Cancel; a task not made yet is cancelled when it is.
    st.cancel_requested = True
    if st.how == HOW_NONE:
        st.how = HOW_CANCELLED
    engine.backend.cancel_exec_soon(st)
    _c.interrupt_acted(HOW_CANCELLED)
    return None


def _interrupt_task(engine, frame):
    """No exec runs: when a task holds this thread (say `while True: pass`), it gets
    KeyboardInterrupt, as `python -m asyncio` does; the loop's own code never does."""
    if (frame is None or errors.is_machinery_file(frame.f_code.co_filename)
            or _is_stdlib_loop_file(frame.f_code.co_filename) or engine.backend.ki_protected()):
        return _c.interrupt_acted(HOW_NONE)
    _c.interrupt_acted(HOW_TASK_INTERRUPTED)
    engine.task_interrupted = True
    raise KeyboardInterrupt


def _is_stdlib_loop_file(filename):
    """selectors and threading: where an idle loop or the engine waits."""
    return filename.endswith(("/selectors.py", "/threading.py"))
