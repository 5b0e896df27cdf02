"""Windows under gevent: nothing lost, duplicated or reordered when the downstream yields
(``gevent.sleep`` or a real socket write) while producers and timers keep running.

Runs both unpatched and monkey-patched; uses ``gevent.socket`` explicitly.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
import gevent.socket
from gevent import monkey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reactivex.subject import Subject
from rxunix.event import Event, EventBatch
from rxunix.operators import (
    TumblingWindow,
    connection_key,
    reducers,
    tumbling_count,
    tumbling_count_or_time,
    tumbling_time,
)
from rxunix.origin import SERVER

from rxunix.edge.ports import EventSubject
from tests._unguarded_windows import unguarded
from tests.helpers import wait_for

PROPS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=False
)


def sev(value: Any, peer: int) -> Event:
    return Event(value, {SERVER: {"path": "/s", "peer": peer}})


class YieldingSink:
    """A downstream that yields on every aggregate: ``gevent.sleep(0)`` or a socket write."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.aggregates: list[Event] = []
        self.completed = False
        self.errors: list[Exception] = []
        self.a, self.b = gevent.socket.socketpair()
        self.received = 0
        self.reader = gevent.spawn(self._read)

    def _read(self) -> None:
        while True:
            data = self.b.recv(65536)
            if not data:
                return
            self.received += len(data)

    def on_next(self, agg: Event) -> None:
        self.aggregates.append(agg)
        if self.mode == "socket":
            self.a.sendall(repr(agg.value).encode() + b"\n")
        gevent.sleep(0)

    def on_error(self, e: Exception) -> None:
        self.errors.append(e)

    def on_completed(self) -> None:
        self.completed = True

    def close(self) -> None:
        self.a.close()
        self.reader.join(5)
        self.b.close()


def run_producers(op: TumblingWindow, plan: list[list[float]], mode: str,
                  batch: int = 1) -> tuple[list[Event], YieldingSink]:
    """Each inner list is one producer greenlet: it sends one event per entry, then
    sleeps that many seconds. Returns the events in the order they were sent. With
    ``batch > 1`` the source is a connector's ``out`` (an ``EventSubject``) and each
    producer hands over up to ``batch`` events at once (``on_next_batch``): every other
    one a lazy read (values and the producer's one metadata object, no events built, as
    a connector's read), the others a list of events."""
    src: Subject[Event] = EventSubject(owner=None) if batch > 1 else Subject()
    sink = YieldingSink(mode)
    src.pipe(op).subscribe(sink.on_next, sink.on_error, sink.on_completed)
    sent: list[Event] = []

    def producer(p: int, delays: list[float]) -> None:
        meta = sev(None, peer=p).meta  # the producer's read metadata
        for k in range(0, len(delays), batch):
            evs = [sev((p, i), peer=p) for i in range(k, min(k + batch, len(delays)))]
            sent.extend(evs)
            if batch > 1:
                assert isinstance(src, EventSubject) and src.batch_observers  # the window takes batches
                read = EventBatch.of([e.value for e in evs], meta, clean=True, lazy=True) if k // batch % 2 else evs
                assert src.on_next_batch(read) == []
            else:
                src.on_next(evs[0])
            gevent.sleep(delays[k + len(evs) - 1])

    gevent.joinall([gevent.spawn(producer, p, d) for p, d in enumerate(plan)], raise_error=True)
    src.on_completed()
    wait_for(lambda: sink.completed, 5, "window completion")
    sink.close()
    assert not sink.errors
    return sent, sink


