"""Writes the seed corpus of the fuzz targets (run once; the files are committed)."""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def frame(body, headers=None):
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    head = b"".join(b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in (headers or {}).items())
    return b"Content-Length: %d\r\n" % len(body) + head + b"\r\n" + body


def req(i, method, params=None):
    m = {"jsonrpc": "2.0", "id": i, "method": method}
    if params is not None:
        m["params"] = params
    return m


INIT = frame(req(0, "initialize", {"clientInfo": {"name": "fuzz"}, "capabilities": {"input": True}}))
MESSAGES = [
    req(1, "exec", {"code": "1+1", "mode": "cell", "session": "s", "silent": False, "timeoutMs": 10}),
    req("a", "compile", {"code": "for x in y:", "mode": "interactive"}),
    req(2, "needsAwait", {"code": "await x"}),
    req(3, "session/open", {"session": "t", "backend": "trio", "cwd": "/", "env": {"A": "1"}, "python": "/x"}),
    req(4, "interrupt", {"graceMs": 5}),
    req(5, "complete", {"code": "os.pa", "cursor": 5}),
    req(6, "inspect", {"code": "len(", "cursor": 4}),
    req(7, "variables", {}),
    req(8, "session/close", {"session": "t"}),
    req(9, "exec", {"code": 5}),
    req(10, "exec", {"mode": "nonsense", "code": ""}),
    req(11, "no/such/method", {}),
    req(12, "dropped"),
    req(13, "throws"),
    {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 1}},
    {"jsonrpc": "2.0", "id": 14, "result": {"value": "x"}},
    [req(15, "exec", {"code": "1"})],
    req(16, "session/restart", {"session": "t"}),
    req(17, "session/list"),
    req(18, "reset", {"session": "s"}),
    req(20, "session/attach", {"session": "z", "socket": "/nonexistent/asyncode.sock"}),
    {"jsonrpc": "2.0", "method": "session/terminal", "params": {"session": "s", "terminal": {"columns": 0, "rows": 9}}},
    req(19, "shutdown"),
    {"jsonrpc": "2.0", "method": "exit"},
]


def write(directory, name, data):
    path = os.path.join(HERE, "corpus", directory)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, name), "wb") as f:
        f.write(data)


def main():
    for i, m in enumerate(MESSAGES):
        write("dispatch", "msg%02d" % i, INIT + frame(m))
    write("dispatch", "all", INIT + b"".join(frame(m) for m in MESSAGES))
    write("dispatch", "bad-json", INIT + frame("{this is not json"))
    write("dispatch", "bad-utf8", INIT + frame(b'{"jsonrpc":"2.0","id":1,"method":"compile","params":{"code":"\xff"}}'))
    write("dispatch", "no-init", frame(MESSAGES[0]))
    # issue 12: nesting past the bound, in params, in a response, in a notification
    deep_arrays = "[" * 2000 + "]" * 2000
    deep_objects = '{"a":' * 1000 + "1" + "}" * 1000
    write("dispatch", "deep-params", INIT + frame('{"jsonrpc":"2.0","id":1,"method":"exec","params":{"code":%s}}'
                                                  % deep_arrays))
    write("dispatch", "deep-response", INIT + frame('{"jsonrpc":"2.0","id":14,"result":%s}' % deep_objects))
    write("dispatch", "deep-cancel", INIT + frame('{"jsonrpc":"2.0","method":"$/cancelRequest","params":%s}'
                                                  % deep_arrays))
    # framing: the first byte chooses how many cut bytes follow
    seeds = {
        "plain": frame(MESSAGES[0]),
        "content-type": frame(MESSAGES[1], {"Content-Type": "application/vscode-jsonrpc; charset=utf-8"}),
        "bad-length": b"Content-Length: xyz\r\n\r\n" + frame(MESSAGES[2]),
        "no-length": b"Content-Type: text/plain\r\n\r\n" + frame(MESSAGES[2]),
        "too-large": b"Content-Length: 99999999\r\n\r\n" + b"x" * 100 + frame(MESSAGES[2]),
        "empty-body": b"Content-Length: 0\r\n\r\n",
        "lowercase": b"content-length: 2\r\n\r\n{}",
        "crlf-between": b"\r\n" + frame(MESSAGES[3]) + b"\r\n\r\n" + frame(MESSAGES[4]),
        "long-header": b"X-Junk: " + b"a" * 600 + b"\r\n\r\n" + frame(MESSAGES[5]),
        "conflict": b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}" + frame(MESSAGES[6]),
        # issue 12: resynchronisation after a bad frame
        "lf-only": b"Content-Length: 2\n\n{}" + frame(MESSAGES[6]),
        "body-longer": b"Content-Length: 20\r\n\r\n" + json.dumps(MESSAGES[1]).encode() + frame(MESSAGES[6]),
        "body-shorter": b"Content-Length: 90\r\n\r\n" + json.dumps(MESSAGES[2]).encode() + frame(MESSAGES[6])
                        + frame(MESSAGES[7]),
        "junk-line": b"hello\r\n" + frame(MESSAGES[6]),
        "junk-prefix": b'"}}Content-Length: 2\r\n\r\n{}',
    }
    for name, data in seeds.items():
        write("framing", name, b"\x03\x01\x07\x40" + data)
        write("framing", name + "-whole", b"\x00" + data)
    # worker frames (issue 12): what a worker's fd 1 pipe may hold, forged by user code included
    for name, data in worker_frame_seeds().items():
        write("worker_frames", name, b"\x03\x01\x07\x40" + data)
        write("worker_frames", name + "-whole", b"\x00" + data)


