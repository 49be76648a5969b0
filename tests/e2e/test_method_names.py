"""Every list of methods in the project against schema/protocol.schema.json (no daemon needed).

The C++ method tables are generated from the schemas (tools/gen_protocol.py) and checked against
them by tests/unit/protocol/test_method_table.cpp; the daemon's front binds every client method
(tests/unit/daemon). Here: the C++ code names methods only through the generated descriptors
(`methods::exec`), never as strings; the names it uses exist; the fuzzer's seeds and the
benchmark send methods of the schema.

    /usr/bin/python3 -m pytest -q tests/e2e/test_method_names.py
"""

from __future__ import annotations

import ast
import json
import pathlib
import re
import sys

import pytest

from protocol_schema import METHODS

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
from gen_protocol import method_identifier  # noqa: E402  (the generator's own naming)

LINK = json.loads((REPO / "schema" / "worker-link.schema.json").read_text(encoding="utf-8"))["x-methods"]
ALL_NAMES = set(METHODS) | set(LINK)
# C++ that speaks the protocol: the daemon, the terminal client, the fuzzer.
CPP_DIRS = ["daemon", "clients/cli", "tests/fuzz"]


def cpp_sources():
    for d in CPP_DIRS:
        for path in sorted((REPO / d).glob("*.[ch]*")):
            if path.suffix in (".cpp", ".h"):
                yield path


def code_of(path: pathlib.Path) -> str:
    """The C++ text without comments."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def test_cpp_names_no_method_as_a_string():
    found = []
    for path in cpp_sources():
        for literal in re.findall(r'"((?:[^"\\]|\\.)*)"', code_of(path)):
            if literal in ALL_NAMES:
                found.append("%s: \"%s\"" % (path.relative_to(REPO), literal))
    assert found == [], "methods written as strings (use the generated methods::name): %s" % found


def test_every_method_the_cpp_names_is_in_a_schema():
    protocol_idents = {method_identifier(m): m for m in METHODS}
    link_idents = {method_identifier(m): m for m in LINK}
    unknown = []
    for path in cpp_sources():
        code = code_of(path)
        for ident in re.findall(r"link::methods::(\w+)", code):
            if ident not in link_idents:
                unknown.append("%s: link::methods::%s" % (path.relative_to(REPO), ident))
        for ident in re.findall(r"(?<!link::)\bmethods::(\w+)", code):
            if ident not in protocol_idents:
                unknown.append("%s: methods::%s" % (path.relative_to(REPO), ident))
    assert unknown == []


def test_the_terminal_client_uses_only_methods_a_client_may():
    for path in (REPO / "clients" / "cli").glob("*.cpp"):
        for ident in re.findall(r"\bmethods::(\w+)", code_of(path)):
            method = {method_identifier(m): m for m in METHODS}[ident]
            assert METHODS[method]["direction"] in ("client->daemon", "daemon->client", "both"), method


def _corpus_messages():
    tree = ast.parse((REPO / "tests" / "fuzz" / "make_corpus.py").read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "req" and len(node.args) >= 2:
            if isinstance(node.args[1], ast.Constant):
                names.append(node.args[1].value)
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values):
                if isinstance(k, ast.Constant) and k.value == "method" and isinstance(v, ast.Constant):
                    names.append(v.value)
    return names


# Requests the fuzzer's seeds send on purpose that the protocol does not have.
NOT_METHODS = {"no/such/method", "dropped", "throws"}


def test_the_fuzzer_seeds_send_methods_of_the_schema():
    names = _corpus_messages()
    assert names, "no messages found in make_corpus.py"
    assert sorted(set(names) - set(METHODS) - NOT_METHODS) == []


def test_the_fuzzer_seeds_every_method_a_client_sends():
    client = {m for m, e in METHODS.items() if e["direction"] in ("client->daemon", "both")}
    assert sorted(client - set(_corpus_messages())) == []


def test_the_benchmark_sends_methods_of_the_schema():
    sent = set()
    for path in sorted((REPO / "bench").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        sent |= set(re.findall(r"\.(?:request|call|notify)\(\s*\"([^\"]+)\"", text))
        sent |= set(re.findall(r"encode_(?:request|notification)\([^,]*?,?\s*\"([^\"]+)\"", text))
    assert sent, "the benchmark sends nothing?"
    assert sorted(sent - set(METHODS)) == []


@pytest.mark.parametrize("name", sorted(ALL_NAMES))
def test_every_method_has_a_cpp_name(name):
    assert re.fullmatch(r"[A-Za-z_]\w*", method_identifier(name))