def check_lossless(sent: list[Event], aggregates: list[Event], grouped: bool) -> None:
    out = [v for agg in aggregates for v in agg.value]
    assert all(agg.value for agg in aggregates), "an empty window was emitted"
    counts = collections.Counter(out)
    assert not [v for v, c in counts.items() if c > 1], "duplicates"
    assert len(out) == len(sent), f"lost {len(sent) - len(out)} of {len(sent)}"
    values = [e.value for e in sent]
    if grouped:
        for p in {v[0] for v in values}:
            assert [v for v in out if v[0] == p] == [v for v in values if v[0] == p]
    else:
        assert out == values  # global order kept
    for agg in aggregates:  # every contributor is in the merged origins, once
        peers = [r["peer"] for r in agg.meta[SERVER]]
        assert sorted(peers) == sorted({v[0] for v in agg.value})


delays = st.lists(st.sampled_from([0.0, 0.0, 0.0, 0.0005, 0.001, 0.003]), min_size=0, max_size=25)
plans = st.lists(delays, min_size=1, max_size=4)
modes = st.sampled_from(["sleep", "socket"])
#: events per hand-over: 1 (a Subject, event by event) or a batch from a connector's ``out``
batches = st.sampled_from([1, 4])
windows: st.SearchStrategy[tuple[str, Callable[[Any], TumblingWindow]]] = st.sampled_from(
    [
        ("count", lambda key: tumbling_count(3, key=key)),
        ("count1", lambda key: tumbling_count(1, key=key)),
        ("time", lambda key: tumbling_time(0.002, key=key)),
        ("count_or_time", lambda key: tumbling_count_or_time(4, 0.001, key=key)),
        ("count10_or_time", lambda key: tumbling_count_or_time(10, 0.003, key=key)),
    ]
)
chunks = st.sampled_from([1, 2, 3, 32])  # events handed to RxPY's buffer operator at a time


@PROPS
@given(plan=plans, mode=modes, window=windows, grouped=st.booleans(), chunk=chunks, batch=batches)
def test_nothing_lost_duplicated_or_reordered(
    plan: list[list[float]],
    mode: str,
    window: tuple[str, Callable[[Any], TumblingWindow]],
    grouped: bool,
    chunk: int,
    batch: int,
) -> None:
    _, factory = window
    op = factory(connection_key if grouped else None)
    op.chunk = chunk
    sent, sink = run_producers(op, plan, mode, batch)
    check_lossless(sent, sink.aggregates, grouped)
    assert op.live_groups == 0


BUSY_PLAN = [[0.0005 if (i * 7 + p) % 10 < 3 else 0.0 for i in range(500)] for p in range(4)]


def test_busy_stream_with_yielding_socket_downstream() -> None:
    """The probe that makes RxPY's buffer_with_time_or_count lose items: 4 producers,
    2000 events, a socket write per aggregate."""
    ops_ = [tumbling_count_or_time(10, 0.002), tumbling_count(10), tumbling_time(0.002)]
    ops_ += [tumbling_count_or_time(100, 0.005), tumbling_count(100)]  # several chunks per window
    for op in ops_:
        sent, sink = run_producers(op, BUSY_PLAN, "socket")
        check_lossless(sent, sink.aggregates, grouped=False)
        assert sink.received > 0


def lost_by(op: TumblingWindow) -> tuple[int, int]:
    """The busy-stream probe, tolerating a window that raises into its producers:
    (events not in any aggregate, exceptions the producers got)."""
    src: Subject[Event] = Subject()
    sink = YieldingSink("socket")
    src.pipe(op).subscribe(sink.on_next, sink.on_error, sink.on_completed)
    raised = 0
    sent = 0

    def producer(p: int, delays: list[float]) -> None:
        nonlocal raised, sent
        for i, delay in enumerate(delays):
            sent += 1
            try:
                src.on_next(sev((p, i), peer=p))
            except Exception:  # RxPY's window_with_count: IndexError when entered re-entrantly
                raised += 1
            gevent.sleep(delay)

    gevent.joinall([gevent.spawn(producer, p, d) for p, d in enumerate(BUSY_PLAN)], raise_error=True)
    src.on_completed()
    wait_for(lambda: sink.completed, 5, "window completion")
    sink.close()
    out = [v for agg in sink.aggregates for v in agg.value]
    assert len(out) == len(set(out)), "duplicates"
    return sent - len(out), raised


