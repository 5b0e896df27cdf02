"""``map_values`` / ``filter_values``: the events of ``ops.map`` / ``ops.filter`` on values,
whichever way they arrive (one by one, a built batch, a lazy batch) and leave (a plain
subscriber, a batch observer, one that takes lazy batches); a failing function makes
an error event where its event stood and is called once per value; over a real socket
an echo through them replies what the function says."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import gevent
import pytest
import reactivex as rx
from gevent import socket as gsocket
from hypothesis import given, settings
from hypothesis import strategies as st
from reactivex import operators as ops
from rxunix.operators import filter_values, map_values

import rxunix
from rxunix.core.event import ErrorEvent, Event, EventBatch
from rxunix.edge.ports import EventSubject

METAS = [MappingProxyType({"k": i}) for i in range(3)]


def _fn(v: int) -> int:
    if v % 7 == 3:
        raise ValueError(f"bad {v}")
    return v * 10


def _pred(v: int) -> bool:
    if v % 7 == 3:
        raise ValueError(f"bad {v}")
    return v % 2 == 0


def _as_tuples(events: list[Event]) -> list[tuple[Any, ...]]:
    """What an output says: each event's class, value (an error's message and input value) and metadata."""
    out = []
    for e in events:
        if e.is_error:
            out.append(("error", e.value["action"], e.value["error"], e.value["value"], dict(e.meta)))
        else:
            out.append(("event", e.value, dict(e.meta)))
    return out


def _model(values_metas: list[tuple[int, int]], maps: bool) -> list[tuple[Any, ...]]:
    """The per-event definition: RxPY's map/filter of each event, a failure becoming its error event."""
    out: list[tuple[Any, ...]] = []
    for v, m in values_metas:
        meta = dict(METAS[m])
        if v % 7 == 3:
            out.append(("error", "map" if maps else "filter", f"bad {v}", v, meta))
        elif maps:
            out.append(("event", v * 10, meta))
        elif v % 2 == 0:
            out.append(("event", v, meta))
    return out


class BatchSink:
    """A batch observer (as a connector's ``in_``); ``takes_values``: lazy batches too."""

    def __init__(self, takes_values: bool) -> None:
        self.takes_values = takes_values
        self.events: list[Event] = []
        self.calls: list[str] = []
        self.done = False

    def on_next(self, event: Event) -> None:
        self.calls.append("one")
        self.events.append(event)

    def on_next_batch(self, events: Any) -> None:
        lazy = isinstance(events, EventBatch) and events.lazy
        assert not lazy or self.takes_values, "a lazy batch reached an observer that does not take one"
        self.calls.append("lazy" if lazy else "batch")
        self.events.extend(Event.many(events.values, events.meta) if lazy else events)

    def on_error(self, error: Exception) -> None:
        raise error

    def on_completed(self) -> None:
        self.done = True


plans = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 2)), max_size=40)
cuts = st.lists(st.integers(0, 40), max_size=6)


@settings(max_examples=150, deadline=None)
@given(plan=plans, bounds=cuts, maps=st.booleans(), lazy=st.booleans(),
       sink=st.sampled_from(["plain", "batch", "lazy"]))
def test_batches_give_the_events_of_one_at_a_time(plan: list[tuple[int, int]], bounds: list[int], maps: bool,
                                                   lazy: bool, sink: str) -> None:
    calls: list[int] = []

    def fn(v: int) -> Any:
        calls.append(v)
        return (_fn if maps else _pred)(v)

    op = map_values(fn) if maps else filter_values(fn)
    src = EventSubject(owner=None)
    seen: list[Event] = []
    target: Any = seen.append if sink == "plain" else BatchSink(takes_values=sink == "lazy")
    src.pipe(op).subscribe(target)
    # reads: runs of one metadata object, cut at the bounds too
    marks = sorted({0, len(plan), *(b for b in bounds if b <= len(plan))})
    for a, b in zip(marks, marks[1:], strict=False):
        run: list[tuple[int, int]] = []
        for item in [*plan[a:b], None]:
            if run and (item is None or item[1] != run[0][1]):
                values, meta = [v for v, _ in run], METAS[run[0][1]]
                src.on_next_batch(EventBatch.of(values, meta, clean=True, lazy=lazy))
                run = []
            if item is not None:
                run.append(item)
    src.on_completed()
    got = seen if sink == "plain" else target.events
    assert _as_tuples(got) == _model(plan, maps)
    assert calls == [v for v, _ in plan]  # once per value, in order, failures included
    if sink != "plain":
        assert target.done
        if sink == "lazy" and lazy and plan and all(v % 7 != 3 for v, _ in plan):
            assert set(target.calls) <= {"lazy"}  # no event built on the way


@settings(max_examples=80, deadline=None)
@given(plan=plans, maps=st.booleans())
def test_one_at_a_time_is_rxpy_map_and_filter(plan: list[tuple[int, int]], maps: bool) -> None:
    """Through any Rx source (no batches): equal to ``ops.map``/``ops.filter`` where nothing fails."""
    clean = [(v, m) for v, m in plan if v % 7 != 3]
    events = [Event(v, METAS[m]) for v, m in clean]
    ours: list[Event] = []
    theirs: list[Event] = []
    op = map_values(_fn) if maps else filter_values(_pred)
    rx.from_iterable(events).pipe(op).subscribe(ours.append)
    rxpy = ops.map(lambda e: e.with_value(_fn(e.value))) if maps else ops.filter(lambda e: _pred(e.value))
    rx.from_iterable(events).pipe(rxpy).subscribe(theirs.append)
    assert ours == theirs
    assert all(a.meta is b.meta for a, b in zip(ours, theirs, strict=True))


