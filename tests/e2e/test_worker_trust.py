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


def test_a_forged_header_that_stops_half_way_cannot_hold_the_link(daemon):
    daemon.call("session/open", {"session": "h"})
    # A header that declares a long body, and nothing more: the worker's real answers would
    # be read as that body. The link drops a frame that stops half-way and the worker restarts.
    daemon.exec("import os\nos.write(3, b'Content-Length: 100000\\r\\n\\r\\n{')", session="h")
    # variables: answered on the session's own control link (compile goes to the warm spare).
    rid = daemon.request("variables", {"session": "h"})
    answer = daemon.wait_response(rid, timeout=20)  # answered (result or error), never left hanging
    assert "result" in answer or "error" in answer
    daemon.wait_notification("log", lambda p: "half-way" in p["message"], timeout=20)
    assert daemon.exec("1 + 1", session="h")["result"]["text/plain"] == "2"
