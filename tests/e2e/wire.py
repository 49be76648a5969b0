"""The wire as a client writes it: LSP's Content-Length frames around JSON-RPC 2.0 bodies.

Shared by the end-to-end harness (client.py) and the benchmark (bench/), so that both speak to the
daemon with the same bytes. Standard library only. Method names are the schema's
(protocol_schema.METHODS; tests/e2e/test_method_names.py checks the benchmark's).
"""

from __future__ import annotations

import json
from typing import Any, Iterable


def frame(body: bytes | str | Any, headers: Iterable[str] = ()) -> bytes:
    """One Content-Length frame around body (bytes, str, or a JSON value to encode)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body, ensure_ascii=False).encode("utf-8")
    head = "Content-Length: %d\r\n" % len(body)
    for h in headers:
        head += h + "\r\n"
    return head.encode("ascii") + b"\r\n" + bytes(body)


def encode(message: dict) -> bytes:
    """A message, compact, in its frame."""
    return frame(json.dumps(message, separators=(",", ":")).encode())


def encode_request(id_: Any, method: str, params: Any = None) -> bytes:
    message = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        message["params"] = params
    return encode(message)


def encode_notification(method: str, params: Any = None) -> bytes:
    message = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    return encode(message)


def content_length(header: bytes) -> int | None:
    """The Content-Length of a header block (without its blank line), None when it has none. The
    daemon writes exactly "Content-Length: N": that is read without splitting lines."""
    if header.startswith(b"Content-Length: ") and b"\r" not in header:
        return int(header[16:])
    for line in header.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return None
