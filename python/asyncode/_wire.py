"""JSON-RPC over a socket, framed as the daemon frames it (LSP's base protocol):
"Content-Length: N\\r\\n\\r\\n" and N bytes of UTF-8 JSON.

A Wire reads frames in one thread (read() blocks) and writes them from any thread (send()
holds a lock for one whole frame, so frames never interleave). A frame over MAX_BODY bytes,
a header block without a usable Content-Length, or a body that is not a JSON object ends the
link: the peer is the daemon, and a daemon that sends those is not one.
"""
import json
import threading

MAX_BODY = 64 << 20
MAX_HEADER = 8192


class WireError(Exception):
    pass


class Wire:
    def __init__(self, sock):
        self.sock = sock
        self._buffer = b""
        self._send_lock = threading.Lock()
        self.closed = False

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self._buffer += data

    def read(self):
        """The next message (a dict); EOFError at the end of the link."""
        while b"\r\n\r\n" not in self._buffer:
            if len(self._buffer) > MAX_HEADER:
                raise WireError("a header block longer than %d bytes" % MAX_HEADER)
            self._fill()
        header, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        length = None
        for line in header.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    raise WireError("a bad Content-Length") from None
        if length is None or length < 0 or length > MAX_BODY:
            raise WireError("a frame without a usable Content-Length")
        while len(self._buffer) < length:
            self._fill()
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        try:
            message = json.loads(body.decode("utf-8"))
        except ValueError as e:
            raise WireError("a body that is not JSON: %s" % e) from None
        if not isinstance(message, dict):
            raise WireError("a body that is not a JSON object")
        return message

    def send(self, message):
        """Sends one message (any thread). False once the link is gone."""
        body = json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=repr).encode("utf-8")
        frame = b"Content-Length: %d\r\n\r\n" % len(body) + body
        with self._send_lock:
            if self.closed:
                return False
            try:
                self.sock.sendall(frame)
            except OSError:
                self.closed = True
                return False
        return True

    def reply(self, rid, result):
        return self.send({"jsonrpc": "2.0", "id": rid, "result": result})

    def error(self, rid, code, message):
        return self.send({"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}})

    def notify(self, method, params):
        return self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def close(self):
        with self._send_lock:
            self.closed = True
        try:
            self.sock.shutdown(2)  # wakes a recv() in the reading thread
        except OSError:
            pass
