"""A host program for the attach tests (attach_host.py, an aiohttp server that serves itself
with asyncode.serve), run as a child with the built package on its path."""
import json
import os
import pathlib
import subprocess
import sys
import threading
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE_PARENT = os.environ.get("ASYNCODE_PYTHONPATH") or str(ROOT / "build" / "python")
HOST = str(pathlib.Path(__file__).with_name("attach_host.py"))
TIMEOUT = 20


class Host:
    """The program: `lines` is what it printed on stdout; `path` its socket."""

    def __init__(self, directory=None, name="host.sock", preexec_fn=None, script=HOST, env=None):
        """directory None: the package's default socket (in env's XDG_RUNTIME_DIR, say)."""
        if directory is not None:
            directory = pathlib.Path(directory)
            directory.mkdir(exist_ok=True)
            os.chmod(directory, 0o700)
        self.path = str(directory / name) if directory is not None else "-"
        env = dict(env or os.environ, PYTHONPATH=PACKAGE_PARENT, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([sys.executable, script, self.path], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                     text=True, preexec_fn=preexec_fn)
        self.pid = self.proc.pid
        self.lines = []
        self.err = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, args=(self.proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True).start()
        ready = self.wait_line(lambda line: line.startswith("ready "))
        self.port = int(ready.split()[1])
        self.path = ready.split(None, 2)[2]

    def _read(self, stream, into):
        for line in stream:
            with self._changed:
                into.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            into.append(None)  # end of the stream
            self._changed.notify_all()

    def wait_line(self, predicate, since=0, stream=None, timeout=TIMEOUT):
        lines = self.lines if stream is None else stream
        with self._changed:
            found = []

            def match():
                for line in lines[since:]:
                    if line is None:
                        raise AssertionError("the host's stream ended; stderr:\n%s"
                                             % "\n".join(l for l in self.err if l))
                    if predicate(line):
                        found.append(line)
                        return True
                return False

            if not self._changed.wait_for(match, timeout):
                raise AssertionError("the host never printed the line; it printed %r" % lines[-5:])
            return found[0]

    def ticks_seen(self):
        with self._changed:
            return sum(1 for line in self.lines if line and line.startswith("tick "))

    def get(self, path="/"):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path), timeout=5) as r:
            body = r.read().decode()
        return json.loads(body) if path == "/" else body

    def wait_exit(self, timeout=TIMEOUT):
        return self.proc.wait(timeout)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
