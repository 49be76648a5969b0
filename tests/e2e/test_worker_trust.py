"""Issue 12: nothing a worker sends is trusted, and no secret is in reach of user code."""

from __future__ import annotations


def test_the_frames_delimiter_is_neither_on_the_command_line_nor_in_the_environment(daemon):
    r = daemon.exec(
        "cmd = open('/proc/self/cmdline', 'rb').read()\n"
        "env = open('/proc/self/environ', 'rb').read()\n"
        "(b'magic' in cmd, b'--output' in cmd, b'MAGIC' in env)")
    assert r["result"]["text/plain"] == "(False, False, False)", r


def test_junk_written_to_the_control_link_restarts_the_worker_and_every_request_is_answered(daemon):
    pid = daemon.call("session/open", {"session": "j"})["pid"]
    rid = daemon.request("exec", {"session": "j", "code": (
        "import os\nos.write(3, b'Content-Length: 9\\r\\n\\r\\n{not json')\nimport time\ntime.sleep(5)")})
    res = daemon.wait_result(rid, timeout=20)
    assert res["status"] == "error" and res["error"]["type"] == "WorkerDied", res
    answer = daemon.call("compile", {"session": "j", "code": "if x:"}, timeout=20)
    assert answer["status"] == "incomplete"
    assert daemon.call("session/list")["sessions"][0]["pid"] != pid
    daemon.wait_notification("log", lambda p: "bad message" in p["message"])
