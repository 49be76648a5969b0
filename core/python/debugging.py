"""pdb in a session as in CPython's REPL: post-mortem after an exec's error (sys.last_*),
and the engine's own frames invisible to breakpoint(), `n` past a return and `where`."""
import sys

from _asyncode import errors

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
    """Every Pdb of the session skips the engine's frames and leaves them out of its stack."""
    cls = pdb.Pdb
    init, get_stack = cls.__init__, cls.get_stack

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.skip = set(self.skip or ()) | set(_SKIP)

    def get_stack_without_engine(self, f, t):
        stack, i = get_stack(self, f, t)
        current = stack[i] if 0 <= i < len(stack) else None
        kept = [entry for entry in stack if not _engine_frame(entry[0])]
        if current is not None and current in kept:
            return kept, kept.index(current)
        return kept, max(len(kept) - 1, 0)

    cls.__init__ = __init__
    cls.get_stack = get_stack_without_engine
