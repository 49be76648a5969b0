"""Drives asyncode through a real pseudo-terminal (the standard library's pty): keys go in as a
user types them, and what the program draws comes back two ways: as a transcript with the escape
sequences taken out (what was written, in order), and as a screen (what the user sees: a small
emulation of the cursor moves and erasing that a line editor does).

    with Terminal([cli]) as t:
        t.expect(">>> ")
        t.sendline("1+1")
        t.expect("2\n>>> ")
        t.expect_screen(r"^>>> $")

Nothing sleeps to let things happen: every wait is for text (or an exit) with a timeout.
"""

from __future__ import annotations

import codecs
import fcntl
import os
import pty
import re
import select
import signal
import struct
import termios
import time

DEFAULT_TIMEOUT = 15.0

# CSI sequences (cursor moves, erasing, colors), OSC sequences, and other two-byte escapes.
_ESCAPES = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[0-9=>@-Z\\-_]")
_ESCAPES_TEXT = re.compile(_ESCAPES.pattern.decode())


def clean(raw: bytes) -> str:
    """The transcript as text: escapes removed, CR LF as LF, a lone CR dropped."""
    text = _ESCAPES.sub(b"", raw).replace(b"\r\n", b"\n").replace(b"\r", b"")
    return text.decode("utf-8", "replace")


class Timeout(AssertionError):
    pass


