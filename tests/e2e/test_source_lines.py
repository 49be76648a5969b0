"""Revision 1: where code comes from (exec's firstLine), and what its errors say about where
they are: a SyntaxError's position in its ErrorInfo, the columns of traceback frames, and a
real file's lines left alone in linecache."""

from __future__ import annotations

import os


def frames(r):
    return [(f["filename"], f["line"], f["name"], f.get("source")) for f in r["error"]["traceback"]]


def test_first_line_moves_tracebacks_warnings_and_getsource_to_the_lines_of_the_file(daemon):
    r = daemon.exec("def h():\n    return 1/0\nh()", filename="<buffer>", firstLine=10)
    assert frames(r) == [("<buffer>", 12, "<module>", "h()"), ("<buffer>", 11, "h", "return 1/0")], r
    assert 'File "<buffer>", line 11, in h' in r["error"]["formatted"]
    r = daemon.exec("import inspect\ninspect.getsource(h)")
    assert r["result"]["text/plain"] == repr("def h():\n    return 1/0\n"), r
    rid = daemon.request("exec", {"code": "import warnings\nwarnings.warn('careful')",
                                  "filename": "<buffer>", "firstLine": 40})
    daemon.wait_result(rid)
    assert "<buffer>:41: UserWarning: careful" in daemon.outputs(rid, "stderr")


def test_a_pseudo_file_keeps_the_lines_of_earlier_snippets(daemon):
    daemon.exec("def a():\n    raise KeyError('a')", filename="<buf>", firstLine=3)
    daemon.exec("def b():\n    return a()", filename="<buf>", firstLine=20)
    r = daemon.exec("b()")
    assert frames(r)[1:] == [("<buf>", 21, "b", "return a()"), ("<buf>", 4, "a", "raise KeyError('a')")], r


def test_a_syntax_error_says_where_on_the_lines_of_the_file(daemon):
    r = daemon.exec("x = 1\nprint(x y)", filename="<buffer>", firstLine=7)
    e = r["error"]
    assert (e["type"], e["line"], e["column"], e["endLine"], e["endColumn"]) == ("SyntaxError", 8, 6, 8, 9), e
    assert e["traceback"] == []
    assert 'File "<buffer>", line 8' in e["formatted"]


def test_an_error_of_the_compiler_proper_counts_characters_too(daemon):
    # 'return' outside a function comes from the compiler, which counts UTF-8 bytes
    e = daemon.exec("s = 'é'; return s")["error"]
    assert (e["type"], e["line"], e["column"], e["endColumn"]) == ("SyntaxError", 1, 9, 17), e


def test_frames_carry_the_columns_of_the_failing_expression(daemon):
    r = daemon.exec("def f(a):\n    return a.b + 1\n\nf(None)")
    got = [(f["line"], f.get("column"), f.get("endLine"), f.get("endColumn")) for f in r["error"]["traceback"]]
    assert got == [(4, 0, 4, 7), (2, 11, 2, 14)], r["error"]["traceback"]


def test_a_snippet_of_a_real_file_never_replaces_the_file_in_linecache(daemon, tmp_path):
    module = tmp_path / "realmod.py"
    module.write_text("# the file\ndef g():\n    raise ValueError('from the file')\n")
    daemon.exec("import sys\nsys.path.insert(0, %r)\nimport realmod" % str(tmp_path))
    # an unsaved edit of the file, run as lines 2-3 of it
    r = daemon.exec("def g2():\n    raise KeyError('edited')\ng2()", filename=str(module), firstLine=2)
    assert frames(r)[-1] == (str(module), 3, "g2", "raise KeyError('edited')"), r
    r = daemon.exec("import linecache\nlinecache.getline(%r, 3).strip()" % str(module))
    assert r["result"]["text/plain"] == repr("raise ValueError('from the file')"), r
    r = daemon.exec("realmod.g()")
    assert frames(r)[-1] == (str(module), 3, "g", "raise ValueError('from the file')"), r


def test_first_line_beyond_the_limit_is_refused(daemon):
    err = daemon.wait_error(daemon.request("exec", {"code": "1", "firstLine": 10_000_001}))
    assert err["code"] == -32602 and "firstLine" in err["message"], err


def test_a_file_saved_since_its_last_traceback_shows_its_new_lines(daemon, tmp_path):
    # As Python's REPL: each traceback checks the files it shows (linecache.checkcache).
    module = tmp_path / "savedmod.py"
    module.write_text("def g():\n    raise ValueError('first')\n")
    daemon.exec("import sys\nsys.path.insert(0, %r)\nimport savedmod" % str(tmp_path))
    r = daemon.exec("savedmod.g()")
    assert frames(r)[-1] == (str(module), 2, "g", "raise ValueError('first')"), r
    module.write_text("def g():\n    raise ValueError('saved since')  # a longer line\n")
    os.utime(module, (1, 1))  # a different mtime even within the file system's resolution
    r = daemon.exec("savedmod.g()")
    assert frames(r)[-1] == (str(module), 2, "g", "raise ValueError('saved since')  # a longer line"), r
