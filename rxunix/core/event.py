"""Events: a value plus read-only metadata, in an object whose attributes cannot be set.

An :class:`Event` is what flows through every rxunix observable. Operators that
change the value keep the metadata::

    >>> e = Event({"n": 1}, {"unix_socket_server": {"path": "/tmp/s", "peer": 3}})
    >>> e.with_value(2).meta["unix_socket_server"]["peer"]
    3

Error events (:class:`ErrorEvent`) are events too: their value is a dict naming
the error, the connector, the stream and the action that failed, and their
metadata is that of the event or connection concerned.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import repeat
from types import MappingProxyType
from typing import Any

from .display import html_of
from .errors import RxUnixError

__all__ = ["Event", "EventBatch", "ErrorEvent", "SliceBatch", "built", "error_event", "is_failure", "map_value",
           "own_meta"]

_set = object.__setattr__

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _freeze(meta: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if not meta:
        return _EMPTY
    if isinstance(meta, MappingProxyType):
        return meta
    return MappingProxyType(dict(meta))


class Event:
    """A value (JSON-like Python value, or bytes) plus a read-only metadata mapping.

    An event's attributes cannot be set and its metadata is read-only; its value is
    not copied (every subscriber sees the same object): treat it as read-only and
    make a changed event with :meth:`with_value`. Events compare by value and
    metadata. Example::

        >>> ev = Event("hello", {"k": 1})
        >>> ev.value, dict(ev.meta)
        ('hello', {'k': 1})
        >>> ev.with_meta(k=2).meta["k"]
        2
    """

    __slots__ = ("value", "meta")
    value: Any
    meta: Mapping[str, Any]

    def __init__(self, value: Any, meta: Mapping[str, Any] | None = None) -> None:
        _set(self, "value", value)
        _set(self, "meta", meta if meta.__class__ is MappingProxyType else _freeze(meta))

    @classmethod
    def many(cls, values: Iterable[Any], meta: Mapping[str, Any] | None = None) -> list[Event]:
        """One event per value, all sharing one frozen metadata mapping.

        Equal to ``[Event(v, meta) for v in values]``, built without a Python
        frame per event (the hot path of every connector read)::

            >>> [e.value for e in Event.many([1, 2], {"k": 1})], Event.many([1])[0] == Event(1)
            ([1, 2], True)
        """
        frozen = meta if meta.__class__ is MappingProxyType else _freeze(meta)
        if cls is not Event:
            return [cls(v, frozen) for v in values]
        if not isinstance(values, list):
            values = list(values)
        # three passes that run in C: allocate, set every value, set the shared metadata
        out: list[Event] = list(map(_new, repeat(Event, len(values))))
        deque(map(_set_value, out, values), 0)
        deque(map(_set_meta, out, repeat(frozen)), 0)
        return out

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use with_value()/with_meta()")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return (
            type(self) is type(other) and self.value == other.value and dict(self.meta) == dict(other.meta)
        )

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.value, dict(self.meta)))

    @property
    def is_error(self) -> bool:
        """True for error events."""
        return False

    def with_value(self, value: Any) -> Event:
        """Return a copy carrying ``value`` and the same metadata."""
        return Event(value, self.meta)

    def with_meta(self, meta: Mapping[str, Any] | None = None, /, **updates: Any) -> Event:
        """Return a copy whose metadata is updated with ``meta`` and ``updates``."""
        merged = dict(self.meta)
        if meta:
            merged.update(meta)
        merged.update(updates)
        return type(self)(self.value, merged)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict ``{"value": ..., "meta": {...}}`` (for JSON output)."""
        return {"value": self.value, "meta": _plain(self.meta)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(value={self.value!r}, meta={_plain(self.meta)!r})"

    def _repr_html_(self) -> str | None:
        """Notebook display (value, origin, metadata), rendered by :mod:`rxunix.notebook`."""
        return html_of(self)


_new = object.__new__
_set_value = Event.__dict__["value"].__set__
_set_meta = Event.__dict__["meta"].__set__


def is_failure(item: Any) -> bool:
    """True if a decoder output item is a failure (an :class:`~rxunix.core.errors.RxUnixError`)
    rather than a value: the one way rxunix tells them apart.

        >>> from rxunix.core.errors import CodecError
        >>> is_failure(CodecError("bad")), is_failure({"error": 1})
        (True, False)
    """
    return isinstance(item, RxUnixError)


class EventBatch(list[Event]):
    """The events of one read, in order, with the failures that stood among them.

    A plain list of events to every consumer; ``meta`` is the metadata all of
    them share (or None when they differ), so batch consumers (a connector's
    ``in_.on_next_batch``) can route the whole batch at once::

        >>> from rxunix.core.errors import CodecError
        >>> b = EventBatch.of([1, CodecError("bad"), 2], {"k": 1})
        >>> [e.value for e in b], dict(b.meta), b.failures
        ([1, 2], {'k': 1}, [(1, CodecError('bad'))])
        >>> [[e.value for e in part] if fail is None else fail for part, fail in b.in_order()]
        [[1], CodecError('bad'), [2]]

    A *lazy* batch (``EventBatch.of(values, meta, clean=True, lazy=True)``) holds
    its values and builds its events only when :meth:`build` is called: until
    then it is an empty list whose ``values`` are set. Its producer hands it to an
    :class:`~rxunix.edge.ports.EventSubject`, which builds it before any subscriber
    sees it, except when every subscriber is a batch observer that declares
    ``takes_values`` (a stream server's ``in_``: an echo needs the values and the
    metadata, not an object per value)::

        >>> lazy = EventBatch.of([1, 2], {"k": 1}, clean=True, lazy=True)
        >>> list(lazy), lazy.values, lazy.size, lazy.lazy
        ([], [1, 2], 2, True)
        >>> [e.value for e in lazy.build()], lazy.values, lazy.size, lazy.lazy
        ([1, 2], None, 2, False)
    """

    __slots__ = ("meta", "failures", "values")

    def __init__(self, events: Iterable[Event] = (), meta: Mapping[str, Any] | None = None) -> None:
        super().__init__(events)
        self.meta: Mapping[str, Any] | None = meta
        #: ``(position, exception)``: the failure stood before the event at ``position``
        self.failures: list[tuple[int, Exception]] = []
        #: a lazy batch's values until :meth:`build` makes its events (then None)
        self.values: list[Any] | None = None

    @classmethod
    def of(cls, items: list[Any], meta: Mapping[str, Any], *, clean: bool = False, lazy: bool = False) -> EventBatch:
        """Events for the values in ``items``; failures among them (see :func:`is_failure`) become ``failures``.

        ``clean=True`` promises that ``items`` holds no exception (the decoder
        knows): then no item is inspected. ``lazy=True`` (with ``clean``) leaves
        the events to :meth:`build` (see the class doc).
        """
        frozen = meta if meta.__class__ is MappingProxyType else _freeze(meta)
        if clean:
            if lazy:  # (every read's batch: made without the __init__ frame)
                batch = list.__new__(cls)
                batch.meta, batch.failures = frozen, []
                batch.values = items if isinstance(items, list) else list(items)
                return batch
            batch = cls(Event.many(items, frozen), frozen)
            return batch
        values = [v for v in items if not is_failure(v)]
        batch = cls(Event.many(values, frozen), frozen)
        if len(values) != len(items):
            failures = batch.failures
            position = 0
            for v in items:
                if is_failure(v):
                    failures.append((position, v))
                else:
                    position += 1
        return batch

    @property
    def lazy(self) -> bool:
        """True until :meth:`build` has made the events of a lazy batch."""
        return self.values is not None

    @property
    def size(self) -> int:
        """How many events the batch holds, built or not."""
        values = self.values
        return len(self) if values is None else len(values)

    def build(self) -> EventBatch:
        """Make a lazy batch's events (in place; nothing to do once built); returns the batch."""
        values = self.values
        if values is not None:
            self.values = None
            self.extend(Event.many(values, self.meta))
        return self

    def in_order(self) -> Iterator[tuple[EventBatch, None] | tuple[None, Exception]]:
        """The batch as runs of events and the failures between them, in stream order."""
        if not self.failures:
            yield self, None
            return
        start = 0
        for position, failure in self.failures:
            if position > start:
                yield EventBatch(self[start:position], self.meta), None
            yield None, failure
            start = position
        if start < len(self):
            yield EventBatch(self[start:], self.meta), None

    @staticmethod
    def shared_meta(events: Sequence[Event]) -> Mapping[str, Any] | None:
        """The metadata object every event of ``events`` carries, or None if they differ
        (a lazy :class:`SliceBatch`: the mapping each of its events gets a copy of)."""
        if isinstance(events, (EventBatch, SliceBatch)) and events.meta is not None:
            return events.meta
        if not events:
            return None
        meta = events[0].meta
        for e in events:
            if e.meta is not meta:
                return None
        return meta


def built(events: Sequence[Event]) -> Sequence[Event]:
    """``events`` with a lazy :class:`EventBatch`'s or :class:`SliceBatch`'s events made
    (in place); any other sequence as it is::

        >>> [e.value for e in built(EventBatch.of([1, 2], {"k": 1}, clean=True, lazy=True))]
        [1, 2]
    """
    return events.build() if isinstance(events, (EventBatch, SliceBatch)) else events


class SliceBatch(list[Event]):
    """Events whose values are slices of one sequence: the value of the ``i``-th event
    is a list of the same objects as ``elems[start:start + n]`` for the ``i``-th
    ``(start, n)`` of ``spans`` (the windows a sliding count window closes on one
    read). A window hands it only to an observer that declares ``takes_slices`` (a
    stream server's ``in_``, which then encodes each element once instead of once per
    window)::

        >>> seq = [{"a": 1}, {"a": 2}, {"a": 3}]
        >>> b = SliceBatch([Event(seq[0:2]), Event(seq[1:3])], seq, [(0, 2), (1, 2)])
        >>> all(x is y for e, (s, n) in zip(b, b.spans) for x, y in zip(e.value, b.elems[s:s + n]))
        True

    A lazy one (:meth:`lazy_of`) holds no event until :meth:`build`: each event
    would carry a copy of one metadata mapping (:func:`own_meta`), so ``meta`` is
    all a consumer needs to route them, ``size`` counts them and
    :meth:`window_values` gives their values. :func:`built` makes the events::

        >>> lazy = SliceBatch.lazy_of(seq, [(0, 2), (1, 2)], {"k": [1]})
        >>> len(lazy), lazy.size, lazy.lazy, [list(v) for v in lazy.window_values()]
        (0, 2, True, [[{'a': 1}, {'a': 2}], [{'a': 2}, {'a': 3}]])
        >>> lazy.window_values()[1:], len(lazy)
        ([[{'a': 2}, {'a': 3}]], 0)
        >>> [(e.value, dict(e.meta)) for e in built(lazy)][1], lazy.lazy, lazy.meta
        (([{'a': 2}, {'a': 3}], {'k': [1]}), False, None)
    """

    __slots__ = ("elems", "spans", "meta")

    def __init__(self, events: Iterable[Event], elems: list[Any], spans: list[tuple[int, int]]) -> None:
        super().__init__(events)
        self.elems = elems
        self.spans = spans
        #: a lazy batch's metadata, of which each event gets its own copy (None once built)
        self.meta: Mapping[str, Any] | None = None

    @classmethod
    def lazy_of(cls, elems: list[Any], spans: list[tuple[int, int]], meta: Mapping[str, Any]) -> SliceBatch:
        """A lazy batch of the windows ``spans`` of ``elems``, each event to carry a copy
        of ``meta`` (see the class doc)."""
        batch = cls((), elems, spans)
        batch.meta = own_meta(meta)
        return batch

    @property
    def lazy(self) -> bool:
        """True until :meth:`build` has made the events of a lazy batch."""
        return self.meta is not None

    @property
    def size(self) -> int:
        """How many events the batch holds, built or not."""
        return len(self.spans) if self.meta is not None else len(self)

    def window_values(self) -> Sequence[list[Any]]:
        """The events' values (each made when asked for: a lazy batch's are not built)."""
        if self.meta is None:
            return [e.value for e in self]
        return _Windows(self.elems, self.spans)

    def build(self) -> SliceBatch:
        """Make a lazy batch's events (in place; nothing to do once built); returns the batch."""
        meta, elems = self.meta, self.elems
        if meta is not None:
            self.meta = None
            self.extend([Event(elems[s:s + n], own_meta(meta)) for s, n in self.spans])
        return self


class _Windows(Sequence[list[Any]]):
    """``elems[start:start + n]`` for each ``(start, n)`` of ``spans``, made when asked for."""

    __slots__ = ("elems", "spans")

    def __init__(self, elems: list[Any], spans: list[tuple[int, int]]) -> None:
        self.elems, self.spans = elems, spans

    def __len__(self) -> int:
        return len(self.spans)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self.spans)))]
        start, n = self.spans[i]
        return self.elems[start:start + n]