MAGIC = b"\0fuzzMAG"  # fuzz_worker_frames.cpp's kMagic


def wframe(kind, owner=b"", payload=b""):
    """One frame: magic, kind, owner length (2, LE), payload length (4, LE), owner, payload."""
    if isinstance(payload, str):
        payload = payload.encode()
    return (MAGIC + kind + len(owner).to_bytes(2, "little") + len(payload).to_bytes(4, "little")
            + owner + payload)


def wmessage(message):
    """A link notification in frames of at most 4096 bytes: 'j' parts, then a last 'J'."""
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    room = 4096 - 15
    parts = [body[i:i + room] for i in range(0, len(body), room)] or [b""]
    return b"".join(wframe(b"J" if i == len(parts) - 1 else b"j", b"", p) for i, p in enumerate(parts))


def note(method, params):
    return {"jsonrpc": "2.0", "method": method, "params": params}


def worker_frame_seeds():
    display = note("display", {"seq": 3, "data": {"text/plain": "x", "application/json": {"a": [1]}}})
    return {
        "output": b"plain C output\n" + wframe(b"o", b"7", "hello\n") + wframe(b"e", b"", "warn\n") + b"tail",
        "messages": (wmessage(note("worker/execStart", {"seq": 7, "execCount": 2})) + wmessage(display)
                     + wmessage(note("clearOutput", {"seq": 7, "wait": True}))
                     + wmessage(note("taskError", {"seq": 7, "error": {"type": "E", "message": "m",
                                                                         "traceback": [], "formatted": "E: m"}}))),
        "long-message": wmessage(note("display", {"data": {"text/plain": "y" * 10000}})),
        # deep nesting, in a display's data and as the whole message
        "deep-arrays": wmessage(b'{"jsonrpc":"2.0","method":"display","params":{"data":' + b"[" * 5000
                                + b"]" * 5000 + b"}}"),
        "deep-objects": wmessage(b'{"a":' * 3000 + b"1" + b"}" * 3000),
        # forged owners: requestId objects, data: 42, a seq that is not a number
        "forged-request-id": wmessage(note("display", {"requestId": {"forged": [1, {"x": None}]},
                                                       "data": {"text/plain": "f"}})),
        "data-42": wmessage(note("display", {"seq": 1, "data": 42})),
        "bad-owner": wframe(b"o", b"-1", "x") + wframe(b"o", b"1e3", "y") + wframe(b"o", b"{}", "z"),
        "unknown-method": wmessage(note("exec", {"code": "1"})) + wframe(b"o", b"", "after"),
        "unknown-kind": wframe(b"q", b"", "?") + wframe(b"o", b"", "after"),
        # invalid UTF-8: in output text, in a message's JSON, cut inside a character
        "invalid-utf8-output": wframe(b"o", b"", b"\xff\xfe ok \xc3") + wframe(b"o", b"", b"\xa9 \xed\xa0\x80"),
        "invalid-utf8-json": wmessage(b'{"jsonrpc":"2.0","method":"display","params":{"data":{"text/plain":"\xff"}}}'),
        "not-json": wmessage(b"{not json") + wframe(b"o", b"", "after"),
        # frames that are not: an over-long header, a cut header, a magic inside text
        "oversize-header": MAGIC + b"o" + (0).to_bytes(2, "little") + (99999).to_bytes(4, "little") + b"text",
        "cut-header": b"abc" + MAGIC[:5],
        "cut-frame": wframe(b"o", b"1", "whole") + wframe(b"o", b"1", "partial")[:-3],
        "message-without-end": wframe(b"j", b"", '{"jsonrpc":') + wframe(b"o", b"", "between"),
    }


if __name__ == "__main__":
    main()
