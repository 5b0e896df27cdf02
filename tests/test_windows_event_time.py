"""Event-time windows: the watermark (highest event time minus the allowed lateness)
cuts the windows; late events go to ``late`` or become error events; ``idle_timeout``
closes windows on a quiet stream. Properties against brute-force models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reactivex.subject import Subject
from reactivex.testing import ReactiveTest, TestScheduler
from rxunix.event import Event
from rxunix.operators import connection_key, reducers, session_window, sliding_time, tumbling_time
from rxunix.origin import SERVER

from tests.windows_models import grid_model, session_model

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed


def tev(ts: float, peer: int = 1, tag: Any = None) -> Event:
    return Event({"ts": ts, "tag": tag}, {SERVER: {"path": "/s", "peer": peer}})


def feed(op: Any, events: list[Event]) -> tuple[list[Event], list[str]]:
    src: Subject[Event] = Subject()
    out: list[Event] = []
    log: list[str] = []
    src.pipe(op).subscribe(out.append, lambda e: log.append(f"error:{e}"), lambda: log.append("completed"))
    for e in events:
        src.on_next(e)
    src.on_completed()
    return out, log


def stamps(out: list[Event]) -> list[list[float]]:
    return [[v["ts"] for v in e.value] for e in out if not e.is_error]


# ---- exact behaviour ------------------------------------------------------------
def test_event_time_tumbling_cut_by_the_watermark() -> None:
    late: list[Event] = []
    op = tumbling_time(10, event_time="ts", allowed_lateness=5, late=late.append)
    src: Subject[Event] = Subject()
    out: list[Event] = []
    src.pipe(op).subscribe(out.append)
    for ts in (1, 5, 11, 7):  # 7 arrives after 11, within the lateness (watermark 6)
        src.on_next(tev(ts))
    assert out == []  # [0, 10) is still open
    src.on_next(tev(15))  # watermark 10: [0, 10) closes
    assert stamps(out) == [[1, 5, 7]]  # in event-time order
    src.on_next(tev(9.5))  # below the watermark: late, never silently dropped
    assert [e.value["ts"] for e in late] == [9.5]
    src.on_next(tev(30))  # watermark 25: [10, 20) closes
    assert stamps(out) == [[1, 5, 7], [11, 15]]
    src.on_completed()  # flushes [30, 40)
    assert stamps(out) == [[1, 5, 7], [11, 15], [30]]


@given(step=st.sampled_from([0.1, 0.3, 0.7, 0.05, 0.002]), n=st.integers(1, 4),
       ticks=st.lists(st.integers(0, 3000), min_size=1, max_size=30), literal=st.booleans())
def test_an_event_on_a_window_boundary_is_in_exactly_its_windows(
    step: float, n: int, ticks: list[int], literal: bool
) -> None:
    """Decimal steps do not add up exactly in floating point (``5 * 0.1 + 0.1 != 6 *
    0.1``): an event whose time is a window boundary (``j * step``, or the decimal
    literal of it such as ``0.6``) is still in exactly ``n`` windows of ``n`` steps:
    one tumbling window, ``n`` sliding ones; never in none (lost) or in ``n + 1``."""
    times = [float(f"{j * step:.6f}") if literal else j * step for j in ticks]
    op = tumbling_time(step, event_time="ts") if n == 1 else sliding_time(n * step, step, event_time="ts")
    evs = [tev(t, tag=i) for i, t in enumerate(times)]
    out, log = feed(op, sorted(evs, key=lambda e: e.value["ts"]))
    seen: dict[Any, int] = {}
    for agg in out:
        for v in agg.value:
            seen[v["tag"]] = seen.get(v["tag"], 0) + 1
    assert seen == {i: n for i in range(len(evs))}
    assert log == ["completed"]


def test_a_late_event_becomes_an_error_event_by_default() -> None:
    out, log = feed(tumbling_time(10, event_time="ts"), [tev(15, peer=1), tev(3, peer=2), tev(16, peer=1)])
    err = [e for e in out if e.is_error]
    assert len(err) == 1 and err[0].value["action"] == "late" and err[0].value["values"][0]["ts"] == 3
    assert err[0].value["event_time"] == 3 and err[0].value["watermark"] == 15
    assert err[0].value["kind"] == "LateEvent"
    assert err[0].meta[SERVER] == {"path": "/s", "peer": 2}  # routes back to its sender
    assert stamps(out) == [[15, 16]] and log == ["completed"]


def test_late_to_errors_sink_and_bad_event_time() -> None:
    errors: list[Event] = []
    op = sliding_time(10, 5, event_time=lambda e: e.value["ts"], errors=errors.append)
    out, _ = feed(op, [tev(20), tev(1), Event({"no": "ts"}), tev("soon"), tev(21)])  # type: ignore[arg-type]
    assert [e.value["action"] for e in errors] == ["late", "event_time", "event_time"]
    assert stamps(out) == [[20, 21], [20, 21]]  # [15, 25) and [20, 30)


def test_event_time_as_datetime() -> None:
    t = datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)
    op = tumbling_time(60, event_time=lambda e: e.value["at"], reduce=reducers.count())
    out, _ = feed(op, [Event({"at": t}), Event({"at": t.replace(second=59)}), Event({"at": t.replace(minute=1)})])
    assert [e.value for e in out] == [2, 1]


def test_event_time_sessions_merge_out_of_order_events() -> None:
    op = session_window(6, event_time="ts", allowed_lateness=10)
    out, _ = feed(op, [tev(1), tev(10), tev(6), tev(30)])  # 6 bridges 1 and 10 (gaps < 6)
    assert stamps(out) == [[1, 6, 10], [30]]


def test_event_time_session_boundaries_are_exact() -> None:
    """A session goes on while the next event is less than ``gap`` after the last one
    and less than ``max_duration`` after the first: an event exactly ``gap`` (or
    ``max_duration``) away starts the next one."""
    out, _ = feed(session_window(3, event_time="ts", allowed_lateness=100), [tev(t) for t in (1, 2, 4, 7, 8, 20)])
    assert stamps(out) == [[1, 2, 4], [7, 8], [20]]  # 7 - 4 == 3: a new session
    out, _ = feed(session_window(3, max_duration=5, event_time="ts", allowed_lateness=100),
                  [tev(t) for t in (1, 2, 3, 4, 5, 6, 7, 8)])
    assert stamps(out) == [[1, 2, 3, 4, 5], [6, 7, 8]]  # 6 - 1 == 5: a new session


def test_idle_timeout_closes_windows_on_a_quiet_stream() -> None:
    vt = TestScheduler()
    events = [(201, tev(100)), (202, tev(103)), (203, tev(104))]
    hot = vt.create_hot_observable(*[on_next(t, e) for t, e in events], on_completed(400))
    op = tumbling_time(10, event_time="ts", idle_timeout=2)
    res = vt.start(lambda: hot.pipe(op), disposed=1000)
    got = [(m.time, [v["ts"] for v in m.value.value.value]) for m in res.messages if m.value.kind == "N"]
    # watermark 104 at 203; quiet from then on, it follows the clock after 2 s idle:
    # 104 + (t - 203) reaches the window's end 110 at t = 209
    assert got == [(209, [100, 103, 104])]


def test_without_idle_timeout_a_quiet_stream_waits_for_completion() -> None:
    vt = TestScheduler()
    hot = vt.create_hot_observable(on_next(201, tev(100)), on_completed(400))
    res = vt.start(lambda: hot.pipe(tumbling_time(10, event_time="ts")), disposed=1000)
    assert [m.time for m in res.messages] == [400, 400]  # flushed at completion


def test_keyed_event_time_windows_reply_to_their_own_connection() -> None:
    evs = [tev(1, peer=1), tev(2, peer=2), tev(3, peer=1), tev(30, peer=2)]
    out, _ = feed(tumbling_time(10, event_time="ts", key=connection_key), evs)
    assert [([v["ts"] for v in e.value], [r["peer"] for r in e.meta[SERVER]]) for e in out] == [
        ([1, 3], [1]), ([2], [2]), ([30], [2])]


def test_an_event_time_field_that_is_not_there_says_so() -> None:
    errors: list[Event] = []
    op = tumbling_time(10, event_time="ts", errors=errors.append)
    out, _ = feed(op, [Event({"at": 1}), Event("text"), tev(3)])
    assert [e.value["error"] for e in errors] == [
        "event_time field 'ts' missing from the event's value (it has ['at'])",
        "event_time field 'ts': the event's value is a str, not a mapping",
    ]
    assert stamps(out) == [[3]]


@pytest.mark.parametrize("bad", [{"event_time": 3}, {"event_time": "ts", "allowed_lateness": -1},
                                 {"event_time": "ts", "idle_timeout": 0}, {"allowed_lateness": 1},
                                 {"event_time": "ts", "allowed_lateness": float("inf")},
                                 {"event_time": "ts", "idle_timeout": float("nan")}])
def test_bad_event_time_options(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="event_time|allowed_lateness|idle_timeout"):
        tumbling_time(10, **bad)


# ---- properties ----------------------------------------------------------------
def kinds() -> st.SearchStrategy[tuple[str, Any, Any]]:
    """(name, make(lateness), model(items))"""
    return st.sampled_from([
        ("tumbling", lambda L: tumbling_time(10, event_time="ts", allowed_lateness=L, key=connection_key),
         lambda items: grid_model(items, 10, 10, None)),
        ("sliding", lambda L: sliding_time(12, 4, event_time="ts", allowed_lateness=L, key=connection_key),
         lambda items: grid_model(items, 12, 4, None)),
        ("session", lambda L: session_window(5, 15, event_time="ts", allowed_lateness=L, key=connection_key),
         lambda items: session_model(items, 5, 15)),
    ])


def windows_of(out: list[Event]) -> dict[Any, list[list[Any]]]:
    got: dict[Any, list[list[Any]]] = {}
    for e in out:
        assert not e.is_error, e
        peers = [r["peer"] for r in e.meta[SERVER]]
        assert len(peers) == 1
        got.setdefault(peers[0], []).append(sorted(v["tag"] for v in e.value))
    return {k: sorted(ws) for k, ws in got.items()}


def model_of(model: dict[Any, list[list[Any]]]) -> dict[Any, list[list[Any]]]:
    return {k: sorted(sorted(w) for w in ws) for k, ws in model.items()}


timed = st.lists(st.tuples(st.integers(-30, 120), st.integers(0, 2)), max_size=40)


@given(items=timed, kind=kinds(), lateness=st.integers(0, 12), jitter=st.data())
def test_windows_do_not_depend_on_arrival_order_within_the_lateness(
    items: list[tuple[int, int]], kind: tuple[str, Any, Any], lateness: int, jitter: st.DataObject
) -> None:
    _, make, model = kind
    evs = [tev(t, peer=p, tag=i) for i, (t, p) in enumerate(items)]
    # arrival by event time plus a delay of at most the lateness: nothing is late
    delays = [jitter.draw(st.integers(0, lateness)) for _ in evs]
    order = sorted(range(len(evs)), key=lambda i: evs[i].value["ts"] + delays[i])
    arrival = [evs[i] for i in order]
    out, log = feed(make(lateness), arrival)
    expected = model_of(model([(e.value["ts"], e.meta[SERVER]["peer"], e.value["tag"]) for e in evs]))
    assert windows_of(out) == expected
    in_time_order, _ = feed(make(lateness), sorted(evs, key=lambda e: e.value["ts"]))
    assert windows_of(in_time_order) == expected
    assert log == ["completed"]


@given(items=timed, kind=kinds(), lateness=st.integers(0, 12))
def test_late_events_all_appear_on_late_and_the_rest_are_windowed(
    items: list[tuple[int, int]], kind: tuple[str, Any, Any], lateness: int
) -> None:
    _, make, model = kind
    evs = [tev(t, peer=p, tag=i) for i, (t, p) in enumerate(items)]  # arrival in generated order
    op = make(lateness)
    late: list[Event] = []
    op.late = late.append
    out, _ = feed(op, evs)
    # the watermark model: late iff below (the highest time seen so far) - lateness
    highest, expected_late, on_time = float("-inf"), [], []
    for e in evs:
        t = e.value["ts"]
        if t < highest - lateness:
            expected_late.append(e)
        else:
            on_time.append(e)
            highest = max(highest, t)
    assert late == expected_late
    expected = model_of(model([(e.value["ts"], e.meta[SERVER]["peer"], e.value["tag"]) for e in on_time]))
    assert windows_of(out) == expected
