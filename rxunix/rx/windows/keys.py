"""Shared types of the window operators: group keys, reducers, durations, sinks.

:func:`connection_key` groups events by the connection they came from::

    >>> from rxunix.core.event import Event
    >>> connection_key(Event(1, {"unix_socket_server": {"path": "/s", "peer": 3}}))
    ('unix_socket_server', '/s', 3)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Protocol

from reactivex import abc

from ...core.event import ErrorEvent, Event
from ...core.origin import CLIENT, SERVER

__all__ = [
    "KeyFn",
    "Reducer",
    "Seconds",
    "ErrorSink",
    "WindowSpec",
    "EventSink",
    "connection_key",
    "no_key",
    "seconds_of",
    "sink_of",
]

#: A group key function: event -> hashable key.
KeyFn = Callable[[Event], Hashable]
#: A reducer: the window's values -> the aggregate value (see :mod:`rxunix.rx.reducers`).
Reducer = Callable[[list[Any]], Any]
#: A duration: seconds or a ``timedelta``.
Seconds = float | int | timedelta
#: Where error events go: an observer, a callable, or ``None`` (in line, downstream).
ErrorSink = abc.ObserverBase[ErrorEvent] | Callable[[ErrorEvent], Any] | None
#: Where late events go: an observer, a callable, or ``None`` (an error event, action ``"late"``).
EventSink = abc.ObserverBase[Event] | Callable[[Event], Any] | None



class WindowSpec(Protocol):
    """What every window chain reads from its operator."""

    key: KeyFn
    reduce: Reducer | None
    errors: ErrorSink
    late: EventSink


# checked before the (slow) ABC check
_PLAIN_MAPPINGS = (dict, MappingProxyType)


def connection_key(event: Event) -> Hashable:
    """The connection an event came from, as a group key (``None`` if none).

    ``("unix_socket_server", path, peer)`` or ``("unix_socket_client", path)``.
    """
    meta = event.meta
    rec = meta.get(SERVER)
    if rec is not None and (isinstance(rec, _PLAIN_MAPPINGS) or isinstance(rec, Mapping)):
        return (SERVER, rec.get("path"), rec.get("peer"))
    rec = meta.get(CLIENT)
    if rec is not None and (isinstance(rec, _PLAIN_MAPPINGS) or isinstance(rec, Mapping)):
        return (CLIENT, rec.get("peer"))
    return None


def no_key(event: Event) -> Hashable:
    """The key of every event when a window has no ``key``: one group."""
    return None


def seconds_of(value: Seconds, name: str, *, zero: bool = False) -> float:
    """``value`` as float seconds; ``ValueError`` unless a finite positive number
    (or ``>= 0`` with ``zero``)::

        >>> seconds_of(timedelta(milliseconds=250), "gap")
        0.25
    """
    secs = value.total_seconds() if isinstance(value, timedelta) else value
    if (isinstance(secs, bool) or not isinstance(secs, (int, float)) or not math.isfinite(secs)
            or secs < 0 or (secs == 0 and not zero)):
        raise ValueError(f"{name} must be a finite {'non-negative' if zero else 'positive'} number of seconds, "
                         f"got {value!r}")
    return float(secs)


def sink_of(sink: Any, name: str) -> Callable[[Any], Any] | None:
    """The callable behind an observer-or-callable sink (``None`` stays ``None``)."""
    if sink is None:
        return None
    if isinstance(sink, abc.ObserverBase):
        return sink.on_next
    if not callable(sink):
        raise ValueError(f"{name} must be an observer, a callable or None, got {sink!r}")
    return sink  # type: ignore[no-any-return]
