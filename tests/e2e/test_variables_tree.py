"""Revision 1: variables as a tree. An entry with a non-zero ref has children (items of a
sequence or mapping, attributes of an object), listed by `variables {ref, start, count}`;
refs stay valid until the session's next exec starts."""

from __future__ import annotations


def by_name(result):
    return {v["name"]: v for v in result["variables"]}


def test_a_list_has_a_ref_and_its_items_come_in_pages(daemon):
    daemon.exec("xs = list(range(10))\nn = 5")
    top = daemon.call("variables")
    assert top["total"] == 2, top
    xs, n = by_name(top)["xs"], by_name(top)["n"]
    assert (xs["type"], xs["length"]) == ("list", 10) and xs["ref"] > 0, xs
    assert "ref" not in n and n["repr"] == "5", n
    page = daemon.call("variables", {"ref": xs["ref"], "start": 2, "count": 3})
    assert page["total"] == 10
    assert [(v["name"], v["type"], v["repr"]) for v in page["variables"]] == [
        ("[2]", "int", "2"), ("[3]", "int", "3"), ("[4]", "int", "4")]
    assert [v["repr"] for v in daemon.call("variables", {"ref": xs["ref"], "start": 8, "count": 5})["variables"]] == ["8", "9"]


def test_mappings_and_objects_expand_to_their_keys_and_attributes(daemon):
    daemon.exec("class P:\n    def __init__(self):\n        self.x = 1\n        self.tags = {'a': [1, 2]}\np = P()")
    p = by_name(daemon.call("variables"))["p"]
    attrs = by_name(daemon.call("variables", {"ref": p["ref"]}))
    assert sorted(attrs) == ["tags", "x"], attrs
    tags = daemon.call("variables", {"ref": attrs["tags"]["ref"]})
    [a] = tags["variables"]
    assert (a["name"], a["type"], a["length"]) == ("'a'", "list", 2) and a["ref"] > 0, a
    assert [v["repr"] for v in daemon.call("variables", {"ref": a["ref"]})["variables"]] == ["1", "2"]


def test_the_namespace_pages_too(daemon):
    daemon.exec("a1 = 1\na2 = 2\na3 = 3")
    page = daemon.call("variables", {"start": 1, "count": 1})
    assert page["total"] == 3 and [v["name"] for v in page["variables"]] == ["a2"], page


def test_refs_are_void_once_the_next_exec_starts(daemon):
    daemon.exec("xs = [1, 2]")
    ref = by_name(daemon.call("variables"))["xs"]["ref"]
    assert daemon.call("variables", {"ref": ref})["total"] == 2
    daemon.exec("1")
    err = daemon.wait_error(daemon.request("variables", {"ref": ref}))
    assert err["code"] == -32602 and "ref" in err["message"], err
