"""The asyncode prompt, driven through a pseudo-terminal as a user would drive it."""

from __future__ import annotations

import os
import signal
import time

from terminal import Terminal, wait_gone

PROMPT = ">>> "


def test_an_expression_shows_its_value(repl):
    t = repl()
    t.sendline("1+1")
    t.expect("\n2\n>>> ")


def test_the_banner_names_the_python_and_the_backend(repl):
    t = repl()
    assert "Python 3.11" in t.text and "asyncio" in t.text


def test_an_async_with_block_continues_with_its_indent_filled_in(repl):
    t = repl()
    t.sendline("import asyncio")
    t.expect(PROMPT)
    t.enter("async with asyncio.timeout(5):")
    t.expect_cursor_line("...     ")  # the continuation prompt, the block's indent typed
    t.enter("await asyncio.sleep(0.01); print('inside')")  # typed without the indent
    t.expect_cursor_line("...     ")
    t.sendline()  # an empty line (only the offered indent) ends the block
    t.expect("\ninside\n>>> ")
    t.expect_screen(r"^\.\.\.     await asyncio.sleep\(0.01\); print\('inside'\)\n\.\.\.\ninside\n>>>$")


def test_a_nested_block_gets_a_deeper_indent(repl):
    t = repl()
    t.enter("for i in range(2):")
    t.expect_cursor_line("...     ")
    t.enter("if i:")
    t.expect_cursor_line("...         ")
    t.enter("print('odd', i)")
    t.expect_cursor_line("...         ")
    t.sendline()
    t.expect("\nodd 1\n>>> ")


def test_top_level_await_then_print(repl):
    t = repl()
    t.sendline("import asyncio")
    t.expect(PROMPT)
    t.sendline('await asyncio.sleep(0.1); print("x")')
    t.expect("\nx\n>>> ")


def test_an_error_prints_its_traceback(repl):
    t = repl()
    t.sendline("1/0")
    t.expect('File "<cell 1>", line 1, in <module>')
    t.expect("ZeroDivisionError: division by zero\n>>> ")


def test_a_syntax_error_is_reported_at_once(repl):
    t = repl()
    t.sendline("1 +* 2")
    t.expect("SyntaxError: invalid syntax\n>>> ")


def test_blank_lines_and_comments_run_nothing(repl):
    t = repl()
    t.sendline("")
    t.expect(PROMPT)
    t.sendline("# just a comment")
    t.expect(PROMPT)
    t.sendline("2*21")
    t.expect("\n42\n>>> ")
    assert "Error" not in t.text


def test_ctrl_c_interrupts_time_sleep_and_shows_where(repl):
    t = repl()
    t.sendline('import time; print("sleeping", flush=True); time.sleep(30)')
    t.expect("\nsleeping\n")
    started = time.monotonic()
    t.ctrl("c")
    t.expect("time.sleep(30)")  # the traceback shows where it stopped
    t.expect("KeyboardInterrupt\n>>> ")
    assert time.monotonic() - started < 20  # interrupted, not finished: the sleep is 30 s
    t.sendline("1+2")  # the session lives on
    t.expect("\n3\n>>> ")


def test_ctrl_c_cancels_an_await(repl):
    t = repl()
    t.sendline('import asyncio; print("waiting"); await asyncio.sleep(30)')
    t.expect("\nwaiting\n")
    started = time.monotonic()
    t.ctrl("c")
    t.expect("await asyncio.sleep(30)")
    t.expect("CancelledError\n>>> ")
    assert time.monotonic() - started < 20  # interrupted, not finished: the sleep is 30 s
    t.sendline("'still here'")
    t.expect("\n'still here'\n>>> ")


def test_ctrl_c_at_the_prompt_clears_the_line(repl):
    t = repl()
    t.send("this is not run")
    t.expect("this is not run")
    t.ctrl("c")
    t.expect("KeyboardInterrupt\n>>> ")
    t.sendline("6*7")
    t.expect("\n42\n>>> ")
    assert "NameError" not in t.text and "SyntaxError" not in t.text


def test_ctrl_c_in_a_block_drops_the_whole_statement(repl):
    t = repl()
    t.enter("if True:")
    t.expect_cursor_line("...     ")
    t.send("x = 1")
    t.ctrl("c")
    t.expect("KeyboardInterrupt\n>>> ")
    t.sendline("'x' in dir()")
    t.expect("\nFalse\n>>> ")


def test_a_pasted_block_keeps_its_own_indentation(repl):
    t = repl()
    # A paste arrives all at once: the continuation lines bring their indent, and the
    # prompt must not add its own.
    t.send("for i in range(2):\r    x = i * 10\r    print('pasted', x)\r\r")
    t.expect("\npasted 0\npasted 10\n>>> ")
    assert "IndentationError" not in t.text


def test_tab_completes_a_name_defined_earlier(repl):
    t = repl()
    t.sendline("a_rather_unusual_name = 41")
    t.expect(PROMPT)
    t.send("a_rather_un\t")
    t.expect_cursor_line(">>> a_rather_unusual_name")
    t.sendline(" + 1")
    t.expect("\n42\n>>> ")


