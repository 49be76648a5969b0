"""Rich representations: the IPython display protocol, without IPython.

format_bundle(obj) returns [(mime, data, is_json)]: text/plain is repr(obj) and always
present; `_repr_*_` methods add their types; binary data is base64. A `_repr_*_` that
raises is skipped with a warning on stderr (the repr still shows); a failing __repr__ is
the caller's error, as in IPython.
"""
import sys

_TEXT_METHODS = (
    ("text/html", "_repr_html_"),
    ("text/markdown", "_repr_markdown_"),
    ("image/svg+xml", "_repr_svg_"),
    ("text/latex", "_repr_latex_"),
    ("application/javascript", "_repr_javascript_"),
)
_BINARY_METHODS = (
    ("image/png", "_repr_png_"),
    ("image/jpeg", "_repr_jpeg_"),
)
_JSON_METHODS = (("application/json", "_repr_json_"),)


def _is_json_type(mime):
    return mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))


def _warn(obj, method, exc):
    try:
        sys.stderr.write("asyncode: %s.%s() failed: %s: %s; showing the plain repr\n"
                         % (type(obj).__name__, method, type(exc).__name__, exc))
    except Exception:
        pass


def _lookup(obj, name):
    """A _repr_*_ method of obj's class (not a dynamic __getattr__ answer), bound."""
    if isinstance(obj, type):
        return None  # a class's _repr_html_ is an unbound function, not a representation
    try:
        getattr(type(obj), name)
    except Exception:
        return None
    try:
        method = getattr(obj, name)
    except Exception:
        return None
    return method if callable(method) else None


def _encode(mime, data):
    """(data, is_json) for the wire, or None when the value is unusable."""
    import base64
    import json
    if isinstance(data, tuple) and len(data) == 2:  # (data, metadata) as IPython allows
        data = data[0]
    if data is None:
        return None
    if _is_json_type(mime):
        if isinstance(data, (str, bytes)):
            try:
                data = json.loads(data)
            except ValueError:
                return None
        return json.dumps(data, default=repr), True
    if isinstance(data, (bytes, bytearray, memoryview)):
        if mime.startswith("text/") or mime == "image/svg+xml":
            return bytes(data).decode("utf-8", "replace"), False
        return base64.b64encode(bytes(data)).decode("ascii"), False
    if isinstance(data, str):
        return data, False
    return str(data), False


def _matplotlib_png(obj):
    module = type(obj).__module__ or ""
    if not module.startswith("matplotlib."):
        return None
    try:
        from matplotlib.figure import Figure
    except Exception:
        return None
    if not isinstance(obj, Figure):
        return None
    import io
    buf = io.BytesIO()
    obj.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


def format_bundle(obj, include=None, exclude=None):
    bundle = {}
    mimebundle = _lookup(obj, "_repr_mimebundle_")
    if mimebundle is not None:
        try:
            got = mimebundle(include=include, exclude=exclude)
            if isinstance(got, tuple):
                got = got[0]
            if isinstance(got, dict):
                for mime, data in got.items():
                    if isinstance(mime, str):
                        enc = _encode(mime, data)
                        if enc is not None:
                            bundle[mime] = enc
        except Exception as e:
            _warn(obj, "_repr_mimebundle_", e)
    for table in (_TEXT_METHODS, _BINARY_METHODS, _JSON_METHODS):
        for mime, name in table:
            if mime in bundle:
                continue
            method = _lookup(obj, name)
            if method is None:
                continue
            try:
                enc = _encode(mime, method())
            except Exception as e:
                _warn(obj, name, e)
                continue
            if enc is not None:
                bundle[mime] = enc
    if "image/png" not in bundle:
        try:
            png = _matplotlib_png(obj)
        except Exception as e:
            _warn(obj, "savefig", e)
            png = None
        if png:
            import base64
            bundle["image/png"] = (base64.b64encode(png).decode("ascii"), False)
    if "text/plain" not in bundle:
        bundle["text/plain"] = (repr(obj), False)  # may raise: the exec's error
    if include:
        bundle = {k: v for k, v in bundle.items() if k in include or k == "text/plain"}
    if exclude:
        bundle = {k: v for k, v in bundle.items() if k not in exclude or k == "text/plain"}
    # text/plain first, then the rest as found.
    items = [("text/plain",) + bundle.pop("text/plain")]
    items.extend((mime,) + value for mime, value in bundle.items())
    return items


def _metadata_json(metadata):
    if not metadata:
        return None
    import json
    try:
        return json.dumps(metadata, default=repr)
    except (TypeError, ValueError):
        return None


# Where displays go: the session worker's C module, unless the asyncode package routes them to
# its own consoles (set_sink: an object with display(items, display_id, update, metadata_json)
# and clear_output(wait)).
_sink = None


def set_sink(sink):
    global _sink
    _sink = sink


def _target():
    if _sink is not None:
        return _sink
    import _asyncode_c
    return _asyncode_c


def _new_display_id():
    import uuid
    return uuid.uuid4().hex


def _send(obj, include, exclude, raw, display_id, update, metadata):
    if raw and isinstance(obj, dict):
        items = []
        for mime, data in obj.items():
            enc = _encode(mime, data)
            if enc is not None:
                items.append((mime,) + enc)
        if not any(m == "text/plain" for m, _, _ in items):
            items.insert(0, ("text/plain", repr(obj), False))
    else:
        items = format_bundle(obj, include, exclude)
    _target().display(items, display_id, update, _metadata_json(metadata))


def display(*objs, include=None, exclude=None, raw=False, metadata=None, display_id=None,
            clear=False, transient=None, **kwargs):
    """Show each object in the client as a rich display (like IPython's display()).
    display_id=True names the display with a new id; with an id, a handle is returned whose
    update(obj) replaces what it shows."""
    if display_id is True:
        display_id = _new_display_id()
    elif display_id is not None:
        display_id = str(display_id)
    if clear:
        clear_output(wait=True)
    update = bool(kwargs.get("update", False))
    for obj in objs:
        _send(obj, include, exclude, raw, display_id, update, metadata)
    if display_id is not None and not update:
        return DisplayHandle(display_id)
    return None


def update_display(obj, *, display_id, **kwargs):
    """Replace what the display named display_id shows (IPython's update_display)."""
    kwargs["update"] = True
    display(obj, display_id=display_id, **kwargs)


def clear_output(wait=False):
    """Clear the output of the running exec (with wait: when the next output comes)."""
    _target().clear_output(bool(wait))


class DisplayHandle:
    """What display(obj, display_id=...) returns: display(), update()."""

    def __init__(self, display_id=None):
        self.display_id = _new_display_id() if display_id is None else str(display_id)

    def __repr__(self):
        return "<%s display_id=%s>" % (type(self).__name__, self.display_id)

    def display(self, obj, **kwargs):
        display(obj, display_id=self.display_id, **kwargs)

    def update(self, obj, **kwargs):
        update_display(obj, display_id=self.display_id, **kwargs)


_IPYTHON_NAMES = ("display", "update_display", "clear_output", "DisplayHandle")


def patch_ipython(module):
    """IPython.display's functions (and the modules it takes them from) become these, so that
    IPython code shows its displays in the session's client."""
    ours = {"display": display, "update_display": update_display, "clear_output": clear_output,
            "DisplayHandle": DisplayHandle}
    for name in _IPYTHON_NAMES:
        if hasattr(module, name):
            setattr(module, name, ours[name])
