"""Post-import hooks: run a function right after a module is first imported.

The engine makes the session's asyncio loop the moment user code imports asyncio (so
`asyncio.ensure_future()` in a plain cell lands on the loop that keeps running), and
routes getpass.getpass() to the client.
"""
import sys


class _Finder:
    def __init__(self, hooks):
        self.hooks = hooks  # module name -> callback(module)

    def find_spec(self, name, path=None, target=None):
        hook = self.hooks.get(name)
        if hook is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        del self.hooks[name]
        spec.loader = _HookedLoader(loader, hook)
        return spec


class _HookedLoader:
    def __init__(self, loader, hook):
        self._loader = loader
        self._hook = hook

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        # The module's own loader stays its __loader__ (for get_source, resources).
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        self._hook(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


def install(hooks):
    pending = {name: fn for name, fn in hooks.items() if name not in sys.modules}
    if pending:
        sys.meta_path.insert(0, _Finder(pending))
