"""unix_socket_client (SPEC 4): config, echo against a plain and an rxunix server, retries,
server appearing late or never, lost connections, garbage, queue overflow, stop flushing.

Servers run in subprocesses (tests/peers/echo_server.py) or, for byte-exact scenarios,
as gevent sockets inside the test process.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import gevent
import gevent.event
import gevent.subprocess as gsub
import pytest
import simplejson
from gevent import socket as gsocket
from rxunix.connectors.client import UnixSocketClient, unix_socket_client
from rxunix.errors import ConfigError
from rxunix.event import ErrorEvent, Event
from rxunix.reconnect import RetryPolicy
from rxunix.runtime import ThreadRuntime

import rxunix

from .helpers import wait_for
from .peers.spawn import kill, start_echo_server, terminate

LINES: dict[str, Any] = {"preprocessors": ["separate"], "postprocessors": ["separate"], "codec": "json"}


class Recorder:
    """Subscribes to a connector's out and err; tracks completion."""

    def __init__(self, client: UnixSocketClient) -> None:
        self.out: list[Event] = []
        self.err: list[ErrorEvent] = []
        self.completed = gevent.event.Event()
        client.out.subscribe(self.out.append, on_completed=self.completed.set)
        client.err.subscribe(self.err.append)

    def values(self) -> list[Any]:
        return [e.value for e in self.out]

    def errors(self, action: str) -> list[ErrorEvent]:
        return [e for e in self.err if e.value["action"] == action]


def accounted(c: UnixSocketClient) -> bool:
    return c.written + c.reported == c.pushed and c.held == 0


@pytest.fixture
def servers() -> Iterator[list[Any]]:
    procs: list[Any] = []
    yield procs
    for p in procs:
        kill(p)


def retry(**kw: Any) -> dict[str, Any]:
    return {"retry": {"randomized": False, **kw}}


# ---- configuration ----------------------------------------------------------

