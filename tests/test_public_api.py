"""The public surface: what ``import rxunix`` offers, and the module paths of the last release."""

from __future__ import annotations

import importlib
import pickle
import pydoc
import subprocess
import sys

import pytest

import rxunix

CONSTRUCTORS = ["unix_socket_server", "unix_socket_client", "unix_datagram_server", "unix_datagram_client",
                "connect"]


@pytest.mark.parametrize("name", CONSTRUCTORS)
def test_constructors_show_in_dir_and_help(name: str) -> None:
    assert name in dir(rxunix) and name in rxunix.__all__
    assert name in pydoc.render_doc(rxunix, renderer=pydoc.plaintext)


@pytest.mark.parametrize(("old", "new"), [
    ("rxunix.event", "rxunix.core.event"),
    ("rxunix.codecs.json_codec", "rxunix.core.codecs.json_codec"),
    ("rxunix.processors.separate", "rxunix.core.processors.separate"),
    ("rxunix.connectors.server", "rxunix.edge.server"),
    ("rxunix.connectors.client", "rxunix.edge.client"),
    ("rxunix.operators", "rxunix.rx"),
    ("rxunix.operators.windows", "rxunix.rx.windows"),
    ("rxunix.runtime", "rxunix.edge.runtime"),
    ("rxunix.flow", "rxunix.app.flow"),
    ("rxunix.cli", "rxunix.app.cli"),
])
def test_old_module_paths_are_the_same_modules(old: str, new: str) -> None:
    assert importlib.import_module(old) is importlib.import_module(new)
    assert importlib.import_module(old).__name__ == new


def test_errors_carry_their_public_names() -> None:
    err = rxunix.ConfigError("bad")
    assert type(err).__module__ == "rxunix" and rxunix.ConfigError is rxunix.core.errors.ConfigError  # type: ignore[attr-defined]
    assert type(pickle.loads(pickle.dumps(err))) is rxunix.ConfigError


def test_import_stays_light() -> None:
    """Optional extras load on use, never on ``import rxunix``."""
    code = ("import sys, rxunix; print(sorted(m for m in ('matplotlib', 'ipywidgets', 'IPython', "
            "'prometheus_client', 'orjson', 'yaml', 'msgpack', 'uvloop') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
