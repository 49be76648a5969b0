"""asyncode's engine: the Python half of a worker (the C++ half is the _asyncode_c module).

The daemon embeds these modules compiled; this package's __init__ runs first and installs
an importer for the rest, so they load lazily by name like any package.
"""
import sys

import _asyncode_c


class _EmbeddedLoader:
    """Finds and loads the `_asyncode.*` modules compiled into the daemon."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if not name.startswith("_asyncode.") or _asyncode_c.embedded_code(name) is None:
            return None
        from importlib.machinery import ModuleSpec
        spec = ModuleSpec(name, cls, origin="<asyncode:%s>" % name)
        spec.has_location = False
        return spec

    @staticmethod
    def create_module(spec):
        return None

    @staticmethod
    def exec_module(module):
        code = _asyncode_c.embedded_code(module.__name__)
        exec(code, module.__dict__)

    @staticmethod
    def get_source(name):
        return _asyncode_c.embedded_source(name)


__path__ = []
__loader__ = _EmbeddedLoader
sys.meta_path.append(_EmbeddedLoader)