def test_tab_lists_the_candidates_when_they_share_no_more(repl):
    t = repl()
    t.sendline("candidate_one = candidate_two = 0")
    t.expect(PROMPT)
    t.send("candidate_\t")
    # the candidates listed, and the line drawn again below them
    t.expect_screen(r"^candidate_one +candidate_two\n>>> candidate_$")
    t.expect_cursor_line(">>> candidate_")
    t.ctrl("u")
    t.sendline("'done'")
    t.expect("\n'done'\n>>> ")


def test_tab_on_an_empty_line_indents(repl):
    t = repl()
    t.enter("if True:")
    t.expect_cursor_line("...     ")
    t.ctrl("u")  # the offered indent gone
    t.expect_cursor_line("... ")
    t.send("\t")
    t.expect_cursor_line("...     ")
    t.enter("'indented'")
    t.expect_cursor_line("...     ")
    t.sendline()
    t.expect("\n'indented'\n>>> ")


def test_background_output_appears_above_the_line_being_typed(repl):
    t = repl()
    t.sendline("import asyncio")
    t.expect(PROMPT)
    t.enter("async def tick():")
    t.expect_cursor_line("...     ")
    t.enter("for i in range(100):")
    t.expect_cursor_line("...         ")
    t.enter("print('tick', i); await asyncio.sleep(0.1)")
    t.expect_cursor_line("...         ")
    t.sendline()
    t.expect(PROMPT)
    t.sendline("task = asyncio.create_task(tick()); await asyncio.sleep(0)")
    t.expect("tick 0\n")
    t.expect(PROMPT)
    t.send("half_typed")
    t.expect("half_typed")
    # Ticks keep coming while the prompt waits, each printed above the line, which is drawn
    # again below it as it was.
    t.expect(r"tick \d+\n>>> half_typed", regex=True)
    t.expect(r"tick \d+\n>>> half_typed", regex=True)
    # On screen: the ticks one per line, the line being typed whole below them.
    t.expect_screen(r"^tick 2\ntick 3\n")
    t.expect_screen(r"^tick \d+\n>>> half_typed\Z")
    assert t.screen.text().count("half_typed") == 1
    t.expect_cursor_line(">>> half_typed")
    t.send(" = 5; task.cancel()")
    t.sendline()
    t.expect(r"\n>>> ", regex=True)
    t.sendline("half_typed")
    t.expect("\n5\n")


def test_input_is_answered_from_the_terminal(repl):
    t = repl()
    t.sendline('name = input("name" + "? ")')
    t.expect("\nname? ")
    t.sendline("Ada")
    t.expect(PROMPT)
    t.sendline("name")
    t.expect("\n'Ada'\n>>> ")


def test_a_password_is_read_without_echo(repl):
    t = repl()
    t.sendline("import getpass; secret = getpass.getpass('pin' + ': ')")
    t.expect("\npin: ")
    t.sendline("1234")
    t.expect("\n>>> ")
    t.sendline("len(secret)")
    t.expect("\n4\n>>> ")
    assert "1234" not in t.text


def test_ctrl_c_while_input_waits_interrupts_the_code(repl):
    t = repl()
    t.sendline('input("never" + ": ")')
    t.expect("\nnever: ")
    t.ctrl("c")
    t.expect("KeyboardInterrupt\n>>> ")
    t.sendline("'after'")
    t.expect("\n'after'\n>>> ")


def test_input_from_a_background_task_takes_the_prompt_and_gives_it_back(repl):
    t = repl()
    t.sendline("import asyncio")
    t.expect(PROMPT)
    t.enter("async def ask():")
    t.expect_cursor_line("...     ")
    t.enter("await asyncio.sleep(0.3); print('got', input('task' + '? '))")
    t.expect_cursor_line("...     ")
    t.sendline()
    t.expect(PROMPT)
    t.sendline("task = asyncio.create_task(ask()); await asyncio.sleep(0)")
    t.expect(PROMPT)
    t.send("typed")
    t.expect_cursor_line("task? ")  # the line being typed stepped aside for the question
    t.sendline("yes")
    t.expect("got yes\n")
    t.expect_cursor_line(">>> typed")  # and came back as it was
    t.sendline(" = 1")
    t.expect(PROMPT)
    t.sendline("typed")
    t.expect("\n1\n>>> ")


def test_ctrl_d_leaves_with_0_and_the_daemon_goes(repl):
    t = repl()
    t.sendline("x = 1")
    t.expect(PROMPT)
    processes = t.processes
    assert processes, "no daemon below asyncode"
    t.ctrl("d")
    assert t.wait_exit() == 0
    assert not wait_gone(processes, 5), "the daemon or a worker outlived asyncode"


def test_exit_3_leaves_with_3(repl):
    t = repl()
    t.sendline("exit(3)")
    assert t.wait_exit() == 3


def test_sys_exit_with_a_message_prints_it_and_leaves_with_1(repl):
    t = repl()
    t.sendline("import sys; sys.exit('goodbye')")
    assert t.wait_exit() == 1
    assert "goodbye" in t.text


