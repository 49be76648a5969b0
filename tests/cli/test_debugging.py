"""pdb at the terminal as in CPython's REPL (issue 11, 2 and 3): post-mortem after an error,
and Ctrl-C at the pdb prompt that keeps the session."""

from __future__ import annotations

PROMPT = ">>> "
PDB = "(Pdb) "


def test_pdb_pm_after_an_error_shows_the_failing_frame(repl):
    t = repl()
    t.sendline("def f(x):\n    return 1 / x\n")
    t.expect(PROMPT)
    t.sendline("f(0)")
    t.expect("ZeroDivisionError")
    t.expect(PROMPT)
    t.sendline("import pdb; pdb.pm()")
    t.expect("-> return 1 / x")
    t.expect(PDB)
    t.sendline("p x")
    t.expect("\n0\n" + PDB)
    t.sendline("q")
    t.expect(PROMPT)
    assert "<asyncode" not in t.text


def test_ctrl_c_at_the_pdb_prompt_keeps_the_session(repl):
    t = repl()
    t.sendline("kept = 'here'")
    t.expect(PROMPT)
    t.sendline("breakpoint(); x = 1")
    t.expect(PDB)
    t.ctrl("c")
    t.expect(PDB)  # pdb caught it and asks again
    # Past the old grace period, undisturbed: the interrupt acted once.
    t.sendline("!import time; time.sleep(2.5); print('slept')")
    t.expect("\nslept\n" + PDB, timeout=20)
    t.sendline("c")
    t.expect(PROMPT)
    t.sendline("kept")
    t.expect("\n'here'\n>>> ")
    assert "restarted" not in t.text


UP = "\x1b[A"
G = "def g():\n    a_local_of_g = 41\n    breakpoint()\n    return a_local_of_g\n"


def test_pdb_commands_have_a_history_of_their_own(repl):
    t = repl()
    t.sendline(G)
    t.expect(PROMPT)
    t.sendline("g()")
    t.expect(PDB)
    t.sendline("p a_local_of_g")
    t.expect("\n41\n" + PDB)
    t.send(UP)  # the last pdb command, not the last Python line
    t.expect_cursor_line(PDB + "p a_local_of_g")
    t.sendline()
    t.expect("\n41\n" + PDB)
    # pdb's `debug` asks at a prompt of its own, "((Pdb)) ": pdb's history all the same.
    t.sendline("debug a_local_of_g + 1")
    t.expect("((Pdb)) ")
    t.send(UP)
    t.expect_cursor_line("((Pdb)) debug a_local_of_g + 1")
    t.ctrl("u")
    t.sendline("c")
    t.expect(PDB)
    t.sendline("c")
    t.expect("\n41\n" + PROMPT)
    t.send(UP)  # Python's history never got pdb's commands
    t.expect_cursor_line(PROMPT + "g()")


def test_tab_at_the_pdb_prompt_completes_commands_and_names_of_the_paused_frame(repl):
    t = repl()
    t.sendline(G)
    t.expect(PROMPT)
    t.sendline("g()")
    t.expect(PDB)
    t.send("p a_local_o\t")  # a local of g, where pdb is paused
    t.expect_cursor_line(PDB + "p a_local_of_g")
    t.sendline()
    t.expect("\n41\n" + PDB)
    t.send("whe\t")  # a pdb command
    t.expect_cursor_line(PDB + "where")
    t.sendline()
    t.expect("-> return a_local_of_g")
    t.expect(PDB)
    t.sendline("c")
    t.expect("\n41\n" + PROMPT)
