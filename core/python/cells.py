"""How an exec's code is compiled: the rules of the three modes, with top-level await.

compile_units(code, mode, filename, flags) returns [(code object, is_tail)]: `cell` mode
compiles the last expression apart (is_tail: evaluate it for the cell's value) unless the
cell ends with ';'; `interactive` is the REPL's 'single' symbol (blank lines and comments do
nothing); `module` runs the code as a file. Shared by the daemon's engine and by the asyncode
package's console, which must compile alike; it imports nothing of either.

first_line is the line of `filename` on which the code starts: the code is compiled as if
first_line - 1 empty lines came first, so that code positions, tracebacks, compile-time
warnings and SyntaxErrors all count lines of that file. A SyntaxError always leaves here with
columns in characters (CPython's compiler proper, unlike its parser,
reports UTF-8 byte offsets).
"""
MODE_CELL, MODE_INTERACTIVE, MODE_MODULE = 0, 1, 2  # core::Mode, as the engine's jobs carry it

CO_COROUTINE = 0x0080
PyCF_ONLY_AST = 0x0400
PyCF_ALLOW_TOP_LEVEL_AWAIT = 0x2000
FUTURE_FLAGS = 0x1FE0000  # CO_FUTURE_DIVISION (0x20000) .. CO_FUTURE_ANNOTATIONS (0x1000000)


def compile_units(code, mode, filename, flags=PyCF_ALLOW_TOP_LEVEL_AWAIT, first_line=1):
    if mode == MODE_INTERACTIVE and blank(code):  # as codeop and the REPL: blank lines and
        code = "pass"                            # comments do nothing
    source = "\n" * (first_line - 1) + code if first_line > 1 else code
    try:
        return _compile_units(code, source, mode, filename, flags)
    except SyntaxError as e:
        _fix_position(e, source, mode, filename, flags)
        raise


def _compile_units(code, source, mode, filename, flags):
    if mode == MODE_INTERACTIVE:
        return [(compile(source, filename, "single", flags, True), False)]
    if mode == MODE_MODULE:
        return [(compile(source, filename, "exec", flags, True), False)]
    import _ast
    tree = compile(source, filename, "exec", flags | PyCF_ONLY_AST, True)
    body = tree.body
    if body and isinstance(body[-1], _ast.Expr) and not ends_with_semicolon(code):
        units = []
        if len(body) > 1:
            head = _ast.Module(body=body[:-1], type_ignores=[])
            units.append((compile(head, filename, "exec", flags, True), False))
        tail = _ast.Expression(body=body[-1].value)
        units.append((compile(tail, filename, "eval", flags, True), True))
        return units
    return [(compile(tree, filename, "exec", flags, True), False)]


def source_lines(source):
    """The lines of source as CPython's tokenizer splits them ("\\n", "\\r\\n", "\\r"), without
    their ends."""
    return source.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _fix_position(e, source, mode, filename, flags):
    """The SyntaxError `e` of compiling source: its columns in characters when the compiler
    proper (not the parser) raised it. Its text stays as CPython left it (code.py's output)."""
    lineno = e.lineno
    lines = source_lines(source)
    if not isinstance(lineno, int) or not 1 <= lineno <= len(lines):
        return
    try:
        compile(source, filename, "single" if mode == MODE_INTERACTIVE else "exec",
                flags | PyCF_ONLY_AST, True)
        parsed = True  # so the compiler proper raised it: byte offsets, the file's text
    except (SyntaxError, ValueError, OverflowError):
        parsed = False
    except Exception:  # noqa: BLE001 - a broken source: leave the error as it is
        return
    if parsed:
        end = e.end_lineno if isinstance(e.end_lineno, int) and 1 <= e.end_lineno <= len(lines) else None
        if isinstance(e.offset, int) and e.offset > 0:
            e.offset = _characters(lines[lineno - 1], e.offset)
        if end is not None and isinstance(e.end_offset, int) and e.end_offset > 0:
            e.end_offset = _characters(lines[end - 1], e.end_offset)


def _characters(line, offset):
    """The 1-based character offset of the 1-based UTF-8 byte offset in line."""
    raw = line.encode("utf-8", "surrogatepass")
    return len(raw[:offset - 1].decode("utf-8", "replace")) + 1 + max(0, offset - 1 - len(raw))


def future_flags(units):
    """The `from __future__` flags the units turned on, for compiling what comes next."""
    flags = 0
    for c, _ in units:
        flags |= c.co_flags & FUTURE_FLAGS
    return flags


def needs_await(units):
    return any(c.co_flags & CO_COROUTINE for c, _ in units)


def blank(code):
    return all(not line.strip() or line.lstrip().startswith("#") for line in code.split("\n"))


def ends_with_semicolon(code):
    """IPython's rule: a cell whose last line ends with ';' shows no result."""
    if ";" not in code:
        return False
    import io
    import tokenize
    last = None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                            tokenize.DEDENT, tokenize.ENDMARKER):
                continue
            last = tok
    except (tokenize.TokenError, SyntaxError):
        return False
    return last is not None and last.type == tokenize.OP and last.string == ";"
