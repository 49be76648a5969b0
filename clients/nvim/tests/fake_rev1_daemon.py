#!/usr/bin/env python3
"""A stand-in daemon that speaks protocol revision 1 as PROTOCOL.md describes it, for the
plugin's revision 1 paths while the real daemon still speaks revision 0 (rev1_spec.lua).

It runs no Python: each line of an exec's code is a directive.
    print TEXT        an `output` on stdout
    fail              the exec fails: ZeroDivisionError at the column of the line's "1/0"
    taskerror         a `taskError` of this exec (its traceback points at this line)
    clear             a `clearOutput` (wait false)
    later TEXT        output of this exec's task after the exec answered
    display ID TEXT   a `display` of text/plain TEXT with displayId ID
    update ID TEXT    the same with update: true
    result TEXT       the exec's result is TEXT
Anything else is ignored. Every message it sends carries the exec's `tag`.
"""
import json
import os
import sys

out = sys.stdout.buffer
inp = sys.stdin.buffer
seq = 0
count = 0
encoding = "utf-32"


def send(msg):
    msg["jsonrpc"] = "2.0"
    body = json.dumps(msg).encode()
    out.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    out.flush()


def notify(method, params):
    send({"method": method, "params": params})


def read():
    length = None
    while True:
        line = inp.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            break
        key, _, value = line.partition(b":")
        if key.lower() == b"content-length":
            length = int(value)
    return json.loads(inp.read(length))


def column(text, byte_col):
    """A byte column of `text` (UTF-8) in the negotiated encoding."""
    prefix = text.encode()[:byte_col].decode()
    if encoding == "utf-8":
        return byte_col
    if encoding == "utf-16":
        return len(prefix.encode("utf-16-le")) // 2
    return len(prefix)


def output(session, rid, tag, text):
    global seq
    seq += 1
    notify("output", {"session": session, "requestId": rid, "tag": tag, "execCount": count,
                      "stream": "stdout", "text": text, "seq": seq})


def run(rid, p):
    global count, seq
    session = p.get("session", "default")
    tag = p.get("tag")
    first = p.get("firstLine", 1)
    filename = p.get("filename") or "<cell %d>" % (count + 1)
    count += 1
    notify("execStart", {"session": session, "requestId": rid, "tag": tag, "execCount": count})
    answer = {"execCount": count, "status": "ok", "durationMs": 1.5, "awaited": False, "tag": tag}
    later = []
    for i, line in enumerate(p["code"].split("\n")):
        word, _, rest = line.strip().partition(" ")
        lineno = first + i
        if word == "print":
            output(session, rid, tag, rest + "\n")
        elif word == "clear":
            seq += 1
            notify("clearOutput", {"session": session, "requestId": rid, "tag": tag,
                                   "execCount": count, "wait": False, "seq": seq})
        elif word in ("display", "update"):
            did, _, text = rest.partition(" ")
            seq += 1
            params = {"session": session, "requestId": rid, "tag": tag, "execCount": count,
                      "data": {"text/plain": text}, "displayId": did, "seq": seq}
            if word == "update":
                params["update"] = True
            notify("display", params)
        elif word == "later":
            later.append(rest)
        elif word == "result":
            answer["result"] = {"text/plain": rest}
        elif word in ("fail", "taskerror"):
            at = line.encode().find(b"1/0")
            at = at if at >= 0 else 0
            frame = {"filename": filename, "line": lineno, "name": "<module>", "source": line.strip(),
                     "column": column(line, at), "endLine": lineno, "endColumn": column(line, at + 3)}
            error = {"type": "ZeroDivisionError", "message": "division by zero", "traceback": [frame],
                     "formatted": "ZeroDivisionError: division by zero\n"}
            if word == "fail":
                answer.update(status="error", error=error)
                break
            notify("taskError", {"session": session, "requestId": rid, "tag": tag, "execCount": count,
                                 "error": error})
    send({"id": rid, "result": answer})
    for text in later:
        output(session, rid, tag, text + "\n")


VARS = {
    None: [{"name": "tree", "type": "dict", "repr": "{'a': {...}, 'b': [10, 20]}", "ref": 7, "length": 2}],
    7: [{"name": "'a'", "type": "dict", "repr": "{'deep': 1}", "ref": 8, "length": 1},
        {"name": "'b'", "type": "list", "repr": "[10, 20]", "ref": 9, "length": 2}],
    8: [{"name": "'deep'", "type": "int", "repr": "1"}],
    9: [{"type": "int", "repr": "10"}, {"type": "int", "repr": "20"}],  # items come without names
}


def main():
    global encoding
    while True:
        msg = read()
        if msg is None:
            return
        method, rid, p = msg.get("method"), msg.get("id"), msg.get("params") or {}
        if isinstance(p, list):
            p = {}
        if method == "initialize":
            wanted = (p.get("capabilities") or {}).get("positionEncodings") or []
            encoding = wanted[0] if wanted else "utf-32"
            send({"id": rid, "result": {
                "serverInfo": {"name": "fake-rev1", "version": "0"}, "protocolVersion": 1,
                "protocolRevision": 1, "positionEncoding": encoding,
                "python": {"version": "3.11.2", "executable": "/usr/bin/python3"},
                "backends": ["asyncio", "trio"]}})
        elif method == "session/open":
            send({"id": rid, "result": {"session": p.get("session", "default"), "pid": os.getpid(),
                                        "backend": p.get("backend", "asyncio")}})
            notify("status", {"session": p.get("session", "default"), "state": "idle",
                              "pid": os.getpid(), "reason": "open"})
        elif method == "exec":
            run(rid, p)
        elif method == "variables":
            items = VARS.get(p.get("ref"), [])
            start, n = p.get("start", 0), p.get("count", len(items))
            send({"id": rid, "result": {"variables": items[start:start + n], "total": len(items)}})
        elif method == "shutdown":
            send({"id": rid, "result": None})
        elif method == "exit":
            return
        elif rid is not None and method:
            send({"id": rid, "error": {"code": -32601, "message": "not in the fake: " + method}})


if __name__ == "__main__":
    main()
