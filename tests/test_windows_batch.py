"""A read's events handed to a count window whole (``on_next_batch``) give exactly the
aggregates of handing them one by one: same windows, same order, same metadata,
whether the batch is a list of events, a read's batch (one metadata object) or a lazy
one (values only: the window takes them without building events). A downstream batch
observer (a connector's ``in_``) gets the aggregates one input batch closes in one
call; any other observer gets them one by one."""

from __future__ import annotations

from collections.abc import Callable
from operator import is_
from types import MappingProxyType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from rxunix.operators import connection_key, sliding_count, tumbling_count
from rxunix.origin import SERVER

from rxunix.core.event import Event, EventBatch, SliceBatch
from rxunix.edge.ports import EventSubject
from tests.windows_models import sliding_count_model

# (connection, whether this event carries metadata of its own: a copy of its connection's)
items = st.lists(st.tuples(st.integers(1, 3), st.booleans()), max_size=120)
cuts = st.lists(st.integers(0, 120), max_size=8)
Factory = Callable[[], Any]
FACTORIES: dict[str, Factory] = {
    "tumbling_count(4)": lambda: tumbling_count(4, key=connection_key),
    "tumbling_count(1)": lambda: tumbling_count(1, key=connection_key),
    "sliding_count(5, 2)": lambda: sliding_count(5, 2, key=connection_key),
    "sliding_count(3, 3)": lambda: sliding_count(3, 3, key=connection_key),
    "sliding_count(4, 1)": lambda: sliding_count(4, 1, key=connection_key),
}


def _events(plan: list[tuple[int, bool]]) -> list[Event]:
    shared = {c: MappingProxyType({SERVER: MappingProxyType({"path": "/s", "peer": c})}) for c in (1, 2, 3)}
    # a fresh copy names its event ("seq"): the last one of a window is in its aggregate's metadata
    return [Event({"i": i, "c": c}, {**shared[c], "seq": i} if fresh else shared[c])
            for i, (c, fresh) in enumerate(plan)]


def _reads(events: list[Event], bounds: list[int], lazy: bool) -> list[EventBatch]:
    """The events cut at ``bounds`` and wherever the metadata object changes, as a
    connector's reads: one :class:`EventBatch` per run sharing one metadata object."""
    runs: list[list[Event]] = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        for event in events[a:b]:
            if runs and runs[-1] and runs[-1][0].meta is event.meta:
                runs[-1].append(event)
            else:
                runs.append([event])
        runs.append([])
    return [EventBatch.of([e.value for e in run], run[0].meta, clean=True, lazy=lazy) for run in runs if run]


class BatchSink:
    """A batch observer downstream of the window: records each call; with ``slices`` it
    takes :class:`SliceBatch` es (as a server's ``in_``) and checks each against its events."""

    def __init__(self, slices: bool = False) -> None:
        self.calls: list[tuple[str, list[Event]]] = []
        self.completed = False
        self.takes_slices = slices
        self.slice_batches = 0
        self.lazy_batches = 0

    def on_next(self, event: Event) -> None:
        self.calls.append(("one", [event]))

    def on_next_batch(self, events: Any) -> None:
        if isinstance(events, SliceBatch):
            assert self.takes_slices
            self.slice_batches += 1
            if events.lazy:  # windows of one metadata object, not built: as built, each its own mapping
                self.lazy_batches += 1
                assert len(events) == 0 and events.size == len(events.spans) > 0
                values = list(events.window_values())
                events.build()
                assert [e.value for e in events] == values and all(e.meta is not events[0].meta for e in events[1:])
            assert len(events.spans) == len(events) == events.size
            for event, (start, n) in zip(events, events.spans, strict=True):  # the same objects
                assert len(event.value) == n and all(map(is_, event.value, events.elems[start:start + n]))
        self.calls.append(("batch", list(events)))

    def on_error(self, error: Exception) -> None:
        raise AssertionError(error)

    def on_completed(self) -> None:
        self.completed = True


def _run(factory: Factory, events: list[Event], batches: list[list[Event]] | None,
         sink: BatchSink | None = None) -> tuple[list[tuple[Any, Any]], int]:
    """The aggregates (value, metadata) and how many came before the input completed."""
    src, out = EventSubject(owner=None), []
    aggregates = src.pipe(factory())
    if sink is None:
        aggregates.subscribe(lambda agg: out.append((agg.value, dict(agg.meta))))
    else:
        aggregates.subscribe(sink)
    if batches is None:
        for event in events:
            src.on_next(event)
    else:
        for batch in batches:
            assert src.on_next_batch(batch) == []
    before = len(out) if sink is None else len(sink.calls)
    src.on_completed()
    if sink is not None:
        assert sink.completed
        out = [(agg.value, dict(agg.meta)) for _, aggs in sink.calls for agg in aggs]
    return out, before


@settings(max_examples=60, deadline=None)
@given(plan=items, at=cuts, name=st.sampled_from(sorted(FACTORIES)))
def test_batches_give_the_windows_of_one_event_at_a_time(plan: list[tuple[int, bool]], at: list[int],
                                                         name: str) -> None:
    events = _events(plan)
    bounds = sorted({0, len(events), *(min(a, len(events)) for a in at)})
    batches = [events[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    one_by_one, closed_early = _run(FACTORIES[name], events, None)
    assert _run(FACTORIES[name], events, batches)[0] == one_by_one
    sink = BatchSink()
    assert _run(FACTORIES[name], events, batches, sink)[0] == one_by_one
    assert _run(FACTORIES[name], events, batches, BatchSink(slices=True))[0] == one_by_one
    for lazy in (False, True):  # a connector's reads, built or not
        reads = _reads(events, bounds, lazy)
        assert _run(FACTORIES[name], events, reads)[0] == one_by_one
        assert _run(FACTORIES[name], events, reads, BatchSink())[0] == one_by_one
        assert all(read.lazy == lazy for read in reads)  # a count window builds no event of a lazy read
        sliced = BatchSink(slices=True)
        assert _run(FACTORIES[name], events, _reads(events, bounds, lazy), sliced)[0] == one_by_one
        if closed_early and not any(fresh for _, fresh in plan):  # a read's windows, each read one call
            assert sliced.slice_batches > 0
            if name.startswith("sliding"):  # one metadata object a read: none built before in_ asks
                assert sliced.lazy_batches == sliced.slice_batches
    # what the input batches closed came in one call per batch at most; the windows
    # flushed at completion come one by one
    calls_early = sink.calls[:_run(FACTORIES[name], events, batches, BatchSink())[1]]
    assert all(how == "batch" and aggs for how, aggs in calls_early) and len(calls_early) <= len(batches)
    assert sum(len(aggs) for _, aggs in calls_early) == closed_early
    assert all(how == "one" for how, _ in sink.calls[len(calls_early):])
    if name.startswith("sliding"):  # and both are the definition's windows
        n, step = (int(x) for x in name[len("sliding_count("):-1].split(", "))
        model = sliding_count_model([(c, {"i": i, "c": c}) for i, (c, _) in enumerate(plan)], n, step)
        got: dict[int, list[Any]] = {}
        for values, _meta in one_by_one:
            got.setdefault(values[0]["c"], []).append(values)
        assert got == model
