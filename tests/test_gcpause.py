"""A read's work runs with CPython's cyclic collector paused (reads of at least
``MIN_BYTES``), and the pause never outlives a pass of the event loop: unit tests of
:class:`rxunix.edge.gcpause.GcPause`, then over real unix sockets (a server's and a
client's subscribers see the collector off while a large read is emitted and on for
a small one; it is back on between reads, after a subscriber that blocks, and after
a subscriber that raises)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from typing import Any

import gevent
import gevent.event
import pytest
from gevent import socket as gsocket

import rxunix
from rxunix import Event
from rxunix.edge import gcpause
from rxunix.edge.gcpause import MIN_BYTES, GcPause
from tests.helpers import wait_for


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    """Each test starts with the collector on and no pause held, and leaves it so."""
    was = gc.isenabled()
    gc.enable()
    assert not gcpause.held()
    yield
    assert not gcpause.held()
    assert gc.isenabled()
    if not was:
        gc.disable()


BIG = bytes(MIN_BYTES)


def test_the_work_runs_paused_and_the_collector_is_back_after() -> None:
    seen = GcPause().run(lambda a, data: (a, len(data), gc.isenabled(), gcpause.held()), 1, BIG)
    assert seen == (1, MIN_BYTES, False, True)
    assert gc.isenabled() and not gcpause.held()


class _Node:
    __slots__ = ("other", "__weakref__")


def test_cyclic_garbage_of_a_read_is_collected_when_the_pause_ends() -> None:
    runs: list[str] = []

    def record(phase: str, _info: dict[str, Any]) -> None:
        runs.append(phase)

    def work(_a: Any, _b: Any) -> weakref.ref[_Node]:
        for _ in range(3 * gc.get_threshold()[0]):  # pairs in a cycle: freed by the collector only
            a, b = _Node(), _Node()
            a.other, b.other = b, a
        assert not runs  # paused: nothing collected inside the read
        return weakref.ref(a)

    gc.collect()
    gc.callbacks.append(record)
    try:
        last = GcPause().run(work, None, BIG)
        assert "stop" in runs  # the collector came due in the read and ran as the pause ended,
        assert last() is None  # without waiting for another allocation, and freed the cycles
    finally:
        gc.callbacks.remove(record)


def test_set_gc_pause_turns_the_pause_off_and_on() -> None:
    try:
        rxunix.set_gc_pause(False)
        assert GcPause().run(lambda a, b: (gc.isenabled(), gcpause.held()), 1, BIG) == (True, False)
    finally:
        rxunix.set_gc_pause(True)
    assert GcPause().run(lambda a, b: gc.isenabled(), 1, BIG) is False


def test_a_small_read_runs_unpaused() -> None:
    seen = GcPause().run(lambda a, data: (gc.isenabled(), gcpause.held()), 1, bytes(MIN_BYTES - 1))
    assert seen == (True, False)


def test_work_that_raises_leaves_the_collector_on() -> None:
    def boom(_a: Any, _b: Any) -> None:
        assert not gc.isenabled()
        raise ValueError("subscriber failed")

    with pytest.raises(ValueError, match="subscriber failed"):
        GcPause().run(boom, None, BIG)
    assert gc.isenabled()


def test_a_collector_the_program_turned_off_stays_off() -> None:
    gc.disable()
    try:
        assert GcPause().run(lambda a, b: gc.isenabled(), None, BIG) is False
        assert not gc.isenabled()  # not turned on by the pause's end
        assert not gcpause.held()
    finally:
        gc.enable()


def test_a_nested_pause_leaves_the_outer_one_in_charge() -> None:
    pause = GcPause()

    def outer(_a: Any, _b: Any) -> tuple[bool, bool]:
        inner = pause.run(lambda a, b: gc.isenabled(), None, BIG)
        return inner, gc.isenabled()  # still paused after the inner run

    assert pause.run(outer, None, BIG) == (False, False)
    assert gc.isenabled()


def test_work_that_blocks_does_not_keep_the_collector_off() -> None:
    release = gevent.event.Event()
    during: list[bool] = []

    def blocks(_a: Any, _b: Any) -> str:
        release.wait()  # the greenlet switches: the loop runs its next pass
        return "done"

    worker = gevent.spawn(GcPause().run, blocks, None, BIG)

    def watch() -> None:
        gevent.sleep(0.01)
        during.append(gc.isenabled())
        during.append(gcpause.held())
        release.set()

    gevent.spawn(watch).join(timeout=5)
    assert worker.get(timeout=5) == "done"
    assert during == [True, False]  # on again while the work waited


def test_one_loop_callback_at_most_per_pass() -> None:
    pause = GcPause()
    for _ in range(100):
        pause.run(lambda a, b: None, None, BIG)
    assert gcpause._State.scheduled  # one is pending; the loop has not run since
    gevent.sleep(0)
    wait_for(lambda: not gcpause._State.scheduled, timeout=5)


# ---- over real unix sockets ---------------------------------------------------------------

#: one read (sent at once, read with 64 KiB reads): 2000 events, well over MIN_BYTES
LINES = b"".join(b'{"i":%d}\n' % i for i in range(2000))
SMALL = b'{"i":-1}\n'
JSON_LINES = {"codec": "json", "preprocessors": ["separate"], "postprocessors": ["separate"], "buf_size": 1 << 16}
assert MIN_BYTES <= len(LINES) < JSON_LINES["buf_size"]


def _connect(path: str) -> gsocket.socket:
    s = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
    s.connect(path)
    return s


def _recv_lines(sock: gsocket.socket, n: int) -> bytes:
    got = bytearray()
    with gevent.Timeout(20):
        while got.count(b"\n") < n:
            chunk = sock.recv(1 << 16)
            assert chunk, "connection closed"
            got += chunk
    return bytes(got)


def test_a_server_emits_a_large_read_with_the_collector_paused(sock_path: str) -> None:
    server = rxunix.unix_socket_server(path=sock_path, **JSON_LINES)
    states: list[bool] = []
    server.out.subscribe(lambda ev: states.append(gc.isenabled()))
    server.out.subscribe(server.in_)
    with server:
        peer = _connect(sock_path)
        peer.sendall(LINES)  # in the socket before the server's reader runs: one read
        assert _recv_lines(peer, 2000) == LINES  # every reply, in order
        assert server.stats["bytes_read"] == len(LINES)
        assert len(states) == 2000 and not any(states)  # paused during the read's emission
        assert gc.isenabled()  # and on between reads
        peer.sendall(SMALL)
        assert _recv_lines(peer, 1) == SMALL
        assert states[2000:] == [True]  # a small read: unpaused
        peer.close()


def test_a_subscriber_that_raises_or_blocks_leaves_the_collector_on(sock_path: str) -> None:
    server = rxunix.unix_socket_server(path=sock_path, **JSON_LINES)
    errors: list[Event] = []
    server.err.subscribe(errors.append)
    blocked = gevent.event.Event()
    release = gevent.event.Event()
    paused: list[bool] = []

    def subscriber(ev: Event) -> None:
        if ev.value["i"] == 0:
            paused.append(not gc.isenabled())
            raise ValueError("subscriber failed")
        if ev.value["i"] == 1:
            blocked.set()
            release.wait()  # the reader's greenlet waits inside its read

    server.out.subscribe(subscriber)
    with server:
        peer = _connect(sock_path)
        peer.sendall(LINES)
        assert blocked.wait(timeout=10)
        assert paused == [True]
        wait_for(lambda: gc.isenabled(), timeout=5)  # the loop's next pass ended the pause
        release.set()
        wait_for(lambda: server.stats["out"] == 2000, timeout=5)
        wait_for(lambda: bool(errors), timeout=5)
        assert "subscriber failed" in str(errors[0].value)
        assert gc.isenabled() and not gcpause.held()
        peer.close()


def test_a_client_delivers_a_large_read_with_the_collector_paused(sock_path: str) -> None:
    listener = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(1)
    client = rxunix.unix_socket_client(path=sock_path, **JSON_LINES)
    states: list[bool] = []
    client.out.subscribe(lambda ev: states.append(gc.isenabled()))
    with client:
        with gevent.Timeout(10):
            conn, _ = listener.accept()
        conn.sendall(LINES)  # in the socket before the client's reader runs: one read
        wait_for(lambda: len(states) == 2000, timeout=20)
        assert client.stats["bytes_read"] == len(LINES)
        assert not any(states)
        conn.sendall(SMALL)
        wait_for(lambda: len(states) == 2001, timeout=20)
        assert states[2000] is True  # a small read: unpaused
        conn.close()
    listener.close()
    assert gc.isenabled()
