"""Window operators: pure core, exact boundaries in virtual time, semantics (no gevent needed)."""

from __future__ import annotations

from datetime import timedelta
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
    TumblingWindow,
    aggregated,
    connection_key,
    reducers,
    tumbling_count,
    tumbling_count_or_time,
    tumbling_time,
)
from rxunix.origin import CLIENT, SERVER, merge_origins

from rxunix.rx.windows import GuardedScheduler

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error


def sev(value: object, peer: int, path: str = "/s") -> Event:
    return Event(value, {SERVER: {"path": path, "peer": peer}})


def collect(source: rx.Observable[Event]) -> tuple[list[Event], list[str]]:
    out: list[Event] = []
    log: list[str] = []
    source.subscribe(out.append, lambda e: log.append(f"error:{e}"), lambda: log.append("completed"))
    return out, log


# ---- count windows -----------------------------------------------------------
def test_count_window_values_and_merged_origins() -> None:
    evs = [sev(i, peer=i % 3) for i in range(7)]
    out, log = collect(rx.from_iterable(evs).pipe(tumbling_count(3)))
    assert [e.value for e in out] == [[0, 1, 2], [3, 4, 5], [6]]  # completion flushes the partial window
    assert [[r["peer"] for r in e.meta[SERVER]] for e in out] == [[0, 1, 2], [0, 1, 2], [0]]
    assert log == ["completed"]


def test_origins_of_two_connectors_are_kept_apart() -> None:
    evs = [
        sev(1, peer=1, path="/a"),
        sev(2, peer=1, path="/b"),
        Event(3, {CLIENT: {"peer": "/c"}}),
        sev(4, peer=1, path="/a"),
    ]
    out, _ = collect(rx.from_iterable(evs).pipe(tumbling_count(4)))
    (agg,) = out
    assert agg.meta[SERVER] == [{"path": "/a", "peer": 1}, {"path": "/b", "peer": 1}]
    assert agg.meta[CLIENT] == [{"peer": "/c"}]


def test_grouped_count_windows() -> None:
    evs = [sev(f"{p}{i}", peer=p) for i in range(3) for p in (1, 2)]
    out, _ = collect(rx.from_iterable(evs).pipe(tumbling_count(2, key=connection_key)))
    assert [e.value for e in out] == [["10", "11"], ["20", "21"], ["12"], ["22"]]
    assert [e.meta[SERVER][0]["peer"] for e in out] == [1, 2, 1, 2]


def test_empty_source_emits_nothing() -> None:
    out, log = collect(rx.empty().pipe(tumbling_count_or_time(3, 1.0)))
    assert out == [] and log == ["completed"]


def test_reducers() -> None:
    vals = [{"x": 1, "y": 2.5}, {"x": 4, "y": 0.5}, {"x": 7, "y": 1.0}]
    evs = [sev(v, 1) for v in vals]
    for reduce, expected in [
        (reducers.count(), 3),
        (reducers.sum("x"), 12),
        (reducers.min("y"), 0.5),
        (reducers.max(lambda v: v["x"] * v["y"]), 7.0),
        (reducers.mean("x"), 4.0),
        (reducers.collect(), vals),
    ]:
        out, _ = collect(rx.from_iterable(evs).pipe(tumbling_count(3, reduce=reduce)))
        assert [e.value for e in out] == [expected]
        assert out[0].meta[SERVER] == [{"path": "/s", "peer": 1}]
    assert reducers.sum()([1, 2]) == 3


def test_reducer_error_is_an_error_event_and_stream_continues() -> None:
    evs = [sev({"x": 1}, 1), sev({"nope": 2}, 2), sev({"x": 3}, 3), sev({"x": 4}, 4)]
    out, log = collect(rx.from_iterable(evs).pipe(tumbling_count(2, reduce=reducers.sum("x"))))
    assert log == ["completed"]
    assert len(out) == 2
    bad, good = out
    assert bad.is_error and not good.is_error
    assert bad.value["action"] == "reduce" and bad.value["kind"] == "KeyError"
    assert bad.value["values"] == [{"x": 1}, {"nope": 2}]  # the window's data is not lost
    assert [r["peer"] for r in bad.meta[SERVER]] == [1, 2]
    assert good.value == 7


def test_reducer_error_to_errors_observer() -> None:
    errors: list[Event] = []
    sink: Subject[Event] = Subject()
    sink.subscribe(errors.append)
    evs = [sev("a", 1), sev(2, 1), sev(3, 1), sev(4, 1)]
    out, log = collect(rx.from_iterable(evs).pipe(tumbling_count(2, reduce=reducers.sum(), errors=sink)))
    assert [e.value for e in out] == [7]
    assert len(errors) == 1 and errors[0].is_error and errors[0].value["values"] == ["a", 2]
    assert log == ["completed"]


