"""ErrorInfo of an exception: the user's frames only, and the text Python would print.

Frames before the first frame of user code (the engine's, the event loop's task
machinery) and every frame of the engine itself are left out, in the exception and in
the exceptions it is chained to.
"""
import os
import sys
from _weakref import ref as _weakref  # built in: no import of weakref.py

_ENGINE_PREFIXES = ("<asyncode:",)  # the daemon's embedded modules
_SNIPPETS = {}  # id(code object) -> (weak reference to it, first line, the snippet's lines)


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


_MACHINERY = ("asyncio", "trio")
_machinery_seen = None  # which of _MACHINERY were imported when _MACHINERY_DIRS was made
_MACHINERY_DIRS = ()


def _machinery_dirs():
    """Where event-loop machinery lives (asyncio, trio), once imported."""
    global _machinery_seen, _MACHINERY_DIRS
    seen = tuple(name in sys.modules for name in _MACHINERY)
    if seen != _machinery_seen:
        dirs = []
        for name, imported in zip(_MACHINERY, seen):
            d = _package_dir(name) if imported else None
            if d:
                dirs.append(d)
        _machinery_seen, _MACHINERY_DIRS = seen, tuple(dirs)
    return _MACHINERY_DIRS


def is_engine_file(filename):
    return filename.startswith(_ENGINE_PREFIXES)


def is_machinery_file(filename):
    if is_engine_file(filename):
        return True
    dirs = _machinery_dirs()
    return filename.startswith(dirs) if dirs else False


def _is_interruption(exc_type):
    """KeyboardInterrupt, or the cancellation of asyncio or Trio."""
    if exc_type is None:
        return False
    return issubclass(exc_type, KeyboardInterrupt) or exc_type.__name__ in ("CancelledError", "Cancelled")


def _kept(filenames, exc_type):
    """The indices of the frames an error shows, given their files (outermost first): from
    the first frame of user code on, without the engine's own."""
    start = 0
    while start < len(filenames) and is_machinery_file(filenames[start]):
        start += 1
    if start < len(filenames):
        return [i for i in range(start, len(filenames)) if not is_engine_file(filenames[i])]
    if _is_interruption(exc_type):
        return []  # an interrupt that stopped the exec before any of its code ran
    return list(range(len(filenames)))  # nothing but machinery: an error of the engine itself


def _trim(te, seen):
    import traceback
    if te is None or id(te) in seen:
        return
    seen.add(id(te))
    frames = list(te.stack)
    kept = _kept([f.filename for f in frames], te.exc_type)
    te.stack = traceback.StackSummary.from_list([frames[i] for i in kept])
    _trim(te.__cause__, seen)
    _trim(te.__context__, seen)
    for sub in getattr(te, "exceptions", None) or ():
        _trim(sub, seen)


def _user_traceback(tb, exc_type):
    """tb without the frames _trim leaves out, made before any work is spent on them (their
    positions and lines): a new chain of the frames it keeps, or tb itself."""
    entries = []
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    kept = _kept([t.tb_frame.f_code.co_filename for t in entries], exc_type)
    if len(kept) == len(entries):
        return entries[0] if entries else None
    chain = None
    for i in reversed(kept):
        t = entries[i]
        chain = type(t)(chain, t.tb_frame, t.tb_lasti, t.tb_lineno)
    return chain


# ---- snippets: frames show the lines of the code that ran --------------------------------
def remember_snippet(codes, first_line, lines):
    """Frames of these code objects (an exec's units and every function, class, lambda and
    comprehension in them) show `lines` (the exec's code, which starts on first_line), whatever
    linecache holds for their file: a snippet of a real file that differs from the file on disk
    (unsaved edits) shows its own lines, and the file's own code keeps the file's."""
    stack = list(codes)
    while stack:
        code = stack.pop()
        key = id(code)
        _SNIPPETS[key] = (_weakref(code, lambda _, key=key: _SNIPPETS.pop(key, None)), first_line, lines)
        code_type = type(code)
        for c in code.co_consts:
            if type(c) is code_type:
                stack.append(c)


def _snippet_line(code, lineno):
    entry = _SNIPPETS.get(id(code))
    if entry is None or entry[0]() is not code or not isinstance(lineno, int):
        return None
    index = lineno - entry[1]
    return entry[2][index] if 0 <= index < len(entry[2]) else None


def _use_snippet_lines(te, exc, texts, seen, tb=None):
    """Pairs the frames of te with the traceback of exc (tb: the one te was made from, when it
    is not exc's own) and their chained exceptions: a frame of snippet code gets the snippet's
    line; texts[id(frame)] keeps the snippet's text of its first and last line, for the columns."""
    if te is None or exc is None or id(te) in seen:
        return
    seen.add(id(te))
    if tb is None:  # (te's own stack is empty when its traceback was: nothing to pair)
        tb = exc.__traceback__
    for f in te.stack:
        if tb is None:
            break
        code = tb.tb_frame.f_code
        tb = tb.tb_next
        line = _snippet_line(code, f.lineno)
        if line is None:
            continue
        f._line = line + "\n"
        end = _snippet_line(code, f.end_lineno) if f.end_lineno != f.lineno else line
        texts[id(f)] = (line, end)
    _use_snippet_lines(te.__cause__, exc.__cause__, texts, seen)
    _use_snippet_lines(te.__context__, exc.__context__, texts, seen)
    for sub_te, sub in zip(getattr(te, "exceptions", None) or (), getattr(exc, "exceptions", None) or ()):
        _use_snippet_lines(sub_te, sub, texts, seen)


