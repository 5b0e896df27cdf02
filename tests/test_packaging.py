"""Package metadata: one version, a license, a changelog, lean test extras."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import setuptools

from rxunix._version import __version__

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_STACK = ("ipykernel", "ipywidgets", "matplotlib")


@pytest.fixture(scope="module")
def metadata() -> dict[str, Any]:
    """The keyword arguments setup.py passes to setuptools.setup()."""
    captured: dict[str, Any] = {}
    original = setuptools.setup
    setuptools.setup = lambda **kw: captured.update(kw)  # type: ignore[assignment]
    try:
        runpy.run_path(str(ROOT / "setup.py"), run_name="__main__")
    finally:
        setuptools.setup = original
    return captured


def test_one_version_everywhere(metadata: dict[str, Any]) -> None:
    assert metadata["version"] == __version__
    out = subprocess.run([sys.executable, "-m", "rxunix", "--version"], capture_output=True, text=True,
                         cwd=ROOT, timeout=60, check=True).stdout
    assert out == f"rxunix {__version__}\n"
    assert f"## {__version__}" in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")


def test_license_author_and_urls(metadata: dict[str, Any]) -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text and "APPENDIX: How to apply the Apache License" in text
    assert metadata["license"] == "Apache-2.0" and metadata["license_files"] == ["LICENSE"]
    assert metadata["author"] and metadata["author_email"]
    assert set(metadata["project_urls"]) == {"Source", "Issues", "Changelog"}


def test_test_extra_is_lean_and_notebook_stack_stays_optional(metadata: dict[str, Any]) -> None:
    extras = metadata["extras_require"]
    names = {req.split(">")[0].split("=")[0] for req in extras["test"]}
    assert not names & set(NOTEBOOK_STACK)
    assert {"msgpack", "PyYAML", "orjson", "lz4", "zstandard", "python-snappy", "brotli", "pytest",
            "prometheus-client"} <= names  # the tests scrape the Prometheus endpoint
    assert all(any(req.startswith(pkg) for req in extras["all"]) for pkg in NOTEBOOK_STACK)
    assert extras["metrics"] == ["prometheus-client>=0.17"] and extras["bench"] == ["uvloop>=0.17"]
    assert not any(req.startswith("uvloop") for req in extras["all"] + extras["test"])


def test_only_the_nb_env_installs_the_notebook_extra() -> None:
    import configparser

    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    extras = {section: set(tox[section].get("extras", "").replace(",", " ").split())
              for section in tox.sections() if section.startswith("testenv")}
    assert extras["testenv"] == {"test"}
    assert extras["testenv:type"] == {"test"}
    assert extras["testenv:nb"] == {"test", "notebook"}
    assert "python {toxinidir}/.ci/sysdeps.py" in tox["testenv"]["commands_pre"]


def test_the_ci_label_covers_every_factor_and_every_test() -> None:
    import configparser

    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    ci = [e.strip() for e in tox["tox"]["labels"].split("=", 1)[1].split(",")]
    factor_envs = [e.split("-") for e in ci if e.startswith("py")]
    for position, values in enumerate(({"py311", "py312", "py313"}, {"rxlo", "rxhi"}, {"plain", "patched"})):
        assert {env[position] for env in factor_envs} == values
    assert {"stress", "lint", "type", "nb"} <= set(ci)
    commands = tox["testenv"]["commands"]
    assert commands.count('-m "not slow"') == 2  # plain and patched: everything but the slow tests
    assert "-m slow" in tox["testenv:stress"]["commands"]  # and the slow ones, once
    assert "tox-uv" in tox["tox"]["requires"]
