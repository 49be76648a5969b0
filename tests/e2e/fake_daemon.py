"""A stand-in for asyncoded that misbehaves on request, to test the harness (test_harness.py).

    python3 fake_daemon.py SCENARIO

good: answers initialize, shutdown (null) and exit (code 0) correctly. stray: also writes a line
that is not a frame on stdout. bad_schema: its initialize result lacks protocolVersion.
deaf: never answers shutdown. orphan: starts a child process that outlives it.
"""

import json
import subprocess
import sys

scenario = sys.argv[1]
out = sys.stdout.buffer
inp = sys.stdin.buffer
INIT = {"serverInfo": {"name": "asyncoded", "version": "0.0.0"}, "protocolVersion": 1,
        "python": {"version": "3.11.0", "executable": sys.executable}, "backends": ["asyncio"],
        "positionEncoding": "utf-32", "protocolRevision": 1}


def send(msg):
    body = json.dumps(msg).encode()
    out.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    out.flush()


def read():
    length = None
    while True:
        line = inp.readline()
        if not line:
            return None
        if line == b"\r\n":
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return json.loads(inp.read(length))


while True:
    msg = read()
    if msg is None:
        sys.exit(0)
    method = msg.get("method")
    if method == "initialize":
        result = dict(INIT)
        if scenario == "bad_schema":
            del result["protocolVersion"]
        if scenario == "stray":
            out.write(b"debug: hello\n")
        if scenario == "orphan":
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
    elif method == "shutdown" and scenario != "deaf":
        send({"jsonrpc": "2.0", "id": msg["id"], "result": None})
    elif method == "exit":
        sys.exit(0)
