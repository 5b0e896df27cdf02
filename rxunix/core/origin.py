"""Origins: which connection(s) an event came from, and merging them for aggregates.

Events from a server carry ``meta["unix_socket_server"] = {"path", "peer", ...}``;
events from a client carry ``meta["unix_socket_client"] = {"peer": path}``. An
aggregate of several events carries, under the same keys, the *list* of the
distinct origin records of all of them::

    >>> from rxunix.core.event import Event
    >>> a = Event(1, {SERVER: {"path": "/s", "peer": 1}})
    >>> b = Event(2, {SERVER: {"path": "/s", "peer": 2}})
    >>> merged = merge_origins([a, b, a])
    >>> [r["peer"] for r in merged[SERVER]]
    [1, 2]
    >>> aggregate([a, b], lambda vs: sum(vs)).value
    3
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn

from .event import Event

__all__ = [
    "FrozenRecord",
    "SERVER", "CLIENT", "DGRAM_SERVER", "DGRAM_CLIENT", "ORIGIN_KEYS", "origin_records", "merge_origins", "aggregate",
]

SERVER = "unix_socket_server"
CLIENT = "unix_socket_client"
DGRAM_SERVER = "unix_datagram_server"
DGRAM_CLIENT = "unix_datagram_client"
#: Metadata keys that identify where an event came from.
ORIGIN_KEYS: tuple[str, ...] = (SERVER, CLIENT, DGRAM_SERVER, DGRAM_CLIENT)



class FrozenRecord(dict[str, Any]):
    """A connection's origin record, frozen: a dict that refuses changes.

    Every event of one connection carries the same record object, so routing a
    reply back is an identity lookup. Pickles and deep-copies as a plain dict;
    JSON encoders see a dict::

        >>> r = FrozenRecord(path="/s", peer=1)
        >>> r["peer"], dict(r) == {"path": "/s", "peer": 1}
        (1, True)
        >>> r["peer"] = 2
        Traceback (most recent call last):
        ...
        TypeError: the origin record is read-only; copy it with dict()
    """

    __slots__ = ()

    def _readonly(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("the origin record is read-only; copy it with dict()")

    __setitem__ = __delitem__ = _readonly
    clear = pop = popitem = setdefault = update = __ior__ = _readonly

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (dict(self),))

    def __copy__(self) -> FrozenRecord:
        return self

    def __deepcopy__(self, memo: Any) -> FrozenRecord:
        return self


def origin_records(meta: Mapping[str, Any], key: str = SERVER) -> list[Mapping[str, Any]]:
    """The origin records under ``key``: ``[]``, ``[record]`` or the merged list."""
    rec = meta.get(key)
    if rec is None:
        return []
    if isinstance(rec, Mapping):
        return [rec]
    if isinstance(rec, (list, tuple)):
        return [r for r in rec if isinstance(r, Mapping)]
    return []


def _identity(rec: Mapping[str, Any]) -> tuple[Any, ...]:
    peer = rec.get("peer")
    if isinstance(peer, list):
        peer = tuple(peer)
    return (rec.get("path"), peer)


def merge_origins(events: Iterable[Event | Mapping[str, Any]]) -> dict[str, Any]:
    """Metadata whose origin keys hold the distinct origin records of all ``events``.

    Non-origin metadata keys are taken from the last event that has them (as
    Tremor does). Records keep first-seen order; the same connection appears once.
    Cost grows with the number of distinct metadata objects: consecutive events
    that share one (a connector gives every event of a connection the same
    mapping) are merged once.
    """
    merged: dict[str, Any] = {}
    seen: dict[str, dict[tuple[Any, ...], Mapping[str, Any]]] = {k: {} for k in ORIGIN_KEYS}
    # Events of one connection share one metadata object: split each distinct
    # object into (other items, origin records) once, not once per event.
    split: dict[int, tuple[list[tuple[str, Any]], list[tuple[str, tuple[Any, ...], Mapping[str, Any]]]]] = {}
    keep = []  # the metadata objects must outlive their id() in ``split``
    previous: object = None
    for ev in events:
        meta = ev.meta if isinstance(ev, Event) else ev
        if meta is previous:  # merging the same mapping twice in a row changes nothing
            continue
        previous = meta
        parts = split.get(id(meta))
        if parts is None:
            keep.append(meta)
            others = [(k, v) for k, v in meta.items() if k not in seen]
            records = [(key, _identity(rec), rec) for key in ORIGIN_KEYS for rec in origin_records(meta, key)]
            parts = split[id(meta)] = (others, records)
        for k, v in parts[0]:
            merged[k] = v
        for key, ident, rec in parts[1]:
            bucket = seen[key]
            if ident not in bucket:
                bucket[ident] = rec
    for key, bucket in seen.items():
        if bucket:
            merged[key] = list(bucket.values())
    return merged


def aggregate(events: Iterable[Event], reduce: Callable[[list[Any]], Any] = list) -> Event:
    """An event whose value is ``reduce(values)`` and whose origins merge all ``events``.

    For users who aggregate with plain Rx operators (``scan``, ``reduce``, ...).
    """
    evs = list(events)
    return Event(reduce([e.value for e in evs]), merge_origins(evs))
