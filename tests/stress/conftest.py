"""Stress-suite fixtures: the variant, the figures table, leak probes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gevent
import pytest

from . import _figures


@pytest.fixture
def hub_errors() -> Iterator[list[Any]]:
    """Exceptions that escaped into the gevent hub (a greenlet died) during the test."""
    hub = gevent.get_hub()
    seen: list[Any] = []
    original = hub.handle_error

    def handle_error(context: Any, type_: Any, value: Any, tb: Any) -> None:
        if type_ is not None and not issubclass(type_, hub.SYSTEM_ERROR + hub.NOT_ERROR):
            seen.append((context, type_, value))
        original(context, type_, value, tb)

    hub.handle_error = handle_error  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        hub.handle_error = original  # type: ignore[method-assign]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _figures.ROWS:
        variant = f"rxunix stress suite, variant {_figures.LEVEL!r}"
        terminalreporter.write_sep("=", "stress figures")
        terminalreporter.write_line(_figures.table(title=variant))