def test_source_error_flushes_then_errors() -> None:
    src: Subject[Event] = Subject()
    out, log = collect(src.pipe(tumbling_count(3)))
    src.on_next(sev(1, 1))
    src.on_error(RuntimeError("boom"))
    assert [e.value for e in out] == [[1]]
    assert log == ["error:boom"]


def test_release_flushes_and_forgets_group() -> None:
    src: Subject[Event] = Subject()
    closed: Subject[object] = Subject()
    op = tumbling_count(3, key=connection_key, release=closed)
    out, _ = collect(src.pipe(op))
    src.on_next(sev("a", 1))
    src.on_next(sev("b", 2))
    assert op.live_groups == 2
    closed.on_next(("unix_socket_server", "/s", 1))  # a key
    assert [e.value for e in out] == [["a"]] and op.live_groups == 1
    closed.on_next(sev(None, 2))  # an Event: mapped through the key function
    assert [e.value for e in out] == [["a"], ["b"]] and op.live_groups == 0
    closed.on_next(("unix_socket_server", "/s", 99))  # unknown key: nothing
    assert len(out) == 2


def test_dispose_cancels_everything() -> None:
    scheduler = TestScheduler()
    src: Subject[Event] = Subject()
    op = tumbling_time(10, scheduler=scheduler)
    out: list[Event] = []
    d = src.pipe(op).subscribe(out.append)
    src.on_next(sev(1, 1))
    assert op.live_groups == 1
    d.dispose()
    assert op.live_groups == 0
    scheduler.advance_by(100)
    assert out == []


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"count": 0}, {"count": 1.5}, {"count": True}, {"seconds": 0}, {"seconds": -1}, {"seconds": "1"}],
)
def test_bad_arguments(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        TumblingWindow(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        tumbling_count(3, key="peer")  # type: ignore[arg-type]


# ---- exact boundaries in virtual time ---------------------------------------
def _run_virtual(op_factory, messages):  # type: ignore[no-untyped-def]
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(*messages)
    res = scheduler.start(lambda: xs.pipe(op_factory(scheduler)))
    return [
        (m.time, m.value.kind, m.value.value.value if m.value.kind == "N" else None) for m in res.messages
    ]


def test_time_window_boundaries_virtual() -> None:
    # Subscribed at 200. A group's first event opens its first window; RxPY's
    # buffer_with_time then cuts back-to-back windows of 50 ticks from there. A
    # window closes when its timer runs: an event at the same instant was scheduled
    # first (a hot observable's messages are), so it still joins (RxPY's rule).
    # A window that passes empty ends the group; the next event opens a new one.
    msgs = [
        on_next(210, sev(1, 1)),  # opens [210, 260)
        on_next(259, sev(2, 1)),
        on_next(260, sev(3, 1)),  # a tie: joins [210, 260)
        on_next(261, sev(4, 1)),  # [260, 310)
        on_next(310, sev(5, 1)),  # a tie again
        # [310, 360) passes empty: no empty aggregate, the group ends at 360
        on_next(400, sev(6, 1)),  # a new group: [400, 450)
        on_next(449, sev(7, 1)),
        on_next(455, sev(8, 1)),  # [450, 500)
        on_completed(470),  # flushes the open window
    ]
    got = _run_virtual(lambda s: tumbling_time(50, scheduler=s), msgs)
    assert got == [
        (260, "N", [1, 2, 3]),
        (310, "N", [4, 5]),
        (450, "N", [6, 7]),
        (470, "N", [8]),
        (470, "C", None),
    ]


def test_time_window_timedelta_and_float_seconds_virtual() -> None:
    msgs = [on_next(210, sev(1, 1)), on_next(215, sev(2, 1)), on_next(216, sev(3, 1)), on_completed(300)]
    for seconds in (5.5, timedelta(seconds=5.5)):
        got = _run_virtual(lambda s, secs=seconds: tumbling_time(secs, scheduler=s), msgs)
        assert got == [(215.5, "N", [1, 2]), (221, "N", [3]), (300, "C", None)]


def test_count_or_time_boundaries_virtual() -> None:
    # RxPY's buffer_with_time_or_count: a window closes after 4 events or 50 ticks;
    # the next window (and its timer) starts right then.
    msgs = [
        on_next(210, sev(1, 1)),  # opens [210, 260)
        on_next(220, sev(2, 1)),
        on_next(230, sev(3, 1)),
        on_next(235, sev(4, 1)),  # count 4 closes at 235; the next window is [235, 285)
        on_next(240, sev(5, 1)),
        on_next(285, sev(6, 1)),  # a tie: joins [235, 285)
        on_next(286, sev(7, 1)),  # [285, 335)
        on_next(290, sev(8, 1)),
        # [335, 385) passes empty: the group ends
        on_next(500, sev(9, 1)),  # a new group: [500, 550)
        on_completed(600),
    ]
    got = _run_virtual(lambda s: tumbling_count_or_time(4, 50, scheduler=s), msgs)
    assert got == [
        (235, "N", [1, 2, 3, 4]),
        (285, "N", [5, 6]),
        (335, "N", [7, 8]),
        (550, "N", [9]),
        (600, "C", None),
    ]


class CountingScheduler(TestScheduler):
    """A TestScheduler that counts the actions scheduled on it."""

    def __init__(self) -> None:
        super().__init__()
        self.scheduled = 0

    def schedule_absolute(self, duetime, action, state=None):  # type: ignore[no-untyped-def]
        self.scheduled += 1
        return super().schedule_absolute(duetime, action, state)


@pytest.mark.parametrize("count", [None, 3])
def test_idle_groups_cost_no_timer(count: int | None) -> None:
    scheduler = CountingScheduler()
    src: Subject[Event] = Subject()
    op = TumblingWindow(count=count, seconds=10, key=connection_key, scheduler=scheduler)
    out: list[Event] = []
    src.pipe(op).subscribe(out.append)
    src.on_next(sev("a", 1))
    src.on_next(sev("b", 2))
    assert op.live_groups == 2
    scheduler.advance_to(10)
    assert [e.value for e in out] == [["a"], ["b"]] and op.live_groups == 2
    scheduler.advance_to(20)  # an empty window passes: both groups end, with their timers
    assert op.live_groups == 0
    ticks = scheduler.scheduled
    scheduler.advance_to(1000)
    assert scheduler.scheduled == ticks  # nothing ticks for idle groups
    assert len(out) == 2
    src.on_next(sev("c", 1))  # a new group, its window starts now
    scheduler.advance_to(1009)
    assert len(out) == 2
    scheduler.advance_to(1010)
    assert [e.value for e in out] == [["a"], ["b"], ["c"]]


def test_grouped_time_windows_virtual() -> None:
    msgs = [
        on_next(210, sev("a1", 1)),
        on_next(230, sev("b1", 2)),
        on_next(250, sev("a2", 1)),
        on_next(270, sev("b2", 2)),
        on_completed(400),
    ]
    got = _run_virtual(lambda s: tumbling_time(50, key=connection_key, scheduler=s), msgs)
    assert got == [(260, "N", ["a1", "a2"]), (280, "N", ["b1", "b2"]), (400, "C", None)]


def test_subscriber_scheduler_is_used_when_none_given() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, sev(1, 1)), on_completed(500))
    res = scheduler.start(lambda: xs.pipe(tumbling_time(30)))
    assert [(m.time, m.value.kind) for m in res.messages] == [(240, "N"), (500, "C")]


