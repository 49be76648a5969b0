"""Revision 1: an empty array `[]` as params is taken as no params, for every method (Lua
encodes an empty table `{}` as `[]`, so a Neovim plugin sends it); a non-empty array is still
refused, since no method takes positional params."""

from __future__ import annotations

INVALID_PARAMS = -32602


def test_every_method_without_required_params_takes_an_empty_array(daemon):
    opened = daemon.call("session/open", [])
    assert opened["session"] == "default" and opened["backend"] == "asyncio", opened
    assert daemon.exec("rev1_v = 1")["status"] == "ok"
    names = [v["name"] for v in daemon.call("variables", [])["variables"]]
    assert "rev1_v" in names
    assert [s["session"] for s in daemon.call("session/list", [])["sessions"]] == ["default"]
    assert daemon.call("interrupt", []) == {"interrupted": False}
    assert daemon.call("reset", []) is None
    assert "rev1_v" not in [v["name"] for v in daemon.call("variables", [])["variables"]]
    restarted = daemon.call("session/restart", [])
    assert restarted["session"] == "default" and restarted["pid"] != opened["pid"], restarted
    assert daemon.call("session/close", []) is None
    assert daemon.call("session/list", [])["sessions"] == []


def test_initialize_takes_an_empty_array(spawn):
    d = spawn(initialize=False)
    r = d.wait_result(d.request("initialize", []))
    assert r["serverInfo"]["name"] == "asyncoded"
    assert d.exec("1 + 1")["result"]["text/plain"] == "2"


def test_a_method_with_required_params_says_what_is_missing(daemon):
    err = daemon.wait_error(daemon.request("exec", []))
    assert err["code"] == INVALID_PARAMS, err
    assert "params.code" in err["message"], err


def test_a_non_empty_array_is_still_refused(daemon):
    err = daemon.wait_error(daemon.request("variables", [1]))
    assert err["code"] == INVALID_PARAMS, err
    assert daemon.exec("40 + 2")["result"]["text/plain"] == "42"
