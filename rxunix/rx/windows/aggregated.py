"""Aggregation with plain Rx operators: lists of events -> one aggregate event."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import MappingProxyType

from reactivex import Observable
from reactivex import operators as ops

from ...core.event import Event
from ...core.origin import merge_origins
from .keys import Reducer

__all__ = ["aggregated"]


def aggregated(
    reduce: Reducer | None = None,
) -> Callable[[Observable[Iterable[Event]]], Observable[Event]]:
    """Rx operator: each list of events -> one aggregate event with merged origins.

    For aggregation with plain Rx operators; empty lists are skipped::

        >>> import reactivex as rx
        >>> from reactivex import operators as ops
        >>> evs = [Event(i, {"unix_socket_server": {"path": "/s", "peer": i}}) for i in range(3)]
        >>> out = []
        >>> _ = rx.from_iterable(evs).pipe(ops.to_list(), aggregated(sum)).subscribe(out.append)
        >>> out[0].value, [r["peer"] for r in out[0].meta["unix_socket_server"]]
        (3, [0, 1, 2])

    With ``group_by``: ``ops.group_by(connection_key)``, then
    ``ops.flat_map(lambda g: g.pipe(ops.to_list(), aggregated()))``. RxPY's own
    count/time buffers are not safe under gevent (see :mod:`.guard`); prefer the
    window operators of this package for those.
    """
    fn = reduce or list

    def build(events: list[Event]) -> Event:
        return Event(fn([e.value for e in events]), MappingProxyType(merge_origins(events)))

    def materialize(events: Iterable[Event]) -> list[Event]:
        return list(events)

    def non_empty(events: list[Event]) -> bool:
        return len(events) > 0

    def op(source: Observable[Iterable[Event]]) -> Observable[Event]:
        return source.pipe(ops.map(materialize), ops.filter(non_empty), ops.map(build))

    return op
