"""A console's output: what its code prints, handed to its `await write(data)` in order.

print() is synchronous and write() a coroutine: put() (any thread) queues the text, and one
task of the console's loop at a time (the pump) awaits write() with everything queued so
far, joined. Sync code blocks the loop, so its output goes out in one write once it ends;
code that awaits has its output written while it waits. flush() returns once the queue is
empty and no write() runs, and raises what a write() raised meanwhile.

The queue is bounded: text that would go past `limit` characters while write() is behind is
dropped, and a line saying how much takes its place.
"""
import sys
import threading
import traceback

from . import _capture, _loops


def _dropped_note(count):
    return "\n[asyncode: %d characters of output dropped: write() fell behind]\n" % count


class OutputQueue:
    def __init__(self, write, limit=1_000_000):
        self._write = write          # async write(data)
        self.limit = limit
        self._lock = threading.Lock()
        self._chunks = []
        self._size = 0
        self._dropped = 0
        self._pumping = False        # a pump is scheduled or runs
        self._waiters = []           # flush() events, set when the pump goes idle
        self._errors = []            # what write() raised while someone will flush()
        self._collecting = 0         # inputs running: their flush() reports write()'s errors
        self._loop = None
        self._context = None

    def bind(self, loop):
        """Pump on this loop (the one the console's inputs run in). Loop thread only."""
        with self._lock:
            if self._loop is not None and self._loop.key is loop.key:
                return
            self._loop = loop
            self._pumping = False  # a pump of another loop is gone with it
            self._context = _loops.empty_context()
            pending = bool(self._chunks)
        if pending:
            self._kick()

    # ---- any thread ------------------------------------------------------------------
    def put(self, stream, text):
        if not text:
            return
        with self._lock:
            if self._size + len(text) > self.limit:
                self._dropped += len(text)
            else:
                if self._dropped:
                    self._chunks.append(_dropped_note(self._dropped))
                    self._dropped = 0
                self._chunks.append(text)
                self._size += len(text)
            if self._pumping:
                return
            self._pumping = True
        self._kick()

    def _kick(self):
        loop = self._loop
        try:
            if loop is None:
                raise RuntimeError("no loop")
            loop.call_soon(self._start)
        except RuntimeError:  # the loop is gone: the program's own stream gets the text
            self._spill()

    def _spill(self):
        data, waiters = self._take()
        while data is not None:
            stream = _capture.original("stderr")
            if stream is not None:
                stream.write(data)
            data, waiters = self._take()
        self._release(waiters)

    # ---- the loop's thread -----------------------------------------------------------
    def _start(self):
        try:
            self._loop.spawn(self._pump, self._context)
        except RuntimeError:  # Trio: the run is ending and takes no new task
            self._spill()

    def _take(self):
        """(data, None), or (None, flush waiters to release) when nothing is left."""
        with self._lock:
            if self._dropped:
                self._chunks.append(_dropped_note(self._dropped))
                self._dropped = 0
            if self._chunks:
                data = "".join(self._chunks)
                self._chunks.clear()
                self._size = 0
                return data, None
            self._pumping = False
            waiters, self._waiters = self._waiters, []
            return None, waiters

    @staticmethod
    def _release(waiters):
        for event in waiters or ():
            event.set()

    async def _pump(self):
        try:
            while True:
                data, waiters = self._take()
                if data is None:
                    self._release(waiters)
                    return
                try:
                    await self._write(data)
                except Exception as e:
                    self._failed(e)
        except BaseException:  # cancelled: the loop is ending
            with self._lock:
                self._pumping = False
                waiters, self._waiters = self._waiters, []
            self._release(waiters)
            raise

    def _failed(self, exc):
        if self._collecting:
            self._errors.append(exc)
            return
        try:
            stream = _capture.original("stderr") or sys.__stderr__
            stream.write("asyncode: the console's write() failed:\n"
                         + "".join(traceback.format_exception(exc)))
        except Exception:
            pass

    # ---- around an input -------------------------------------------------------------
    def begin(self):
        self._collecting += 1

    def end(self):
        self._collecting -= 1

    async def flush(self):
        """Until what was queued so far is written; raises the first error of write()."""
        with self._lock:
            event = None
            if self._pumping:
                event = self._loop.event()
                self._waiters.append(event)
        if event is not None:
            await event.wait()
        errors, self._errors = self._errors, []
        if errors:
            raise errors[0]
