"""The system tools some tests drive (socat, jq): present, or skipped with the reason only when
they cannot be installed here (see ``.ci/sysdeps.py``, which tox runs before the tests)."""

from __future__ import annotations

import importlib.util
import os
import shutil
from types import ModuleType

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, ".ci", "sysdeps.py")


def installer() -> ModuleType:
    """``.ci/sysdeps.py`` as a module."""
    spec = importlib.util.spec_from_file_location("rxunix_ci_sysdeps", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def require(tool: str) -> str:
    """The path of ``tool``; skips the test if it cannot be installed here, fails if it merely was not.

    A missing tool that could be installed is a failure, not a skip: run ``python .ci/sysdeps.py``
    (tox does it in ``commands_pre``).
    """
    path = shutil.which(tool)
    if path is not None:
        return path
    why = installer().cannot_install()
    if why is not None:
        pytest.skip(f"{tool} not installed and cannot be installed here: {why}")
    pytest.fail(f"{tool} is missing but could be installed: run python .ci/sysdeps.py (tox runs it first)")


#: socat's path when the tests were collected (None if missing).
SOCAT = shutil.which("socat")
#: Marks a test that drives socat: it skips only when socat cannot be installed here,
#: and fails when it merely was not (the ``socat`` fixture: :func:`require`).
needs_socat = pytest.mark.usefixtures("socat")
