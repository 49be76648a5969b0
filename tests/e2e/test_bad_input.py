"""Bad input: every bad message is answered with an error (or dropped, for broken framing) and
the daemon carries on. It never exits on bad input: each test ends by checking that a normal
request still works, and the fixture's teardown that the daemon then shuts down cleanly."""

from __future__ import annotations

import json
import threading
import time

import pytest

from client import frame, rss_kib

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS = -32700, -32600, -32601, -32602
LIMIT = 64 << 20


def error_with_id(d, rid, since=0):
    """The first error response whose id is rid (None: id null), from index since on."""
    return d.wait_message(lambda m: isinstance(m, dict) and "error" in m and "id" in m
                          and m["id"] == rid and type(m["id"]) is type(rid), since=since,
                          what="error response with id %r" % (rid,))["error"]


def assert_still_works(d):
    assert d.proc.poll() is None, "the daemon exited"
    assert d.call("compile", {"code": "x = 1"})["status"] == "complete"
    assert d.exec("40 + 2")["result"]["text/plain"] == "42"


def test_a_body_that_is_not_json_gets_a_parse_error_with_id_null(daemon):
    daemon.send_raw(frame(b'{"jsonrpc": "2.0", "id": 1, "method": '))
    err = error_with_id(daemon, None)
    assert err["code"] == PARSE_ERROR, err
    assert_still_works(daemon)


def test_a_batch_gets_invalid_request(daemon):
    batch = [{"jsonrpc": "2.0", "id": 901, "method": "session/list"},
             {"jsonrpc": "2.0", "id": 902, "method": "session/list"}]
    daemon.send_raw(frame(batch), record=batch)

    def is_answer(m):
        if isinstance(m, list):
            return any(isinstance(x, dict) and "error" in x for x in m)
        return isinstance(m, dict) and "error" in m and m.get("id") in (None, 901, 902)
    msg = daemon.wait_message(is_answer, what="an answer to the batch")
    errs = [x["error"] for x in msg] if isinstance(msg, list) else [msg["error"]]
    assert all(e["code"] == INVALID_REQUEST for e in errs), msg
    assert not daemon.has_response(901) or "error" in daemon.wait_response(901)
    assert_still_works(daemon)


def test_a_request_without_method_gets_invalid_request_with_its_id(daemon):
    msg = {"jsonrpc": "2.0", "id": 77, "params": {}}
    daemon.send_raw(frame(msg), record=msg)
    err = daemon.wait_error(77)
    assert err["code"] == INVALID_REQUEST, err
    assert_still_works(daemon)


def test_a_message_that_is_not_an_object_gets_invalid_request(daemon):
    daemon.send_raw(frame(b"42"))
    assert error_with_id(daemon, None)["code"] == INVALID_REQUEST
    assert_still_works(daemon)


def test_a_request_without_jsonrpc_2_0_gets_invalid_request(daemon):
    msg = {"jsonrpc": "1.0", "id": 78, "method": "session/list"}
    daemon.send_raw(frame(msg), record=msg)
    assert daemon.wait_error(78)["code"] == INVALID_REQUEST
    assert_still_works(daemon)


@pytest.mark.parametrize("bad_id", [True, 1.5, {"a": 1}, [1]])
def test_a_request_whose_id_is_not_an_integer_or_string_gets_invalid_request(daemon, bad_id):
    msg = {"jsonrpc": "2.0", "id": bad_id, "method": "session/list"}
    daemon.send_raw(frame(msg), record=msg)
    assert error_with_id(daemon, None)["code"] == INVALID_REQUEST
    assert_still_works(daemon)


def test_an_unknown_method_gets_method_not_found(daemon):
    err = daemon.wait_error(daemon.request("no/such/method", {}))
    assert err["code"] == METHOD_NOT_FOUND, err
    assert "no/such/method" in err["message"]
    assert_still_works(daemon)


def test_an_unknown_notification_is_ignored(daemon):
    daemon.notify("no/such/notification", {"a": 1})
    rid = daemon.request("session/list")
    daemon.wait_result(rid)
    answered = [m for m in daemon.messages if "id" in m and m.get("id") != 1]
    assert [m["id"] for m in answered] == [rid], answered
    assert_still_works(daemon)


def test_a_param_of_the_wrong_type_gets_invalid_params_naming_it(daemon):
    err = daemon.wait_error(daemon.request("exec", {"code": 5}))
    assert err["code"] == INVALID_PARAMS, err
    assert "params.code" in err["message"], err
    assert_still_works(daemon)


def test_an_exec_without_code_gets_invalid_params(daemon):
    err = daemon.wait_error(daemon.request("exec", {"mode": "cell"}))
    assert err["code"] == INVALID_PARAMS, err
    assert "code" in err["message"], err
    assert_still_works(daemon)


