"""complete, inspect and variables over the live namespace of the session.

These run on the worker's service thread while user code may run on the main thread:
they only read the namespace, and they bound the user code they cannot avoid calling
(properties, __getattr__, __dir__, __repr__) in time: complete and inspect each run within
INTROSPECT_SECONDS and say when they gave up; each __repr__ of variables within REPR_SECONDS.
"""
import sys
import threading

_HIDDEN_TYPES = ("module",)
REPR_LIMIT = 200
REPR_SECONDS = 1.0
INTROSPECT_SECONDS = 5.0


def _namespace():
    return sys.modules["__main__"].__dict__


def _offsets(code, cursor):
    cursor = max(0, min(cursor, len(code)))
    line = code.count("\n", 0, cursor) + 1
    column = cursor - (code.rfind("\n", 0, cursor) + 1)
    return cursor, line, column


# ---- complete -------------------------------------------------------------------------
def _jedi():
    try:
        import jedi
    except Exception:
        return None
    return jedi


def _within_budget(fn, *args):
    """(fn(*args), False), run in a helper thread given INTROSPECT_SECONDS; (None, True) when
    it did not finish in time: the thread is abandoned and told to stop (TimeoutError at its
    next bytecode). What fn raises is raised here."""
    box = []

    def work():
        try:
            box.append((True, fn(*args)))
        except BaseException as e:  # noqa: B902 - handed to the caller
            box.append((False, e))

    t = threading.Thread(target=work, name="asyncode-introspect", daemon=True)
    t.start()
    t.join(INTROSPECT_SECONDS)
    if t.is_alive():
        _stop_thread(t)
        return None, True
    ok, value = box[0]
    if not ok:
        raise value
    return value, False


_WARM = [False]


def _warm_jedi(jedi):
    """jedi's first completion loads its stubs (a second or more on a busy machine): done once
    outside the budget, on an empty namespace, so that the budget counts the session's code."""
    if _WARM[0]:
        return
    _WARM[0] = True
    try:
        jedi.Interpreter("int", [{}]).complete(1, 3)
    except Exception:
        pass


def complete(code, cursor, namespace=None):
    """([(text, type)], cursorStart, cursorEnd, gaveUp): what the matches replace is
    code[start:end]; gaveUp: the session's code did not let it finish in time (no matches).
    Names come from `namespace` (a dict), by default the session's."""
    if namespace is None:
        namespace = _namespace()
    cursor = max(0, min(cursor, len(code)))
    jedi = _jedi()
    if jedi is not None:
        _warm_jedi(jedi)
    result, gave_up = _within_budget(_complete, code, cursor, jedi, namespace)
    if gave_up:
        return [], cursor, cursor, True
    return result + (False,)


def _complete(code, cursor, jedi, ns):
    cursor, line, column = _offsets(code, cursor)
    if jedi is not None:
        try:
            script = jedi.Interpreter(code, [ns])
            completions = script.complete(line, column)
            # Each match replaces what was typed of it; all replace one range.
            typed = [len(c.name) - len(c.complete) for c in completions]
            start = cursor - max(typed, default=0)
            matches = [(code[start:cursor - t] + c.name, c.type) for c, t in zip(completions, typed)]
            return matches, start, cursor
        except Exception:
            pass
    return _complete_rlcompleter(code, cursor, ns)


def _complete_rlcompleter(code, cursor, ns):
    import rlcompleter
    start = cursor
    while start > 0 and (code[start - 1].isidentifier() or code[start - 1] in "._" or code[start - 1].isdigit()):
        start -= 1
    text = code[start:cursor]
    completer = rlcompleter.Completer(ns)
    matches = []
    seen = set()
    for i in range(1000):
        try:
            m = completer.complete(text, i)
        except Exception:
            break
        if m is None:
            break
        if m not in seen:
            seen.add(m)
            matches.append((m.rstrip("("), None))
    return matches, start, cursor


# ---- inspect --------------------------------------------------------------------------
def _name_at(code, cursor):
    """The dotted name at the cursor, or the callee when the cursor follows '(' or ','."""
    cursor = max(0, min(cursor, len(code)))
    end = cursor
    while end < len(code) and (code[end].isidentifier() or code[end].isdigit() or code[end] == "_"):
        end += 1
    start = cursor
    while start > 0 and (code[start - 1].isidentifier() or code[start - 1].isdigit() or code[start - 1] in "._"):
        start -= 1
    name = code[start:end].strip(".")
    if name:
        return name
    # After "f(" or "f(a, ": the callee of the innermost open call.
    depth = 0
    i = cursor - 1
    while i >= 0:
        ch = code[i]
        if ch == ")":
            depth += 1
        elif ch == "(":
            if depth == 0:
                j = i
                while j > 0 and code[j - 1] == " ":
                    j -= 1
                k = j
                while k > 0 and (code[k - 1].isidentifier() or code[k - 1].isdigit() or code[k - 1] in "._"):
                    k -= 1
                return code[k:j].strip(".") or None
            depth -= 1
        i -= 1
    return None


def _resolve(name, ns):
    import builtins
    parts = name.split(".")
    if parts[0] in ns:
        obj = ns[parts[0]]
    elif hasattr(builtins, parts[0]):
        obj = getattr(builtins, parts[0])
    else:
        raise LookupError(name)
    for p in parts[1:]:
        obj = getattr(obj, p)
    return obj


def inspect(code, cursor):
    """({mime: text} describing the object at the cursor, or None; gaveUp): gaveUp when the
    session's code (a property, __getattr__, __repr__) did not let it finish in time."""
    return _within_budget(_inspect_now, code, cursor, _namespace())