# ---- helpers for plain Rx aggregation ----------------------------------------
def test_aggregated_with_plain_rx_group_by() -> None:
    evs = [sev(i, peer=i % 2) for i in range(6)]
    out, _ = collect(
        rx.from_iterable(evs).pipe(
            ops.group_by(connection_key),
            ops.flat_map(lambda g: g.pipe(ops.to_list(), aggregated(sum))),
        )
    )
    assert sorted((e.value, e.meta[SERVER][0]["peer"]) for e in out) == [(6, 0), (9, 1)]
    empty, _ = collect(rx.of([]).pipe(aggregated()))
    assert empty == []


def test_connection_key() -> None:
    assert connection_key(sev(1, 5)) == (SERVER, "/s", 5)
    assert connection_key(Event(1, {CLIENT: {"peer": "/p"}})) == (CLIENT, "/p")
    assert connection_key(Event(1)) is None


# ---- merge_origins: merging runs of one metadata object once changes nothing ----
_metas = [
    {SERVER: {"path": "/s", "peer": 1}, "k": 1},
    {SERVER: {"path": "/s", "peer": 2}, "k": 2, "only2": True},
    {SERVER: {"path": "/t", "peer": 1}},
    {CLIENT: {"peer": "/c"}, "k": 4},
    {SERVER: [{"path": "/s", "peer": 1}, {"path": "/s", "peer": 5}], "k": 5},
    {"k": 6},
]


