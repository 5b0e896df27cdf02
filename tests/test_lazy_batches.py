"""Lazy batches: a read's events are built only for subscribers that need them.

A stream server emits each read as a lazy :class:`EventBatch` (its values, no
event objects yet). ``EventSubject.on_next_batch`` builds it before any
subscriber sees it unless every subscriber is a batch observer that takes values
(a stream server's ``in_``): an echo then encodes the read's values without
building an event per value. Whatever the subscribers, each gets every event, in
order, once.
"""

from __future__ import annotations

from typing import Any

import gevent
import pytest
import simplejson
from gevent import socket as gsocket
from reactivex import operators as ops

import rxunix
from rxunix.core.errors import CodecError
from rxunix.core.event import Event, EventBatch
from rxunix.edge.ports import EventSubject, Inlet

LINES = {"preprocessors": ["separate"], "postprocessors": ["separate"], "codec": "json"}


class Sink:
    """A batch observer; ``takes_values`` as given."""

    def __init__(self, takes_values: bool) -> None:
        self.takes_values = takes_values
        self.batches: list[tuple[bool, list[Any]]] = []  # (built when it came, its values)

    def on_next(self, event: Event) -> None:
        self.batches.append((True, [event.value]))

    def on_next_batch(self, batch: Any) -> None:
        unbuilt = isinstance(batch, EventBatch) and batch.values is not None
        self.batches.append((not unbuilt, list(batch.values) if unbuilt else [e.value for e in batch]))

    def on_error(self, error: Exception) -> None:
        pass

    def on_completed(self) -> None:
        pass


def lazy(values: list[Any]) -> EventBatch:
    return EventBatch.of(values, {"k": 1}, clean=True, lazy=True)


def test_a_lazy_batch_reaches_value_takers_unbuilt() -> None:
    out, a, b = EventSubject(owner=None), Sink(True), Sink(True)
    out.subscribe(a)
    out.subscribe(b)
    batch = lazy([1, 2])
    out.on_next_batch(batch)
    assert a.batches == b.batches == [(False, [1, 2])]
    assert list(batch) == [] and batch.size == 2


@pytest.mark.parametrize("extra", ["function", "operator", "batch observer without takes_values"])
def test_a_lazy_batch_is_built_for_any_subscriber_that_needs_events(extra: str) -> None:
    out, taker, other, seen = EventSubject(owner=None), Sink(True), Sink(False), []
    out.subscribe(taker)
    if extra == "function":
        out.subscribe(lambda e: seen.append(e.value))
    elif extra == "operator":
        out.pipe(ops.map(lambda e: e.value)).subscribe(seen.append)
    else:
        out.subscribe(other)
    batch = lazy([1, 2, 3])
    out.on_next_batch(batch)
    assert batch.values is None and [e.value for e in batch] == [1, 2, 3]
    assert [e.meta for e in batch] == [batch.meta] * 3
    assert taker.batches == [(True, [1, 2, 3])]
    assert (other.batches[0][1] if other.batches else seen) == [1, 2, 3]


def test_lazy_is_ignored_when_the_read_holds_failures() -> None:
    batch = EventBatch.of([1, CodecError("bad"), 2], {"k": 1}, lazy=True)
    assert batch.values is None and [e.value for e in batch] == [1, 2] and batch.failures
    assert lazy([7]).build().build() == [Event(7, {"k": 1})]  # building twice changes nothing


class OtherThreadServer:
    """A connector whose hub runs in another thread: ``in_`` hands batches over."""

    takes_values = True
    kind = "unix_socket_server"

    def __init__(self) -> None:
        self.handed: list[Any] = []
        self.runtime = self

    def in_hub_thread(self) -> bool:
        return False

    def call_soon(self, fn: Any, batch: Any) -> None:
        assert fn == self.receive_batch
        self.handed.append(batch)

    def receive_batch(self, batch: Any) -> None:  # pragma: no cover - runs in the other thread
        raise AssertionError("not in this thread")