def test_tremor_connector_dict_is_accepted_unchanged(sock_path: str) -> None:
    tremor = {
        "postprocessors": ["separate"],
        "preprocessors": ["separate"],
        "codec": "json",
        "config": {"path": sock_path, "buf_size": 1024},
        "reconnect": {"retry": {"interval_ms": 100, "growth_rate": 2, "max_retries": 3}},
    }
    for c in (unix_socket_client(tremor), unix_socket_client(**tremor), rxunix.unix_socket_client(tremor)):
        assert isinstance(c, UnixSocketClient)
        assert (c.path, c.buf_size, c.queue_size) == (sock_path, 1024, 1000)
        assert c.policy is not None and (c.policy.interval_ms, c.policy.growth_rate) == (100, 2)
        assert c.policy.max_retries == 3
    kw = unix_socket_client(path=sock_path, buf_size=10, queue_size=0)
    assert (kw.buf_size, kw.queue_size, kw.policy) == (10, 0, None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"config": {"path": "/tmp/x", "bufsize": 1}}, "unknown option 'bufsize'; allowed: path, buf_size, queue_size"),
        ({"config": {}}, "option 'path' is required"),
        ({"config": {"path": "/tmp/x", "buf_size": "1024"}}, "option 'buf_size' must be int"),
        ({"config": {"path": "/tmp/x", "buf_size": 0}}, "'buf_size' must be an int > 0 and at most 67108864"),
        ({"config": {"path": "/tmp/x", "queue_size": -1}}, "'queue_size' must be an int >= 0"),
        ({"config": {"path": "/tmp/" + "x" * 120}}, "'path' must be a non-empty path shorter than 108"),
        ({"config": {"path": "/tmp/a-directory/"}}, "not ending in '/'"),
        ({"config": {"path": "/tmp/x", "send_buffer_bytes": 0}}, "'send_buffer_bytes' must be an int > 0"),
        ({"config": {"path": 5}}, "option 'path' must be str or PathLike"),
        ({"config": {"path": "/tmp/x"}, "codec": "jsn"}, "codec: unknown name 'jsn'"),
        ({"config": {"path": "/tmp/x"}, "preprocessors": ["nope"]}, "preprocessor: unknown name 'nope'"),
        ({"config": {"path": "/tmp/x"}, "reconnect": {"retry": {"interval_ms": 1, "tries": 2}}},
         "unknown option 'tries'"),
        ({"config": {"path": "/tmp/x"}, "path": "/tmp/y"}, "'path' given both"),
    ],
)
def test_config_errors_name_the_key_and_allowed_ones(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        unix_socket_client(**kwargs)
    assert message in str(info.value)


def test_whole_dict_errors() -> None:
    with pytest.raises(ConfigError, match="unknown option 'metrics'; allowed: codec, preprocessors"):
        unix_socket_client({"config": {"path": "/tmp/x"}, "metrics": 1})
    with pytest.raises(ConfigError, match="codec given both"):
        unix_socket_client({"config": {"path": "/tmp/x"}, "codec": "json"}, codec="string")
    with pytest.raises(ConfigError, match="'config' is required"):
        unix_socket_client({"codec": "json"})


# ---- echo against both kinds of server ----------------------------------------

@pytest.mark.parametrize("impl", ["plain", "rxunix"])
def test_echo_round_trip(sock_path: str, servers: list[Any], impl: str) -> None:
    servers.append(start_echo_server(sock_path, impl))
    with unix_socket_client(config={"path": sock_path, "buf_size": 1024}, **LINES) as client:
        rec = Recorder(client)
        sent = [{"n": i, "text": "x" * (i % 50)} for i in range(500)] + ["ü", 1.5, None, [1, [2]]]
        for v in sent:
            client.in_.on_next(Event(v, {"mine": 1}))
        wait_for(lambda: len(rec.out) == len(sent), 10, "echoes")
        assert rec.values() == sent
        assert all(dict(e.meta) == {"unix_socket_client": {"peer": sock_path}} for e in rec.out)
        assert (client.pushed, client.written, client.reported) == (len(sent), len(sent), 0)
        assert rec.err == []
    assert client.state == "stopped" and rec.completed.is_set()


def test_thread_runtime_and_pushes_from_another_thread(sock_path: str, servers: list[Any]) -> None:
    servers.append(start_echo_server(sock_path))
    rt = ThreadRuntime()
    try:
        client = unix_socket_client(config={"path": sock_path}, runtime=rt, **LINES)
        rec = Recorder(client)
        client.start()
        for i in range(300):  # this (test) thread is not the hub thread
            client.in_.on_next(Event(i))
        wait_for(lambda: len(rec.out) == 300, 10, "echoes via the hub thread")
        assert rec.values() == list(range(300))
        client.stop()
        assert accounted(client) and client.written == 300
    finally:
        rt.close()


# ---- connecting: no reconnect, retries, server late or never ---------------------

def test_a_datagram_socket_at_the_path_is_named_as_the_wrong_type(sock_path: str) -> None:
    dgram = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_DGRAM)
    dgram.bind(sock_path)
    try:
        client = unix_socket_client(config={"path": sock_path}, **LINES)
        rec = Recorder(client)
        client.start()
        assert client.join(5)
        [connect] = rec.errors("connect")
        assert "the socket is of the other type (stream or datagram)" in connect.value["error"]
    finally:
        dgram.close()


def test_no_reconnect_failed_connect_is_one_error_and_completes(sock_path: str) -> None:
    client = unix_socket_client(config={"path": sock_path}, **LINES)
    rec = Recorder(client)
    for i in range(3):
        client.in_.on_next(Event(i))  # held before start
    client.start()
    assert client.join(5)
    assert rec.completed.is_set() and client.state == "stopped"
    [connect] = rec.errors("connect")
    assert "no reconnect is configured" in connect.value["error"] and connect.value["stream"] == sock_path
    assert [e.value["value"] for e in rec.errors("write")] == [0, 1, 2]  # held events reported with values
    assert (client.pushed, client.reported, client.written) == (3, 3, 0)
    client.in_.on_next(Event(3))  # after the end: still counted as reported, never silently
    assert accounted(client) and client.reported == 4
    client.stop()  # harmless