def _merge_by_hand(metas: list[dict[str, Any]]) -> dict[str, Any]:
    """The definition: origin records first-seen and distinct, other keys last wins."""
    merged: dict[str, Any] = {}
    records: dict[str, list[Any]] = {SERVER: [], CLIENT: []}
    for meta in metas:
        for k, v in meta.items():
            if k in records:
                for rec in v if isinstance(v, list) else [v]:
                    if (rec.get("path"), rec.get("peer")) not in [(r.get("path"), r.get("peer")) for r in records[k]]:
                        records[k].append(rec)
            else:
                merged[k] = v
    merged.update({k: v for k, v in records.items() if v})
    return merged


@given(st.lists(st.integers(0, len(_metas) - 1), min_size=1, max_size=30), st.booleans())
def test_merge_origins_of_shared_metadata_equals_the_definition(picks: list[int], shared: bool) -> None:
    frozen = [MappingProxyType(m) for m in _metas]
    evs = [Event(i, frozen[p] if shared else dict(_metas[p])) for i, p in enumerate(picks)]
    assert merge_origins(evs) == _merge_by_hand([dict(_metas[p]) for p in picks])


def test_failing_key_is_an_error_event_and_stream_continues() -> None:
    evs = [sev({"g": 1}, 1), sev("no-dict", 2), sev({"g": 1}, 3)]
    out, log = collect(rx.from_iterable(evs).pipe(tumbling_count(2, key=lambda e: e.value["g"])))
    assert log == ["completed"]
    bad, good = out
    assert bad.is_error and bad.value["action"] == "key" and bad.value["values"] == ["no-dict"]
    assert bad.meta[SERVER] == {"path": "/s", "peer": 2}
    assert good.value == [{"g": 1}, {"g": 1}]


def test_none_values_are_windowed_too() -> None:
    out, _ = collect(rx.from_iterable([Event(None), Event(None), Event(None)]).pipe(tumbling_count(2)))
    assert [e.value for e in out] == [[None, None], [None]]


# ---- the guarded scheduler -----------------------------------------------------
def test_guarded_scheduler_routes_actions_and_never_cancels_a_fired_timer() -> None:
    vt = TestScheduler()
    queued: list[tuple[Any, Any]] = []
    guarded = GuardedScheduler(vt, lambda timer, run: queued.append((timer, run)))
    ran: list[float] = []

    def action(_s: object, _st: object = None) -> None:
        ran.append(vt.clock)

    t1 = guarded.schedule_relative(5, action)
    t2 = guarded.schedule_absolute(7, action)
    t3 = guarded.schedule_relative(9, action)
    assert guarded.now == vt.now
    t3.dispose()  # not fired yet: cancelled in the real scheduler
    vt.advance_to(5)
    assert ran == [] and len(queued) == 1  # fired, but only queued: the owner runs it
    timer1, run1 = queued.pop()
    assert timer1 is t1 and timer1.fired and not timer1.cancelled
    run1()
    assert ran == [5]
    vt.advance_to(20)
    assert len(queued) == 1  # t2 fired at 7, t3 never did
    timer2, _ = queued.pop()
    assert timer2 is t2
    t2.dispose()  # fired and queued: marked cancelled (the owner skips it), the timer left alone
    assert timer2.cancelled and timer2.inner is not None


def test_source_error_is_passed_on_after_the_flush_of_every_group() -> None:
    src: Subject[Event] = Subject()
    out, log = collect(src.pipe(tumbling_count(5, key=connection_key)))
    src.on_next(sev("a", 1))
    src.on_next(sev("b", 2))
    src.on_next(sev("c", 1))
    src.on_error(ValueError("bad"))
    assert [e.value for e in out] == [["a", "c"], ["b"]]
    assert log == ["error:bad"]
    src.on_next(sev("d", 1))  # after the end: ignored
    assert len(out) == 2


def test_release_with_a_failing_key_is_an_error_event() -> None:
    src: Subject[Event] = Subject()
    closed: Subject[object] = Subject()
    op = tumbling_count(3, key=lambda e: e.value["g"], release=closed)
    out, _ = collect(src.pipe(op))
    src.on_next(sev({"g": 1}, 1))
    closed.on_next(sev("no-dict", 9))
    assert len(out) == 1 and out[0].is_error and out[0].value["action"] == "key"
    closed.on_next(sev({"g": 1}, 9))
    assert [e.value for e in out[1:]] == [[{"g": 1}]] and op.live_groups == 0


