"""Sliding, session and event-time windows under gevent: nothing lost, duplicated or
reordered when the downstream yields (``gevent.sleep`` or a real socket write) while
producers and timers keep running. Runs both unpatched and monkey-patched.

The chain's own order of events is recorded through the key function (the chain
calls it, under the guard, as it takes each event), so each window can be checked
against the brute-force model of that order.
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable, Hashable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from rxunix.event import Event
from rxunix.operators import connection_key, session_window, sliding_count, sliding_time, tumbling_time

from tests.test_windows_gevent import BUSY_PLAN, PROPS, batches, modes, plans, run_producers
from tests.windows_models import sliding_count_model


class Recorder:
    """A key function that records the order in which the chain takes events."""

    def __init__(self, grouped: bool) -> None:
        self.grouped = grouped
        self.order: list[Any] = []

    def __call__(self, event: Event) -> Hashable:
        self.order.append(event.value)
        return connection_key(event) if self.grouped else None


def per_producer(values: list[Any]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = collections.defaultdict(list)
    for v in values:
        out[v[0]].append(v)
    return dict(out)


def check_taken(sent: list[Event], rec: Recorder) -> None:
    """The chain took every event once, each producer's in its order."""
    assert sorted(rec.order) == sorted(e.value for e in sent)
    assert per_producer(rec.order) == per_producer([e.value for e in sent])


def is_slice(window: list[Any], order: list[Any]) -> bool:
    i = order.index(window[0])
    return order[i : i + len(window)] == window


@PROPS
@given(plan=plans, mode=modes, grouped=st.booleans(), n=st.integers(1, 6), batch=batches, data=st.data())
def test_sliding_count_lossless(plan: list[list[float]], mode: str, grouped: bool, n: int, batch: int,
                                data: st.DataObject) -> None:
    step = data.draw(st.integers(1, n))
    rec = Recorder(grouped)
    op = sliding_count(n, step, key=rec)
    sent, sink = run_producers(op, plan, mode, batch)  # type: ignore[arg-type]
    check_taken(sent, rec)
    keyed = [((v[0] if grouped else None), v) for v in rec.order]
    got: dict[Any, list[list[Any]]] = collections.defaultdict(list)
    for agg in sink.aggregates:
        got[agg.value[0][0] if grouped else None].append(agg.value)
    assert dict(got) == sliding_count_model(keyed, n, step)
    assert op.live_groups == 0


@PROPS
@given(plan=plans, mode=modes, grouped=st.booleans())
def test_sliding_time_lossless(plan: list[list[float]], mode: str, grouped: bool) -> None:
    size, step = 0.004, 0.002
    rec = Recorder(grouped)
    op = sliding_time(size, step, key=rec)
    sent, sink = run_producers(op, plan, mode)  # type: ignore[arg-type]
    check_taken(sent, rec)
    seen = collections.Counter(v for agg in sink.aggregates for v in agg.value)
    assert set(seen) == {e.value for e in sent}  # every event in at least one window
    assert max(seen.values(), default=1) <= math.ceil(size / step)
    for agg in sink.aggregates:
        assert agg.value and len(set(agg.value)) == len(agg.value)
        order = [v for v in rec.order if not grouped or v[0] == agg.value[0][0]]
        assert is_slice(agg.value, order)  # a window is a stretch of time: a run of events
    assert op.live_groups == 0


@PROPS
@given(plan=plans, mode=modes, grouped=st.booleans(), batch=batches)
def test_session_windows_partition_the_events(plan: list[list[float]], mode: str, grouped: bool,
                                              batch: int) -> None:
    rec = Recorder(grouped)
    op = session_window(0.002, max_duration=0.01, key=rec)
    sent, sink = run_producers(op, plan, mode, batch)  # type: ignore[arg-type]
    check_taken(sent, rec)
    sessions: dict[Any, list[Any]] = collections.defaultdict(list)
    for agg in sink.aggregates:
        assert agg.value
        sessions[agg.value[0][0] if grouped else None].extend(agg.value)
    expected = per_producer(rec.order) if grouped else ({None: rec.order} if rec.order else {})
    assert dict(sessions) == expected  # each key's sessions, in order, are its events: once each
    assert op.live_groups == 0


@PROPS
@given(plan=plans, mode=modes, lateness=st.sampled_from([0.0, 0.001, 0.01]))
def test_event_time_windows_lose_nothing(plan: list[list[float]], mode: str, lateness: float) -> None:
    """Event time = when the chain first saw the event; the idle timeout closes the
    windows while producers sleep. Every event is windowed once or reported late."""
    late: list[Event] = []
    rec = Stamped()
    op = tumbling_time(0.003, event_time=rec.time_of, allowed_lateness=lateness, idle_timeout=0.002,
                       key=rec, late=late.append)
    sent, sink = run_producers(op, plan, mode)  # type: ignore[arg-type]
    check_taken(sent, rec)
    windowed = [v for agg in sink.aggregates for v in agg.value]
    assert sorted(windowed + [e.value for e in late]) == sorted(e.value for e in sent)
    for agg in sink.aggregates:  # one connection's events per window, in event-time order
        assert [rec.stamps[v] for v in agg.value] == sorted(rec.stamps[v] for v in agg.value)
    assert op.live_groups == 0


class Stamped(Recorder):
    """A recorder that also stamps each event with the clock when the chain keyed it."""

    def __init__(self) -> None:
        super().__init__(grouped=True)
        self.stamps: dict[Any, float] = {}

    def __call__(self, event: Event) -> Hashable:
        self.stamps.setdefault(event.value, time.monotonic())
        return super().__call__(event)

    def time_of(self, event: Event) -> float:
        return self.stamps[event.value]


def test_busy_stream_with_a_socket_downstream_loses_nothing() -> None:
    """The probe that makes RxPY's buffers lose items: 4 producers, 2000 events, a
    socket write per aggregate, for each kind of window."""
    makers: list[Callable[[Recorder], Any]] = [
        lambda k: sliding_count(10, 5, key=k),
        lambda k: sliding_count(100, 10, key=k),
        lambda k: sliding_time(0.004, 0.002, key=k),
        lambda k: session_window(0.001, key=k),
    ]
    for make in makers:
        rec = Recorder(False)
        op = make(rec)
        sent, sink = run_producers(op, BUSY_PLAN, "socket")
        check_taken(sent, rec)
        assert {v for agg in sink.aggregates for v in agg.value} == {e.value for e in sent}
        assert sink.received > 0
