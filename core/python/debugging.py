"""pdb in a session as in CPython's REPL: post-mortem after an exec's error (sys.last_*),
and the engine's own frames invisible to breakpoint(), `n` past a return and `where`; pdb's
prompt told from input()'s (the `input` request's kind), and its lines completed in the
frame pdb is paused at.

Which pdb is at its prompt is read off the threads' stacks, where pdb itself keeps it: a
thread whose innermost frame is input() called by a Pdb's command loop."""
import re
import sys
import threading

from _asyncode import errors, introspect

# Modules whose frames pdb never stops in (Bdb.skip, fnmatch patterns of __name__).
_SKIP = ("_asyncode", "_asyncode.*")


def remember_error(exc):
    """sys.last_type/last_value/last_traceback, as the REPL sets them: pdb.pm() works.
    The traceback starts at the first frame of user code."""
    tb = exc.__traceback__
    while tb is not None and errors.is_machinery_file(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    sys.last_type, sys.last_value, sys.last_traceback = type(exc), exc, tb
    if sys.version_info >= (3, 12):
        sys.last_exc = exc


def end_of_exec():
    """A debugger left tracing when the exec's code returned (`n` past its end) stops here,
    as it stops when the REPL's statement returns to C."""
    trace = sys.gettrace()
    owner = getattr(trace, "__self__", None)
    bdb = sys.modules.get("bdb")
    if bdb is not None and isinstance(owner, bdb.Bdb):
        sys.settrace(None)


def _engine_frame(frame):
    return errors.is_engine_file(frame.f_code.co_filename)


def patch_pdb(pdb):
    """Every Pdb of the session skips the engine's frames and leaves them out of its stack,
    and asks for its commands with input() on the session's streams."""
    cls = pdb.Pdb
    init, get_stack = cls.__init__, cls.get_stack

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.skip = set(self.skip or ()) | set(_SKIP)
        # Given stdout (as `debug` gives its nested Pdb), pdb would write its prompt as output
        # and read sys.stdin: on the session's own streams it asks with input() instead, so
        # that the client is asked at pdb's prompt, as for the outer Pdb.
        if self.stdin is sys.stdin and self.stdout is sys.stdout:
            self.use_rawinput = 1

    def get_stack_without_engine(self, f, t):
        stack, i = get_stack(self, f, t)
        current = stack[i] if 0 <= i < len(stack) else None
        kept = [entry for entry in stack if not _engine_frame(entry[0])]
        if current is not None and current in kept:
            return kept, kept.index(current)
        return kept, max(len(kept) - 1, 0)

    cls.__init__ = __init__
    cls.get_stack = get_stack_without_engine


# ---- pdb's prompt ---------------------------------------------------------------------
def _prompting_pdb(frame):
    """The Pdb whose command loop `frame` is (the caller of input()), or None."""
    pdb = sys.modules.get("pdb")
    if pdb is None or frame is None or frame.f_code.co_name != "cmdloop":
        return None
    owner = frame.f_locals.get("self")
    return owner if isinstance(owner, pdb.Pdb) else None


def asks_pdb(frame):
    """input() was called by pdb's command loop (`frame` is input()'s caller): its prompt."""
    return _prompting_pdb(frame) is not None


def _paused_pdb():
    """The Pdb waiting at its prompt in some thread (the main thread's first), or None: a
    thread whose innermost frame is input(), called by a Pdb's command loop."""
    frames = sys._current_frames()
    main = threading.main_thread().ident
    for ident in sorted(frames, key=lambda i: i != main):
        found = _prompting_pdb(frames[ident].f_back)
        if found is not None and getattr(found, "curframe", None) is not None:
            return found
    return None


# The commands whose argument is Python (an expression, or a statement for `debug`); the
# other commands' arguments are completed by pdb's own complete_<command> (locations,
# breakpoint numbers, command names).
_PYTHON_ARGUMENT = {"p", "pp", "print", "whatis", "display", "source", "debug", "interact"}


def _commands(debugger):
    names = {name[3:] for name in dir(debugger) if name.startswith("do_")} - {"EOF"}
    return sorted(names | set(getattr(debugger, "aliases", {})))


def complete(code, cursor):
    """complete with `debugger`: `code` is a line at pdb's prompt, completed as pdb reads it,
    in the frame it is paused at; as the session's completion when no pdb is at its prompt.
    (matches, cursorStart, cursorEnd, gaveUp), as introspect.complete."""
    debugger = _paused_pdb()
    if debugger is None:
        return introspect.complete(code, cursor)
    gave_up = []
    matches, start, end = _complete_at_prompt(debugger, code, cursor, gave_up)
    return matches, start, end, bool(gave_up)


def _complete_at_prompt(debugger, code, cursor, gave_up):
    frame = debugger.curframe
    names = dict(frame.f_globals)
    names.update(getattr(debugger, "curframe_locals", None) or frame.f_locals)
    cursor = max(0, min(cursor, len(code)))
    line_start = code.rfind("\n", 0, cursor) + 1
    before = code[line_start:cursor]
    lead = len(before) - len(before.lstrip())

    def python(offset):
        """The rest of the line from `offset` (an index into code) is Python."""
        matches, start, end, timed_out = introspect.complete(code[offset:], cursor - offset, names)
        if timed_out:
            gave_up.append(True)
        return matches, start + offset, end + offset

    if before[lead:lead + 1] == "!":
        return python(line_start + lead + 1)
    word = re.match(r"\w*", before[lead:]).group(0)
    if lead + len(word) == len(before):  # the command itself is being typed
        commands = [(c, "command") for c in _commands(debugger) if c.startswith(word)]
        matches, start, end = python(line_start + lead)
        known = {c for c, _ in commands}
        return commands + [m for m in matches if m[0] not in known], cursor - len(word), cursor
    command = word
    if word in getattr(debugger, "aliases", {}):  # pdb runs what the alias stands for
        command = (debugger.aliases[word].split() or [word])[0]
    if not hasattr(debugger, "do_" + command):  # not a command: a Python statement
        return python(line_start + lead)
    if command in _PYTHON_ARGUMENT:
        return python(line_start + lead + len(word))
    method = getattr(debugger, "complete_" + command, None)
    if method is None:
        return [], cursor, cursor
    # As pdb's readline completion would: the word before the cursor, pdb's delimiters.
    text = re.search(r"[^ \t\n`@#$%^&*()=+\[{\]}\\|;:'\",<>?]*$", before).group(0)
    try:
        found = method(text, before, len(before) - len(text), len(before)) or []
    except Exception:
        found = []
    return [(m, None) for m in found], cursor - len(text), cursor