class Screen:
    """What a VT100/xterm shows after the bytes fed to it: printable text, CR/LF/BS/TAB, and the
    CSI sequences a line editor uses (cursor moves, erase in line and display, insert and
    delete characters). Colors and modes are ignored; each character takes one cell."""

    def __init__(self, cols: int, rows: int):
        self.cols, self.rows = cols, rows
        self.grid = [[" "] * cols for _ in range(rows)]
        self.row = self.col = 0
        self.wrap_next = False  # the cursor is past the last column: the next character wraps
        self.saved = (0, 0)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""

    def feed(self, data: bytes) -> None:
        text = self._pending + self._decoder.decode(data)
        # An escape sequence cut by the end of a read waits for the rest.
        esc = text.rfind("\x1b")
        if esc != -1 and not _ESCAPES_TEXT.match(text, esc) and len(text) - esc < 64:
            text, self._pending = text[:esc], text[esc:]
        else:
            self._pending = ""
        self._run(text)

    def _scroll(self) -> None:
        self.grid.pop(0)
        self.grid.append([" "] * self.cols)

    def _newline(self) -> None:
        if self.row == self.rows - 1:
            self._scroll()
        else:
            self.row += 1

    def _put(self, ch: str) -> None:
        if self.wrap_next:
            self.col = 0
            self._newline()
            self.wrap_next = False
        self.grid[self.row][self.col] = ch
        if self.col == self.cols - 1:
            self.wrap_next = True
        else:
            self.col += 1

    def _run(self, text: str) -> None:
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == "\x1b":
                i = self._escape(text, i)
                continue
            i += 1
            if ch == "\r":
                self.col, self.wrap_next = 0, False
            elif ch == "\n":
                self._newline()
                self.wrap_next = False
            elif ch == "\b":
                self.col, self.wrap_next = max(0, self.col - 1), False
            elif ch == "\t":
                self.col = min(self.cols - 1, (self.col // 8 + 1) * 8)
            elif ch >= " " and ch != "\x7f":
                self._put(ch)

    def _escape(self, text: str, i: int) -> int:
        if i + 1 >= len(text):
            return len(text)
        kind = text[i + 1]
        if kind == "[":
            j = i + 2
            while j < len(text) and not ("@" <= text[j] <= "~"):
                j += 1
            if j >= len(text):
                return len(text)
            self._csi(text[i + 2:j], text[j])
            return j + 1
        if kind == "]":
            end = text.find("\x07", i)
            return len(text) if end == -1 else end + 1
        if kind == "7":
            self.saved = (self.row, self.col)
        elif kind == "8":
            self.row, self.col = self.saved
        return i + 2

    def _csi(self, params: str, final: str) -> None:
        private = params.startswith("?")
        nums = [int(p) if p.isdigit() else 0 for p in params.lstrip("?").split(";")] if params else []
        n = nums[0] if nums and nums[0] > 0 else 1
        if private or final == "m":
            return
        self.wrap_next = False if final in "ABCDGHJKfd" else self.wrap_next
        row = self.grid[self.row]
        if final == "A":
            self.row = max(0, self.row - n)
        elif final == "B":
            self.row = min(self.rows - 1, self.row + n)
        elif final == "C":
            self.col = min(self.cols - 1, self.col + n)
        elif final == "D":
            self.col = max(0, self.col - n)
        elif final == "G":
            self.col = min(self.cols - 1, n - 1)
        elif final == "d":
            self.row = min(self.rows - 1, n - 1)
        elif final in "Hf":
            r = nums[0] if nums and nums[0] > 0 else 1
            c = nums[1] if len(nums) > 1 and nums[1] > 0 else 1
            self.row, self.col = min(self.rows, r) - 1, min(self.cols, c) - 1
        elif final == "K":
            mode = nums[0] if nums else 0
            lo, hi = {0: (self.col, self.cols), 1: (0, self.col + 1), 2: (0, self.cols)}.get(mode, (0, 0))
            row[lo:hi] = [" "] * (hi - lo)
        elif final == "J":
            mode = nums[0] if nums else 0
            if mode == 0:
                row[self.col:] = [" "] * (self.cols - self.col)
                for r in range(self.row + 1, self.rows):
                    self.grid[r] = [" "] * self.cols
            elif mode == 1:
                row[:self.col + 1] = [" "] * (self.col + 1)
                for r in range(self.row):
                    self.grid[r] = [" "] * self.cols
            else:
                self.grid = [[" "] * self.cols for _ in range(self.rows)]
        elif final == "P":
            del row[self.col:self.col + n]
            row.extend([" "] * (self.cols - len(row)))
        elif final == "@":
            row[self.col:self.col] = [" "] * n
            del row[self.cols:]
        elif final == "X":
            row[self.col:self.col + n] = [" "] * min(n, self.cols - self.col)

    def lines(self) -> list[str]:
        return ["".join(r).rstrip() for r in self.grid]

    def text(self) -> str:
        """The screen's lines, trailing blanks and blank lines at the bottom left out."""
        return "\n".join(self.lines()).rstrip("\n")

    def cursor_line(self) -> str:
        """The line the cursor is on, up to the cursor (blanks kept: an indent shows)."""
        return "".join(self.grid[self.row][:self.col])


class Terminal:
    """A program running on a pseudo-terminal of `cols` x `rows`, as a session leader whose
    controlling terminal it is (so Ctrl-C reaches it as SIGINT)."""

    def __init__(self, argv, env=None, cols=100, rows=40):
        self.argv = list(argv)
        pid, fd = pty.fork()
        if pid == 0:  # the child: its stdio is the terminal already
            try:
                os.execve(self.argv[0], self.argv, env if env is not None else os.environ)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.set_blocking(fd, False)  # send() reads while the program cannot take more keys
        self.raw = bytearray()
        self.screen = Screen(cols, rows)
        self.pos = 0  # in the cleaned transcript: where the next expect() starts looking
        self.status = None  # exit status once the program ended
        self.closed = False

    # ---- input ---------------------------------------------------------------------------
    def send(self, text: str, timeout: float = DEFAULT_TIMEOUT * 4) -> None:
        """Writes the keys, reading what the program draws meanwhile: a long text fills the
        terminal's input queue, and the program's echo fills its output queue, so writing it all
        at once would leave each side waiting for the other (a terminal emulator reads all
        along too)."""
        data = text.encode("utf-8")
        deadline = time.monotonic() + timeout
        while data:
            try:
                data = data[os.write(self.fd, data):]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Timeout("the program took no keys for %.1fs; %d bytes were left to send; its screen:\n%s"
                                  % (timeout, len(data), self.screen.text()))
                self._read(0.05)

    def resize(self, cols: int, rows: int) -> None:
        """Resizes the terminal, as a user dragging its window's edge: the kernel sends SIGWINCH
        to the program (the screen's emulation keeps its size: what a test reads after this is
        the transcript)."""
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def paste(self, text: str) -> None:
        """Pastes `text` as a terminal in bracketed-paste mode does (lines end with CR)."""
        self.send("\x1b[200~" + text.replace("\n", "\r") + "\x1b[201~")

    def sendline(self, text: str = "") -> None:
        self.send(text + "\r")

    def enter(self, line: str = "") -> None:
        """Types `line` and Enter, and waits until the program has taken it (its echo and the
        newline are drawn), so that what is seen next comes after it."""
        self.sendline(line)
        self.expect(line + "\n")

    def ctrl(self, key: str) -> None:
        """Ctrl-<key>: ctrl("c") is what the user's Ctrl-C sends."""
        self.send(chr(ord(key.lower()) & 0x1F))

    # ---- output --------------------------------------------------------------------------
    def _read(self, timeout: float) -> bool:
        """Reads what the program wrote within `timeout`; False when it wrote nothing."""
        if self.closed:
            return False
        ready, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if not ready:
            return False
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return False
        except OSError:  # EIO: every process holding the terminal has closed it
            data = b""
        if not data:
            self.closed = True
            return False
        self.raw += data
        self.screen.feed(data)
        return True

    @property
    def text(self) -> str:
        return clean(bytes(self.raw))

    def expect(self, pattern: str, timeout: float = DEFAULT_TIMEOUT, regex: bool = False) -> re.Match:
        """Waits until `pattern` (text, or a multiline regex) appears after what earlier
        expects matched; returns the match and moves past it."""
        rx = re.compile(pattern if regex else re.escape(pattern), re.MULTILINE)
        deadline = time.monotonic() + timeout
        while True:
            text = self.text
            m = rx.search(text, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0 or (self.closed and not self._read(0)):
                raise Timeout("%r did not appear within %.1fs; the transcript after the last match:\n%s"
                              % (pattern, timeout, text[self.pos:][-3000:]))
            self._read(min(left, 0.5))

    def expect_screen(self, pattern: str, timeout: float = DEFAULT_TIMEOUT) -> re.Match:
        """Waits until the screen (as Screen.text() gives it) matches the multiline regex."""
        rx = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.screen.text())
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0 or (self.closed and not self._read(0)):
                raise Timeout("the screen did not match %r within %.1fs:\n%s" % (pattern, timeout, self.screen.text()))
            self._read(min(left, 0.5))

    def expect_cursor_line(self, text: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Waits until the cursor's line, up to the cursor, is exactly `text`."""
        deadline = time.monotonic() + timeout
        while self.screen.cursor_line() != text:
            left = deadline - time.monotonic()
            if left <= 0 or (self.closed and not self._read(0)):
                raise Timeout("the cursor's line is %r, not %r, after %.1fs; the screen:\n%s"
                              % (self.screen.cursor_line(), text, timeout, self.screen.text()))
            self._read(min(left, 0.5))

    def wait_exit(self, timeout: float = DEFAULT_TIMEOUT) -> int:
        """Reads until the program ends; its exit code (128+N when killed by signal N)."""
        deadline = time.monotonic() + timeout
        while self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                if self.status < 0:
                    self.status = 128 - self.status
                break
            if time.monotonic() > deadline:
                raise Timeout("the program did not exit within %.1fs; its screen:\n%s"
                              % (timeout, self.text[-3000:]))
            self._read(0.05)
        while self._read(0.05):
            pass
        return self.status

    def close(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                self.wait_exit(5)
            except (ProcessLookupError, ChildProcessError, Timeout):
                pass
        os.close(self.fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _parents() -> dict[int, int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(b")") + 2:].split()
        parents[int(entry)] = int(fields[1])
    return parents


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (children, grandchildren, ...)."""
    parents = _parents()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return {p for p in found if alive(p)}


def alive(pid: int) -> bool:
    """True when `pid` is a live process (a zombie is not)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
    except OSError:
        return False
    return data[data.rindex(b")") + 2:].split(b" ", 1)[0] not in (b"Z", b"X")


def wait_sleeping(pid: int, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """Waits until a process below `pid` sleeps in time.sleep (its main thread's kernel wait
    is a nanosleep): the moment after a line is printed, the code may not have got there yet
    on a loaded machine. True when one does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in descendants(pid):
            try:
                with open("/proc/%d/wchan" % p) as f:
                    if "nanosleep" in f.read():
                        return True
            except OSError:
                pass
        time.sleep(0.01)
    return False


def wait_gone(pids, timeout: float = DEFAULT_TIMEOUT) -> set[int]:
    """Waits until none of `pids` is alive; returns those still alive at the timeout."""
    deadline = time.monotonic() + timeout
    left = {p for p in pids if alive(p)}
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = {p for p in left if alive(p)}
    return left
