"""The prompt's line editing (GNU readline): lines of any length, pastes, history, Ctrl-R,
Ctrl-O, Ctrl-D, completion; driven through a pseudo-terminal as a user would drive it."""

from __future__ import annotations

from terminal import Terminal

PROMPT = ">>> "
UP = "\x1b[A"


def indent_of(line):
    return line[:len(line) - len(line.lstrip())]


def define_block(t, *lines):
    """Types a block line by line at the prompt, each line once the prompt has offered its
    indent (`lines` show the indent they expect), then an empty line."""
    for i, line in enumerate(lines):
        if i:
            t.expect_cursor_line("... " + indent_of(line))
        t.enter(line.lstrip())
    t.expect_cursor_line("... " + indent_of(lines[-1]))
    t.sendline()
    t.expect(PROMPT)


# ---- lines of any length (issue 11, 1) -------------------------------------------------

def test_a_typed_line_of_6000_characters_runs(repl):
    t = repl()
    t.sendline("s = '" + "a" * 6000 + "'")
    t.expect(PROMPT)
    t.sendline("len(s)")
    t.expect("\n6000\n>>> ")


def test_a_pasted_line_of_100000_characters_runs(repl):
    t = repl()
    t.paste("s = '" + "b" * 100000 + "'")
    t.sendline()
    t.expect(PROMPT, timeout=60)
    t.sendline("len(s), set(s)")
    t.expect("\n(100000, {'b'})\n>>> ")


def test_input_takes_an_answer_of_6000_characters(repl):
    t = repl()
    t.sendline("answer = input('long? ')")
    t.expect("\nlong? ")  # asked: keys typed before that would meet the terminal's own line limit
    t.sendline("c" * 6000)
    t.expect(PROMPT)
    t.sendline("len(answer)")
    t.expect("\n6000\n>>> ")


def test_keys_left_when_the_prompt_ends_never_reach_the_shell(cli, env):
    # What was typed ahead (a paste without brackets) after exit() belongs to the prompt
    # that has gone: the shell that gets the terminal back must not run it.
    script = '"$0"; read -r -t 3 rest; echo "shell read [$rest]"'
    with Terminal(["/bin/bash", "--norc", "--noprofile", "-c", script, cli], env) as t:
        t.expect(PROMPT)
        t.send("exit()\rprint('left over')\r")
        t.expect("shell read [")
        t.wait_exit()
        assert "shell read []" in t.text


# ---- pastes: a block is one unit (issue 11, 5) ------------------------------------------

def test_a_pasted_function_with_a_blank_line_inside_runs_as_written(repl):
    t = repl()
    t.paste("def f():\n    x = 20\n\n    return x + 1\n\nprint(f() * 2)\n")
    t.sendline()
    t.expect("\n42\n>>> ")
    assert "Error" not in t.text


def test_a_statement_right_after_a_pasted_block_runs(repl):
    t = repl()
    t.paste("for i in range(2):\n    print('in', i)\nprint('after')\n")
    t.sendline()
    t.expect("\nin 0\nin 1\nafter\n>>> ")
    assert "Error" not in t.text


def test_a_pasted_block_shows_the_value_of_its_last_expression_as_a_cell_does(repl):
    t = repl()
    t.paste("a = 6\nb = 7\na * b\n")
    t.sendline()
    t.expect("\n42\n>>> ")
    t.sendline("_")
    t.expect("\n42\n>>> ")


def test_a_pasted_single_statement_echoes_as_typed_code_does(repl):
    t = repl()
    t.paste("for i in range(2):\n    i * 10\n\n")
    t.sendline()
    t.expect("\n0\n10\n>>> ")


def test_a_pasted_block_ending_indented_waits_for_an_empty_line(repl):
    t = repl()
    t.paste("def g():\n    return 'g'")  # no newline after its last line
    t.sendline()
    t.expect_cursor_line("...     ")  # it may go on
    t.sendline()
    t.expect(PROMPT)
    t.sendline("g()")
    t.expect("\n'g'\n>>> ")