def own_meta(meta: Mapping[str, Any]) -> Mapping[str, Any]:
    """A frozen copy of ``meta`` with copies of its lists (an aggregate's origin lists):
    what each of several aggregates of the same origins carries, so that none shares a
    list with another::

        >>> m = {"origins": [1], "k": 2}
        >>> a, b = own_meta(m), own_meta(m)
        >>> a == b == m, a["origins"] is b["origins"]
        (True, False)
    """
    copy = dict(meta)
    for k, v in copy.items():
        if v.__class__ is list:
            copy[k] = v[:]
    return MappingProxyType(copy)


def _plain(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


class ErrorEvent(Event):
    """An event describing a failure; emitted on a connector's ``err`` observable.

    ``value`` is a dict with at least ``error`` (message), ``kind`` (exception
    class name), ``connector``, ``action`` (decode, encode, write, route, connect,
    accept, ...) and ``stream`` (peer id or path, may be ``None``).
    """

    @property
    def is_error(self) -> bool:
        return True

    def with_value(self, value: Any) -> Event:
        return ErrorEvent(value, self.meta)


def error_event(
    error: BaseException | str,
    *,
    connector: str,
    action: str,
    stream: Any = None,
    meta: Mapping[str, Any] | None = None,
    **extra: Any,
) -> ErrorEvent:
    """Build an :class:`ErrorEvent`.

    Example::

        >>> e = error_event(ValueError("bad"), connector="unix_socket_server",
        ...                 action="decode", stream=7)
        >>> e.value["error"], e.value["kind"], e.value["action"]
        ('bad', 'ValueError', 'decode')
    """
    if isinstance(error, BaseException):
        message, kind = str(error) or type(error).__name__, type(error).__name__
    else:
        message, kind = error, "Error"
    value: dict[str, Any] = {
        "error": message,
        "kind": kind,
        "connector": connector,
        "action": action,
        "stream": stream,
    }
    value.update(extra)
    return ErrorEvent(value, meta or _EMPTY)


def map_value(fn: Callable[[Any], Any]) -> Callable[[Event], Event]:
    """Lift a function on values to a function on events that keeps metadata.

    Example::

        >>> map_value(lambda v: v + 1)(Event(1, {"a": 1}))
        Event(value=2, meta={'a': 1})
    """

    def apply(event: Event) -> Event:
        return event.with_value(fn(event.value))

    return apply
