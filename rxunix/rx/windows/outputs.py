"""What every window chain does with a closed window: one aggregate event.

A closed window's value is the list of its events' values, or ``reduce(values)``;
its metadata is :func:`rxunix.core.origin.merge_origins` of its events, so pushed into
a server's ``in_`` it reaches each contributing connection exactly once. A
failing reducer or key function never ends the stream: it becomes an
:class:`~rxunix.core.event.ErrorEvent` (``action="reduce"`` / ``"key"``), emitted in
line or sent to ``errors=``. Empty windows emit nothing.

A downstream observer that takes batches (``on_next_batch``, such as a
connector's ``in_``) gets the aggregates that one batch of input closed (a
read's events fed through ``on_next_batch``) in one call, in order; any other
gets them one by one as they close.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

from reactivex import abc

from ...core.event import Event, EventBatch, SliceBatch, error_event, own_meta
from ...core.origin import merge_origins
from .keys import WindowSpec, connection_key, sink_of

__all__ = ["NO_KEY", "LateEvent", "Outputs", "flat", "ManyGroupsWarning", "MANY_GROUPS"]


class LateEvent(Exception):
    """An event came later than the allowed lateness (the ``kind`` of its error event)."""

#: what :meth:`Outputs.key_of` answers for an event whose key function failed
NO_KEY: Final = object()
#: :meth:`Outputs.emit`'s default ``shared``: find out whether the events share one metadata object
UNKNOWN: Final = object()


def flat(chunks: list[list[Event]]) -> list[Event]:
    """The events of a list of chunks, in order."""
    return [event for chunk in chunks for event in chunk]


#: Groups of a count window without ``release`` at which a :class:`ManyGroupsWarning` is given.
MANY_GROUPS = 10_000


class ManyGroupsWarning(UserWarning):
    """A count window without ``release`` keeps many groups (one per connection ever seen,
    when keyed by connection): memory grows with them."""


class Outputs:
    """The output side shared by every chain: keys, aggregates, error events,
    late events, completion; ``groups`` maps each live group's key to its state
    (in creation order). Exceptions raised downstream are kept in ``raised`` (the
    guard re-raises them to the feeder) so that the chain always settles first."""

    def __init__(self, op: WindowSpec, observer: abc.ObserverBase[Event]) -> None:
        self.reduce = op.reduce
        self.errors: Callable[[Any], Any] | None = sink_of(op.errors, "errors")
        self.late: Callable[[Any], Any] | None = sink_of(op.late, "late")
        self.observer = observer
        #: the observer's batch entry point, if it has one; ``held`` gathers the
        #: aggregates of the batch being taken (None: deliver each at once)
        self.batch_out: Callable[[Sequence[Event]], Any] | None = getattr(observer, "on_next_batch", None)
        self.held: list[Event] | None = None
        #: ``(elems, spans)`` when the held aggregates are exactly windows sliced from one
        #: sequence (see :meth:`hold_slices`), handed on as a SliceBatch to an observer that takes them
        self.held_slices: tuple[list[Any], list[tuple[int, int]]] | None = None
        self.takes_slices = self.batch_out is not None and bool(getattr(observer, "takes_slices", False))
        #: ``(key, elems, spans, meta)``: windows held unbuilt (see :meth:`hold_lazy`)
        self.lazy_held: tuple[Hashable, list[Any], list[tuple[int, int]], Any] | None = None
        self.key = op.key
        # connection_key depends on the metadata object only, and a connector gives
        # every event of a connection the same one: remember the last answer
        self.meta_key = op.key is connection_key
        self.last_meta: Any = None
        self.last_key: Hashable = None
        self.groups: dict[Hashable, Any] = {}
        self._warn_at = MANY_GROUPS if getattr(op, "release", None) is None else 0  # (0: never)
        self.raised: BaseException | None = None
        self.done = False
        # the merged metadata of the last window whose events all shared one metadata object
        self.merged_of: Any = None
        self.merged: dict[str, Any] = {}

    @property
    def live(self) -> int:
        """The groups that exist now."""
        return len(self.groups)

    def many_groups(self) -> None:
        """Called when a count group was made: once :data:`MANY_GROUPS` exist without a
        ``release``, say so (once): each lives until released or completed."""
        if self._warn_at and len(self.groups) >= self._warn_at:
            self._warn_at = 0
            warnings.warn(ManyGroupsWarning(
                f"a count window keeps {len(self.groups)} groups: each lives until it is released or the "
                "stream completes; keyed by connection, pass release=server.closed"), stacklevel=2)

    def key_of(self, event: Event) -> Any:
        """``key(event)``; a failing key function becomes an error event (the stream
        goes on) and the answer :data:`NO_KEY`."""
        try:
            if self.meta_key:
                meta = event.meta
                if meta is not self.last_meta:
                    self.last_meta, self.last_key = meta, self.key(event)
                return self.last_key
            return self.key(event)
        except Exception as exc:
            if not self.done:
                self.fail(exc, "key", None, event.meta, [event.value])
            return NO_KEY

    def take(self, event: Event) -> None:  # pragma: no cover - every chain overrides it
        raise NotImplementedError

    def take_many(self, events: Sequence[Event]) -> None:
        """``take`` of each event, in order. With a metadata key (``connection_key``), a
        run of events sharing one metadata object shares one key and goes to
        :meth:`take_run` whole (a count chain adds it a slice at a time: same windows),
        a lazy batch's values to :meth:`take_values` (no event built). A batch observer
        downstream gets the aggregates they close in one call."""
        if self.batch_out is None or self.held is not None:
            self._take_many(events)
            return
        self.held = []
        try:
            self._take_many(events)
        finally:
            self._release_held()

    def hold_slices(self, elems: list[Any], spans: list[tuple[int, int]]) -> None:
        """Say that the last ``len(spans)`` aggregates held are the windows
        ``elems[start:start + n]`` for each ``(start, n)`` of ``spans``, in order, whole and
        unreduced. If they are all that is held when the batch is handed on, they go as a
        :class:`~rxunix.core.event.SliceBatch` (to an observer that ``takes_slices``)."""
        if self.reduce is None:
            self.held_slices = (elems, spans)

    def can_hold_lazy(self) -> bool:
        """True when windows may be held unbuilt (:meth:`hold_lazy`): a batch is being
        taken, nothing is held yet, the observer takes slices and windows are not reduced."""
        return self.takes_slices and self.held == [] and self.lazy_held is None and self.reduce is None

    def hold_lazy(self, key: Hashable, elems: list[Any], spans: list[tuple[int, int]], meta: Any) -> None:
        """Hold the windows ``elems[start:start + n]`` of group ``key`` for each ``(start, n)``
        of ``spans``, all of whose events carry ``meta``, without building them (only when
        :meth:`can_hold_lazy`). Alone when the batch is handed on, they go as a lazy
        :class:`~rxunix.core.event.SliceBatch`; anything held after them builds them first,
        as :meth:`emit` would have, so the order is kept."""
        self.lazy_held = (key, elems, spans, meta)

    def _build_lazy(self) -> None:
        """The lazily held windows, emitted (into ``held``) and held as slices."""
        key, elems, spans, meta = self.lazy_held  # type: ignore[misc]
        self.lazy_held = None
        for start, n in spans:
            self.emit(key, (meta,), elems[start:start + n], meta)
        self.hold_slices(elems, spans)

    def _release_held(self) -> None:
        """Hand the gathered aggregates downstream in one call; deliver at once from now on."""
        held, self.held = self.held, None
        slices, self.held_slices = self.held_slices, None
        lazy, self.lazy_held = self.lazy_held, None
        if lazy is not None:  # (nothing else is held: whatever came after built them)
            _key, elems, spans, meta = lazy
            held = SliceBatch.lazy_of(elems, spans, self._merged(meta))
        elif held and slices is not None and len(held) == len(slices[1]):  # they alone are held
            held = SliceBatch(held, *slices)
        if held or lazy is not None:  # (a lazy SliceBatch is an empty list until built)
            try:
                self.batch_out(held)  # type: ignore[misc, arg-type]
            except BaseException as raised:  # re-raised by the guard once the chain is settled
                self.raised = self.raised or raised

    def _take_many(self, events: Sequence[Event]) -> None:
        if events.__class__ is EventBatch:
            batch: EventBatch = events
            if self.meta_key and batch.meta is not None:  # one read: one metadata object, one run
                self._take_batch(batch, batch.meta)
                return
            batch.build()
        if not self.meta_key:
            for event in events:
                self.take(event)
            return
        i, end = 0, len(events)
        while i < end and not self.done:
            meta = events[i].meta
            j = i + 1
            while j < end and events[j].meta is meta:
                j += 1
            key = self.key_of(events[i])
            if key is not NO_KEY:
                self.take_run(key, events, i, j)
            i = j

    def _take_batch(self, batch: EventBatch, meta: Any) -> None:
        """A batch whose events all carry ``meta``: one key, one run; a lazy batch's
        values are taken as they are (no event built)."""
        values = batch.values
        if values is None:
            if batch:
                key = self.key_of(batch[0])
                if key is not NO_KEY:
                    self.take_run(key, batch, 0, len(batch))
        elif values:
            key = self.key_of(Event(values[0], meta))  # (a metadata key: the key of every event)
            if key is not NO_KEY:
                self.take_values(key, values, meta)

    def take_run(self, key: Hashable, events: Sequence[Event], i: int, j: int) -> None:
        """Add ``events[i:j]``, all of group ``key``; by default one ``take`` each."""
        for event in events[i:j]:
            self.take(event)

    def take_values(self, key: Hashable, values: list[Any], meta: Any) -> None:
        """Add events not built (``values``, each carrying ``meta``), all of group ``key``;
        by default built and taken as a run."""
        self.take_run(key, Event.many(values, meta), 0, len(values))

    def release_item(self, item: Any) -> None:
        """Release the group an item of ``release`` names: a key, or an event's key."""
        key = self.key_of(item) if isinstance(item, Event) else item
        if key is not NO_KEY:
            self.release(key)

    def release(self, key: Hashable) -> None:
        """Flush group ``key``'s open windows (:meth:`flush`) and forget the group."""
        group = self.groups.pop(key, None)
        if group is not None and not self.done:
            self.flush(key, group)

    def flush(self, key: Hashable, group: Any) -> None:  # pragma: no cover - every chain overrides it
        """Emit the open windows of ``group`` (released or at completion)."""
        raise NotImplementedError

    def complete(self, error: Exception | None) -> None:
        """Flush every group's open windows (oldest group first), then complete or fail."""
        if self.done:
            return
        for key in list(self.groups):
            self.release(key)
        self.finish(error)

    def emit(self, key: Hashable, events: Sequence[Event | Mapping[str, Any]], values: list[Any] | None = None,
             shared: Any = UNKNOWN) -> None:
        """One closed window of group ``key``: its aggregate (nothing if empty).

        ``events`` are the window's events, or (with ``values``) their metadata
        objects; ``values`` are the events' values when the caller has them;
        ``shared`` is the metadata object every event carries (``None``: they
        differ; by default it is looked up).
        """
        if not events:
            return
        meta = self.aggregate_meta(events, shared)
        if values is None:
            values = [e.value for e in events]  # type: ignore[union-attr]
        if self.reduce is None:
            self.deliver(Event(values, meta))
            return
        try:
            out = Event(self.reduce(values), meta)
        except Exception as exc:
            self.fail(exc, "reduce", key, meta, values)
            return
        self.deliver(out)

    def aggregate_meta(self, events: Sequence[Event | Mapping[str, Any]], shared: Any = UNKNOWN) -> Mapping[str, Any]:
        """:func:`~rxunix.core.origin.merge_origins` of ``events``, frozen; merged once
        for consecutive windows whose events all carry one metadata object (each
        aggregate still gets its own mapping and origin lists)."""
        if shared is UNKNOWN:
            shared = EventBatch.shared_meta(events)  # type: ignore[arg-type]
        if shared is None:
            return MappingProxyType(merge_origins(events))
        return own_meta(self._merged(shared))

    def _merged(self, shared: Any) -> dict[str, Any]:
        """``merge_origins`` of events that all carry ``shared`` (kept for the next call)."""
        if shared is not self.merged_of:
            self.merged_of, self.merged = shared, merge_origins((shared,))
        return self.merged

    def fail(self, exc: BaseException | str, action: str, key: Hashable, meta: Any, values: list[Any],
             **extra: Any) -> None:
        """An error event for ``values`` (``action`` says what failed), in line or to ``errors``."""
        err = error_event(exc, connector="window", action=action, stream=key, meta=meta, values=values, **extra)
        self.report(err)

    def report(self, err: Event) -> None:
        if self.errors is None:
            self.deliver(err)
            return
        try:
            self.errors(err)
        except BaseException as raised:
            self.raised = self.raised or raised

    def too_late(self, key: Hashable, event: Event, time: float, watermark: float) -> None:
        """An event later than the allowed lateness: to ``late``, else an error event ``"late"``."""
        if self.late is None:
            self.fail(LateEvent("event later than the allowed lateness"), "late", key, event.meta, [event.value],
                      event_time=time, watermark=watermark)
            return
        try:
            self.late(event)
        except BaseException as raised:
            self.raised = self.raised or raised

    def deliver(self, event: Event) -> None:
        held = self.held
        if held is not None:
            if self.lazy_held is not None:
                self._build_lazy()
            held.append(event)
            return
        try:
            self.observer.on_next(event)
        except BaseException as raised:  # re-raised by the guard once the chain is settled
            self.raised = self.raised or raised

    def finish(self, error: Exception | None) -> None:
        """Complete (or fail) downstream, once."""
        if self.done:
            return
        if self.held is not None:
            self._release_held()
        self.done = True
        try:
            if error is None:
                self.observer.on_completed()
            else:
                self.observer.on_error(error)
        except BaseException as raised:
            self.raised = self.raised or raised
