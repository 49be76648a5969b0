"""Helpers of the package's tests: a console that records what it writes, and runners that
bound every test in time (a hang fails the test instead of the run)."""
import asyncio
import builtins
import code
import contextlib
import io

import asyncode

LIMIT = 60  # seconds: a safety net only; tests wait on events


class Recorder(asyncode.AsyncInteractiveConsole):
    """A console whose write() records; raw_input() takes lines from a list."""

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.writes = []
        self.lines = list(lines)
        self.prompts = []

    async def write(self, data):
        self.writes.append(data)

    async def raw_input(self, prompt=""):
        self.prompts.append(prompt)
        if not self.lines:
            raise EOFError
        return self.lines.pop(0)

    @property
    def text(self):
        return "".join(self.writes)

    def take(self):
        text = self.text
        self.writes.clear()
        return text


def run(coro_fn, *args):
    """asyncio.run(coro_fn(*args)), failing after LIMIT seconds."""
    async def bounded():
        return await asyncio.wait_for(coro_fn(*args), LIMIT)
    return asyncio.run(bounded())


def run_trio(coro_fn, *args):
    import trio

    async def bounded():
        with trio.fail_after(LIMIT):
            return await coro_fn(*args)
    return trio.run(bounded)


def push_all_code(lines):
    """code.InteractiveConsole's answers and text for lines: push() results, and what it
    wrote (errors) and printed (results, print()) in order."""
    out = io.StringIO()

    class Console(code.InteractiveConsole):
        def write(self, data):
            out.write(data)

    console = Console()
    had_underscore = hasattr(builtins, "_")
    saved = getattr(builtins, "_", None)
    try:
        with contextlib.redirect_stdout(out):
            results = [console.push(line) for line in lines]
    finally:  # code's displayhook sets builtins._
        if had_underscore:
            builtins._ = saved
        elif hasattr(builtins, "_"):
            del builtins._
    return results, out.getvalue()


def push_all(lines, **kwargs):
    """The same for asyncode's console, in a fresh asyncio loop."""
    async def main():
        console = Recorder(**kwargs)
        results = [await console.push(line) for line in lines]
        return results, console.text
    return run(main)
