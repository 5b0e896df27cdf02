"""Shared fixtures. Tests run both unpatched (``pytest``) and monkey-patched
(``python -m gevent.monkey --module pytest``); see tox.ini."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from rxunix.runtime import set_runtime

settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def short_tmp() -> Iterator[str]:
    """A short temporary directory (unix socket paths are limited to 108 bytes)."""
    d = tempfile.mkdtemp(prefix="rxu-", dir="/tmp")
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def socat() -> str:
    """socat's path: see :data:`tests.sysdeps.needs_socat`."""
    from tests.sysdeps import require

    return require("socat")


@pytest.fixture
def sock_path(short_tmp: str) -> str:
    """A fresh socket path in a short temporary directory."""
    return os.path.join(short_tmp, "s.sock")


@pytest.fixture(autouse=True)
def _reset_runtime() -> Iterator[None]:
    yield
    set_runtime(None)



#: Load, soak, multi-process and benchmark-smoke tests (node id prefixes, relative to
#: tests/) are marked ``slow``: the ``stress`` tox env runs them (``-m slow``), the
#: factor envs of the matrix run the rest (``-m "not slow"``); plain ``pytest`` runs all.
SLOW = (
    "stress/",
    "test_workers.py",
    "test_workers_metrics.py",
    "test_bench_smoke.py",
    "test_stress_report.py",
    "test_readme.py",  # every shell and Python block of README.md and docs/ (servers, clients, runs)
    "test_windows_gevent.py::test_ten_thousand_connection_groups_are_released",
    "test_server.py::test_a_non_reading_client_does_not_take_the_others_throughput",
    "test_server.py::test_an_interactive_client_keeps_its_round_trips_beside_a_flooding_one",
    "test_server.py::test_a_flooding_peer_does_not_starve_the_hub",
    "test_client.py::test_a_flooding_server_does_not_starve_the_clients_hub",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.removeprefix("tests/").startswith(SLOW):
            item.add_marker(pytest.mark.slow)
