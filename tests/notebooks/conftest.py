"""A Jupyter kernel spec for the Python running the tests (so a fresh tox env
uses its own interpreter and its own rxunix, never a kernel found elsewhere)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator

import pytest

KERNEL_NAME = "rxunix-test-python"


@pytest.fixture(scope="session")
def kernel_name() -> Iterator[str]:
    """Register a kernel spec running ``sys.executable -m ipykernel_launcher``
    in a private JUPYTER_PATH entry; return its name."""
    import ipykernel  # noqa: F401 - the 'notebook' extra: required here
    root = tempfile.mkdtemp(prefix="rxu-ks-", dir="/tmp")
    spec_dir = os.path.join(root, "kernels", KERNEL_NAME)
    os.makedirs(spec_dir)
    spec = {
        "argv": [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f",
                 "{connection_file}"],
        "display_name": f"rxunix tests ({sys.executable})",
        "language": "python",
        "env": {"PYDEVD_DISABLE_FILE_VALIDATION": "1"},
    }
    with open(os.path.join(spec_dir, "kernel.json"), "w", encoding="utf-8") as f:
        json.dump(spec, f)
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = root + (os.pathsep + old if old else "")
    try:
        yield KERNEL_NAME
    finally:
        if old is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = old
        shutil.rmtree(root, ignore_errors=True)