@pytest.mark.parametrize("randomized", [False, True])
def test_server_never_appears_gives_up_after_retries(sock_path: str, randomized: bool) -> None:
    reconnect = {"retry": {"interval_ms": 40, "growth_rate": 2, "max_retries": 3, "randomized": randomized}}
    client = unix_socket_client(config={"path": sock_path}, reconnect=reconnect, **LINES)
    rec = Recorder(client)
    t0 = time.monotonic()
    client.start()
    client.in_.on_next(Event("held"))
    wait_for(rec.completed.is_set, 10, "out to complete")
    elapsed = time.monotonic() - t0
    # waits 40, 80, 160 ms (randomized: 40, [40, 80], [80, 160])
    low = 0.28 if not randomized else 0.16
    assert low - 0.01 <= elapsed < low + 1.5, elapsed
    [connect] = rec.errors("connect")
    assert "gave up connecting" in connect.value["error"] and "after 3 retries" in connect.value["error"]
    assert connect.value["retries"] == 3 and client.stats["retries"] == 3
    assert [e.value["value"] for e in rec.errors("write")] == ["held"]
    assert len(rec.err) == 2 and accounted(client) and client.state == "stopped"


def test_server_appears_later(sock_path: str, servers: list[Any]) -> None:
    client = unix_socket_client(config={"path": sock_path}, reconnect=retry(interval_ms=30, growth_rate=1),
                                **LINES)
    rec = Recorder(client)
    client.start()
    for i in range(50):
        client.in_.on_next(Event(i))
    wait_for(lambda: client.stats["retries"] >= 3, 10, "a few failed attempts")
    assert not client.connected and client.held == 50 and client.written == 0
    servers.append(start_echo_server(sock_path))
    wait_for(lambda: len(rec.out) == 50, 10, "held events echoed after connecting")
    assert rec.values() == list(range(50))  # in order
    client.in_.on_next(Event(50))
    wait_for(lambda: len(rec.out) == 51, 10, "a later echo")
    client.stop()
    assert rec.err == [] and accounted(client) and client.written == 51


def test_reconnect_schedule_on_the_connector(sock_path: str, servers: list[Any]) -> None:
    """Waits 50, 100, 200 ms: the server appearing at ~120 ms is found at ~350 ms, not earlier."""
    client = unix_socket_client(config={"path": sock_path},
                                reconnect=retry(interval_ms=50, growth_rate=2, max_retries=10), **LINES)
    t0 = time.monotonic()
    client.start()
    wait_for(lambda: client.stats["retries"] >= 2, 5, "second retry")  # at ~50 ms
    assert time.monotonic() - t0 >= 0.045
    servers.append(start_echo_server(sock_path))
    wait_for(lambda: client.connected, 10, "connect")
    elapsed = time.monotonic() - t0
    retries = client.stats["retries"]
    schedule = [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2]
    assert elapsed >= sum(schedule[:retries]) - 0.01, (elapsed, retries)
    client.stop()


def test_lost_connection_is_noticed_without_writes_and_schedule_resets(
    sock_path: str, servers: list[Any]
) -> None:
    server = start_echo_server(sock_path)
    servers.append(server)
    client = unix_socket_client(config={"path": sock_path}, reconnect=retry(interval_ms=20, growth_rate=1.5),
                                **LINES)
    rec = Recorder(client)
    client.start()
    wait_for(lambda: client.connected, 10, "connect")
    client.in_.on_next(Event("a"))
    wait_for(lambda: rec.values() == ["a"], 10, "echo")
    terminate(server)  # server gone: EOF
    wait_for(lambda: not client.connected, 5, "the client to notice (nothing written)")
    wait_for(lambda: client.stats["retries"] >= 2, 5, "reconnect attempts to start at once")
    assert client.pushed == 1 and client.policy is not None
    second = start_echo_server(sock_path)
    servers.append(second)
    wait_for(lambda: client.connected, 10, "reconnect")
    assert client.stats["connects"] == 2
    client.in_.on_next(Event("b"))
    wait_for(lambda: rec.values() == ["a", "b"], 10, "echo after reconnect")
    gevent.sleep(0.05)  # the connection lasts longer than interval_ms: its loss restarts the schedule
    before = client.stats["retries"]
    terminate(second)
    wait_for(lambda: not client.connected, 5, "the second loss")
    wait_for(lambda: client.stats["retries"] > before, 5, "retries after the second loss")
    assert client.policy.retries <= client.stats["retries"] - before  # counted afresh, not on from the first
    client.stop()
    assert accounted(client) and rec.errors("connect") == []