def test_the_guard_is_what_makes_the_rx_chain_lossless() -> None:
    """The same RxPY chain (per-group source -> buffer operator) without the guard
    loses items when the downstream yields; guarded, it loses none. This documents
    the trap and shows that the lossless tests above can fail."""
    patched = monkey.is_module_patched("threading")
    # buffer_with_count has no lock at all: it loses, patched or not
    lost, raised = lost_by(unguarded(tumbling_count(10)))
    assert lost > 0 and raised > 0, (lost, raised)
    # buffer_with_time_or_count's RLock excludes nothing between greenlets unpatched:
    # items go into completed window Subjects and vanish silently
    lost, raised = lost_by(unguarded(tumbling_count_or_time(10, 0.002)))
    if not patched:  # patched, the RLock becomes greenlet-aware and this one holds
        assert lost > 0 and raised == 0, (lost, raised)
    for op in (tumbling_count(10), tumbling_count_or_time(10, 0.002), tumbling_time(0.002)):
        assert lost_by(op) == (0, 0)


def test_timer_closes_windows_while_producers_sleep() -> None:
    op = tumbling_time(0.2, reduce=reducers.count())
    src: Subject[Event] = Subject()
    sink = YieldingSink("socket")
    src.pipe(op).subscribe(sink.on_next, sink.on_error, sink.on_completed)
    src.on_next(sev(1, 1))
    src.on_next(sev(2, 2))
    wait_for(lambda: len(sink.aggregates) == 1, 5, "the timer to close the window")
    assert sink.aggregates[0].value == 2 and op.live_groups == 1
    # the next window passes empty: the idle group is forgotten, nothing emitted
    wait_for(lambda: op.live_groups == 0, 5, "the idle group to end")
    assert len(sink.aggregates) == 1
    src.on_completed()  # queued if the timer greenlet is still in the downstream
    wait_for(lambda: sink.completed, 5, "completion")
    assert len(sink.aggregates) == 1  # nothing left to flush
    sink.close()


def test_the_timer_greenlet_is_not_killed_while_it_delivers() -> None:
    """RxPY's time-or-count window replaces (disposes) the timer that is running, and
    GEventScheduler disposes by killing the timer's greenlet. Through the guard, that
    greenlet may be the owner delivering later aggregates: it must not be killed."""
    op = tumbling_count_or_time(2, 0.01)
    src: Subject[Event] = Subject()
    started: list[Any] = []
    finished: list[Any] = []

    def on_next(agg: Event) -> None:
        started.append(agg.value)
        for _ in range(3):
            gevent.sleep(0.001)
        finished.append(agg.value)

    src.pipe(op).subscribe(on_next)
    src.on_next(sev(1, 1))  # the timer (0.01 s) will deliver [1] from its greenlet

    def late_producer() -> None:
        wait_for(lambda: started == [[1]], 5, "the timer's aggregate")
        src.on_next(sev(2, 1))  # queued: the timer greenlet owns the window
        src.on_next(sev(3, 1))  # closes [2, 3]: delivered by the timer greenlet too

    gevent.spawn(late_producer).join(5)
    wait_for(lambda: len(finished) == 2, 5, "both aggregates delivered completely")
    assert started == finished == [[1], [2, 3]]
    src.on_completed()


def test_ten_thousand_connection_groups_are_released() -> None:
    """10,000 short connections each send one event into per-connection windows and
    close: every group is released (its partial window flushed), none stays live."""
    closed: Subject[Any] = Subject()
    op = tumbling_count_or_time(3, 60.0, key=connection_key, release=closed)
    src: Subject[Event] = Subject()
    out: list[Event] = []
    src.pipe(op).subscribe(out.append)
    for peer in range(10_000):
        src.on_next(sev(peer, peer))
        if peer % 1000 == 999:
            assert op.live_groups == 1000
            gevent.sleep(0)
            for p in range(peer - 999, peer + 1):
                closed.on_next(sev(None, p))  # the connection-closed notice
            assert op.live_groups == 0
    assert len(out) == 10_000
    assert [e.value for e in out[:3]] == [[0], [1], [2]]
    assert op.live_groups == 0
    src.on_completed()


