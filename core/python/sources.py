"""Where the lines of an exec's code are found: linecache entries for the engine's execs.

Tracebacks, warnings and inspect.getsource read lines through linecache. An exec's code is
registered under its filename (`<cell 3>`, or the client's filename) at the lines it came
from (exec's firstLine), except when that filename is a real file: then the file keeps its own
lines, and the frames of the exec's code show the exec's lines through errors.py instead.
"""
import os
import sys

_SOURCES = {}  # cell filename -> linecache entry, until linecache is imported
_OURS = set()  # the filenames whose linecache entries the engine made


def remember(filename, lines, first_line=1):
    """Execs' sources go to linecache (tracebacks, inspect.getsource, warnings show their
    lines), without importing linecache before anything needs it. The code is lines
    first_line.. of its file: a pseudo-file (`<cell 3>`, an unsaved buffer) keeps the lines
    of earlier execs elsewhere in it. A real file is never replaced: its own code must go
    on showing its own lines (the snippet's frames show the snippet's: errors.py)."""
    linecache = sys.modules.get("linecache")
    cache = linecache.cache if linecache is not None else _SOURCES
    if _is_real_file(filename):
        if filename in _OURS:  # made before the file existed: the file's lines take over
            cache.pop(filename, None)
            _OURS.discard(filename)
        return
    mine = [line + "\n" for line in lines]
    old = cache.get(filename) if filename in _OURS else None
    if old is None and first_line == 1:  # a new cell: the common case, kept cheap (every exec)
        text = mine
    else:
        text = old[2] if old is not None and old[1] is None else []
        start = first_line - 1
        if len(text) < start:
            text = text + ["\n"] * (start - len(text))
        text = text[:start] + mine + text[start + len(lines):]
    cache[filename] = (sum(map(len, text)), None, text, filename)
    _OURS.add(filename)


def _is_real_file(filename):
    """Whether linecache would read filename from a file (as the path is, or under sys.path)."""
    if filename.startswith("<") and filename.endswith(">"):
        return False
    if os.path.isfile(filename):
        return True
    if os.path.isabs(filename):
        return False
    for directory in sys.path:
        try:
            if isinstance(directory, str) and os.path.isfile(os.path.join(directory, filename)):
                return True
        except (TypeError, ValueError):
            continue
    return False


def linecache_imported(linecache):
    linecache.cache.update(_SOURCES)
    _SOURCES.clear()