def _inspect_now(code, cursor, ns):
    name = _name_at(code, cursor)
    if not name:
        return None
    try:
        obj = _resolve(name, ns)
    except Exception:
        return None
    import inspect as _inspect
    lines = []
    try:
        signature = str(_inspect.signature(obj))
    except (TypeError, ValueError):
        signature = None
    kind = type(obj).__name__
    header = name + (signature if signature is not None else "")
    lines.append(header)
    lines.append("type: " + kind)
    if not callable(obj) or isinstance(obj, (int, float, str, bytes, list, dict, tuple, set)):
        lines.append("value: " + _safe_repr(obj))
    doc = _inspect.getdoc(obj)
    if doc:
        lines.append("")
        lines.append(doc)
    plain = "\n".join(lines)
    md = ["```python", header, "```", "", "*%s*" % kind]
    if doc:
        md += ["", doc]
    return {"text/plain": plain, "text/markdown": "\n".join(md)}


# ---- variables ------------------------------------------------------------------------
def _safe_repr(obj):
    try:
        r = repr(obj)
    except BaseException as e:  # noqa: B902 - a broken __repr__ must not break the listing
        r = "<repr failed: %s: %s>" % (type(e).__name__, e)
    if len(r) > REPR_LIMIT:
        r = r[:REPR_LIMIT - 3] + "..."
    return r


def _is_user_variable(name, value):
    if name.startswith("_"):
        return False
    t = type(value)
    if t.__name__ in _HIDDEN_TYPES and t.__module__ == "builtins":
        return False
    return True


def _bounded_reprs(items):
    """repr() of each value, each within REPR_SECONDS, in a helper thread that is
    abandoned (and told to stop) when a __repr__ hangs."""
    results = [None] * len(items)
    index = [0]

    def work():
        while index[0] < len(items):
            i = index[0]
            results[i] = _safe_repr(items[i][1])
            index[0] = i + 1

    while index[0] < len(items):
        t = threading.Thread(target=work, name="asyncode-repr", daemon=True)
        t.start()
        t.join(REPR_SECONDS)
        if t.is_alive():
            i = index[0]
            results[i] = "<repr took longer than %gs>" % REPR_SECONDS
            index[0] = i + 1
            _stop_thread(t)
    return results


def _stop_thread(t):
    import ctypes
    try:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(t.ident), ctypes.py_object(TimeoutError))
    except Exception:
        pass


# Variables as a tree (revision 1): a value with children gets a ref, valid until the session's
# next exec starts (forget_refs); refs are never reused, so a stale one is refused, not wrong.
_REFS = {}      # ref -> object
_REF_OF = {}    # id(object) -> its ref (the object is held in _REFS, so its id stays its own)
_NEXT_REF = [1]
_LEAVES = (int, float, complex, bool, str, bytes, bytearray, type(None))


class InvalidRef(LookupError):
    pass


def forget_refs():
    """The session's next exec starts: every ref given so far is void."""
    _REFS.clear()
    _REF_OF.clear()


def _children(obj):
    """[(name, value)] of obj: items of a sequence, set or mapping, else its attributes."""
    if isinstance(obj, _LEAVES):
        return []
    if isinstance(obj, dict):
        return [(_safe_repr(k), v) for k, v in list(obj.items())]
    if isinstance(obj, (list, tuple)):
        return [("[%d]" % i, v) for i, v in enumerate(list(obj))]
    if isinstance(obj, (set, frozenset)):
        return [("[%d]" % i, v) for i, v in enumerate(list(obj))]
    attrs = getattr(obj, "__dict__", None)
    if isinstance(attrs, dict):
        return sorted(((k, v) for k, v in list(attrs.items()) if not k.startswith("__")), key=lambda kv: kv[0])
    return []


def _has_children(obj):
    if isinstance(obj, _LEAVES) or isinstance(obj, type(sys)):
        return False
    if isinstance(obj, (dict, list, tuple, set, frozenset)):
        return len(obj) > 0
    attrs = getattr(obj, "__dict__", None)
    return isinstance(attrs, dict) and any(not k.startswith("__") for k in attrs)


def _ref_for(obj):
    ref = _REF_OF.get(id(obj))
    if ref is None:
        ref = _NEXT_REF[0]
        _NEXT_REF[0] += 1
        _REFS[ref] = obj
        _REF_OF[id(obj)] = ref
    return ref


def _entry(name, value, text):
    """(name, type, repr, ref, length, shape): ref 0 when it has no children."""
    try:
        ref = _ref_for(value) if _has_children(value) else 0
    except Exception:
        ref = 0
    length = None
    if isinstance(value, (dict, list, tuple, set, frozenset, str, bytes, bytearray)):
        length = len(value)
    shape = None
    try:
        raw = getattr(type(value), "shape", None) is not None and getattr(value, "shape", None)
        if isinstance(raw, tuple) and all(isinstance(n, int) for n in raw):
            shape = "(" + ", ".join(str(n) for n in raw) + ("," if len(raw) == 1 else "") + ")"
            if raw and length is None:
                length = raw[0]
    except Exception:
        shape = None
    return (name, type(value).__name__, text, ref, length, shape)


def variables(ref=0, start=0, count=-1):
    """([(name, type, repr, ref, length, shape)], total): the user namespace (ref 0) or the
    children of ref, from start, at most count of them (all when negative)."""
    if ref:
        obj = _REFS.get(ref)
        if obj is None:
            raise InvalidRef("ref %d is not valid (refs last until the session's next exec starts)" % ref)
        items = _children(obj)
    else:
        ns = dict(_namespace())
        items = [(k, v) for k, v in ns.items() if _is_user_variable(k, v)]
        items.sort(key=lambda kv: kv[0])
    total = len(items)
    page = items[start:] if count < 0 else items[start:start + count]
    reprs = _bounded_reprs(page)
    return [_entry(k, v, r) for (k, v), r in zip(page, reprs)], total