def test_lost_connection_without_reconnect_completes(sock_path: str, servers: list[Any]) -> None:
    server = start_echo_server(sock_path)
    servers.append(server)
    client = unix_socket_client(config={"path": sock_path}, **LINES)
    rec = Recorder(client)
    client.start()
    wait_for(lambda: client.connected, 10, "connect")
    terminate(server)
    wait_for(rec.completed.is_set, 5, "completion after the server went away")
    [connect] = rec.errors("connect")
    assert "no reconnect is configured" in connect.value["error"]
    assert client.state == "stopped"


# ---- in-process servers: exact bytes ---------------------------------------------

def serve_once(path: str, payload: bytes, close: bool = True) -> tuple[gsocket.socket, list[bytes]]:
    """A gevent listener that sends ``payload`` to its first peer, records what it gets."""
    listener = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    received: list[bytes] = []

    def run() -> None:
        conn, _ = listener.accept()
        conn.sendall(payload)
        if close:
            conn.close()
            return
        while True:
            data = conn.recv(65536)
            if not data:
                conn.close()
                return
            received.append(data)

    gevent.spawn(run)
    return listener, received


def test_eof_flushes_the_preprocessor_tail(sock_path: str) -> None:
    listener, _ = serve_once(sock_path, b'{"a":1}\n{"b":2}')  # last line without newline, then EOF
    client = unix_socket_client(config={"path": sock_path}, **LINES)
    rec = Recorder(client)
    client.start()
    wait_for(rec.completed.is_set, 5, "completion")
    assert rec.values() == [{"a": 1}, {"b": 2}]
    listener.close()


def test_garbage_from_server_is_an_error_and_the_client_keeps_running(sock_path: str, servers: list[Any]) -> None:
    servers.append(start_echo_server(sock_path, garbage=True))
    with unix_socket_client(config={"path": sock_path}, **LINES) as client:
        rec = Recorder(client)
        wait_for(lambda: rec.errors("decode"), 5, "decode error")
        [bad] = rec.errors("decode")
        assert bad.value["stream"] == sock_path and bad.meta["unix_socket_client"]["peer"] == sock_path
        for i in range(5):
            client.in_.on_next(Event(i))
        wait_for(lambda: len(rec.out) == 5, 5, "echoes after garbage")
        assert rec.values() == list(range(5)) and client.connected


def test_encode_failure_is_reported_with_the_event(sock_path: str, servers: list[Any]) -> None:
    servers.append(start_echo_server(sock_path))
    with unix_socket_client(config={"path": sock_path}, **LINES) as client:
        rec = Recorder(client)
        wait_for(lambda: client.connected, 5, "connect")
        client.in_.on_next(Event(1))
        client.in_.on_next(Event({1, 2}, {"tag": "bad"}))  # a set is not JSON
        client.in_.on_next(Event(3))
        wait_for(lambda: len(rec.out) == 2, 5, "echoes")
        assert rec.values() == [1, 3]
        [enc] = rec.errors("encode")
        assert enc.value["value"] == {1, 2} and enc.meta["tag"] == "bad"
        assert (client.pushed, client.written, client.reported) == (3, 2, 1)
        stats = client.stats  # what metrics and the run's summary show
        assert (stats["pushed"], stats["written"], stats["reported"]) == (3, 2, 1)


def test_stop_flushes_queued_events_to_the_live_connection(sock_path: str) -> None:
    listener, received = serve_once(sock_path, b"", close=False)
    client = unix_socket_client(config={"path": sock_path}, **LINES)
    client.start()
    wait_for(lambda: client.connected, 5, "connect")
    for i in range(20000):  # no yield: once the socket buffer is full, the rest is queued
        client.in_.on_next(Event({"n": i}))
    assert client.written + client.held == 20000 and client.held > 10000
    client.stop()
    assert (client.written, client.reported) == (20000, 0)
    wait_for(lambda: b"".join(received).count(b"\n") == 20000, 5, "the server to get everything")
    lines = b"".join(received).splitlines()
    assert lines[0] == b'{"n":0}' and lines[-1] == b'{"n":19999}'
    listener.close()


