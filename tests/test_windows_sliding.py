"""Sliding count, sliding time and session windows in processing time: exact boundaries
in virtual time (TestScheduler), RxPY parity and properties against brute-force models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

import pytest
import reactivex as rx
from hypothesis import given
from hypothesis import strategies as st
from reactivex import operators as ops
from reactivex.subject import Subject
from reactivex.testing import ReactiveTest, TestScheduler
from rxunix.event import Event
from rxunix.operators import (
    connection_key,
    reducers,
    session_window,
    sliding_count,
    sliding_time,
    tumbling_count,
    tumbling_time,
)
from rxunix.origin import SERVER, FrozenRecord, merge_origins

from rxunix.rx.windows.clock import Clock
from tests.windows_models import grid_model, session_model, sliding_count_model

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed


def sev(value: Any, peer: int) -> Event:
    return Event(value, {SERVER: {"path": "/s", "peer": peer}})


def collect(source: rx.Observable[Event]) -> tuple[list[Event], list[str]]:
    out: list[Event] = []
    log: list[str] = []
    source.subscribe(out.append, lambda e: log.append(f"error:{e}"), lambda: log.append("completed"))
    return out, log


def virtual(op: Any, timeline: list[tuple[float, Event]], end: float) -> list[tuple[float, Any]]:
    """Feed ``timeline`` (virtual time after the subscription, event) into ``op``,
    complete at ``end``; the aggregates as (virtual time of emission, value)."""
    vt = TestScheduler()
    t0 = 200.0  # TestScheduler.start subscribes at 200
    hot = vt.create_hot_observable(*[on_next(t0 + t, e) for t, e in timeline], on_completed(t0 + end))
    results = vt.start(lambda: hot.pipe(op), created=100, subscribed=t0, disposed=t0 + end + 1000)
    assert results.messages[-1].value.kind == "C"
    return [(m.time - t0, m.value.value.value) for m in results.messages if m.value.kind == "N"]


def by_key(out: list[Event], key: Any = lambda v: v[0]) -> dict[Any, list[list[Any]]]:
    got: dict[Any, list[list[Any]]] = {}
    for agg in out:
        got.setdefault(key(agg.value[0]), []).append(agg.value)
    return got


# ---- sliding count -----------------------------------------------------------
def test_sliding_count_windows_and_merged_origins() -> None:
    evs = [sev(i, peer=i % 3) for i in range(7)]
    out, log = collect(rx.from_iterable(evs).pipe(sliding_count(3, 2)))
    assert [e.value for e in out] == [[0, 1, 2], [2, 3, 4], [4, 5, 6], [6]]
    assert [[r["peer"] for r in e.meta[SERVER]] for e in out] == [[0, 1, 2], [2, 0, 1], [1, 2, 0], [0]]
    assert log == ["completed"]


@given(values=st.lists(st.integers(), max_size=80), n=st.integers(1, 12), data=st.data())
def test_sliding_count_is_rxpy_buffer_with_count(values: list[int], n: int, data: st.DataObject) -> None:
    step = data.draw(st.integers(1, n))
    out, _ = collect(rx.from_iterable([Event(v) for v in values]).pipe(sliding_count(n, step)))
    expected = rx.from_iterable(values).pipe(ops.buffer_with_count(n, step), ops.to_list()).run()
    assert [e.value for e in out] == expected


@given(peers=st.lists(st.integers(0, 3), max_size=120), n=st.integers(1, 10), data=st.data())
def test_keyed_sliding_count_matches_the_model(peers: list[int], n: int, data: st.DataObject) -> None:
    step = data.draw(st.integers(1, n))
    evs = [sev((p, i), peer=p) for i, p in enumerate(peers)]
    op = sliding_count(n, step, key=connection_key)
    out, log = collect(rx.from_iterable(evs).pipe(op))
    model = sliding_count_model([(e.value[0], e.value) for e in evs], n, step)
    assert by_key(out) == model
    # every event lands in exactly the windows that cover it
    for p in model:
        idx = [i for i, q in enumerate(peers) if q == p]
        for j, i in enumerate(idx):
            covering = sum(1 for s in range(0, len(idx), step) if s <= j < s + n)
            assert sum(w.count((p, i)) for w in by_key(out)[p]) == covering
    assert log == ["completed"] and op.live_groups == 0


def test_sliding_count_release_flushes_open_windows_and_forgets_the_group() -> None:
    src: Subject[Event] = Subject()
    closed: Subject[Any] = Subject()
    op = sliding_count(4, 2, key=connection_key, release=closed, reduce=reducers.collect())
    out, _ = collect(src.pipe(op))
    for i in range(5):
        src.on_next(sev(i, peer=1))
    assert [e.value for e in out] == [[0, 1, 2, 3]] and op.live_groups == 1
    closed.on_next(sev(None, peer=1))
    assert [e.value for e in out] == [[0, 1, 2, 3], [2, 3, 4], [4]] and op.live_groups == 0


@given(runs=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 12)), max_size=12), n=st.integers(1, 10),
       data=st.data())
def test_aggregate_origins_are_the_merge_of_exactly_their_events(runs: list[tuple[int, int]], n: int,
                                                                  data: st.DataObject) -> None:
    """Runs of events sharing one connection's metadata object (as a connector emits
    them) and windows across runs: each aggregate's metadata is ``merge_origins`` of
    its own events, and no two aggregates share a mutable part of it."""
    step = data.draw(st.integers(1, n))
    metas = [MappingProxyType({SERVER: FrozenRecord(path="/s", peer=p), "k": p}) for p in range(3)]
    evs = [e for p, k in runs for e in Event.many(range(k), metas[p])]
    out, _ = collect(rx.from_iterable(evs).pipe(sliding_count(n, step)))
    windows = [evs[s:s + n] for s in range(0, len(evs), step)]
    assert [e.value for e in out] == [[e.value for e in w] for w in windows]
    assert [dict(e.meta) for e in out] == [merge_origins(w) for w in windows]
    assert len({id(e.meta[SERVER]) for e in out}) == len(out)


@pytest.mark.parametrize("args", [(0, 1), (3, 0), (3, 4), (2.5, 1), (True, 1)])
def test_sliding_count_rejects_bad_sizes(args: tuple[Any, Any]) -> None:
    with pytest.raises(ValueError):
        sliding_count(*args)


# ---- sliding time (processing time, virtual) ----------------------------------------
def test_sliding_time_exact_boundaries() -> None:
    timeline = [(t, Event(t)) for t in (1, 4, 5, 9, 10, 14, 31)]
    got = virtual(sliding_time(10, 5), timeline, end=100)
    # windows [0,10) [5,15) [10,20) [25,35) [30,40), each emitted when it ends;
    # an event at a window's end belongs to the next window only (half-open)
    assert got == [(10, [1, 4, 5, 9]), (15, [5, 9, 10, 14]), (20, [10, 14]), (35, [31]), (40, [31])]


def test_processing_time_never_goes_back_with_the_wall_clock() -> None:
    """RxPY's schedulers tell wall-clock time, which a host may set back: an event is then
    timed at the watermark, never into windows that were already emitted."""
    class Steppable:
        now = datetime(2026, 1, 1, tzinfo=UTC)

    wall = Steppable()
    clock = Clock(event_time=None, lateness=0.0, idle_timeout=None, scheduler=wall)  # type: ignore[arg-type]
    wall.now += timedelta(seconds=5)
    clock.saw(clock.time_of(Event(1)))
    wall.now -= timedelta(seconds=3)  # the host's clock was set back
    assert clock.time_of(Event(2)) == 5.0
    wall.now += timedelta(seconds=4)
    assert clock.time_of(Event(3)) == 6.0


def test_sliding_time_completion_flushes_open_windows_cut_short() -> None:
    got = virtual(sliding_time(10, 5), [(7, Event("a")), (12, Event("b"))], end=13)
    assert got == [(10, ["a"]), (13, ["a", "b"]), (13, ["b"])]


@given(
    times=st.lists(st.integers(1, 60), max_size=40),  # 0: before the subscription
    size=st.integers(1, 12),
    data=st.data(),
)
def test_sliding_time_matches_the_model(times: list[int], size: int, data: st.DataObject) -> None:
    step = data.draw(st.integers(1, size))
    times.sort()
    end = 50
    timeline = [(float(t), Event((t, i))) for i, t in enumerate(times) if t < end]
    got = virtual(sliding_time(size, step), timeline, end=end)
    model = grid_model([(t, None, e.value) for t, e in timeline], size, step, lowest=0)
    expected_windows = model.get(None, [])
    assert [v for _, v in got] == expected_windows
    # each window is emitted when it ends (or at completion, cut short)
    windows = {k for t, _ in timeline for k in range(0, int(t) + 1) if k * step <= t < k * step + size}
    ends = sorted(min(k * step + size, end) for k in windows)
    assert [time for time, _ in got] == ends


# ---- sessions (processing time, virtual) --------------------------------------
def test_session_exact_boundaries() -> None:
    timeline = [(t, Event(t)) for t in (1, 2, 4, 7, 8, 20)]
    # gap 3: 7 comes exactly 3 after 4, so it starts a new session
    assert virtual(session_window(3), timeline, end=100) == [(7, [1, 2, 4]), (11, [7, 8]), (23, [20])]


def test_session_max_duration_cuts_long_bursts() -> None:
    timeline = [(t, Event(t)) for t in range(1, 9)]
    got = virtual(session_window(3, max_duration=5), timeline, end=100)
    assert got == [(6, [1, 2, 3, 4, 5]), (11, [6, 7, 8])]  # 6 = 1 + max_duration; 11 = 8 + gap


def test_session_per_connection_and_completion() -> None:
    timeline = [(1, sev("a1", 1)), (2, sev("b1", 2)), (3, sev("a2", 1)), (9, sev("b2", 2))]
    got = virtual(session_window(4, key=connection_key), timeline, end=10)
    assert got == [(6, ["b1"]), (7, ["a1", "a2"]), (10, ["b2"])]


@given(
    items=st.lists(st.tuples(st.integers(1, 80), st.integers(0, 2)), max_size=40),
    gap=st.integers(1, 10),
    max_duration=st.one_of(st.none(), st.integers(1, 20)),
)
def test_sessions_partition_each_keys_events(
    items: list[tuple[int, int]], gap: int, max_duration: int | None
) -> None:
    items.sort()
    timeline = [(float(t), sev((p, i), peer=p)) for i, (t, p) in enumerate(items)]
    op = session_window(gap, max_duration, key=connection_key)
    got = virtual(op, timeline, end=200)
    model = session_model([(t, e.value[0], e.value) for t, e in timeline], gap, max_duration)
    per: dict[int, list[list[Any]]] = {}
    for _, value in got:
        per.setdefault(value[0][0], []).append(value)
    assert per == model
    assert op.live_groups == 0


@pytest.mark.parametrize(
    ("make", "at", "due"),
    [
        (lambda: session_window(2), 6.37, 8.37),
        (lambda: sliding_time(0.3, 0.1), 0.05, 0.3),
        (lambda: tumbling_time(1, event_time=lambda e: e.value + 0.2, idle_timeout=0.7), 0.1, 0.8),
    ],
)
def test_decimal_times_close_windows_exactly_when_due(make: Any, at: float, due: float) -> None:
    # due times like 6.37 + 2 are not whole microseconds, which RxPY's virtual clock keeps
    got = virtual(make(), [(at, Event(at))], end=100)
    assert [v for _, v in got] == [[at]] and got[0][0] == pytest.approx(due, abs=1e-6)


@given(
    times=st.lists(st.integers(1, 5000), min_size=1, max_size=20, unique=True),
    gap=st.integers(1, 300),
)
def test_sessions_close_exactly_gap_after_their_last_event(times: list[int], gap: int) -> None:
    # events on hundredths of a second, the gap half a hundredth off them (no ties to round)
    times.sort()
    timeline = [(t / 100, Event(t / 100)) for t in times]
    seconds = (gap + 0.5) / 100
    got = virtual(session_window(seconds), timeline, end=100)
    model = session_model([(2 * t, None, t / 100) for t in times], 2 * gap + 1, None)
    assert [v for _, v in got] == model.get(None, [])
    for time, events in got[:-1]:  # the last one may be cut short by the completion at 100
        assert time == pytest.approx(events[-1] + seconds, abs=1e-6)


def test_time_windows_validate_their_arguments() -> None:
    for bad in (lambda: sliding_time(1, 2), lambda: sliding_time(0, 0), lambda: session_window(0),
                lambda: session_window(1, max_duration=-1), lambda: sliding_time(1, 1, allowed_lateness=1),
                lambda: session_window(1, late=print), lambda: session_window(float("inf")),
                lambda: tumbling_time(float("inf")), lambda: sliding_time(float("inf"), 1)):
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(ValueError, match="at most 100,000: each event would belong to that many windows"):
        sliding_time(1, 1e-300, event_time="ts")
    with pytest.raises(ValueError, match="^n must be a positive int, got 0$"):
        tumbling_count(0)
