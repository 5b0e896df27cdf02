"""Flow files: import one and pick the flow functions it deploys (``flows``, ``flow`` or ``--flow NAME``)."""

from __future__ import annotations

import importlib.util
import os
import sys
import types
from collections.abc import Sequence

from .flow_context import FlowFunction

__all__ = ["FlowFileError", "load_flow_file"]


class FlowFileError(Exception):
    """A flow file cannot be loaded or names no flow."""


def _flow_functions(module: types.ModuleType, path: str, names: Sequence[str] | None) -> list[FlowFunction]:
    if names:
        fns = []
        for n in dict.fromkeys(names):  # (a name given twice is deployed once)
            fn = getattr(module, n, None)
            if not callable(fn):
                raise FlowFileError(f"{path}: no flow function named {n!r}")
            fns.append(fn)
        return fns
    listed = getattr(module, "flows", None)
    if listed is not None:
        if not isinstance(listed, (list, tuple)) or not all(callable(f) for f in listed):
            raise FlowFileError(f"{path}: 'flows' must be a list of flow functions")
        if not listed:
            raise FlowFileError(f"{path}: 'flows' is empty: nothing to run")
        return list(listed)
    fn = getattr(module, "flow", None)
    if callable(fn):
        return [fn]
    raise FlowFileError(f"{path}: defines neither a list 'flows' nor a function 'flow(ctx)'")


def load_flow_file(path: str, names: Sequence[str] | None = None) -> list[FlowFunction]:
    """Import a flow file and return the flow functions to deploy: those named in
    ``names`` (``--flow NAME``, each once), else its list ``flows``, else its
    function ``flow(ctx)``. ``FlowFileError`` for a missing file, a name it does not
    define, or a file that defines none of them; its own exceptions propagate.

    The file's directory is put first on ``sys.path`` (as ``python FILE`` does),
    so flow files can import their neighbours.
    """
    if not os.path.isfile(path):
        raise FlowFileError(f"{path}: no such file")
    directory = os.path.dirname(os.path.abspath(path))
    if directory not in sys.path:
        sys.path.insert(0, directory)
    mod_name = "rxunix_flow_" + os.path.splitext(os.path.basename(path))[0].replace("-", "_")
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise FlowFileError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    spec.loader.exec_module(module)
    return _flow_functions(module, path, names)