# ---- queue overflow ------------------------------------------------------------------

def test_queue_overflow_accounting(sock_path: str, servers: list[Any]) -> None:
    client = unix_socket_client(config={"path": sock_path, "queue_size": 5},
                                reconnect=retry(interval_ms=20, growth_rate=1), **LINES)
    rec = Recorder(client)
    client.start()
    for i in range(8):
        client.in_.on_next(Event({"n": i}, {"i": i}))
    overflow = rec.errors("enqueue")
    assert [e.value["value"] for e in overflow] == [{"n": 5}, {"n": 6}, {"n": 7}]
    assert [e.meta["i"] for e in overflow] == [5, 6, 7]
    assert "queue full (5 events" in overflow[0].value["error"]
    assert (client.pushed, client.reported, client.held) == (8, 3, 5)
    servers.append(start_echo_server(sock_path))
    wait_for(lambda: len(rec.out) == 5, 10, "the held events")
    assert rec.values() == [{"n": i} for i in range(5)]
    # connected: the bound is not applied to the writer's backlog
    for i in range(8, 2008):
        client.in_.on_next(Event({"n": i}))
    wait_for(lambda: len(rec.out) == 2005, 10, "the rest")
    client.stop()
    assert (client.pushed, client.written, client.reported) == (2008, 2005, 3)


def test_stop_while_disconnected_reports_every_held_event(sock_path: str) -> None:
    client = unix_socket_client(config={"path": sock_path, "queue_size": 3},
                                reconnect=retry(interval_ms=10000), **LINES)
    rec = Recorder(client)
    client.start()
    for i in range(5):
        client.in_.on_next(Event(i))
    client.stop(timeout=1)
    assert [e.value["value"] for e in rec.errors("enqueue")] == [3, 4]
    assert [e.value["value"] for e in rec.errors("stop")] == [0, 1, 2]
    assert rec.completed.is_set() and accounted(client) and client.reported == 5
    client.in_.on_next(Event(5))
    assert accounted(client)


def test_policy_instance_and_seeded_jitter(sock_path: str) -> None:
    policy = RetryPolicy(interval_ms=5, growth_rate=2, max_retries=2)
    client = unix_socket_client(config={"path": sock_path}, reconnect=policy)
    assert client.policy is policy
    rec = Recorder(client)
    client.start()
    wait_for(rec.completed.is_set, 5, "give up")
    assert "after 2 retries" in rec.errors("connect")[0].value["error"]


def test_stop_before_start_reports_what_was_pushed(sock_path: str) -> None:
    client = unix_socket_client(path=os.path.join(os.path.dirname(sock_path), "none.sock"))
    rec = Recorder(client)
    client.in_.on_next(Event("early"))
    client.stop()
    client.stop()
    assert client.state == "stopped" and rec.completed.is_set()
    client.in_.on_next(Event("late"))
    assert [e.value["value"] for e in rec.err] == ["early"]  # "late" came after completion
    assert accounted(client) and client.reported == 2
    with pytest.raises(RuntimeError):
        client.start()


