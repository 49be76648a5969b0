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