def test_a_lazy_batch_handed_to_another_thread_is_built_by_the_thread_that_emitted_it() -> None:
    """Two hubs must never build one batch at once: the emitting thread builds it
    before any other thread sees it."""
    out, far, near = EventSubject(owner=None), OtherThreadServer(), Sink(True)
    out.subscribe(near)
    out.subscribe(Inlet(far))  # type: ignore[arg-type]
    batch = lazy([1, 2])
    assert out.on_next_batch(batch) == []
    assert near.batches == [(False, [1, 2])]  # the same thread's value taker got it unbuilt
    assert far.handed == [batch] and batch.values is None and [e.value for e in batch] == [1, 2]


def _echo_lines(sock_path: str, n: int, subscribe: Any, expect: int) -> tuple[list[Any], Any]:
    server = rxunix.unix_socket_server(path=sock_path, **LINES)
    subscribe(server)
    with server:
        s = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
        s.connect(sock_path)
        writer = gevent.spawn(s.sendall, b"".join(b'{"i":%d}\n' % i for i in range(n)))
        buf = b""
        with gevent.Timeout(30):
            while buf.count(b"\n") < expect:
                data = s.recv(65536)
                assert data, "the server closed early"
                buf += data
        writer.join(timeout=5)
        s.close()
        return [simplejson.loads(line) for line in buf.splitlines()], dict(server.stats)


def test_three_echoes_of_one_lazy_batch_reply_three_times_in_order(sock_path: str) -> None:
    """The second ``in_`` finds the first one's gathered (unbuilt) batch: it copies it,
    never changes the batch the third ``in_`` still gets."""
    n = 5000

    def subscribe(server: Any) -> None:
        for _ in range(3):
            server.out.subscribe(server.in_)

    lines, stats = _echo_lines(sock_path, n, subscribe, 3 * n)
    assert len(lines) == 3 * n
    k = 0
    while k < len(lines):  # each read's events come three times in a row: x..y, x..y, x..y, then y+1..
        run = 1
        while k + run < len(lines) and lines[k + run]["i"] == lines[k + run - 1]["i"] + 1:
            run += 1
        assert lines[k:k + run] == lines[k + run:k + 2 * run] == lines[k + 2 * run:k + 3 * run]
        assert k == 0 or lines[k]["i"] == lines[k - 1]["i"] + 1
        k += 3 * run
    assert lines[-1]["i"] == n - 1
    assert stats["out"] == n and stats["in"] == 3 * n


def test_an_echo_beside_a_per_event_subscriber_gets_every_event(sock_path: str) -> None:
    n, counted = 3000, []

    def subscribe(server: Any) -> None:
        server.out.subscribe(server.in_)
        server.out.subscribe(lambda e: counted.append(e.value["i"]))

    lines, stats = _echo_lines(sock_path, n, subscribe, n)
    assert [line["i"] for line in lines] == list(range(n)) == counted
    assert stats["out"] == stats["in"] == n


def test_a_reply_that_cannot_be_encoded_is_an_error_event_naming_its_connection(sock_path: str) -> None:
    """An echoed read whose values include one the codec refuses (``1e400`` decodes to
    infinity, which JSON cannot carry) replies the others, in order, and reports that
    one with the connection's metadata."""
    server = rxunix.unix_socket_server(path=sock_path, **LINES)
    server.out.subscribe(server.in_)
    errors: list[Any] = []
    server.err.subscribe(errors.append)
    with server:
        s = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
        s.connect(sock_path)
        s.sendall(b'[1]\n1e400\n[2]\n')
        buf = b""
        with gevent.Timeout(10):
            while buf.count(b"\n") < 2:
                buf += s.recv(1024)
        s.close()
    assert buf == b"[1]\n[2]\n"
    assert [e.value["action"] for e in errors] == ["encode"]
    record = errors[0].meta["unix_socket_server"]
    assert record["path"] == sock_path and record["peer"] is not None