def test_a_paste_with_a_syntax_error_reports_it_and_runs_nothing(repl):
    t = repl()
    t.paste("ran = 'yes'\nprint('x' +)\n")
    t.sendline()
    t.expect("SyntaxError")
    t.expect(PROMPT)
    t.sendline("'ran' in dir()")
    t.expect("\nFalse\n>>> ")


def test_a_paste_ending_in_exit_leaves_and_runs_nothing_after_it(repl):
    t = repl()
    t.paste("print('before')\nexit(4)\nprint('never')\n")
    t.sendline()
    assert t.wait_exit() == 4
    assert "before" in t.text and "never\n" not in t.text.split("exit(4)")[-1]


# ---- history: a block is one entry -------------------------------------------------------

def test_a_typed_block_comes_back_whole_with_up_and_runs_again(repl):
    t = repl()
    t.sendline("total = 0")
    t.expect(PROMPT)
    define_block(t, "for i in range(3):", "    total += i")
    t.sendline("total")
    t.expect("\n3\n>>> ")
    t.send(UP + UP)  # past `total`, to the block
    t.expect_screen(r"^>>> for i in range\(3\):\n    total \+= i$")
    t.sendline()  # its last line is indented: it may go on
    t.expect_cursor_line("...     ")
    t.sendline()
    t.expect(PROMPT)
    t.sendline("total")
    t.expect("\n6\n>>> ")


def test_a_recalled_block_can_be_edited_before_it_runs(repl):
    t = repl()
    t.paste("x = 1\ny = 2\n")
    t.sendline()
    t.expect(PROMPT)
    t.send(UP)
    t.expect_screen(r"^>>> x = 1\ny = 2$")
    t.send("\x7f" + "40")  # the block's last character goes: y = 40
    t.expect_screen(r"^y = 40$")
    t.sendline()
    t.expect(PROMPT)
    t.sendline("x + y")
    t.expect("\n41\n>>> ")


def test_blocks_are_kept_whole_in_the_history_file(repl, env):
    t = repl()
    t.paste("def kept():\n    return 'kept'\n\n")
    t.sendline()
    t.expect(PROMPT)
    t.ctrl("d")
    assert t.wait_exit() == 0
    t2 = repl()
    t2.send(UP)
    t2.expect_screen(r"^>>> def kept\(\):\n    return 'kept'$")
    t2.sendline()
    t2.expect_cursor_line("...     ")
    t2.sendline()
    t2.expect(PROMPT)
    t2.sendline("kept()")
    t2.expect("\n'kept'\n>>> ")


def test_a_history_file_of_the_libedit_client_is_read(repl, env):
    with open(env["ASYNCODE_HISTORY"], "w") as f:
        f.write("_HiStOrY_V2_\nold\\040=\\040'from\\040libedit'\n")
    t = repl()
    t.send(UP)
    t.expect_cursor_line(">>> old = 'from libedit'")
    t.sendline()
    t.expect(PROMPT)
    t.sendline("old")
    t.expect("\n'from libedit'\n>>> ")


def test_ctrl_r_finds_an_earlier_statement(repl):
    t = repl()
    t.sendline("needle = 'found'")
    t.expect(PROMPT)
    t.sendline("other = 1")
    t.expect(PROMPT)
    t.ctrl("r")
    t.send("needl")
    t.expect("needle = 'found'")
    t.sendline()  # Enter runs what was found
    t.expect(PROMPT)
    t.sendline("needle")
    t.expect("\n'found'\n>>> ")
    assert "\x04" not in t.text and "bck:" not in t.text


def test_ctrl_o_runs_a_line_and_brings_the_next_one(repl):
    t = repl()
    for line in ("n = 1", "n = n * 10"):
        t.sendline(line)
        t.expect(PROMPT)
    t.sendline("n + 2")
    t.expect("\n12\n>>> ")
    t.send(UP + UP)
    t.expect_cursor_line(">>> n = n * 10")
    t.ctrl("o")  # runs it, and the next line of the history is ready
    t.expect_cursor_line(">>> n + 2")
    t.sendline()
    t.expect("\n102\n>>> ")


