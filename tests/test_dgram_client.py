"""unix_datagram_client over real sockets: replies, reconnect, accounting, back-pressure, socat."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import gevent
import gevent.subprocess as gsub
import pytest
from gevent import socket
from rxunix.event import Event
from rxunix.origin import DGRAM_CLIENT, DGRAM_SERVER

from rxunix.edge.dgram_client import UnixDatagramClient, unix_datagram_client
from rxunix.edge.dgram_server import unix_datagram_server
from tests.helpers import wait_for
from tests.sysdeps import SOCAT, needs_socat

#: How long a paused server is watched to show that it stays paused (broken pausing reads at once).
PAUSED_WINDOW_S = 0.2
FAST_RETRY = {"retry": {"interval_ms": 20, "growth_rate": 1.5, "randomized": False}}


class Client:
    """A started client with its out/err collected."""

    def __init__(self, client: UnixDatagramClient) -> None:
        self.c = client
        self.out: list[Event] = []
        self.err: list[Event] = []
        client.out.subscribe(self.out.append)
        client.err.subscribe(self.err.append)
        client.start()

    def actions(self) -> list[str]:
        return [e.value["action"] for e in self.err]

    def balanced(self) -> bool:
        return self.c.written + self.c.reported == self.c.pushed


@pytest.fixture
def client(sock_path: str) -> Iterator[Any]:
    made: list[Client] = []

    def make(**options: Any) -> Client:
        options.setdefault("path", sock_path)
        options.setdefault("preprocessors", ["separate"])
        options.setdefault("postprocessors", ["separate"])
        c = Client(unix_datagram_client(**options))
        made.append(c)
        return c

    yield make
    for c in made:
        c.c.stop()


def echo_server(path: str) -> Any:
    s = unix_datagram_server(path=path, preprocessors=["separate"], postprocessors=["separate"])
    got: list[Event] = []
    s.out.subscribe(got.append)
    s.out.subscribe(s.in_)
    s.start()
    s.got = got  # type: ignore[attr-defined]
    return s


def test_round_trip_with_replies(client: Any, sock_path: str) -> None:
    srv = echo_server(sock_path)
    try:
        c = client()
        for i in range(300):
            c.c.in_.on_next(Event({"i": i}))
        wait_for(lambda: len(c.out) == 300, what="300 replies")
        assert [e.value["i"] for e in c.out] == list(range(300))
        assert c.out[0].meta[DGRAM_CLIENT] == {"peer": sock_path}
        assert c.c.written == 300 and c.balanced() and not c.err
        senders = {e.meta[DGRAM_SERVER]["peer"] for e in srv.got}
        assert senders == {c.c.address} and c.c.address.startswith("@")  # autobound: replies can come back
    finally:
        srv.stop()


def test_explicit_bind_and_unbound(client: Any, short_tmp: str, sock_path: str) -> None:
    srv = echo_server(sock_path)
    try:
        bound = client(bind=os.path.join(short_tmp, "me"))
        bound.c.in_.on_next(Event(1))
        wait_for(lambda: bound.out, what="the reply")
        assert srv.got[0].meta[DGRAM_SERVER]["peer"] == os.path.join(short_tmp, "me")
        unbound = client(bind=False)
        unbound.c.in_.on_next(Event(2))
        wait_for(lambda: len(srv.got) == 2, what="the second event")
        assert srv.got[1].meta[DGRAM_SERVER]["peer"] is None and unbound.balanced()
        bound.c.stop()
        assert not os.path.exists(os.path.join(short_tmp, "me"))  # its own socket file removed
    finally:
        srv.stop()


@needs_socat
def test_socat_recvfrom_peer_answers(client: Any, sock_path: str) -> None:
    proc = gsub.Popen([SOCAT, f"UNIX-RECVFROM:{sock_path},fork", "SYSTEM:cat"])
    try:
        wait_for(lambda: os.path.exists(sock_path), what="socat's socket")
        c = client()
        for i in range(5):
            c.c.in_.on_next(Event(i))
        wait_for(lambda: len(c.out) == 5, what="socat's replies")
        assert sorted(e.value for e in c.out) == [0, 1, 2, 3, 4]
    finally:
        proc.kill()
        proc.wait()


def test_reconnects_to_a_restarted_server_and_loses_nothing(client: Any, sock_path: str) -> None:
    first = echo_server(sock_path)
    c = client(reconnect=FAST_RETRY)
    c.c.in_.on_next(Event("a"))
    wait_for(lambda: len(first.got) == 1, what="the first event")
    first.stop()  # gone: the next send fails, the client re-resolves the path until a server is back
    for v in ("b", "c", "d"):
        c.c.in_.on_next(Event(v))
    wait_for(lambda: c.c.stats["retries"] >= 2, what="reconnect attempts")
    second = echo_server(sock_path)
    try:
        wait_for(lambda: len(second.got) == 3, what="the held events at the new server")
        assert [e.value for e in second.got] == ["b", "c", "d"]
        assert c.c.written == 4 and c.balanced() and c.c.stats["connects"] >= 2
        assert set(c.actions()) <= {"write"}  # the lost receiver, said once per loss
    finally:
        second.stop()


def test_gives_up_and_reports_every_held_event(client: Any) -> None:
    c = client(reconnect={"retry": {"interval_ms": 5, "max_retries": 2, "randomized": False}})
    for i in range(4):
        c.c.in_.on_next(Event(i))
    assert c.c.join(10)
    assert c.actions().count("connect") == 1 and c.actions().count("write") == 4
    assert sorted(e.value["value"] for e in c.err if e.value["action"] == "write") == [0, 1, 2, 3]
    c.c.in_.on_next(Event(9))  # after the end: counted as reported
    assert c.balanced() and c.c.written == 0


def test_too_large_datagram_is_that_event_only(client: Any, sock_path: str) -> None:
    srv = echo_server(sock_path)
    try:
        c = client()
        c.c.in_.on_next(Event("x" * (4 * 1024 * 1024)))  # over the kernel's datagram limit: EMSGSIZE
        c.c.in_.on_next(Event("small"))
        wait_for(lambda: c.out, what="the small one's reply")
        assert [e.value for e in c.out] == ["small"]
        [e] = c.err
        assert e.value["action"] == "write" and "too long" in e.value["error"].lower()
        assert c.balanced() and c.c.connected
    finally:
        srv.stop()


def test_back_pressure_from_a_receiver_that_does_not_read(client: Any, sock_path: str) -> None:
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    slow.bind(sock_path)
    c = client()
    wait_for(lambda: c.c.connected, what="connected")
    n = 2000
    for i in range(n):
        c.c.in_.on_next(Event(i))
    wait_for(lambda: c.c.held < n and c.c.written > 0, what="the first sends")
    gevent.sleep(0)  # the receive queue is full now: the client waits, it does not drop
    assert c.c.held > 0 and not c.err
    got: list[bytes] = []
    with gevent.Timeout(20, AssertionError("not all datagrams arrived")):
        while len(got) < n:
            got.append(slow.recv(100))
    assert got == [b"%d\n" % i for i in range(n)]
    assert c.c.written == n and c.balanced()
    slow.close()


def test_queue_full_while_disconnected_and_stop_reports_held(client: Any) -> None:
    c = client(queue_size=3, reconnect=FAST_RETRY)
    for i in range(5):
        c.c.in_.on_next(Event(i))
    assert c.actions() == ["enqueue", "enqueue"]
    c.c.stop(timeout=0.5)
    assert [e.value["value"] for e in c.err if e.value["action"] == "stop"] == [0, 1, 2]
    assert c.balanced()


def test_abstract_server_and_client(client: Any) -> None:
    name = f"@rx-test-{uuid.uuid4().hex}"
    srv = echo_server(name)
    try:
        c = client(path=name)
        c.c.in_.on_next(Event("hi"))
        wait_for(lambda: c.out, what="the reply")
        assert c.out[0].value == "hi" and c.out[0].meta[DGRAM_CLIENT] == {"peer": name}
    finally:
        srv.stop()


def test_several_clients_filling_one_receiver_lose_nothing(client: Any, sock_path: str) -> None:
    """Clients compete for one receive queue: a client woken as writable may find it full
    again; each datagram counted as written has arrived (gevent's send returned 0 there)."""
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(sock_path)
    clients = [client(codec="string", postprocessors=[]) for _ in range(4)]
    wait_for(lambda: all(c.c.connected for c in clients), what="connected")
    n = 1000
    for i in range(n):
        for k, c in enumerate(clients):
            c.c.in_.on_next(Event(f"{k}-{i}"))
    got: list[bytes] = []
    with gevent.Timeout(30, False):
        while len(got) < 4 * n:
            got.append(receiver.recv(100))
            if len(got) % 7 == 0:
                gevent.sleep(0.0005)  # a receiver slower than its senders
    assert len(got) == 4 * n, f"datagrams missing: {len(got)} of {4 * n} arrived"
    for k, c in enumerate(clients):
        assert [g for g in got if g.startswith(b"%d-" % k)] == [b"%d-%d" % (k, i) for i in range(n)]
        assert c.c.written == n and c.balanced() and not c.err
    receiver.close()


def test_a_receiver_that_does_not_read_turns_the_client_not_ready_and_pauses_a_link(
        client: Any, sock_path: str, short_tmp: str) -> None:
    import rxunix
    from rxunix.edge.flowctl import READY_BACKLOG

    stuck = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stuck.bind(sock_path)
    c = client()
    ready: list[bool] = []
    c.c.ready.subscribe(ready.append)
    wait_for(lambda: c.c.connected, what="connected")
    server = unix_datagram_server(path=os.path.join(short_tmp, "in"), preprocessors=["separate"])
    link = rxunix.connect(server, c.c)
    server.start()
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sender.setblocking(False)
    n, sent, refused = 3 * READY_BACKLOG, [0], [0]

    def send_all() -> None:
        while sent[0] < n:
            try:
                sender.sendto(b"%d\n" % sent[0], os.path.join(short_tmp, "in"))
                sent[0] += 1
            except BlockingIOError:  # the server's queue is full: wait for it to read
                refused[0] += 1
                gevent.sleep(0.001)

    feeder = gevent.spawn(send_all)
    try:
        wait_for(lambda: ready and ready[-1] is False, what="the client not ready")
        wait_for(lambda: not server.gate.open, what="the link to pause the server")
        refused_then = refused[0]  # (the server's reader now waits at its closed gate)
        wait_for(lambda: refused[0] > refused_then, what="the server's queue full: its sender refused")
        held, sent_then = c.c.held, sent[0]
        gevent.sleep(PAUSED_WINDOW_S)  # a fixed window is inherent: "reads nothing more" has no event
        assert sent[0] == sent_then < n  # the link paused the server: its senders wait
        assert c.c.held == held and READY_BACKLOG <= held <= READY_BACKLOG + 10  # bounded
        with gevent.Timeout(30, AssertionError("the client did not send everything once read")):
            while c.c.written < n:
                stuck.recv(100)
        assert ready[-1] is True and c.balanced() and not c.err
    finally:
        feeder.kill()
        link.dispose()
        server.stop()
        sender.close()
        stuck.close()


def test_gelf_chunking_sends_each_chunk_as_a_datagram_both_ways(client: Any, sock_path: str) -> None:
    gelf = [{"name": "gelf-chunking", "config": {"chunk_size": 40}}]
    server = unix_datagram_server(path=sock_path, preprocessors=["gelf-chunking"], postprocessors=gelf)
    got: list[Event] = []
    server.out.subscribe(got.append)
    server.out.subscribe(server.in_)  # replies chunked too
    server.start()
    try:
        c = client(preprocessors=["gelf-chunking"], postprocessors=gelf)
        messages = [{"short_message": "x" * (50 * k), "n": k} for k in range(1, 5)]  # 2 to 6 chunks each
        for m in messages:
            c.c.in_.on_next(Event(m))
        wait_for(lambda: len(c.out) == len(messages), what="every chunked message back")
        assert [e.value for e in got] == messages and [e.value for e in c.out] == messages
        assert c.c.written == len(messages) and c.balanced() and not c.err
        assert server.stats["datagrams"] > 2 * len(messages)  # chunks, each its own datagram
    finally:
        server.stop()


@pytest.mark.parametrize("bind", ["@" + "b" * 108, "/tmp/" + "x" * 120, ""])
def test_a_bad_bind_is_a_config_error_naming_it(bind: str) -> None:
    from rxunix.errors import ConfigError

    with pytest.raises(ConfigError, match="option 'bind' must be a path or '@name' of at most 107 bytes"):
        unix_datagram_client(path="/tmp/x.sock", bind=bind)


def test_an_event_cut_off_by_a_lost_receiver_goes_whole_to_the_next(client: Any, sock_path: str) -> None:
    gelf = [{"name": "gelf-chunking", "config": {"chunk_size": 40}}]
    first = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    first.bind(sock_path)  # takes some chunks, then goes away
    c = client(codec="json", postprocessors=gelf, reconnect=FAST_RETRY)
    wait_for(lambda: c.c.connected, what="connected")
    c.c.in_.on_next(Event({"short_message": "x" * 1500, "n": 1}))  # ~40 chunks: more than a queue holds
    wait_for(lambda: c.c._head is not None and c.c._head[2] > 0, what="the first chunks sent")
    first.close()
    os.unlink(sock_path)
    server = unix_datagram_server(path=sock_path, codec="json", preprocessors=["gelf-chunking"])
    got: list[Event] = []
    server.out.subscribe(got.append)
    server.start()
    try:
        for n in (2, 3, 4):
            c.c.in_.on_next(Event({"short_message": "x" * 1500, "n": n}))
        wait_for(lambda: len(got) == 4, what="all four messages")
        assert [e.value["n"] for e in got] == [1, 2, 3, 4]  # whole, each its own message id
        assert c.c.written == 4 and c.balanced()
    finally:
        server.stop()


def test_a_stream_compress_chain_is_one_datagram_per_event(client: Any, sock_path: str) -> None:
    server = unix_datagram_server(path=sock_path, codec="string", preprocessors=["decompress", "separate"])
    got: list[Any] = []
    errors: list[Any] = []
    server.out.subscribe(lambda e: got.append(e.value))
    server.err.subscribe(errors.append)
    server.start()
    try:
        c = client(codec="string", postprocessors=["separate", {"name": "stream-compress",
                                                                "config": {"algorithm": "xz2"}}])
        for m in ("hello", "world"):
            c.c.in_.on_next(Event(m))
        wait_for(lambda: len(got) == 2, what="both events")
        assert got == ["hello", "world"] and server.stats["datagrams"] == 2 and not errors
    finally:
        server.stop()


def test_an_empty_encoding_is_an_empty_datagram(client: Any, sock_path: str) -> None:
    server = unix_datagram_server(path=sock_path, codec="string")
    got: list[Any] = []
    server.out.subscribe(lambda e: got.append(e.value))
    server.start()
    try:
        c = client(codec="string", postprocessors=["collect"])
        c.c.in_.on_next(Event(""))
        c.c.in_.on_next(Event("a"))
        wait_for(lambda: len(got) == 2, what="both datagrams")
        assert got == ["", "a"] and c.c.written == 2
    finally:
        server.stop()


def test_ready_again_when_the_held_events_fail_to_encode(client: Any, sock_path: str) -> None:
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(sock_path)
    c = client(codec="json", postprocessors=[])
    ready: list[bool] = []
    c.c.ready.subscribe(ready.append)
    wait_for(lambda: c.c.connected, what="connected")
    for _ in range(1000):
        c.c.in_.on_next(Event({"bad": {1, 2}}))  # a set: json cannot encode it
    wait_for(lambda: c.c.reported == 1000, what="every event reported")
    assert ready == [True, False, True] and c.c.held == 0 and c.balanced()
    receiver.close()


@pytest.mark.parametrize("path", [None, b"/tmp/x.sock", "", "/tmp/dir/", "/tmp/" + "x" * 120])
def test_a_bad_path_is_a_config_error_for_both_datagram_connectors(path: Any) -> None:
    from rxunix.errors import ConfigError

    for make in (unix_datagram_client, unix_datagram_server):
        with pytest.raises(ConfigError, match="option 'path'"):
            make(path=path)


def test_a_pathlike_path_is_taken_in_config_too(short_tmp: str) -> None:
    from pathlib import Path

    where = Path(short_tmp) / "p.sock"
    for make in (unix_datagram_client, unix_datagram_server):
        assert make(config={"path": where}).path == str(where)
