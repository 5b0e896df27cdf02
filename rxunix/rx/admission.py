"""Admission by peer credentials: an Rx operator that lets through only listed uids.

``unix_socket_server`` puts each connection's ``SO_PEERCRED`` credentials in
``meta["unix_socket_server"]`` (``pid``, ``uid``, ``gid``; the datagram server
likewise). :func:`allow_uids` lets through only the events of listed uids; the
events of any other peer are dropped and each is reported as an error event
(action ``"admit"``) to ``errors``. Fail closed: an event without credentials
is refused too. It acts on decoded events: to keep other uids from reaching the
decoders at all, give a stream server the ``allow_uids`` config key, which
closes their connections when accepted::

    >>> import reactivex as rx
    >>> from rxunix.core.event import Event
    >>> evs = [Event(i, {"unix_socket_server": {"path": "/s", "peer": i, "uid": uid}})
    ...        for i, uid in enumerate([0, 1000, 0])]
    >>> refused, admitted = [], []
    >>> _ = rx.from_iterable(evs).pipe(allow_uids([0], errors=refused.append)).subscribe(
    ...     lambda e: admitted.append(e.value))
    >>> admitted, [(r.value["action"], r.value["uid"]) for r in refused]
    ([0, 2], [('admit', 1000)])

With ``server=`` the operator also closes a refused connection, if the server
offers a way to (a ``close_peer(peer)`` method); otherwise it only drops.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from typing import Any

import reactivex as rx
from reactivex import Observable, abc

from ..core.event import ErrorEvent, Event, error_event
from ..core.origin import DGRAM_SERVER, SERVER

__all__ = ["allow_uids", "peer_uid"]

_GATE = "allow_uids"


def _record(event: Event) -> Any:
    """The origin record of a stream or (issue 17) datagram server event."""
    rec: Any = event.meta.get(SERVER)
    return rec if rec is not None else event.meta.get(DGRAM_SERVER)


def peer_uid(event: Event) -> int | None:
    """The uid of the connection (or datagram sender) an event came from (``None`` if unknown)."""
    rec = _record(event)
    if not hasattr(rec, "get"):
        return None
    uid = rec.get("uid")
    return uid if isinstance(uid, int) else None


def _peer(event: Event) -> Any:
    rec = _record(event)
    return rec.get("peer") if hasattr(rec, "get") else None


def allow_uids(
    uids: Iterable[int],
    *,
    errors: Callable[[ErrorEvent], Any] | abc.ObserverBase[ErrorEvent] | None = None,
    server: Any = None,
    on_reject: Callable[[ErrorEvent], Any] | abc.ObserverBase[ErrorEvent] | None = None,
) -> Callable[[Observable[Event]], Observable[Event]]:
    """An operator that admits only the events of peers whose uid is in ``uids``.

    Refused events do not go on: with ``errors`` (a callable or an observer) each is an
    :class:`~rxunix.core.event.ErrorEvent` given to it (``connector="allow_uids"``,
    ``action="admit"``, ``stream`` = peer, ``uid``); without, they are dropped unreported.
    With ``server`` (their server) a refused peer's connection is closed, once.
    ``on_reject``: a deprecated alias of ``errors``. ``TypeError`` for a uid not an int::

        server.out.pipe(allow_uids([os.getuid()], errors=print, server=server)).subscribe(server.in_)
    """
    if on_reject is not None:
        if errors is not None:
            raise TypeError("allow_uids: give errors= only (on_reject is its former name)")
        warnings.warn("allow_uids(on_reject=...) is now allow_uids(errors=...)", DeprecationWarning, stacklevel=2)
        errors = on_reject
    allowed = frozenset(uids)
    for u in allowed:
        if not isinstance(u, int) or isinstance(u, bool):
            raise TypeError(f"allow_uids: uids must be ints, got {u!r}")
    report: Callable[[ErrorEvent], Any] | None
    if errors is None or callable(errors):
        report = errors
    else:
        report = errors.on_next
    close = getattr(server, "close_peer", None) if server is not None else None
    closed: set[Any] = set()

    def refuse(event: Event, uid: int | None) -> None:
        peer = _peer(event)
        if report is not None:
            why = PermissionError(f"peer {peer} with uid {uid} is not allowed (allowed: {sorted(allowed)})")
            report(error_event(why, connector=_GATE, action="admit", stream=peer, meta=event.meta, uid=uid))
        if close is not None and peer is not None and peer not in closed:
            closed.add(peer)
            close(peer)

    def operator(source: Observable[Event]) -> Observable[Event]:
        def subscribe(
            observer: abc.ObserverBase[Event], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            def on_next(event: Event) -> None:
                uid = peer_uid(event)
                if uid is not None and uid in allowed:
                    observer.on_next(event)
                else:
                    refuse(event, uid)

            return source.subscribe(on_next, observer.on_error, observer.on_completed, scheduler=scheduler)

        return rx.create(subscribe)

    return operator


