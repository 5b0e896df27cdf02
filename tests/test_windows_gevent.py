"""Windows under gevent: nothing lost, duplicated or reordered when the downstream yields
(``gevent.sleep`` or a real socket write) while producers and timers keep running.

Runs both unpatched and monkey-patched; uses ``gevent.socket`` explicitly.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import gevent
import gevent.socket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reactivex.subject import Subject

from rxunix.event import Event
from rxunix.operators import (
    TumblingWindow,
    connection_key,
    reducers,
    tumbling_count,
    tumbling_count_or_time,
    tumbling_time,
)
from rxunix.origin import SERVER
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


def run_producers(op: TumblingWindow, plan: list[list[float]], mode: str) -> tuple[list[Event], YieldingSink]:
    """Each inner list is one producer greenlet: it sends one event per entry, then
    sleeps that many seconds. Returns the events in the order they were sent."""
    src: Subject[Event] = Subject()
    sink = YieldingSink(mode)
    src.pipe(op).subscribe(sink.on_next, sink.on_error, sink.on_completed)
    sent: list[Event] = []

    def producer(p: int, delays: list[float]) -> None:
        for i, delay in enumerate(delays):
            ev = sev((p, i), peer=p)
            sent.append(ev)
            src.on_next(ev)
            gevent.sleep(delay)

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
windows: st.SearchStrategy[tuple[str, Callable[[Any], TumblingWindow]]] = st.sampled_from(
    [
        ("count", lambda key: tumbling_count(3, key=key)),
        ("count1", lambda key: tumbling_count(1, key=key)),
        ("time", lambda key: tumbling_time(0.002, key=key)),
        ("count_or_time", lambda key: tumbling_count_or_time(4, 0.001, key=key)),
    ]
)


@PROPS
@given(plan=plans, mode=modes, window=windows, grouped=st.booleans())
def test_nothing_lost_duplicated_or_reordered(
    plan: list[list[float]], mode: str, window: tuple[str, Callable[[Any], TumblingWindow]], grouped: bool
) -> None:
    _, factory = window
    op = factory(connection_key if grouped else None)
    sent, sink = run_producers(op, plan, mode)
    check_lossless(sent, sink.aggregates, grouped)
    assert op.live_groups == 0


def test_busy_stream_with_yielding_socket_downstream() -> None:
    """The probe that makes RxPY's buffer_with_time_or_count lose items: 4 producers,
    2000 events, a socket write per aggregate."""
    plan = [[0.0005 if (i * 7 + p) % 10 < 3 else 0.0 for i in range(500)] for p in range(4)]
    for op in (tumbling_count_or_time(10, 0.002), tumbling_count(10), tumbling_time(0.002)):
        sent, sink = run_producers(op, plan, "socket")
        check_lossless(sent, sink.aggregates, grouped=False)
        assert sink.received > 0


def test_timer_closes_windows_while_producers_sleep() -> None:
    op = tumbling_time(0.2, reduce=reducers.count())
    src: Subject[Event] = Subject()
    sink = YieldingSink("socket")
    src.pipe(op).subscribe(sink.on_next, sink.on_error, sink.on_completed)
    src.on_next(sev(1, 1))
    src.on_next(sev(2, 2))
    wait_for(lambda: len(sink.aggregates) == 1, 5, "the timer to close the window")
    assert sink.aggregates[0].value == 2 and op.live_groups == 0
    src.on_completed()  # queued if the timer greenlet is still in the downstream
    wait_for(lambda: sink.completed, 5, "completion")
    assert len(sink.aggregates) == 1  # nothing left to flush
    sink.close()


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
    assert op.live_groups == 0
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