def test_error_events_pass_untouched_and_errors_sink_takes_failures() -> None:
    errors: list[ErrorEvent] = []
    src = EventSubject(owner=None)
    seen: list[Event] = []
    src.pipe(map_values(_fn, errors=errors.append)).subscribe(seen.append)
    passing = ErrorEvent({"error": "upstream", "action": "decode"}, METAS[0])
    src.on_next(passing)
    src.on_next_batch(EventBatch.of([1, 3, 4, 10, 5], METAS[1], clean=True, lazy=True))
    assert seen[0] is passing
    assert [e.value for e in seen[1:]] == [10, 40, 50]
    assert [(e.value["value"], e.value["connector"], dict(e.meta)) for e in errors] == [
        (3, "map_values", {"k": 1}), (10, "map_values", {"k": 1})]


def test_bad_arguments_are_clear() -> None:
    with pytest.raises(ValueError, match="map_values needs a callable"):
        map_values(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="filter_values needs a callable"):
        filter_values(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="errors must be"):
        map_values(str, errors=5)  # type: ignore[arg-type]


def test_completion_and_errors_end_the_output_once() -> None:
    src = EventSubject(owner=None)
    sink = BatchSink(takes_values=True)
    src.pipe(filter_values(bool)).subscribe(sink)
    src.on_completed()
    src.on_next(Event(1))
    assert sink.done and sink.events == []
    failed: list[Exception] = []
    rx.throw(RuntimeError("boom")).pipe(map_values(str)).subscribe(on_error=failed.append)
    assert [str(e) for e in failed] == ["boom"]


@pytest.mark.timeout(30, method="signal")
@pytest.mark.parametrize("kind", ["map", "filter"])
def test_echo_through_values_operators_over_a_socket(short_tmp: str, kind: str) -> None:
    """A real server, two peers on real sockets: each gets the function's replies to its
    own lines, in order; a failure is an error reply where its line stood."""
    server = rxunix.unix_socket_server(path=os.path.join(short_tmp, "v.sock"), buf_size=8192, codec="json",
                                       preprocessors=["separate"], postprocessors=["separate"])
    stage: Callable[..., Any] = (map_values(lambda v: {"c": v["c"], "n": v["n"] * 2, "one": 5 // (v["n"] % 5)})
                                 if kind == "map" else filter_values(lambda v: v["n"] % 3 == 0))
    server.out.pipe(stage).subscribe(server.in_)
    with server:
        peers = []
        for _ in range(2):
            s = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
            s.connect(server.path)
            peers.append(s)
        data = [b"".join(b'{"c":%d,"n":%d}\n' % (c, n) for n in range(1, 3001)) for c in range(2)]
        senders = [gevent.spawn(p.sendall, d) for p, d in zip(peers, data, strict=True)]
        expect = 3000 if kind == "map" else 1000
        for c, peer in enumerate(peers):
            buf = b""
            while buf.count(b"\n") < expect:
                chunk = peer.recv(65536)
                assert chunk, f"peer {c} closed after {len(buf)} bytes"
                buf += chunk
            got = [json.loads(line) for line in buf.split(b"\n") if line]
            assert len(got) == expect
            if kind == "map":
                ok = [g for g in got if "error" not in g]
                assert ok == [{"c": c, "n": 2 * n, "one": 5 // (n % 5)} for n in range(1, 3001) if n % 5]
                fails = [g for g in got if "error" in g]
                assert [(f["value"], f["action"]) for f in fails] == [
                    ({"c": c, "n": n}, "map") for n in range(5, 3001, 5)]
                assert [("error" in g) for g in got] == [n % 5 == 0 for n in range(1, 3001)]  # where it stood
            else:
                assert got == [{"c": c, "n": n} for n in range(3, 3001, 3)]
        gevent.joinall(senders, timeout=10)
        for peer in peers:
            peer.close()


@settings(max_examples=60, deadline=None)
@given(plan=plans, maps=st.booleans())
def test_a_window_after_them_gets_the_windows_of_one_at_a_time(plan: list[tuple[int, int]], maps: bool) -> None:
    """``map_values``/``filter_values`` then a count window keyed by connection: reads
    handed over as lazy batches give the aggregates of the same events one by one."""
    from rxunix.operators import connection_key, tumbling_count

    from rxunix.core.origin import SERVER

    metas = [MappingProxyType({SERVER: MappingProxyType({"path": "/s", "peer": i})}) for i in range(3)]
    clean = [(v, m) for v, m in plan if v % 7 != 3]
    op = map_values(_fn) if maps else filter_values(_pred)

    def run(batched: bool) -> list[tuple[Any, Any]]:
        src = EventSubject(owner=None)
        got: list[Event] = []
        src.pipe(op, tumbling_count(3, key=connection_key)).subscribe(got.append)
        if batched:
            i = 0
            while i < len(clean):
                j = i
                while j < len(clean) and clean[j][1] == clean[i][1]:
                    j += 1
                src.on_next_batch(EventBatch.of([v for v, _ in clean[i:j]], metas[clean[i][1]], clean=True, lazy=True))
                i = j
        else:
            for v, m in clean:
                src.on_next(Event(v, metas[m]))
        src.on_completed()
        return [(e.value, e.meta[SERVER]) for e in got]

    assert run(True) == run(False)
