"""A connector's lifecycle as an explicit state machine (pure).

    new --start--> running --stop--> stopping --> stopped
     |                                               ^
     +----------- stop before start / gave up -------+

States are strings too (``StrEnum``), so ``connector.state == "running"`` holds::

    >>> s = ConnectorState.NEW
    >>> s = advance(s, ConnectorState.RUNNING); s == "running", s
    (True, <ConnectorState.RUNNING: 'running'>)
    >>> advance(ConnectorState.STOPPED, ConnectorState.RUNNING)
    Traceback (most recent call last):
    ...
    RuntimeError: connector lifecycle: stopped -> running is not a transition
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

__all__ = ["ConnectorState", "LIFECYCLE", "advance"]


class ConnectorState(enum.StrEnum):
    """Where a connector is in its life."""

    NEW = "new"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


#: Allowed transitions (a connector that ends by itself, e.g. a client giving up, goes straight to STOPPED).
LIFECYCLE: Mapping[ConnectorState, frozenset[ConnectorState]] = {
    ConnectorState.NEW: frozenset({ConnectorState.RUNNING, ConnectorState.STOPPED}),
    ConnectorState.RUNNING: frozenset({ConnectorState.STOPPING, ConnectorState.STOPPED}),
    ConnectorState.STOPPING: frozenset({ConnectorState.STOPPED}),
    ConnectorState.STOPPED: frozenset({ConnectorState.STOPPED}),
}


def advance(current: ConnectorState, new: ConnectorState) -> ConnectorState:
    """``new`` if the lifecycle allows ``current -> new``; raises ``RuntimeError`` otherwise."""
    if new not in LIFECYCLE[current]:
        raise RuntimeError(f"connector lifecycle: {current} -> {new} is not a transition")
    return new