def test_connection_broken_mid_batch_neither_duplicates_nor_loses(sock_path: str) -> None:
    """A server that reads nothing, then drops the connection while the writer is blocked in
    the middle of a batch: events fully handed to the socket count as written, an event cut in
    the middle is reported, the rest go to the next connection, in order, exactly once."""
    listener = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(8)
    first: list[gsocket.socket] = []
    second: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        first.append(conn)  # never read
        conn2, _ = listener.accept()
        while True:
            data = conn2.recv(65536)
            if not data:
                break
            second.append(data)
        conn2.close()

    server = gevent.spawn(serve)
    n = 20000
    client = unix_socket_client(config={"path": sock_path}, reconnect=retry(interval_ms=10), **LINES)
    rec = Recorder(client)
    client.start()
    wait_for(lambda: client.connected and bool(first), 5, "connect")
    for i in range(n):
        client.in_.on_next(Event({"n": i, "pad": "x" * 100}))
    wait_for(lambda: client.outbox.in_flight > 0, 5, "the writer to be blocked in a batch")
    gevent.sleep(0.01)  # let the writer fill the socket buffer (not required for correctness)
    first[0].close()  # unread data: the client's send fails, its reader sees a reset
    wait_for(lambda: client.stats["connects"] == 2, 5, "reconnect")
    wait_for(lambda: client.held == 0, 10, "the rest to be written")
    client.stop()
    wait_for(lambda: server.dead, 5, "the server to see EOF")
    listener.close()

    got = [simplejson.loads(line)["n"] for line in b"".join(second).splitlines()]
    partial = [e.value["value"]["n"] for e in rec.errors("write") if "value" in e.value]
    written_before = client.written - len(got)  # fully handed to the dropped connection
    assert written_before > 0 and len(partial) <= 1
    assert partial in ([], [written_before])  # the cut event is the one after them
    assert got == list(range(written_before + len(partial), n))  # whole events, in order, none twice
    assert client.written + client.reported == client.pushed == n
    print(f"\nwritten to the dropped connection: {written_before}, cut in the middle: {partial}, "
          f"sent on the next one: {len(got)}")


def test_a_raising_subscriber_is_reported_and_the_connection_stays(sock_path: str, servers: list[Any]) -> None:
    servers.append(start_echo_server(sock_path))
    with unix_socket_client(config={"path": sock_path}, **LINES) as client:
        rec = Recorder(client)

        def boom(ev: Event) -> None:
            raise ValueError(f"subscriber failed on {ev.value}")

        client.out.subscribe(boom)
        client.in_.on_next(Event(1))
        wait_for(lambda: rec.errors("emit"), 5, "emit error")
        assert "subscriber failed on 1" in rec.errors("emit")[0].value["error"]
        client.in_.on_next(Event(2))
        wait_for(lambda: rec.values() == [1, 2], 5, "later echoes")
        assert client.connected and 1 <= len(rec.errors("emit")) <= 2  # rx versions differ on detaching


def _serve_each(sock_path: str, handle: Any) -> tuple[Any, Any]:
    """A listener at ``sock_path`` that hands every connection it accepts to ``handle``;
    returns the listener and its greenlet."""
    listener = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(8)

    def serve() -> None:
        while True:
            handle(listener.accept()[0])

    return listener, gevent.spawn(serve)


def test_a_server_that_closes_at_once_is_not_hammered(sock_path: str) -> None:
    listener, server = _serve_each(sock_path, lambda conn: conn.close())
    client = unix_socket_client(config={"path": sock_path}, reconnect=retry(interval_ms=50), **LINES)
    rec = Recorder(client)
    t0 = time.monotonic()
    client.start()
    wait_for(lambda: client.stats["connects"] >= 4, 5, "four short connections")
    assert time.monotonic() - t0 >= 3 * 0.05 - 0.01  # one interval between each
    client.in_.on_next(Event("kept"))
    client.stop()
    server.kill()
    listener.close()
    assert accounted(client) and rec.errors("connect") == []


def test_a_server_that_closes_at_once_counts_against_max_retries(sock_path: str) -> None:
    accepted = [0]

    def refuse(conn: Any) -> None:
        accepted[0] += 1
        conn.close()

    listener, server = _serve_each(sock_path, refuse)
    policy = retry(interval_ms=200, growth_rate=1, max_retries=3)  # an accept-and-close takes far less than 200 ms
    client = unix_socket_client(config={"path": sock_path}, reconnect=policy, **LINES)
    rec = Recorder(client)
    client.start()
    try:
        assert client.join(10), "the client kept reconnecting to a server that closes at once"
    finally:
        server.kill()
        listener.close()
    [gave_up] = rec.errors("connect")
    assert "after 3 retries" in gave_up.value["error"] and client.stats["retries"] == 3
    assert accepted[0] == 4  # the first connection, then three retries


