"""ErrorInfo of an exception: the user's frames only, and the text Python would print.

Frames before the first frame of user code (the engine's, the event loop's task
machinery) and every frame of the engine itself are left out, in the exception and in
the exceptions it is chained to.
"""
import os

_ENGINE_PREFIXES = ("<asyncode:",)  # the daemon's embedded modules


def add_engine_files(prefix):
    """Frames of files whose name starts with prefix are the engine's too (the asyncode
    package names its own directory)."""
    global _ENGINE_PREFIXES
    if prefix not in _ENGINE_PREFIXES:
        _ENGINE_PREFIXES += (prefix,)


def _package_dir(name):
    try:
        module = __import__(name)
    except Exception:
        return None
    path = getattr(module, "__file__", None)
    return os.path.dirname(path) + os.sep if path else None


_MACHINERY_DIRS = None


def _machinery_dirs():
    """Where event-loop machinery lives (asyncio, trio), once imported."""
    global _MACHINERY_DIRS
    if _MACHINERY_DIRS is None or len(_MACHINERY_DIRS) < 2:
        import sys
        dirs = []
        for name in ("asyncio", "trio"):
            if name in sys.modules:
                d = _package_dir(name)
                if d:
                    dirs.append(d)
        _MACHINERY_DIRS = tuple(dirs)
    return _MACHINERY_DIRS


def is_engine_file(filename):
    return filename.startswith(_ENGINE_PREFIXES)


def is_machinery_file(filename):
    if is_engine_file(filename):
        return True
    return filename.startswith(_machinery_dirs()) if _machinery_dirs() else False


def _is_interruption(exc_type):
    """KeyboardInterrupt, or the cancellation of asyncio or Trio."""
    if exc_type is None:
        return False
    return issubclass(exc_type, KeyboardInterrupt) or exc_type.__name__ in ("CancelledError", "Cancelled")


def _trim(te, seen):
    import traceback
    if te is None or id(te) in seen:
        return
    seen.add(id(te))
    frames = list(te.stack)
    start = 0
    while start < len(frames) and is_machinery_file(frames[start].filename):
        start += 1
    if start < len(frames):
        frames = [f for f in frames[start:] if not is_engine_file(f.filename)]
    elif _is_interruption(te.exc_type):
        frames = []  # an interrupt that stopped the exec before any of its code ran
    # else: nothing but machinery, an error of the engine itself: keep it whole
    te.stack = traceback.StackSummary.from_list(frames)
    _trim(te.__cause__, seen)
    _trim(te.__context__, seen)
    for sub in getattr(te, "exceptions", None) or ():
        _trim(sub, seen)


def error_info(exc, compile_error=False):
    """A dict: {type, message, traceback: [{filename, line, name, source?}], formatted}.

    compile_error: the exception is the cell's own SyntaxError, so where the engine
    compiled it is not news: no frames at all.
    """
    import traceback
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__, compact=True)
    if compile_error:
        te.stack = traceback.StackSummary.from_list([])
    _trim(te, set())
    frames = []
    for f in te.stack:
        frame = {"filename": f.filename, "line": f.lineno or 0, "name": f.name}
        line = (f.line or "").strip()
        if line:
            frame["source"] = line
        frames.append(frame)
    try:
        if isinstance(exc, SyntaxError) and exc.msg is not None:
            message = str(exc.msg)  # str() would add "(<cell 1>, line 1)"
        elif isinstance(exc, SystemExit) and exc.code is None:
            message = ""  # exit(): as for a script, "" means status 0
        else:
            message = str(exc)
    except Exception:
        message = "<exception str() failed>"
    try:
        formatted = "".join(te.format())
    except Exception as e:  # a broken __str__ in a chained exception
        formatted = "%s: %s\n(formatting the traceback failed: %r)\n" % (type(exc).__name__, message, e)
    return {
        "type": type(exc).__name__,
        "message": message,
        "traceback": frames,
        "formatted": formatted,
    }
