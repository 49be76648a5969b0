"""Output per task: what a console's code prints goes to that console, nothing else does.

sys.stdout and sys.stderr are replaced once by proxies. A write looks up the context
variable TARGET: set (in the context a console runs its code in, and so in every task that
code starts, which copies that context), the text goes to that console's sink; unset (every
other task and thread of the program), it goes to the stream the proxy replaced. Results
shown by the 'single' symbol go through sys.displayhook, wrapped the same way.
"""
import codecs
import contextvars
import sys
import threading

TARGET = contextvars.ContextVar("asyncode_capture", default=None)

_install_lock = threading.Lock()


class Capture:
    """Where a console's code writes: sink(stream, text) for "stdout" and "stderr" when that
    stream is captured; displayhook(value) for results (None: the program's own hook);
    display(items, display_id, update, metadata_json) and clear_output(wait) for display()
    and clear_output() (None: display() prints the plain text); input(prompt) for input()
    (None: the program's own)."""

    __slots__ = ("sink", "stdout", "stderr", "displayhook", "display", "clear_output", "input", "_decoders")

    def __init__(self, sink, stdout=True, stderr=True, displayhook=None, display=None, clear_output=None,
                 input=None):  # noqa: A002 - the builtin's name, on purpose
        self.sink = sink
        self.stdout = stdout
        self.stderr = stderr
        self.displayhook = displayhook
        self.display = display
        self.clear_output = clear_output
        self.input = input
        self._decoders = {}

    def wants(self, stream):
        return self.stdout if stream == "stdout" else self.stderr

    def put_bytes(self, stream, data):
        decoder = self._decoders.get(stream)
        if decoder is None:
            decoder = self._decoders[stream] = codecs.getincrementaldecoder("utf-8")("replace")
        text = decoder.decode(bytes(data))
        if text:
            self.sink(stream, text)


def _captured(stream):
    target = TARGET.get()
    return target if target is not None and target.wants(stream) else None


class _BinaryProxy:
    """`sys.stdout.buffer`: bytes of captured code are decoded (UTF-8) into its console."""

    def __init__(self, proxy):
        self._proxy = proxy

    def write(self, data):
        target = _captured(self._proxy._name)
        if target is None:
            return self._proxy._original.buffer.write(data)
        target.put_bytes(self._proxy._name, data)
        return len(data)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        if _captured(self._proxy._name) is None:
            self._proxy._original.buffer.flush()

    def writable(self):
        return True

    def __getattr__(self, name):
        return getattr(self._proxy._original.buffer, name)


class StreamProxy:
    """sys.stdout or sys.stderr: the console of the current context, else the original."""

    def __init__(self, name, original):
        self._name = name
        self._original = original

    @property
    def original(self):
        return self._original

    def write(self, text):
        target = _captured(self._name)
        if target is None:
            if self._original is None:  # a program without stdout: print() does nothing there
                return len(text)
            return self._original.write(text)
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        target.sink(self._name, text)
        return len(text)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        if _captured(self._name) is None and self._original is not None:
            self._original.flush()

    def isatty(self):
        if _captured(self._name) is not None or self._original is None:
            return False
        return self._original.isatty()

    def writable(self):
        return True

    @property
    def buffer(self):
        return _BinaryProxy(self)

    def __getattr__(self, name):  # fileno, encoding, errors, reconfigure...: the original's
        if name in ("_name", "_original"):  # not set yet (copy, pickle)
            raise AttributeError(name)
        return getattr(self._original, name)

    def __repr__(self):
        return "<asyncode proxy of %r>" % (self._original,)


class DisplayHook:
    """sys.displayhook: the console's own for its code, the program's otherwise."""

    def __init__(self, original):
        self.original = original

    def __call__(self, value):
        target = TARGET.get()
        if target is not None and target.displayhook is not None:
            target.displayhook(value)
        else:
            self.original(value)


class DisplaySink:
    """Where display() and clear_output() of the engine's display module go in a program: the
    console of the current context; elsewhere the plain text is printed, as IPython does
    outside a kernel."""

    @staticmethod
    def display(items, display_id, update, metadata_json):
        target = TARGET.get()
        if target is not None and target.display is not None:
            return target.display(items, display_id, update, metadata_json)
        text = next((data for mime, data, _ in items if mime == "text/plain"), None)
        if text is not None:
            print(text)

    @staticmethod
    def clear_output(wait):
        target = TARGET.get()
        if target is not None and target.clear_output is not None:
            target.clear_output(wait)


class InputHook:
    """builtins.input: the console's own for its code, the program's otherwise."""

    def __init__(self, original):
        self.original = original

    def __call__(self, prompt=""):
        target = TARGET.get()
        if target is not None and target.input is not None:
            return target.input(str(prompt))
        return self.original(prompt)


def install():
    """Put the proxies in place (again, if the program replaced them since)."""
    import builtins
    with _install_lock:
        if not isinstance(builtins.input, InputHook):
            builtins.input = InputHook(builtins.input)
        for name in ("stdout", "stderr"):
            current = getattr(sys, name)
            if not isinstance(current, StreamProxy):
                setattr(sys, name, StreamProxy(name, current))
        if not isinstance(sys.displayhook, DisplayHook):
            sys.displayhook = DisplayHook(sys.displayhook)


def original(name):
    """The stream under the proxies ("stdout" or "stderr"): where uncaptured text goes."""
    stream = getattr(sys, name)
    while isinstance(stream, StreamProxy):
        stream = stream.original
    return stream
