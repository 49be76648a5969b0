"""Ctrl-C acts once (shared/PROTOCOL.md, Interrupt), Ctrl-\\ restarts a session whose code will
not stop, and the prompt says plainly when a session lost its variables."""

from __future__ import annotations

from terminal import wait_sleeping

PROMPT = ">>> "
RESTARTED = "asyncode: the session was restarted: its variables are gone"

# Code that will not stop: each KeyboardInterrupt is caught, even one that lands in the
# handler of the one before.
CATCHING_LOOP = (
    "import time\n"
    "caught = 0\n"
    "while True:\n"
    "    try:\n"
    "        try:\n"
    "            time.sleep(30)\n"
    "        except KeyboardInterrupt:\n"
    "            caught += 1\n"
    "            print('caught', caught, flush=True)\n"
    "    except KeyboardInterrupt:\n"
    "        pass\n"
    "\n"
)

def run_pasted(t, code):
    t.paste(code)
    t.sendline()

def test_one_ctrl_c_lets_the_cleanup_in_except_finish(repl):
    t = repl()
    run_pasted(t, "import time\n"
                  "try:\n"
                  "    time.sleep(30)\n"
                  "except KeyboardInterrupt:\n"
                  "    time.sleep(0.5)\n"
                  "    print('cleaned up', flush=True)\n"
                  "\n")
    assert wait_sleeping(t.pid)
    t.ctrl("c")
    t.expect("\ncleaned up\n>>> ")
    assert "Traceback" not in t.text

def test_ctrl_backslash_restarts_a_session_whose_code_will_not_stop(repl):
    t = repl()
    t.sendline("kept = 'before'")
    t.expect(PROMPT)
    run_pasted(t, CATCHING_LOOP)
    assert wait_sleeping(t.pid)
    t.ctrl("\\")
    t.expect(RESTARTED)
    t.expect(PROMPT)
    t.sendline("'kept' in dir()")
    t.expect("\nFalse\n>>> ")

def test_a_second_ctrl_c_interrupts_again_and_tells_of_ctrl_backslash(repl):
    t = repl()
    t.sendline("kept = 'before'")
    t.expect(PROMPT)
    run_pasted(t, CATCHING_LOOP)
    assert wait_sleeping(t.pid)
    t.ctrl("c")
    t.expect("caught 1\n")
    t.ctrl("c")  # the code is still running: the prompt says what can be done
    t.expect("Ctrl-C interrupts it again, Ctrl-\\ restarts the session (its variables are lost)")
    t.ctrl("\\")
    t.expect(RESTARTED)
    t.expect(PROMPT)
    t.sendline("'kept' in dir(), 'caught' in dir()")
    t.expect("\n(False, False)\n>>> ")
    assert t.text.count(RESTARTED) == 1

def test_code_stuck_in_c_costs_the_session_and_the_prompt_says_so(repl):
    t = repl()
    t.sendline("kept = 'before'")
    t.expect(PROMPT)
    # A C call that no interrupt ends (its thread blocks SIGINT): Python does not run again
    # for a minute, so nothing but a new worker ends it.
    run_pasted(t, "import signal, time\n"
                  "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})\n"
                  "time.sleep(60)\n")
    assert wait_sleeping(t.pid)
    t.ctrl("c")
    t.expect(RESTARTED, timeout=30)
    t.expect(PROMPT)
    t.sendline("kept")
    t.expect("NameError: name 'kept' is not defined")
    t.expect(PROMPT)
    assert t.text.count(RESTARTED) == 1

def test_ctrl_backslash_at_the_prompt_does_nothing(repl):
    t = repl()
    t.sendline("kept = 'here'")
    t.expect(PROMPT)
    t.ctrl("\\")
    t.sendline("kept")
    t.expect("\n'here'\n>>> ")
    assert "restarted" not in t.text

def test_ctrl_c_at_input_is_echoed_and_interrupts(repl):
    t = repl()
    t.sendline("answer = input('wait: ')")
    t.expect("\nwait: ")
    t.send("half")
    t.expect("half")
    t.ctrl("c")
    t.expect("KeyboardInterrupt\n>>> ")
    t.expect_screen(r"^wait: half\^C$")