def test_a_server_that_answers_once_per_connection_is_not_a_failing_one(sock_path: str) -> None:
    def answer_once(conn: Any) -> None:
        conn.sendall(conn.makefile("rb").readline())
        conn.close()

    listener, server = _serve_each(sock_path, answer_once)
    client = unix_socket_client(config={"path": sock_path}, reconnect=retry(interval_ms=2000, max_retries=1),
                                **LINES)
    rec = Recorder(client)
    client.start()
    try:
        for i in range(4):  # each on a connection closed at once, but answered
            client.in_.on_next(Event(i))
            wait_for(lambda i=i: rec.values() == list(range(i + 1)), 10, f"answer {i}")
            wait_for(lambda i=i: client.stats["connects"] >= i + 2, 10, "the next connection")
        assert client.running and rec.errors("connect") == []
    finally:
        client.stop()
        server.kill()
        listener.close()


# ---- direct writes from in_ ------------------------------------------------------------

def _serve_and_connect(sock_path: str, client: Any) -> tuple[Any, Any]:
    """A listener at ``sock_path``, ``client`` started and connected to it; returns the
    listener and its side of the connection."""
    listener = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(1)
    client.start()
    conn, _ = listener.accept()
    wait_for(lambda: client.connected, 5, "connect")
    return listener, conn


def test_direct_writes_that_fill_the_socket_are_finished_in_order(sock_path: str) -> None:
    """Events pushed while the writer is idle go straight to the socket; one the
    socket takes only in part is finished by the writer before anything else."""
    client = unix_socket_client(config={"path": sock_path}, **LINES)
    listener, conn = _serve_and_connect(sock_path, client)
    big = "x" * 100_000
    for i in range(40):  # ~4 MB: far more than the socket buffer holds
        client.in_.on_next(Event({"n": i, "pad": big}))
        gevent.sleep(0)
    assert client.held > 0  # the socket is full: some of it waits
    got = b""
    with gevent.Timeout(20):
        while got.count(b"\n") < 40:
            got += conn.recv(1 << 20)
    lines = got.splitlines()
    assert [json.loads(line)["n"] for line in lines] == list(range(40))
    wait_for(lambda: client.written == 40, 5, "all written")
    assert (client.pushed, client.written, client.reported, client.held) == (40, 40, 0, 0)
    client.stop()
    conn.close()
    listener.close()


def test_a_direct_write_cut_by_a_lost_connection_is_reported(sock_path: str) -> None:
    client = unix_socket_client(config={"path": sock_path}, **LINES)
    rec = Recorder(client)
    listener, conn = _serve_and_connect(sock_path, client)
    for i in range(40):
        client.in_.on_next(Event({"n": i, "pad": "y" * 100_000}))
        gevent.sleep(0)
    assert client.held > 0
    conn.close()  # the server goes away with a half-sent event
    wait_for(rec.completed.is_set, 10, "the client to give up (no reconnect)")
    assert client.written + client.reported == client.pushed == 40
    assert client.reported >= 1 and client.held == 0


FLOODING_SERVER = (
    "import os, socket, sys\n"
    "l = socket.socket(socket.AF_UNIX); l.bind(sys.argv[1]); l.listen(1)\n"
    "print('listening', flush=True)\n"
    "c, _ = l.accept()\n"
    "block = b'{\"flood\":true}\\n' * 4000\n"
    "while True:\n"
    "    c.sendall(block)\n"
)


def test_a_flooding_server_does_not_starve_the_clients_hub(sock_path: str, servers: list[Any]) -> None:
    """recv() returns without yielding while data is pending: the client's reader must
    yield so that timers and other greenlets keep running while a server floods it."""
    p = gsub.Popen([sys.executable, "-c", FLOODING_SERVER, sock_path], stdout=gsub.PIPE)
    servers.append(p)
    assert p.stdout is not None and p.stdout.readline() == b"listening\n"
    c = unix_socket_client(path=sock_path, **LINES)
    rec = Recorder(c)
    ticks: list[int] = []
    stop: list[bool] = []

    def ticker() -> None:
        while not stop:
            ticks.append(len(rec.out))
            gevent.sleep(0.005)

    g = gevent.spawn(ticker)
    try:
        with c:
            wait_for(lambda: len(rec.out) >= 200_000, 60, "200k flooded events")
            during = {t for t in ticks if 0 < t < 200_000}
            assert len(during) >= 10, f"ticker starved: {len(during)} distinct ticks during the flood"
    finally:
        stop.append(True)
        g.join(5)


