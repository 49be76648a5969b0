"""asyncode: an async interactive console inside a running program.

`code.InteractiveConsole` made async, with top-level await, running in the program's own
event loop (asyncio or Trio): subclass AsyncInteractiveConsole, override `write` and
`raw_input` with the program's coroutines, and `await console.interact()`.

    class ChatConsole(asyncode.AsyncInteractiveConsole):
        async def write(self, data):
            await channel.send(data)

        async def raw_input(self, prompt=""):
            return await next_message()

What the console's code prints goes to its `write`, and what the program's other tasks
print does not; compile checks follow the asyncode daemon's rules (the same code); and
`console.interrupt()` stops the code that runs.

`await asyncode.serve()` (or `asyncode.serve_in_background()`) lets the asyncode daemon
attach to the running program (`asyncode attach`, session/attach): see _serve.py.
"""
from . import _native
from ._compiler import CompileResult, SyntaxErrorInfo, check as _check
from ._console import AsyncInteractiveConsole, AsyncInteractiveInterpreter
from ._serve import default_path, serve, serve_in_background, socket_dir

__version__ = _native.VERSION
__all__ = ["AsyncInteractiveInterpreter", "AsyncInteractiveConsole", "compile_check",
           "CompileResult", "SyntaxErrorInfo", "serve", "serve_in_background", "socket_dir",
           "default_path", "__version__"]


def compile_check(source, mode="single"):
    """Is `source` complete, incomplete or invalid, and does running it need `await`? The
    daemon's answer (asyncoded's `compile` request), with mode "single" (the REPL's symbol,
    as a console uses), "exec" or "cell"."""
    return _check(source, mode)
