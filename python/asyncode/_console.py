"""code.InteractiveInterpreter and code.InteractiveConsole, made coroutines.

The API is the `code` module's (and that of the `asyncode` library on PyPI, which these
classes replace): the same methods, each a coroutine, and the constructor flags
reroute_stdout and reroute_stderr. A program makes a console of its own by subclassing and
overriding `write` and `raw_input` with its own coroutines (a chat message out, a chat
message in). As in `code`, SystemExit (exit(), quit(), sys.exit()) is not caught.

What runs the code is the runner (_runner.py): the daemon's compile rules, the program's own
loop, output captured per task.
"""
import code
import sys

from . import _loops, _native
from ._core import errors
from ._output import OutputQueue
from ._runner import Runner


class AsyncInteractiveInterpreter(code.InteractiveInterpreter):
    """code.InteractiveInterpreter whose methods are coroutines, running code in the
    program's own event loop with top-level await."""

    def __init__(self, locals=None, *, reroute_stdout=True, reroute_stderr=True,
                 max_buffered_output=1_000_000):
        """locals: the namespace code runs in (by default a new one, whose __name__ is
        "__console__"). reroute_stdout, reroute_stderr: what the code writes to sys.stdout,
        sys.stderr goes to `write` (else where the program's goes). max_buffered_output:
        characters of output held while `write` is behind; more is dropped, and said so."""
        code.InteractiveInterpreter.__init__(self, locals)
        self._output = OutputQueue(self._write_output, max_buffered_output)
        self._runner = Runner(self.locals, self._output.put, stdout=reroute_stdout, stderr=reroute_stderr)
        self.compile = self._runner.compiler

    # Flags that may change between inputs, as in the original library.
    @property
    def reroute_stdout(self):
        return self._runner.capture.stdout

    @reroute_stdout.setter
    def reroute_stdout(self, value):
        self._runner.capture.stdout = bool(value)

    @property
    def reroute_stderr(self):
        return self._runner.capture.stderr

    @reroute_stderr.setter
    def reroute_stderr(self, value):
        self._runner.capture.stderr = bool(value)

    async def runsource(self, source, filename="<input>", symbol="single"):
        """Compile and run source. True: it is incomplete (more lines are needed); False:
        it ran, or it was invalid and the error was shown."""
        try:
            compiled = self.compile(source, filename, symbol)
        except (OverflowError, SyntaxError, ValueError):
            await self.showsyntaxerror(filename)
            return False
        if compiled is None:
            return True
        await self.runcode(compiled)
        return False

    async def runcode(self, code):
        """Run a code object in the program's loop: as a task of it when it awaits. Its
        output is written before this returns; an exception is shown with showtraceback,
        except SystemExit, which is raised."""
        loop = _loops.current()
        self._output.bind(loop)
        self._output.begin()
        try:
            outcome = await self._runner.run(code, loop)
            await self._output.flush()
        finally:
            self._output.end()
        exc = outcome.exception
        if exc is None:
            return
        try:
            if isinstance(exc, SystemExit):
                raise exc
            try:
                raise exc
            except BaseException:  # noqa: B902 - made the current exception for showtraceback
                await self.showtraceback()
        finally:
            exc = outcome = None

    async def showsyntaxerror(self, filename=None):
        """Show the SyntaxError being handled (no traceback: where it was compiled is not
        news). sys.excepthook shows it instead when the program replaced it."""
        exc_type, value, tb = sys.exc_info()
        sys.last_type, sys.last_value, sys.last_traceback = exc_type, value, tb
        try:
            if sys.excepthook is sys.__excepthook__:
                await self.write(errors.error_info(value, compile_error=True)["formatted"])
            else:
                sys.excepthook(exc_type, value, tb)
        finally:
            value = tb = None

    async def showtraceback(self):
        """Show the exception being handled, with the frames of the console's code only."""
        exc_type, value, tb = sys.exc_info()
        sys.last_type, sys.last_value, sys.last_traceback = exc_type, value, tb
        try:
            if sys.excepthook is sys.__excepthook__:
                await self.write(errors.error_info(value)["formatted"])
            else:
                sys.excepthook(exc_type, value, tb)
        finally:
            value = tb = None

    async def write(self, data):
        """Where the console's text goes. This one writes to sys.stderr; override it."""
        sys.stderr.write(data)

    async def _write_output(self, data):
        await self.write(data)

    # ---- beyond `code` -------------------------------------------------------------
    def interrupt(self):
        """Stop the code that runs: cancel it when it awaits, else KeyboardInterrupt at its
        next instruction (from another thread, or a signal handler). False when nothing
        runs. The input's runsource() then shows the traceback and returns."""
        return self._runner.interrupt()

    @property
    def running(self):
        """Code of this console runs now."""
        return self._runner.running


class AsyncInteractiveConsole(AsyncInteractiveInterpreter, code.InteractiveConsole):
    """code.InteractiveConsole whose methods are coroutines: prompts, a buffer of lines,
    interact() until exit() or end of input."""

    def __init__(self, locals=None, filename="<console>", *, reroute_stdout=True,
                 reroute_stderr=True, max_buffered_output=1_000_000):
        AsyncInteractiveInterpreter.__init__(self, locals, reroute_stdout=reroute_stdout,
                                             reroute_stderr=reroute_stderr,
                                             max_buffered_output=max_buffered_output)
        self.filename = filename
        self.resetbuffer()

    async def interact(self, banner=None, exitmsg=None):
        """Read lines with raw_input() and push them until raw_input raises EOFError; code
        that calls exit() ends it with SystemExit, which is raised."""
        if not hasattr(sys, "ps1"):
            sys.ps1 = ">>> "
        if not hasattr(sys, "ps2"):
            sys.ps2 = "... "
        name = type(self).__name__
        if banner is None:
            loop = _loops.current().name
            await self.write(
                "Python %s on %s\nasyncode %s: top-level await works here (this program's %s loop).\n"
                'Type "help", "copyright", "credits" or "license" for more information.\n(%s)\n'
                % (sys.version, sys.platform, _native.VERSION, loop, name))
        elif banner:
            await self.write("%s\n" % banner)
        more = False
        while True:
            try:
                try:
                    line = await self.raw_input(sys.ps2 if more else sys.ps1)
                except EOFError:
                    await self.write("\n")
                    break
                more = await self.push(line)
            except KeyboardInterrupt:
                await self.write("\nKeyboardInterrupt\n")
                self.resetbuffer()
                more = False
        if exitmsg is None:
            await self.write("now exiting %s...\n" % name)
        elif exitmsg:
            await self.write("%s\n" % exitmsg)

    async def push(self, line):
        """Add a line to the buffer and run the buffer when it is complete. True: more lines
        are needed."""
        self.buffer.append(line)
        more = await self.runsource("\n".join(self.buffer), self.filename)
        if not more:
            self.resetbuffer()
        return more

    async def raw_input(self, prompt=""):
        """Read a line (EOFError at the end). This one reads the program's stdin in a thread
        of its own, so the loop runs meanwhile; override it."""
        return await _loops.current().to_thread(input, prompt)
