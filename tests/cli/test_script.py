"""asyncode as a script runner: `asyncode run FILE ARGS...`, `asyncode -c CODE`, code on stdin."""

from __future__ import annotations

import signal
import subprocess
import textwrap
import time

from terminal import wait_sleeping

TOP_LEVEL_AWAIT = textwrap.dedent("""\
    import asyncio, sys
    await asyncio.sleep(0.01)
    print(sys.argv[1:])
""")


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_run_a_file_with_top_level_await_and_arguments(run, tmp_path):
    f = write(tmp_path / "f.py", TOP_LEVEL_AWAIT)
    r = run("run", f, "a", "b")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "['a', 'b']\n"
    assert r.stderr == ""


def test_argv0_file_and_path_are_set_as_python_sets_them(run, tmp_path):
    (tmp_path / "helper_module.py").write_text("VALUE = 'imported'\n")
    f = write(tmp_path / "main.py", """\
        import sys, helper_module
        print(sys.argv[0], __file__ == sys.argv[0] or __file__, __name__, helper_module.VALUE)
    """)
    r = run("run", "main.py", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "main.py %s __main__ imported\n" % f


def test_system_exit_gives_the_exit_code(run, tmp_path):
    f = write(tmp_path / "f.py", "raise SystemExit(3)\n")
    assert run("run", f).returncode == 3


def test_sys_exit_without_a_code_is_0(run, tmp_path):
    f = write(tmp_path / "f.py", "import sys\nprint('bye')\nsys.exit()\n")
    r = run("run", f)
    assert (r.returncode, r.stdout) == (0, "bye\n")


def test_sys_exit_with_a_message_prints_it_and_gives_1(run):
    r = run("-c", "import sys; sys.exit('it went wrong')")
    assert r.returncode == 1
    assert r.stderr == "it went wrong\n"


def test_an_uncaught_error_gives_1_and_its_traceback_on_stderr(run, tmp_path):
    f = write(tmp_path / "f.py", """\
        print("before")
        def fail():
            return 1 / 0
        fail()
    """)
    r = run("run", f)
    assert r.returncode == 1
    assert r.stdout == "before\n"
    assert r.stderr.startswith("Traceback (most recent call last):\n")
    assert 'File "%s", line 4, in <module>' % f in r.stderr
    assert "return 1 / 0" in r.stderr
    assert r.stderr.endswith("ZeroDivisionError: division by zero\n")


def test_c_runs_code_with_argv(run):
    r = run("-c", "import asyncio, sys; await asyncio.sleep(0); print(sys.argv)", "x", "y")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "['-c', 'x', 'y']\n"


def test_code_on_a_pipe_runs_without_prompts(run):
    r = run(input="import asyncio\nawait asyncio.sleep(0); print(1)\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "1\n"
    assert ">>>" not in r.stdout + r.stderr


def test_code_on_a_pipe_fails_as_a_script(run):
    r = run(input="x = 1\nraise ValueError('piped')\n")
    assert r.returncode == 1
    assert 'File "<stdin>", line 2, in <module>' in r.stderr
    assert "ValueError: piped" in r.stderr


def test_input_in_a_script_reads_stdin(run, tmp_path):
    f = write(tmp_path / "ask.py", """\
        first = input("first? ")
        second = input("second? ")
        print("|", first, second)
        try:
            input()
        except EOFError:
            print("end of input")
    """)
    r = run("run", f, input="one\ntwo\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "first? second? | one two\nend of input\n"


def test_output_streams_before_the_script_ends(cli, env, tmp_path):
    f = write(tmp_path / "slow.py", """\
        import asyncio
        print("first", flush=True)
        await asyncio.sleep(30)
    """)
    p = subprocess.Popen([cli, "run", f], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        assert p.stdout.readline() == "first\n"
        assert p.poll() is None  # still running: the line came as it was printed
    finally:
        p.kill()
        p.wait(10)


def test_sigint_interrupts_a_script_with_130_and_a_traceback(cli, env, tmp_path):
    f = write(tmp_path / "sleepy.py", """\
        import time
        print("sleeping", flush=True)
        time.sleep(30)
    """)
    p = subprocess.Popen([cli, "run", f], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        assert p.stdout.readline() == "sleeping\n"
        assert wait_sleeping(p.pid)  # print() has returned: the traceback must show the sleep
        started = time.monotonic()
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=25)
        assert time.monotonic() - started < 20  # well before the 30 s sleep ends, even on a loaded machine
        assert p.returncode == 130
        assert "time.sleep(30)" in err and err.endswith("KeyboardInterrupt\n")
    finally:
        if p.poll() is None:
            p.kill()


def test_a_background_task_started_by_a_script_does_not_keep_it_alive(run):
    code = "import asyncio\nasync def forever():\n    await asyncio.sleep(3600)\nt = asyncio.create_task(forever())\nawait asyncio.sleep(0)\nprint('done')"
    started = time.monotonic()
    r = run("-c", code)
    assert (r.returncode, r.stdout) == (0, "done\n")
    assert time.monotonic() - started < 10


def test_display_prints_the_text_form(run):
    r = run("-c", "display(42); display('text')")
    assert (r.returncode, r.stdout) == (0, "42\n'text'\n")


def test_trio_backend(run):
    r = run("--backend", "trio", "-c", "import trio; await trio.sleep(0); print('trio ok')")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "trio ok\n"


def test_cwd_sets_the_sessions_directory(run, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    r = run("--cwd", str(tmp_path / "elsewhere"), "-c", "import os; print(os.getcwd())")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "%s\n" % (tmp_path / "elsewhere")


def test_a_missing_file_is_reported_with_2(run, tmp_path):
    r = run("run", str(tmp_path / "nope.py"))
    assert r.returncode == 2
    assert "can't open file" in r.stderr and "nope.py" in r.stderr


def test_a_missing_daemon_is_reported(run, tmp_path):
    r = run("--daemon", str(tmp_path / "no-such-daemon"), "-c", "print(1)")
    assert r.returncode == 1
    assert "cannot start the daemon" in r.stderr


def test_python_uses_a_venvs_packages(run, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--without-pip", str(venv)], check=True)
    site = venv / "lib" / "python3.11" / "site-packages"
    (site / "only_in_the_venv.py").write_text("WHERE = 'venv'\n")
    r = run("--python", str(venv), "-c", "import only_in_the_venv; print(only_in_the_venv.WHERE)")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "venv\n"


def test_a_bad_venv_is_reported(run, tmp_path):
    r = run("--python", str(tmp_path / "no-venv"), "-c", "print(1)")
    assert r.returncode == 1
    assert "no-venv" in r.stderr


def test_version_and_help(run):
    v = run("--version")
    assert v.returncode == 0 and v.stdout.startswith("asyncode ")
    h = run("--help")
    assert h.returncode == 0
    for option in ("--backend", "--python", "--cwd", "--daemon", "run FILE", "-c CODE"):
        assert option in h.stdout


def test_a_wrong_option_is_a_usage_error(run):
    r = run("--frobnicate")
    assert r.returncode == 2
    assert "unknown option: --frobnicate" in r.stderr


def test_a_file_without_run_is_pointed_at_run(run):
    r = run("script.py")
    assert r.returncode == 2
    assert "asyncode run script.py" in r.stderr


TRIO_SCRIPT = """\
    import trio
    async def main():
        await trio.sleep(0.01)
        print('slept')
    await main()
"""


def test_a_trio_script_without_backend_trio_is_told_to_use_it(run, tmp_path):
    f = write(tmp_path / "uses_trio.py", TRIO_SCRIPT)
    r = run("run", f)
    assert r.returncode == 1
    assert r.stderr.rstrip().endswith("asyncode: this code awaits Trio, and the session runs asyncio: "
                                      "use asyncode --backend trio")
    r = run("--backend", "trio", "run", f)
    assert (r.returncode, r.stdout, r.stderr) == (0, "slept\n", "")


def test_an_asyncio_error_gets_no_trio_hint(run):
    r = run("-c", "import asyncio; await asyncio.sleep('x')")
    assert r.returncode == 1 and "TypeError" in r.stderr
    assert "--backend" not in r.stderr


def test_a_script_reads_piped_stdin_as_a_stream(run, tmp_path):
    f = write(tmp_path / "sum.py", """\
        import sys
        print(sum(int(line) for line in sys.stdin))
    """)
    r = run("run", f, input="".join("%d\n" % i for i in range(1, 200001)))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "%d\n" % (200000 * 200001 // 2)


def test_a_child_process_of_a_script_reads_its_stdin(run):
    r = run("-c", "import subprocess, sys\nsubprocess.run(['head', '-1'])\nprint('after', repr(sys.stdin.read()))",
            input="first line\nsecond line\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("first line\nafter ")


def test_stdin_bytes_reach_the_script_unchanged(cli, env, tmp_path):
    data = b"caf\xc3\xa9\r\n\xff\xfe raw\n" + "😀".encode() * 30000
    (tmp_path / "in.bin").write_bytes(data)
    code = ("import sys, hashlib\n"
            "b = sys.stdin.buffer.read()\n"
            "print(len(b), hashlib.sha256(b).hexdigest())\n")
    with open(tmp_path / "in.bin", "rb") as stdin:
        r = subprocess.run([cli, "-c", code], stdin=stdin, capture_output=True, env=env, timeout=60)
    import hashlib
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == "%d %s\n" % (len(data), hashlib.sha256(data).hexdigest())
    with subprocess.Popen([cli, "-c", "import sys\nprint(ascii(sys.stdin.read()))"], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as p:
        out, err = p.communicate(b"a\r\nb\xffc", timeout=60)
    assert p.returncode == 0, err
    assert out.decode() == "'a\\r\\nb\\udcffc'\n"


def test_a_script_runs_without_a_warm_spare_beside_it(run):
    # The daemon a script starts keeps no spare worker, which would take a CPU from the script
    # while it started (bench/: stdin). Its only child is the worker that runs the script.
    r = run("-c", "import os; d = os.getppid(); "
                  "print(open('/proc/%d/task/%d/children' % (d, d)).read().split() == [str(os.getpid())])")
    assert (r.returncode, r.stdout) == (0, "True\n"), r.stderr
