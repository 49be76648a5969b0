"""How an exec's code is compiled: the rules of the three modes, with top-level await.

compile_units(code, mode, filename, flags) returns [(code object, is_tail)]: `cell` mode
compiles the last expression apart (is_tail: evaluate it for the cell's value) unless the
cell ends with ';'; `interactive` is the REPL's 'single' symbol (blank lines and comments do
nothing); `module` runs the code as a file. Shared by the daemon's engine and by the asyncode
package's console, which must compile alike; it imports nothing of either.
"""
MODE_CELL, MODE_INTERACTIVE, MODE_MODULE = 0, 1, 2  # core::Mode, as the engine's jobs carry it

CO_COROUTINE = 0x0080
PyCF_ONLY_AST = 0x0400
PyCF_ALLOW_TOP_LEVEL_AWAIT = 0x2000
FUTURE_FLAGS = 0x1FE0000  # CO_FUTURE_DIVISION (0x20000) .. CO_FUTURE_ANNOTATIONS (0x1000000)


def compile_units(code, mode, filename, flags=PyCF_ALLOW_TOP_LEVEL_AWAIT):
    if mode == MODE_INTERACTIVE:
        if blank(code):  # as codeop and the REPL: blank lines and comments do nothing
            code = "pass"
        return [(compile(code, filename, "single", flags, True), False)]
    if mode == MODE_MODULE:
        return [(compile(code, filename, "exec", flags, True), False)]
    import _ast
    tree = compile(code, filename, "exec", flags | PyCF_ONLY_AST, True)
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
