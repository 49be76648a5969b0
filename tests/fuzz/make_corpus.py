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


if __name__ == "__main__":
    main()