def test_params_that_are_not_an_object_or_array_get_an_error(daemon):
    # JSON-RPC 2.0: params must be a structured value; the request is invalid (or its params)
    err = daemon.wait_error(daemon.request("exec", "print(1)"))
    assert err["code"] in (INVALID_REQUEST, INVALID_PARAMS), err
    assert_still_works(daemon)


def test_a_bad_mode_gets_invalid_params_naming_it(daemon):
    err = daemon.wait_error(daemon.request("compile", {"code": "1", "mode": "nonsense"}))
    assert err["code"] == INVALID_PARAMS, err
    assert "params.mode" in err["message"], err
    assert_still_works(daemon)


def test_a_content_length_that_is_not_a_number_is_dropped_and_the_next_frame_works(daemon):
    daemon.send_raw(b"Content-Length: twelve\r\n\r\n")
    assert_still_works(daemon)


def test_a_header_block_without_content_length_is_dropped_and_the_next_frame_works(daemon):
    daemon.send_raw(b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n")
    assert_still_works(daemon)


def test_a_frame_written_one_byte_at_a_time_works(daemon):
    msg = {"jsonrpc": "2.0", "id": 55, "method": "exec", "params": {"code": "'ünï' * 2"}}
    data = frame(msg)
    daemon.send_raw(data[:1], record=msg)
    for i in range(1, len(data)):
        daemon.send_raw(data[i:i + 1])
    assert daemon.wait_result(55)["result"]["text/plain"] == "'ünïünï'"
    assert_still_works(daemon)


def test_several_frames_in_one_write_all_work(daemon):
    msgs = [{"jsonrpc": "2.0", "id": 60 + i, "method": "exec", "params": {"code": str(i)}}
            for i in range(5)]
    daemon.send_raw(b"".join(frame(m) for m in msgs), record=msgs)
    for i in range(5):
        assert daemon.wait_result(60 + i)["result"]["text/plain"] == str(i)


def test_extra_headers_are_ignored(daemon):
    msg = {"jsonrpc": "2.0", "id": 56, "method": "compile", "params": {"code": "await x"}}
    body = json.dumps(msg).encode()
    daemon.send_raw(b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"
                    b"Content-Length: %d\r\nX-Whatever: 1\r\n\r\n" % len(body) + body, record=msg)
    assert daemon.wait_result(56) == {"status": "complete", "needsAwait": True}
    assert_still_works(daemon)


def test_invalid_utf8_in_a_body_gets_an_error_and_the_daemon_carries_on(daemon):
    body = b'{"jsonrpc": "2.0", "id": 57, "method": "exec", "params": {"code": "\'\xff\xfe\'"}}'
    daemon.send_raw(frame(body), record=json.loads(body.decode("utf-8", "replace")))
    err = daemon.wait_message(lambda m: isinstance(m, dict) and "error" in m
                              and m.get("id") in (None, 57), what="an error for the bad body")
    assert err["error"]["code"] in (PARSE_ERROR, INVALID_REQUEST), err
    assert not daemon.has_response(57) or "error" in daemon.wait_response(57)
    assert_still_works(daemon)


def test_string_ids_are_echoed_as_strings(daemon):
    resp = daemon.wait_response(daemon.request("session/list", id="7"))
    assert resp["id"] == "7" and isinstance(resp["id"], str)
    resp = daemon.wait_response(daemon.request("exec", {"code": "1"}, id="abc-1"))
    assert resp["id"] == "abc-1" and resp["result"]["status"] == "ok"
    daemon.exec("print('x')")
    resp = daemon.wait_response(daemon.request("exec", {"code": "print('y')"}, id="s"))
    outs = [p for p in daemon.notifications("output") if p["requestId"] == "s"]
    assert outs and all(isinstance(p["requestId"], str) for p in outs)
    err = daemon.wait_response(daemon.request("no/such", id="e"))
    assert err["id"] == "e" and "error" in err


def test_a_content_length_above_64_mib_gets_an_error_and_is_skipped_without_buffering(daemon):
    size = LIMIT + 1
    chunk = b"x" * (1 << 20)
    since = daemon.index()
    daemon.send_raw(b"Content-Length: %d\r\n\r\n" % size)
    err = error_with_id(daemon, None, since=since)
    assert err["code"] == INVALID_REQUEST, err
    assert any(s in err["message"] for s in ("67108864", "64 MiB", "limit")), err

    failure = []

    def stream_body():
        try:
            left = size
            while left:
                n = min(left, len(chunk))
                daemon.send_raw(chunk[:n])
                left -= n
        except Exception as e:  # noqa: BLE001 - reported by the test below
            failure.append(e)
    writer = threading.Thread(target=stream_body, daemon=True)
    writer.start()
    peak = 0
    deadline = time.monotonic() + 60
    while writer.is_alive() and time.monotonic() < deadline:
        peak = max(peak, rss_kib(daemon.pid))
        writer.join(0.005)
    assert not writer.is_alive(), "the daemon stopped reading the oversized body"
    assert not failure, failure
    peak = max(peak, rss_kib(daemon.pid))
    assert peak < 200 * 1024, "the daemon's RSS reached %d MiB" % (peak // 1024)
    assert_still_works(daemon)


def test_a_1_mib_body_is_read_whole(daemon):
    code = "len(%r)" % ("y" * (1 << 20))
    r = daemon.exec(code)
    assert r["result"]["text/plain"] == str(1 << 20)


# ---- issue 12: deep nesting and resynchronisation after a bad frame --------------------------
def _deep(kind: str, levels: int) -> str:
    if kind == "arrays":
        return "[" * levels + "]" * levels
    return '{"a":' * levels + "1" + "}" * levels


@pytest.mark.parametrize("kind,levels", [("arrays", 100_000), ("objects", 50_000), ("arrays", 300)])
def test_params_nested_too_deep_get_invalid_request_with_their_id(daemon, kind, levels):
    body = '{"jsonrpc":"2.0","id":4242,"method":"exec","params":{"code":%s}}' % _deep(kind, levels)
    daemon.send_raw(frame(body.encode()), record={"jsonrpc": "2.0", "id": 4242, "method": "exec"})
    err = error_with_id(daemon, 4242)
    assert err["code"] == INVALID_REQUEST, err
    assert "nested deeper" in err["message"], err
    assert_still_works(daemon)


def test_deep_nesting_before_initialize_and_in_notifications_is_refused(raw_daemon):
    body = '{"jsonrpc":"2.0","id":7,"method":"initialize","params":%s}' % _deep("arrays", 100_000)
    raw_daemon.send_raw(frame(body.encode()), record={"jsonrpc": "2.0", "id": 7, "method": "initialize"})
    assert error_with_id(raw_daemon, 7)["code"] == INVALID_REQUEST
    raw_daemon.initialize()
    raw_daemon.send_raw(frame(('{"jsonrpc":"2.0","method":"$/cancelRequest","params":%s}'
                               % _deep("objects", 50_000)).encode()))
    assert error_with_id(raw_daemon, None)["code"] == INVALID_REQUEST
    assert_still_works(raw_daemon)


def test_a_deep_answer_to_an_input_request_raises_eoferror_in_the_code(spawn):
    d = spawn(initialize=False)
    d.initialize(capabilities={"input": True})
    rid = d.request("exec", {"code": "try:\n    input('?')\nexcept EOFError:\n    print('eof')"})
    ask = d.wait_request("input")
    d.send_raw(frame(('{"jsonrpc":"2.0","id":%s,"result":{"value":%s}}'
                      % (json.dumps(ask["id"]), _deep("arrays", 100_000))).encode()))
    assert d.wait_result(rid)["status"] == "ok"
    assert "eof" in d.outputs(rid)
    assert_still_works(d)


def _request_body(rid: int, code: str) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": rid, "method": "exec", "params": {"code": code}},
                      ensure_ascii=False).encode()


@pytest.mark.parametrize("how", ["length-in-characters", "body-shorter", "body-longer", "lf-only",
                                 "bad-header", "long-header", "junk-line"])
def test_after_one_bad_frame_every_later_request_is_answered(daemon, how):
    good = [_request_body(900 + i, "%d * 2" % i) for i in range(3)]
    bad_body = _request_body(800, "'héllo wörld'")
    if how == "length-in-characters":
        bad = b"Content-Length: %d\r\n\r\n" % len(bad_body.decode()) + bad_body
    elif how == "body-shorter":
        bad = b"Content-Length: %d\r\n\r\n" % (len(bad_body) + 25) + bad_body
    elif how == "body-longer":
        bad = b"Content-Length: %d\r\n\r\n" % (len(bad_body) - 7) + bad_body
    elif how == "lf-only":
        bad = b"Content-Length: %d\n\n" % len(bad_body) + bad_body
    elif how == "bad-header":
        bad = b"Content-Length: 12 34\r\n\r\n" + bad_body
    elif how == "long-header":
        bad = b"X-Junk: " + b"j" * 20000 + b"\r\nContent-Length: 2\r\n\r\n{}"
    else:
        bad = b"hello there\r\n"
    records = [json.loads(b) for b in good] + [json.loads(bad_body)]
    daemon.send_raw(bad + b"".join(frame(b) for b in good), record=records)
    for i in range(3):
        assert daemon.wait_result(900 + i)["result"]["text/plain"] == str(i * 2)
    if how in ("body-shorter", "lf-only"):  # read whole after all
        assert daemon.wait_result(800)["result"]["text/plain"] == "'héllo wörld'"
    assert_still_works(daemon)
