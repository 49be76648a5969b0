"""The engine's enums are defined once, in core/types.h; the native module exports them
(_asyncode_c.STATUS_*, HOW_*, REASON_*, MODE_*) and core/python/engine.py imports them. The cell
rules (core/python/cells.py) are shared with the asyncode package, which has no native module:
their MODE_* copy is checked here against the one definition."""


def test_the_cell_rules_modes_are_the_engines(daemon):
    r = daemon.exec("import _asyncode_c as n, _asyncode.cells as c\n"
                    "[(c.MODE_CELL, n.MODE_CELL), (c.MODE_INTERACTIVE, n.MODE_INTERACTIVE),"
                    " (c.MODE_MODULE, n.MODE_MODULE)]")
    assert r["status"] == "ok", r
    pairs = eval(r["result"]["text/plain"])  # a list of int pairs, as repr wrote it
    assert len(pairs) == 3 and all(a == b for a, b in pairs), pairs


def test_the_engines_enums_are_exported_distinct(daemon):
    r = daemon.exec("import _asyncode_c as n\n"
                    "[len({n.STATUS_OK, n.STATUS_ERROR, n.STATUS_INTERRUPTED, n.STATUS_TIMEOUT}),"
                    " len({n.HOW_NONE, n.HOW_CANCELLED, n.HOW_KEYBOARD_INTERRUPT}),"
                    " len({n.REASON_INTERRUPT, n.REASON_TIMEOUT})]")
    assert r["result"]["text/plain"] == "[4, 3, 2]", r