def test_input_answers_have_a_history_of_their_own(repl):
    t = repl()
    t.sendline("a = input('first? ')")
    t.expect("\nfirst? ")
    t.sendline("an answer")
    t.expect(PROMPT)
    t.sendline("b = input('second? ')")
    t.expect("\nsecond? ")
    t.send(UP)  # the last answer, not the last statement
    t.expect_cursor_line("second? an answer")
    t.sendline()
    t.expect(PROMPT)
    t.send(UP)
    t.expect_cursor_line(">>> b = input('second? ')")
    t.ctrl("u")
    t.sendline("b")
    t.expect("\n'an answer'\n>>> ")


# ---- Ctrl-D -----------------------------------------------------------------------------

def test_ctrl_d_at_a_continuation_prompt_ends_the_block_as_python_does(repl):
    t = repl()
    t.enter("if True:")
    t.expect_cursor_line("...     ")
    t.enter("print('ran')")
    t.expect_cursor_line("...     ")
    t.ctrl("d")  # on a line holding only the offered indent
    t.expect("\nran\n>>> ")
    t.sendline("'still here'")
    t.expect("\n'still here'\n>>> ")


def test_ctrl_d_inside_a_line_deletes_a_character(repl):
    t = repl()
    t.send("12x3")
    t.send("\x1b[D\x1b[D")  # Left twice: before the x
    t.ctrl("d")
    t.expect_cursor_line(">>> 12")
    t.sendline()
    t.expect("\n123\n>>> ")


# ---- completion (issue 11, 8) ------------------------------------------------------------

def test_completion_leaves_out_underscore_names_until_an_underscore_is_typed(repl):
    t = repl()
    define_block(t, "class Thing:", "    visible = 1", "    _hidden = 2")
    t.send("Thing.\t")
    t.expect_screen(r"^mro +visible\n>>> Thing\.$")  # no _hidden, no __class__
    t.send("_\t")  # `_` typed: `_hidden` is the one match left (`__` names still wait)
    t.expect_cursor_line(">>> Thing._hidden")


def test_completion_asks_before_listing_hundreds_of_matches(repl):
    t = repl()
    t.sendline("many = type('Many', (), {'m%03d' % i: i for i in range(300)})")
    t.expect(PROMPT)
    t.send("many.m\t")
    t.expect(r"Display all 30\d possibilities\? \(y or n\)", regex=True)
    t.send("n")
    t.expect_cursor_line(">>> many.m")
    assert "m150" not in t.screen.text()
    t.send("\t")  # asked again
    t.expect(r"Display all 30\d possibilities\? \(y or n\)", regex=True)
    t.send("y")
    t.expect_screen(r"m150")
    t.expect_cursor_line(">>> many.m")


def test_a_paste_at_a_continuation_prompt_replaces_the_offered_indent(repl):
    t = repl()
    t.enter("if True:")
    t.expect_cursor_line("...     ")
    t.paste("    x = 5\n    print(x * 2)\n")
    t.sendline()
    t.expect_cursor_line("...     ")  # an empty line ends the block
    t.sendline()
    t.expect("\n10\n>>> ")
    assert "IndentationError" not in t.text


def test_ctrl_c_during_a_reverse_search_drops_the_line(repl):
    t = repl()
    t.sendline("searched = 1")
    t.expect(PROMPT)
    t.ctrl("r")
    t.send("searc")
    t.expect("searched = 1")
    t.ctrl("c")
    t.expect("KeyboardInterrupt\n>>> ")
    t.sendline("'after'")
    t.expect("\n'after'\n>>> ")
    t.expect_screen(r"\^C\nKeyboardInterrupt\n>>> 'after'\n'after'\n>>>$")