def test_release_while_downstream_yields_is_ordered() -> None:
    """A release that arrives while the owner is blocked downstream is queued, not lost."""
    closed: Subject[Any] = Subject()
    op = tumbling_count(2, key=connection_key, release=closed)
    src: Subject[Event] = Subject()
    sink = YieldingSink("sleep")
    src.pipe(op).subscribe(sink.on_next, sink.on_error, sink.on_completed)
    src.on_next(sev("b1", 2))
    done = gevent.spawn(lambda: (src.on_next(sev("a1", 1)), src.on_next(sev("a2", 1))))  # closes, yields
    gevent.spawn(closed.on_next, (SERVER, "/s", 2))  # runs while the sink sleeps
    done.join(5)
    wait_for(lambda: len(sink.aggregates) == 2, 5, "both aggregates")
    assert [a.value for a in sink.aggregates] == [["a1", "a2"], ["b1"]]
    assert op.live_groups == 1  # a count window's group lives on until released
    closed.on_next((SERVER, "/s", 1))
    assert op.live_groups == 0 and len(sink.aggregates) == 2  # its window was empty
    sink.close()


def test_downstream_exception_does_not_wedge_the_window() -> None:
    op = tumbling_count(1)
    src: Subject[Event] = Subject()
    seen: list[Any] = []

    def on_next(agg: Event) -> None:
        seen.append(agg.value)
        if agg.value == [2]:
            raise RuntimeError("downstream failed")

    src.pipe(op).subscribe(on_next)
    src.on_next(sev(1, 1))
    try:
        src.on_next(sev(2, 1))
    except RuntimeError:
        pass
    src.on_next(sev(3, 1))
    assert seen == [[1], [2], [3]]


def test_downstream_exception_in_a_batch_reaches_the_feeder_once_and_loses_nothing() -> None:
    """A connector's ``out`` hands a read over whole: the window takes every event of
    it, the first exception the downstream raised is reported for that batch, and the
    window goes on with the next batch."""
    op = tumbling_count(1)
    src = EventSubject(owner=None)
    seen: list[Any] = []

    def on_next(agg: Event) -> None:
        seen.append(agg.value)
        if agg.value in ([2], [3]):
            raise RuntimeError(f"downstream failed on {agg.value}")

    src.pipe(op).subscribe(on_next)
    failures = src.on_next_batch([sev(i, 1) for i in range(1, 5)])
    assert [str(f) for f in failures] == ["downstream failed on [2]"]
    assert src.on_next_batch([sev(5, 1)]) == []
    assert seen == [[1], [2], [3], [4], [5]]


def test_a_batch_fed_while_the_window_is_owned_is_queued_whole_and_in_order() -> None:
    """A second feeder hands over a batch while the first is blocked downstream: the
    batch is queued whole and taken, in order, once the first returns."""
    op = tumbling_count(1)
    src = EventSubject(owner=None)
    seen: list[Any] = []
    blocked = gevent.event.Event()

    def on_next(agg: Event) -> None:
        seen.append(agg.value)
        if agg.value == [0]:
            blocked.wait(5)  # the owner yields here

    src.pipe(op).subscribe(on_next)
    first = gevent.spawn(src.on_next_batch, [sev(0, 1)])
    gevent.sleep(0)
    assert src.on_next_batch([sev(i, 2) for i in range(1, 4)]) == []  # queued: the window is owned
    assert seen == [[0]]
    blocked.set()
    first.join(5)
    assert seen == [[0], [1], [2], [3]]
