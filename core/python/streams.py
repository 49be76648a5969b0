"""sys.stdout, sys.stderr and sys.stdin of a session.

Writes go to the C++ outbox without a Python frame in between (`write` is a builtin bound
to its stream), tagged with the exec that owns the current context, so output of a task
that an exec started finds that exec long after it answered. In a forked child the same
calls write to the process's fd 1 and 2 directly (which the daemon captures too).
"""
import io

import _asyncode_c
from _asyncode import terminal


class _BinaryWriter(io.RawIOBase):
    """`sys.stdout.buffer`: bytes written here are decoded as UTF-8 (across calls)."""

    def __init__(self, text_stream):
        super().__init__()
        self._text = text_stream
        import codecs
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def writable(self):
        return True

    def write(self, data):
        data = bytes(data)
        self._text.write(self._decoder.decode(data))
        return len(data)

    def fileno(self):
        return self._text.fileno()

    def flush(self):
        self._text.flush()


class OutputStream(io.TextIOBase):
    def __init__(self, fd, name):
        super().__init__()
        self._fd = fd
        self._name = name
        # A builtin, not a method: print() calls it without any Python frame.
        self.write = _asyncode_c.make_writer(fd)
        self.buffer = _BinaryWriter(self)

    @property
    def name(self):
        return self._name

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return "backslashreplace"

    @property
    def line_buffering(self):
        return True

    @property
    def mode(self):
        return "w"

    def writable(self):
        return True

    def readable(self):
        return False

    def seekable(self):
        return False

    def isatty(self):
        return terminal.is_tty()  # the client shows it on a terminal

    def fileno(self):
        return self._fd

    def flush(self):
        _asyncode_c.flush_fds()

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def close(self):
        pass  # the session's streams stay open whatever user code does

    @property
    def closed(self):
        return False


def stdin_file():
    """sys.stdin of a session with a stdin stream (session/open's stdinStream): fd 0 is a pipe
    the daemon feeds, made into a file exactly as CPython makes sys.stdin of a pipe: buffered
    bytes (`.buffer`), UTF-8 with surrogateescape, lines split at "\n" only ("\r" kept)."""
    raw = io.FileIO(0, "rb", closefd=False)
    raw.name = "<stdin>"
    buffered = io.BufferedReader(raw)
    return io.TextIOWrapper(buffered, encoding="utf-8", errors="surrogateescape", newline="\n")


class InputStream(io.TextIOBase):
    """sys.stdin: each line read is asked of the client, like input()."""

    def readable(self):
        return True

    def isatty(self):
        return False

    @property
    def name(self):
        return "<stdin>"

    @property
    def encoding(self):
        return "utf-8"

    def fileno(self):
        return 0

    def readline(self, size=-1):
        try:
            line = _asyncode_c.input("", _asyncode_c.INPUT_INPUT) + "\n"
        except EOFError:
            return ""
        return line if size is None or size < 0 else line[:size]

    def read(self, size=-1):
        if size is not None and size >= 0:
            return self.readline(size)
        out = []
        while True:
            line = self.readline()
            if not line:
                return "".join(out)
            out.append(line)

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def close(self):
        pass

    @property
    def closed(self):
        return False


def after_fork_in_child():
    """In a forked child (multiprocessing), the session's streams become plain
    line-buffered files on fd 1 and 2, which the daemon reads: each line is one write,
    so lines of several children do not mix."""
    import sys
    for fd, name in ((1, "stdout"), (2, "stderr")):
        stream = io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", line_buffering=True)
        setattr(sys, name, stream)
        setattr(sys, "__%s__" % name, stream)


def route_os_write(stdout, stderr):
    """os.write(1, ...) and os.write(2, ...) from Python join the session's output in the
    order it was written (revision 1's Order rule: what one thread writes to stdout and
    stderr reaches the client in that order). Bytes are UTF-8 (a character split between two
    writes is kept whole; others become U+FFFD). Writes to another descriptor, to fd 1 or 2
    once user code has pointed them elsewhere (os.dup2), or from a forked child go to the
    descriptor as before."""
    import codecs
    import os
    real = os.write
    parent = os.getpid()
    writers = {1: stdout.write, 2: stderr.write}
    decoders = {fd: codecs.getincrementaldecoder("utf-8")("replace") for fd in writers}
    ids = {}
    for fd in writers:
        st = os.fstat(fd)
        ids[fd] = (st.st_dev, st.st_ino)

    def write(fd, data, /):
        if fd in writers and os.getpid() == parent:
            st = os.fstat(fd)
            if (st.st_dev, st.st_ino) == ids[fd]:
                data = memoryview(data)
                text = decoders[fd].decode(data.tobytes())
                if text:
                    writers[fd](text)
                return data.nbytes
        return real(fd, data)
    write.__doc__ = real.__doc__
    os.write = write


def patch_ctypes(ctypes):
    """C code called through ctypes may write to fd 1 and 2 itself (CPython raises no audit
    event for a plain foreign call): the session's output written before the call goes out
    first, as on a terminal where print() flushes its line."""
    import _asyncode_c
    base = ctypes._CFuncPtr
    flush = _asyncode_c.flush_fds

    class _FlushingFuncPtr(base):
        _flags_ = ctypes._FUNCFLAG_CDECL
        _restype_ = ctypes.c_int

        def __call__(self, *args, **kwargs):
            flush()
            return base.__call__(self, *args, **kwargs)

    ctypes._CFuncPtr = _FlushingFuncPtr