def test_many_pushes_in_one_pass_of_the_loop_go_out_in_a_few_sends(sock_path: str) -> None:
    """A producer that pushes without yielding gets its events batched: the first goes
    to the socket at once, the writer sends the rest together, in order, each once."""
    client = unix_socket_client(config={"path": sock_path}, **LINES)
    listener, conn = _serve_and_connect(sock_path, client)
    n = 5000
    before = client.stats["sends"]
    for i in range(n):  # ~60 KB: the socket would take every one of them at once
        client.in_.on_next(Event({"n": i}))
    got = b""
    with gevent.Timeout(20):
        while got.count(b"\n") < n:
            got += conn.recv(1 << 20)
    assert [json.loads(line)["n"] for line in got.splitlines()] == list(range(n))
    wait_for(lambda: client.written == n, 5, "all written")
    assert client.stats["sends"] - before <= 5, client.stats["sends"] - before
    echoes: list[Any] = []
    client.out.subscribe(lambda e: echoes.append(e.value))
    for i in range(4):  # ping-pong: each push waits for its echo, which takes a pass of the loop
        written = client.written
        client.in_.on_next(Event({"ping": i}))
        if i:  # (the first may share the burst's pass)
            assert client.written == written + 1  # handed to the socket before anything yielded
        with gevent.Timeout(5):
            line = conn.recv(100)
        assert json.loads(line) == {"ping": i}
        conn.sendall(line)
        wait_for(lambda i=i: len(echoes) == i + 1, 5, "the echo")
    client.stop()
    conn.close()
    listener.close()


@pytest.mark.parametrize("who_ends", ["client stops", "peer closes"])
def test_a_reply_cut_by_the_clients_own_stop_is_not_a_decode_error(sock_path: str, who_ends: str) -> None:
    # the second reply is still on its way when the client stops, or when the peer closes (its end of stream)
    listener, _ = serve_once(sock_path, b'{"a": 1}\n{"a": 2, "b": [1, 2', close=who_ends == "peer closes")
    c = unix_socket_client(path=sock_path, preprocessors=["separate"], postprocessors=["separate"])
    rec = Recorder(c)
    c.start()
    try:
        wait_for(lambda: rec.values() == [{"a": 1}], 10, "the first reply")
        if who_ends == "peer closes":  # the cut reply is its own: a decode error
            wait_for(lambda: rec.errors("decode"), 10, "the decode error")
    finally:
        c.stop()
        listener.close()
    assert len(rec.errors("decode")) == (1 if who_ends == "peer closes" else 0)


def test_connecting_to_a_full_backlog_waits_without_spinning(sock_path: str) -> None:
    """A listener whose backlog is full (a server at ``max_connections``): the client's
    connect fails at once with EAGAIN; it tries again a little later, it does not spin
    a CPU meanwhile, and it connects once there is room."""
    import socket as std
    import time

    listener = std.socket(std.AF_UNIX, std.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(0)
    fillers = []
    while True:  # fill the backlog
        f = std.socket(std.AF_UNIX, std.SOCK_STREAM)
        f.setblocking(False)
        fillers.append(f)
        try:
            f.connect(sock_path)
        except BlockingIOError:
            break
    accepted: list[std.socket] = []
    client = unix_socket_client(config={"path": sock_path}, **LINES).start()
    try:
        before = time.process_time()
        gevent.sleep(1.0)  # (the window is the point: a spinning connect burns all of it)
        used = time.process_time() - before
        assert not client.connected
        assert used < 0.3, f"{used:.2f} s of CPU in 1 s of waiting for room in the backlog"
        listener.setblocking(False)
        with gevent.Timeout(10):
            while not client.connected:  # make room: accept whatever waits, the client among them
                try:
                    accepted.append(listener.accept()[0])
                except BlockingIOError:
                    gevent.sleep(0.01)
    finally:
        client.stop(1)
        for s in fillers + accepted:
            s.close()
        listener.close()
