"""The client's terminal (session/open's and session/terminal's `terminal`), as user code sees it.

The worker's fds 0-2 are pipes, so Python alone would say 80x24 and "not a tty". When the
client says it shows the output on a terminal (the C++ side keeps the latest size, and sends
this thread SIGWINCH when it changes, as a terminal does to its foreground process):

  - os.get_terminal_size(fd) of fds 0-2 answers the client's size (other fds: the real one);
  - COLUMNS and LINES in os.environ hold it (child processes inherit them), updated on
    SIGWINCH and whenever shutil.get_terminal_size() asks, unless user code set them itself;
  - sys.stdout.isatty() and sys.stderr.isatty() are true (streams.py asks is_tty());
    os.isatty(1) stays the truth about the fd (a pipe), since code that gets True there goes
    on to termios calls that would fail.

Child processes still write into pipes: `ls --color=auto` stays plain (README says so).
"""
import _signal
import os

import _asyncode_c as _c


class Terminal:
    def __init__(self):
        self._set = {}  # the values this module put into os.environ, by name

    def install(self):
        original = os.get_terminal_size

        def get_terminal_size(fd=1, _original=original):
            size = _c.terminal()
            if size is not None and fd in (0, 1, 2):
                return os.terminal_size(size[:2])
            return _original(fd)
        get_terminal_size.__doc__ = original.__doc__
        os.get_terminal_size = get_terminal_size
        _signal.signal(_signal.SIGWINCH, self._on_sigwinch)

    def patch_shutil(self, shutil):
        original = shutil.get_terminal_size

        def get_terminal_size(fallback=(80, 24), _original=original):
            self.apply()
            return _original(fallback)
        get_terminal_size.__doc__ = original.__doc__
        shutil.get_terminal_size = get_terminal_size

    def _on_sigwinch(self, signum, frame):
        self.apply()

    def apply(self):
        """COLUMNS and LINES say the client's size (the first time whatever they held, which
        came with the worker's environment; later unless user code changed them)."""
        size = _c.terminal()
        if size is None:
            return
        for name, value in (("COLUMNS", size[0]), ("LINES", size[1])):
            text = str(value)
            current = os.environ.get(name)
            if name in self._set and current != self._set[name]:
                continue  # user code set it
            if current != text:
                os.environ[name] = text
            self._set[name] = text


def is_tty():
    size = _c.terminal()
    return size is not None and bool(size[2])
