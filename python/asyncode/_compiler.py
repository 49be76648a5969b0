"""Compiling input with the daemon's rules: CPython's codeop, with top-level await.

check() is the daemon's compile check itself (core/compiler.cpp, in asyncode._native):
complete, incomplete (with the next line's indent) or invalid, and whether running the code
needs `await`. CommandCompiler is codeop.CommandCompiler made of it: called with a source,
it returns a code object, None for incomplete input, or raises the SyntaxError, and it
remembers `from __future__` statements for what follows.
"""
import codeop
import warnings
from typing import NamedTuple, Optional

from . import _native
from ._core import cells

PyCF_DONT_IMPLY_DEDENT = 0x200
PyCF_ALLOW_TOP_LEVEL_AWAIT = cells.PyCF_ALLOW_TOP_LEVEL_AWAIT
_MODES = {"cell": cells.MODE_CELL, "interactive": cells.MODE_INTERACTIVE, "module": cells.MODE_MODULE}


class SyntaxErrorInfo(NamedTuple):
    type: str              # SyntaxError, IndentationError, TabError, ValueError...
    message: str
    line: int              # from 1
    column: int            # code points from 0
    end_line: Optional[int]
    end_column: Optional[int]


class CompileResult(NamedTuple):
    status: str            # "complete", "incomplete" or "invalid"
    needs_await: bool
    indent: Optional[str]  # incomplete: what the next line should start with
    error: Optional[SyntaxErrorInfo]  # invalid: where and why


def check(source, mode="single"):
    """The daemon's answer for `source`: mode "single" (the REPL's, the console's), "exec"
    or "cell". Warnings of the attempts are not shown, as in codeop."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (SyntaxWarning, DeprecationWarning))
        status, needs_await, indent, error = _native.compile_check(source, mode)
    return CompileResult(status, needs_await, indent, SyntaxErrorInfo(*error) if error else None)


class Compile:
    """compile() with the console's flags; turns on the `from __future__` features that the
    code it compiles uses, for the next inputs (as codeop.Compile)."""

    def __init__(self):
        self.flags = PyCF_DONT_IMPLY_DEDENT | PyCF_ALLOW_TOP_LEVEL_AWAIT

    def __call__(self, source, filename, symbol):
        code = compile(source, filename, symbol, self.flags, True)
        self.flags |= code.co_flags & cells.FUTURE_FLAGS
        return code


class CommandCompiler:
    """codeop.CommandCompiler with the daemon's rules (and top-level await)."""

    def __init__(self):
        self.compiler = Compile()

    def __call__(self, source, filename="<input>", symbol="single"):
        if symbol == "eval":
            # The daemon has no eval mode; codeop's own check, with the same flags.
            fallback = codeop.CommandCompiler()
            fallback.compiler.flags |= self.compiler.flags
            return fallback(source, filename, symbol)
        if symbol not in ("single", "exec"):
            raise ValueError("symbol must be 'single', 'exec' or 'eval', not %r" % (symbol,))
        if check(source, symbol).status == "incomplete":
            return None
        if cells.blank(source):
            source = "pass"  # codeop: blank lines and comments are a statement that does nothing
        # Complete: the code. Invalid: the compile raises the real error, as codeop's last
        # compile does (its message and position, not the check's).
        return self.compiler(source, filename, symbol)

    def check(self, source, symbol="single"):
        return check(source, symbol)

    def compile_cell(self, source, filename, mode="cell"):
        """[(code, is_tail)] as the daemon's engine compiles an exec of that mode."""
        units = cells.compile_units(source, _MODES[mode], filename,
                                    PyCF_ALLOW_TOP_LEVEL_AWAIT | (self.compiler.flags & cells.FUTURE_FLAGS))
        self.compiler.flags |= cells.future_flags(units)
        return units
