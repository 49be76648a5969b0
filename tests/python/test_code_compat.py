"""The console answers and prints what code.InteractiveConsole does, input for input: push()
results (True: more lines needed), results shown by the displayhook, SyntaxError text and
tracebacks (the console's code only, no frame of the package)."""
import builtins

import pytest

from support import Recorder, push_all, push_all_code, run

CASES = {
    "expression": ["1 + 1"],
    "statement then expression": ["x = 5", "x * 2"],
    "None is not shown": ["None", "print('shown')"],
    "several expressions on a line": ["1; 2; 3"],
    "function over lines": ["def f(a):", "    return a * 2", "", "f(21)"],
    "if block": ["if True:", "    print('yes')", ""],
    "loop shows each value": ["for i in range(3):", "    i", ""],
    "open bracket": ["(1,", " 2)"],
    "open list over lines": ["x = [", "1,", "2", "]", "x"],
    "triple-quoted string": ["'''abc", "def'''"],
    "backslash continuation": ["1 + \\", "2"],
    "class with a method": ["class A:", "    def m(self):", "        return 'm'", "", "A().m()"],
    "decorator": ["@staticmethod", "def s(): pass", ""],
    "generator": ["def g():", "    yield 1", "    yield 2", "", "list(g())"],
    "comment only": ["# a comment"],
    "blank line": [""],
    "comment inside a block": ["if 1:", "    # comment", "    2", ""],
    "underscore is the last result": ["6 * 7", "_ + 0"],
    "future import is remembered": ["from __future__ import annotations",
                                    "def f(x: undefined_name): pass", "", "f.__annotations__"],
    "invalid syntax": ["x = = 1"],
    "unexpected indent": ["x = 1", "  y = 2"],
    "unindent mismatch": ["if 1:", "    x = 1", "  y = 2"],
    "mismatched bracket": ["a = (1,", "]"],
    "keyword as a name": ["class = 1"],
    "null byte": ["x = 1\0"],
    "division by zero": ["1/0"],
    "error in a function": ["def g():", "    raise ValueError('bad')", "", "g()"],
    "chained exceptions": ["try:", "    1/0", "except ZeroDivisionError:", "    raise KeyError('k')", ""],
    "raise from": ["try:", "    {}['x']", "except KeyError as e:", "    raise RuntimeError('r') from e", ""],
    "name error": ["undefined_name"],
    "KeyboardInterrupt is shown": ["raise KeyboardInterrupt"],
    "print to stdout": ["print('a'); print('b')"],
    "namespace of the console": ["__name__", "__doc__"],
    "dunder builtins are there": ["'__builtins__' in globals()"],
    "lambda and comprehension": ["[(lambda v: v * v)(i) for i in range(4)]"],
    "walrus": ["(y := 10)", "y"],
    "match statement": ["match 3:", "    case 3:", "        print('three')", ""],
    "except star": ["try:", "    raise ExceptionGroup('g', [ValueError(1)])",
                    "except* ValueError:", "    print('caught')", ""],
    "long output": ["for i in range(200):", "    print(i, end=' ')", ""],
}


@pytest.mark.parametrize("lines", list(CASES.values()), ids=list(CASES))
def test_the_console_answers_and_prints_what_code_does(lines):
    assert push_all(lines) == push_all_code(lines)


@pytest.mark.parametrize("lines,message", [
    (["if x", ""], "SyntaxError: expected ':'"),
    (["'\\N{no such name}'"], "SyntaxError: (unicode error) 'unicodeescape' codec can't decode"),
])
def test_where_codeop_says_incomplete_input_the_console_names_the_real_error(lines, message):
    # The daemon's rule: CPython 3.11.2's codeop compiles invalid input a last time with
    # PyCF_ALLOW_INCOMPLETE_INPUT still set and shows "incomplete input"; the daemon (and so
    # the console) report what that input really is, as later Pythons do.
    results, text = push_all(lines)
    code_results, code_text = push_all_code(lines)
    assert results == code_results
    assert "SyntaxError: incomplete input" in code_text
    assert message in text


def test_tracebacks_name_no_frame_of_the_package():
    _, text = push_all(["def g():", "    raise ValueError('bad')", "", "g()"])
    assert text == ('Traceback (most recent call last):\n'
                    '  File "<console>", line 1, in <module>\n'
                    '  File "<console>", line 2, in g\n'
                    "ValueError: bad\n")
    assert "asyncode" not in text


def test_a_syntax_error_shows_where_without_a_traceback():
    _, text = push_all(["x = = 1"])
    assert text == '  File "<console>", line 1\n    x = = 1\n        ^\nSyntaxError: invalid syntax\n'


def test_underscore_is_the_consoles_and_leaves_builtins_alone():
    builtins_had = getattr(builtins, "_", "missing")

    async def main():
        console = Recorder()
        await console.push("40 + 2")
        return console

    console = run(main)
    assert console.locals["_"] == 42
    assert getattr(builtins, "_", "missing") == builtins_had


@pytest.mark.parametrize("lines", [["exit()"], ["quit(2)"], ["import sys", "sys.exit('bye')"],
                                   ["raise SystemExit(3)"]])
def test_system_exit_is_not_caught(lines):
    async def main():
        console = Recorder()
        with pytest.raises(SystemExit) as raised:
            for line in lines:
                await console.push(line)
        return raised
    caught = run(main)

    with pytest.raises(SystemExit) as expected:
        push_all_code(lines)
    assert caught.value.code == expected.value.code


def test_output_before_system_exit_is_written_first():
    async def main():
        console = Recorder()
        with pytest.raises(SystemExit):
            await console.push("print('bye'); exit()")
        return console.text
    assert run(main) == "bye\n"


def test_runsource_and_runcode_as_in_code():
    async def main():
        console = Recorder()
        assert await console.runsource("x = 3") is False
        assert await console.runsource("if x:") is True
        assert await console.runsource("if x:\n    x + 1\n") is False
        assert await console.runsource("1 +", symbol="exec") is False  # invalid
        assert await console.runsource("x ** 2", symbol="eval") is False
        await console.runcode(compile("print('ran', x)", "<code>", "exec"))
        return console.text
    text = run(main)
    assert text.startswith("4\n")
    assert "SyntaxError" in text
    assert text.endswith("ran 3\n")


def test_the_console_is_a_code_console():
    import code

    import asyncode
    console = asyncode.AsyncInteractiveConsole()
    assert isinstance(console, code.InteractiveConsole)
    assert isinstance(console, asyncode.AsyncInteractiveInterpreter)
    assert console.locals == {"__name__": "__console__", "__doc__": None}
    assert console.filename == "<console>" and console.buffer == []
    assert console.reroute_stdout and console.reroute_stderr
    mine = {}
    other = asyncode.AsyncInteractiveConsole(mine, "<chat>", reroute_stdout=False)
    assert other.locals is mine and other.filename == "<chat>" and not other.reroute_stdout


def test_a_subclass_excepthook_takes_over_as_in_code(monkeypatch):
    seen = []
    monkeypatch.setattr("sys.excepthook", lambda t, v, tb: seen.append(t))
    results, text = push_all(["1/0", "x = = 1"])
    assert seen == [ZeroDivisionError, SyntaxError]
    assert text == ""