# ---- columns in the client's unit ------------------------------------------------------
def units(text, index, encoding):
    """The units of `encoding` ("utf-8", "utf-16", "utf-32": code points) before character
    `index` of text; past its end each missing character counts one."""
    head = text[:index]
    extra = max(0, index - len(text))
    if encoding == "utf-8":
        return len(head.encode("utf-8", "surrogatepass")) + extra
    if encoding == "utf-16":
        return len(head.encode("utf-16-le", "surrogatepass")) // 2 + extra
    return index


def _byte_units(text, offset, encoding):
    """The units of `encoding` before UTF-8 byte `offset` of text (code positions count bytes)."""
    if encoding == "utf-8":
        return offset
    raw = text.encode("utf-8", "surrogatepass")
    head = raw[:offset].decode("utf-8", "replace")
    return units(head, len(head), encoding) + max(0, offset - len(raw))


def _frame_positions(f, texts, encoding):
    """column, endLine, endColumn of a frame, those that are known."""
    out = {}
    if isinstance(f.end_lineno, int) and f.end_lineno >= 1:
        out["endLine"] = f.end_lineno
    if not isinstance(f.colno, int) or not isinstance(f.end_colno, int) or "endLine" not in out:
        return out
    if encoding == "utf-8":  # Python's own unit: no line needed
        out["column"], out["endColumn"] = f.colno, f.end_colno
        return out
    if id(f) in texts:
        first, last = texts[id(f)]
    else:
        import linecache
        first = f._original_line
        last = first if f.end_lineno == f.lineno else linecache.getline(f.filename, f.end_lineno)
    if first and last is not None and (last or f.end_colno == 0):
        out["column"] = _byte_units(first.rstrip("\r\n"), f.colno, encoding)
        out["endColumn"] = _byte_units(last.rstrip("\r\n"), f.end_colno, encoding)
    return out


def _syntax_positions(exc, encoding, source):
    """line, column, endLine, endColumn of the exec's own SyntaxError (columns in characters
    from cells.compile_units), in `encoding`; source: (first_line, lines) of the exec."""
    lineno = exc.lineno
    if not isinstance(lineno, int) or lineno < 1:
        return {}

    def text_of(n):
        if source is not None and 0 <= n - source[0] < len(source[1]):
            return source[1][n - source[0]]
        return (exc.text or "").rstrip("\r\n") if n == lineno else ""

    offset = exc.offset if isinstance(exc.offset, int) and exc.offset > 0 else 1
    out = {"line": lineno, "column": units(text_of(lineno), offset - 1, encoding)}
    end, end_offset = exc.end_lineno, exc.end_offset
    if isinstance(end, int) and end >= lineno and isinstance(end_offset, int) and end_offset > 0:
        end_column = units(text_of(end), end_offset - 1, encoding)
        if end > lineno or end_column >= out["column"]:
            out["endLine"], out["endColumn"] = end, end_column
    return out


def error_info(exc, compile_error=False, encoding="utf-32", source=None):
    """A dict: {type, message, traceback: [{filename, line, name, source?, column?, endLine?,
    endColumn?}], formatted, line?, column?, endLine?, endColumn?}; columns in `encoding`.

    compile_error: the exception is the cell's own SyntaxError, so where the engine
    compiled it is not news: no frames at all, and its own position instead; source: the
    exec's (first_line, lines), where that position is.
    """
    import traceback
    # The engine's frames are left out before their positions are computed, and lines are
    # read when shown (FrameSummary.line; the files of the frames kept are checked for
    # changes all the same): an interrupt's answer waits for this.
    tb = None if compile_error else _user_traceback(exc.__traceback__, type(exc))
    te = traceback.TracebackException(type(exc), exc, tb, compact=True, lookup_lines=False)
    texts = {}
    if compile_error:
        te.stack = traceback.StackSummary.from_list([])
    elif _SNIPPETS:
        _use_snippet_lines(te, exc, texts, set(), tb)
    _trim(te, set())
    frames = []
    for f in te.stack:
        frame = {"filename": f.filename, "line": f.lineno or 0, "name": f.name}
        line = (f.line or "").strip()
        if line:
            frame["source"] = line
        frame.update(_frame_positions(f, texts, encoding))
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
    info = {
        "type": type(exc).__name__,
        "message": message,
        "traceback": frames,
        "formatted": formatted,
    }
    if compile_error and isinstance(exc, SyntaxError):
        info.update(_syntax_positions(exc, encoding, source))
    return info