# ---- events reach RxPY's buffer operator in chunks -------------------------------
def test_the_rx_buffer_operator_holds_the_window_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    from rxunix.rx.windows import tumbling as windows

    received: list[int] = []  # the size of each item RxPY's buffer operator receives
    real_buffer = windows.ops.buffer

    def spying_buffer(boundaries: rx.Observable[Any]) -> Any:
        def op(source: rx.Observable[Any]) -> rx.Observable[Any]:
            return source.pipe(ops.do_action(lambda chunk: received.append(len(chunk))), real_buffer(boundaries))

        return op

    monkeypatch.setattr(windows.ops, "buffer", spying_buffer)
    evs = [sev(i, peer=1) for i in range(250)]
    op = tumbling_count_or_time(100, 3600.0)  # a window with a duration: RxPY's buffer operator
    assert op.chunk == windows.CHUNK == 32
    out, log = collect(rx.from_iterable(evs).pipe(op))
    assert [e.value for e in out] == [list(range(100)), list(range(100, 200)), list(range(200, 250))]
    assert log == ["completed"]
    # each window: three full chunks held by RxPY, the rest handed at the boundary
    assert received == [32, 32, 32, 4, 32, 32, 32, 4, 32, 18]


def _reference(evs: list[Event], count: int, keyed: bool) -> list[list[object]]:
    """Count windows by hand: per key, cut every ``count``; completion flushes the
    open windows, oldest group first (a count-only group lives until the end)."""
    out: list[list[object]] = []
    open_: dict[object, list[object]] = {}
    for e in evs:
        k = connection_key(e) if keyed else None
        window = open_.setdefault(k, [])
        window.append(e.value)
        if len(window) == count:
            out.append(window)
            open_[k] = []
    out.extend(w for w in open_.values() if w)
    return out


@given(
    peers=st.lists(st.integers(0, 3), max_size=200),
    count=st.integers(1, 70),
    chunk=st.integers(1, 40),
    keyed=st.booleans(),
)
def test_any_chunk_size_cuts_the_same_windows(peers: list[int], count: int, chunk: int, keyed: bool) -> None:
    """Count windows with a duration (never reached here) run RxPY's buffer operator,
    fed in chunks of any size; count-only windows run the count core: the same windows."""
    evs = [sev(i, peer=p) for i, p in enumerate(peers)]
    key = connection_key if keyed else None
    for op in (tumbling_count_or_time(count, 3600.0, key=key), tumbling_count(count, key=key)):
        op.chunk = chunk
        out, log = collect(rx.from_iterable(evs).pipe(op))
        assert [e.value for e in out] == _reference(evs, count, keyed)
        assert log == ["completed"]


def test_count_only_windows_run_the_count_core_of_buffer_with_count() -> None:
    """``tumbling_count(n)`` is RxPY's ``buffer_with_count(n)``, i.e. ``buffer_with_count(n, n)``:
    the count core of the sliding windows with step ``n``, not RxPY's ``ops.buffer``."""
    from rxunix.rx.windows.sliding import SlidingCountChain

    op = tumbling_count(3)
    assert isinstance(op.chain(Subject(), None), SlidingCountChain)
    assert not isinstance(tumbling_count_or_time(3, 1.0).chain(Subject(), TestScheduler()), SlidingCountChain)
    values = list(range(8))
    want: list[list[int]] = []
    rx.from_iterable(values).pipe(ops.buffer_with_count(3)).subscribe(want.append)
    out, _ = collect(rx.from_iterable([sev(v, peer=1) for v in values]).pipe(op))
    assert [e.value for e in out] == want == [[0, 1, 2], [3, 4, 5], [6, 7]]


@pytest.mark.parametrize("make", ["tumbling", "sliding"])
def test_a_count_window_without_release_says_once_when_it_keeps_many_groups(
        make: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    from reactivex.subject import Subject

    from rxunix.rx.windows import ManyGroupsWarning, outputs, sliding_count, tumbling_count

    monkeypatch.setattr(outputs, "MANY_GROUPS", 50)
    for release in (None, Subject()):
        window = tumbling_count(2, key=lambda e: e.value, release=release) if make == "tumbling" else (
            sliding_count(2, 1, key=lambda e: e.value, release=release))
        src: Subject[Event] = Subject()
        src.pipe(window).subscribe(lambda _e: None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for i in range(120):  # a group per key, none ever complete
                src.on_next(Event(i))
        said = [w for w in caught if issubclass(w.category, ManyGroupsWarning)]
        assert len(said) == (1 if release is None else 0)  # once, and never with release=
        if said:
            assert "release=server.closed" in str(said[0].message)
