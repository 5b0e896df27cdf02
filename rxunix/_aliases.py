"""The flat module paths (``rxunix.event``, ``rxunix.codecs.*``, ...) resolved to the layer packages.

``import rxunix.codecs.json_codec`` and ``from rxunix.connectors.server import
unix_socket_server`` keep working: the old name is bound to the very module
object under the new name (``rxunix.core.codecs.json_codec``,
``rxunix.edge.server``), so patching either name patches both::

    >>> import rxunix.event, rxunix.core.event
    >>> rxunix.event is rxunix.core.event
    True

These paths remain for one release; new code imports the layer packages.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

__all__ = ["OLD_PATHS", "new_name"]

#: Old module (or package) path -> its home in the layered layout.
OLD_PATHS: dict[str, str] = {
    "rxunix.event": "rxunix.core.event",
    "rxunix.origin": "rxunix.core.origin",
    "rxunix.routing": "rxunix.core.routing",
    "rxunix.errors": "rxunix.core.errors",
    "rxunix.config": "rxunix.core.config",
    "rxunix.registry": "rxunix.core.registry",
    "rxunix.framing": "rxunix.core.framing",
    "rxunix.reconnect": "rxunix.core.reconnect",
    "rxunix.permissions": "rxunix.core.permissions",
    "rxunix.codecs": "rxunix.core.codecs",
    "rxunix.processors": "rxunix.core.processors",
    "rxunix.operators": "rxunix.rx",
    "rxunix.runtime": "rxunix.edge.runtime",
    "rxunix.sockpath": "rxunix.edge.sockpath",
    "rxunix.security": "rxunix.edge.security",
    "rxunix.connectors": "rxunix.edge",
    "rxunix.cli": "rxunix.app.cli",
    "rxunix.flow": "rxunix.app.flow",
    "rxunix.demo": "rxunix.app.demo",
}


def new_name(name: str) -> str | None:
    """The current path of an old module path, or None if ``name`` is not an old path.

    >>> new_name("rxunix.codecs.syslog"), new_name("rxunix.core.event")
    ('rxunix.core.codecs.syslog', None)
    """
    for old in sorted(OLD_PATHS, key=len, reverse=True):
        if name == old or name.startswith(old + "."):
            return OLD_PATHS[old] + name[len(old):]
    return None


class _Alias(importlib.abc.Loader):
    """Hands out the module under its new name and keeps its identity intact."""

    _KEPT = ("__name__", "__spec__", "__loader__", "__package__")

    def __init__(self, target: str) -> None:
        self.target = target
        self._saved: dict[str, object] = {}

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self.target)
        self._saved = {k: getattr(module, k) for k in self._KEPT if hasattr(module, k)}
        return module

    def exec_module(self, module: ModuleType) -> None:
        """The module already ran under its new name: undo what the import system stamped on it."""
        for key, value in self._saved.items():
            setattr(module, key, value)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        new = new_name(fullname)
        if new is None:
            return None
        module = importlib.import_module(new)
        spec = importlib.machinery.ModuleSpec(fullname, _Alias(new), is_package=hasattr(module, "__path__"))
        return spec


def install() -> None:
    """Resolve the old paths from now on (idempotent)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())  # before PathFinder: an old package path must not load a second copy
