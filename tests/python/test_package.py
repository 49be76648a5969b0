"""The package as built and as installed: its version is the daemon's, its shared files are
the engine's own, its default write() and raw_input() serve a terminal, and pip installs it
offline into a fresh venv from this checkout."""
import os
import pathlib
import subprocess
import sys

import pytest

import asyncode
from conftest import PACKAGE_PARENT, ROOT


def daemon_version():
    daemon = os.environ.get("ASYNCODE_DAEMON") or str(ROOT / "build" / "asyncoded")
    out = subprocess.run([daemon, "--version"], capture_output=True, text=True, timeout=30, check=True).stdout
    return out.split()[1]  # "asyncoded 0.1.0 (Python 3.11.2)"


def test_the_version_is_the_daemons():
    assert asyncode.__version__ == daemon_version()


def test_the_shared_files_are_the_engines_own():
    package = pathlib.Path(asyncode.__file__).parent
    for name in ("errors.py", "cells.py"):
        assert (package / "_core" / name).read_bytes() == (ROOT / "core" / "python" / name).read_bytes()


def terminal_console(backend, stdin):
    script = ("import asyncode, {0}; {0}.run(asyncode.AsyncInteractiveConsole().interact{1})"
              .format(backend, "" if backend == "trio" else "()"))
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT)
    return subprocess.run([sys.executable, "-c", script], input=stdin, capture_output=True, text=True,
                          timeout=60, env=env)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_the_default_console_reads_stdin_and_writes_stderr(backend):
    done = terminal_console(backend, "x = 6\nx * 7\nimport %s\nawait %s.sleep(0)\nprint('end')\n"
                            % (backend, backend))
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("Python 3.")
    assert "(this program's %s loop)" % backend in done.stderr
    assert done.stderr.endswith("(AsyncInteractiveConsole)\n42\nend\n\nnow exiting AsyncInteractiveConsole...\n")
    assert done.stdout == ">>> " * 6


def test_exit_in_the_default_console_ends_the_program_as_in_code():
    done = terminal_console("asyncio", "import sys\nsys.exit(3)\n")
    assert done.returncode == 3


@pytest.mark.slow
def test_pip_installs_the_package_offline_into_a_fresh_venv(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k != "PYTHONPATH"}
    env["SETUPTOOLS_USE_DISTUTILS"] = "stdlib"  # Debian's setuptools with python3-distutils
    python = str(venv / "bin" / "python")
    install = subprocess.run([python, "-m", "pip", "install", "--no-build-isolation", "--no-index",
                              str(ROOT / "python")], capture_output=True, text=True, env=env,
                             cwd=tmp_path, timeout=900)
    assert install.returncode == 0, install.stdout + install.stderr
    check = ("import asyncio, asyncode\n"
             "class C(asyncode.AsyncInteractiveConsole):\n"
             "    async def write(self, data): print(data, end='')\n"
             "async def main():\n"
             "    c = C()\n"
             "    await c.push('import asyncio')\n"
             "    await c.push('await asyncio.sleep(0, 6 * 7)')\n"
             "asyncio.run(main())\n"
             "print(asyncode.__version__, asyncode.__file__)\n")
    done = subprocess.run([python, "-c", check], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    result, version, location = done.stdout.split()
    assert result == "42"
    assert version == daemon_version()
    assert location.startswith(str(venv))
