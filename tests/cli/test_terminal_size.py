"""User code at the prompt sees the client's terminal: its size (updated when the terminal is
resized, while code runs too) and that its output is shown on a terminal."""

from __future__ import annotations


def test_user_code_sees_the_terminal_s_size_and_a_tty(repl):
    t = repl(cols=120, rows=40)
    t.sendline("import os, shutil, sys; print(tuple(shutil.get_terminal_size()), os.environ['COLUMNS'], "
               "sys.stdout.isatty())")
    t.expect("(120, 40) 120 True\n>>> ")


def test_a_resize_reaches_code_that_waits_for_it(repl):
    t = repl(cols=100, rows=40)
    t.sendline("import shutil, signal, time; seen = []; "
               "signal.signal(signal.SIGWINCH, lambda *a: seen.append(tuple(shutil.get_terminal_size())))")
    t.expect("\n>>> ")
    t.sendline("print('waiting', flush=True); any(time.sleep(0.01) for _ in iter(lambda: bool(seen), True)); "
               "print('resized to', seen[-1])")
    t.expect("\nwaiting\n")
    t.resize(77, 21)
    t.expect("resized to (77, 21)\n>>> ")


def test_a_resize_at_the_prompt_reaches_the_session(repl):
    t = repl(cols=100, rows=40)
    t.resize(90, 30)
    # SIGWINCH and the typed line reach the client in either order: the line waits for the size
    t.sendline("import shutil, time; any(time.sleep(0.01) for _ in iter(lambda: shutil.get_terminal_size()"
               ".columns == 90, True)); print('now', tuple(shutil.get_terminal_size()))")
    t.expect("now (90, 30)\n>>> ")