def test_exit_without_a_code_leaves_with_0(repl):
    t = repl()
    t.sendline("exit()")
    assert t.wait_exit() == 0


def test_history_is_kept_between_sessions(repl, env):
    t = repl()
    t.sendline("remembered = 'from the first session'")
    t.expect(PROMPT)
    t.ctrl("d")
    assert t.wait_exit() == 0
    with open(env["ASYNCODE_HISTORY"]) as f:
        assert "remembered" in f.read()
    t2 = repl()
    t2.send("\x1b[A")  # Up: the last line comes back
    t2.expect("remembered = 'from the first session'")
    t2.sendline()
    t2.expect(PROMPT)
    t2.sendline("remembered")
    t2.expect("\n'from the first session'\n>>> ")


def test_a_trio_session(repl):
    t = repl("--backend", "trio")
    assert "trio session" in t.text
    t.sendline("import trio; await trio.sleep(0.01); 'trio'")
    t.expect("\n'trio'\n>>> ")


def test_stderr_is_red_on_a_terminal(repl):
    t = repl()
    t.sendline("import sys; print('oops', file=sys.stderr)")
    t.expect(PROMPT)
    assert b"\x1b[31moops" in t.raw


def test_a_daemon_that_dies_is_reported_and_ends_the_prompt(repl):
    t = repl()
    daemon = [p for p in t.processes if _parent(p) == t.pid]
    assert len(daemon) == 1
    os.kill(daemon[0], signal.SIGKILL)
    assert t.wait_exit() == 1
    assert "asyncode: the daemon was killed by signal 9" in t.text


def test_without_a_terminal_for_output_the_prompt_is_plain(cli, env, tmp_path):
    out = tmp_path / "out.txt"
    with Terminal(["/bin/sh", "-c", 'exec "$0" > "$1"', cli, str(out)], env) as t:
        t.expect(PROMPT)
        t.sendline("print('to the file')")
        t.expect(PROMPT)
        t.ctrl("d")
        assert t.wait_exit() == 0
    assert out.read_text() == "to the file\n"  # no prompts, no colors, no escapes


def _parent(pid):
    with open("/proc/%d/stat" % pid, "rb") as f:
        data = f.read()
    return int(data[data.rindex(b")") + 2:].split()[1])


def test_background_output_without_a_newline_stays_on_one_line(repl, tmp_path):
    t = repl()
    go = tmp_path / "go"
    # The task prints once the test says so, when the prompt is on screen.
    t.paste("import asyncio, os\n"
            "async def dots():\n"
            "    while not os.path.exists(%r):\n"
            "        await asyncio.sleep(0.01)\n"
            "    for i in range(5):\n"
            "        print('.', end='', flush=True)\n"
            "        await asyncio.sleep(0.05)\n"
            "    print('end')\n"
            "\n" % str(go))
    t.sendline()
    t.expect(PROMPT)
    t.sendline("task = asyncio.ensure_future(dots())")
    t.expect(PROMPT)
    t.send("typed")
    t.expect_cursor_line(">>> typed")
    go.touch()
    # The dots arrive one by one while the prompt waits: they go on one line above it.
    t.expect_screen(r"^\.\.\.\.\.end\n>>> typed$")
    assert t.screen.text().count(">>> typed") == 1
    t.ctrl("u")
    t.sendline("'done'")
    t.expect("\n'done'\n>>> ")


def test_ctrl_d_at_input_raises_a_plain_eof_error(repl):
    t = repl()
    t.sendline("input('more? ')")
    t.expect("\nmore? ")
    t.ctrl("d")
    t.expect("\nEOFError\n>>> ")


def test_the_trio_banner_names_the_session_nursery(repl):
    t = repl("--backend", "trio")
    assert "nursery.start_soon" in t.text
    t.paste("import trio\n"
            "async def later():\n"
            "    await trio.sleep(0.05)\n"
            "    print('from the nursery')\n"
            "\n")
    t.sendline()
    t.expect(PROMPT)
    t.sendline("nursery.start_soon(later)")
    t.expect("from the nursery\n")


def test_the_session_loop_from_a_plain_line(repl):
    t = repl()
    t.sendline("import asyncio")
    t.expect(PROMPT)
    t.enter("async def hello(who):")
    t.expect_cursor_line("...     ")
    t.enter("print('hello from', who)")
    t.sendline()
    t.expect(PROMPT)
    # No await on the line: the session's loop is the running loop; the task runs after it.
    t.sendline("loop = asyncio.get_running_loop(); task = asyncio.create_task(hello('a task')); "
               "print(loop.is_running(), asyncio.current_task(), task in asyncio.all_tasks())")
    t.expect("\nTrue None True\n")
    t.expect("hello from a task\n")
    t.sendline("asyncio.run(hello('asyncio.run')); asyncio.get_running_loop() is loop")
    t.expect("\nhello from asyncio.run\nTrue\n>>> ")
    t.sendline("loop.run_until_complete(asyncio.sleep(0))")
    t.expect("RuntimeError: the session's event loop is already running: it runs between lines")
    t.expect(PROMPT)
