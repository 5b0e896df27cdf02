"""``send_buffer_bytes``: the kernel's send buffer of each stream connection, server and
client. Over real unix sockets: with a larger buffer, replies (server) and events
(client) that a peer has not read yet are in the kernel instead of rxunix's queue,
with a smaller one fewer are; a request the kernel would cap, or a bad value, is a
ConfigError naming the key; a cap met later is reported on ``err``."""

from __future__ import annotations

import socket
from typing import Any

import gevent
import pytest
from gevent import socket as gsocket

import rxunix
from rxunix import ConfigError, Event
from rxunix.edge import sockbuf
from rxunix.edge.sockbuf import check_send_buffer, set_send_buffer
from tests.helpers import recv_exactly, wait_for

LINES = {"codec": "json", "preprocessors": ["separate"], "postprocessors": ["separate"]}
LARGE = 1 << 20  # asked for: Linux reserves twice that (the default reserves 212,992)
SMALL = 16384  # below every kernel's default, above its floor
N = 4000
PAD = "x" * 130
LINE = b'{"i":%d,"pad":"%s"}\n'


def _granted(size: int | None = None) -> int:
    """What the kernel grants a fresh stream socket, in ``getsockopt``'s units
    (``None``: its default; else ``size`` asked for)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if size is not None:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
        return int(probe.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF))
    finally:
        probe.close()


def _allowed() -> int:
    """The most this process may ask for (Linux: net.core.wmem_max)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        return set_send_buffer(probe, 2**30 - 1)
    finally:
        probe.close()


def _data(n: int = N) -> bytes:
    return b"".join(LINE % (i, PAD.encode()) for i in range(n))  # ~150 bytes a line: ~600 KB


needs_room = pytest.mark.skipif(_allowed() < LARGE, reason="the kernel caps send buffers below 1 MiB here "
                                "(net.core.wmem_max); the SMALL tests still run")
default_too_large = pytest.mark.skipif(_granted() >= len(_data()),
                                       reason="this kernel's default send buffer holds every reply")


def _unread_replies(sock_path: str, **config: Any) -> tuple[int, int]:
    """A peer sends ~600 KB of lines and reads nothing; once every reply is queued and
    the writer has had its turn: ``(bytes written to the kernel, reply bytes)``, with the
    server's pending bytes checked to be the rest. Then the peer reads them all and
    checks they are the echo, in order."""
    data = _data()
    server = rxunix.unix_socket_server(path=sock_path, **config, **LINES)
    server.out.subscribe(server.in_)
    errors: list[Event] = []
    server.err.subscribe(errors.append)

    def pending() -> int:
        return int(server.metrics_snapshot()["pending_bytes"])

    with server:
        peer = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
        try:
            peer.connect(sock_path)
            peer.sendall(data)
            wait_for(lambda: server.stats["in"] == N, what="every reply queued")
            wait_for(lambda: server.stats["bytes_written"] + pending() == len(data), what="the writer's turn")
            written = server.stats["bytes_written"]
            assert pending() == len(data) - written
            assert recv_exactly(peer, len(data)) == data
        finally:
            peer.close()
    assert errors == []
    return written, len(data)


@needs_room
def test_a_server_connection_holds_a_reads_replies_in_the_kernel(sock_path: str) -> None:
    written, total = _unread_replies(sock_path, send_buffer_bytes=LARGE)
    assert written == total


@default_too_large
def test_with_the_kernels_default_the_same_replies_wait_in_the_server(sock_path: str) -> None:
    written, total = _unread_replies(sock_path)
    assert written < total


def test_a_small_send_buffer_holds_fewer_replies_than_the_default(sock_path: str) -> None:
    small, _ = _unread_replies(sock_path, send_buffer_bytes=SMALL)
    default, _ = _unread_replies(sock_path.replace(".sock", "2.sock"))
    assert small <= 2 * _granted(SMALL) < default


def _client_against_a_silent_server(sock_path: str, **config: Any) -> tuple[Any, socket.socket, socket.socket]:
    listener = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(1)
    accepted = gevent.spawn(listener.accept)
    client = rxunix.unix_socket_client(path=sock_path, **config, **LINES)
    client.start()
    conn, _ = accepted.get(timeout=10)
    return client, conn, listener


@needs_room
def test_a_client_hands_events_to_the_kernel_while_the_server_reads_nothing(sock_path: str) -> None:
    client, conn, listener = _client_against_a_silent_server(sock_path, send_buffer_bytes=LARGE)
    try:
        for i in range(N):
            client.in_.on_next(Event({"i": i, "pad": PAD}))
        wait_for(lambda: client.written == N, what="every event written while nobody reads")
        assert recv_exactly(conn, len(_data())) == _data()
    finally:
        client.stop()
        conn.close()
        listener.close()


def test_a_clients_connection_gets_the_buffer_asked_for(sock_path: str) -> None:
    client, conn, listener = _client_against_a_silent_server(sock_path, send_buffer_bytes=SMALL)
    try:
        wait_for(lambda: client._session is not None, what="the session")
        assert client._session.sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) == _granted(SMALL)
        assert _granted(SMALL) != _granted()
    finally:
        client.stop()
        conn.close()
        listener.close()


def test_a_connection_the_kernel_caps_later_is_reported(sock_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    server = rxunix.unix_socket_server(path=sock_path, send_buffer_bytes=SMALL, **LINES)
    server.out.subscribe(server.in_)
    errors: list[Event] = []
    server.err.subscribe(errors.append)
    monkeypatch.setattr(sockbuf, "set_send_buffer", lambda sock, size: size // 2)  # net.core.wmem_max lowered
    with server:
        peer = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
        peer.connect(sock_path)
        peer.sendall(b'{"a":1}\n')
        assert recv_exactly(peer, 8) == b'{"a":1}\n'  # the connection is served all the same
        peer.close()
    assert len(errors) == 1
    err = errors[0].value
    assert err["action"] == "accept" and err["send_buffer_bytes"] == SMALL
    assert f"the kernel granted {SMALL // 2}" in err["error"]


@pytest.mark.parametrize("make", [rxunix.unix_socket_server, rxunix.unix_socket_client])
@pytest.mark.parametrize("bad", [0, -1, 2**30, "1MiB", 1.5])
def test_a_bad_value_is_refused_naming_the_key(make: Any, bad: Any) -> None:
    with pytest.raises(ConfigError, match="send_buffer_bytes"):
        make(path="/tmp/rx-sb.sock", send_buffer_bytes=bad)


@pytest.mark.parametrize("make", [rxunix.unix_socket_server, rxunix.unix_socket_client])
def test_more_than_the_kernel_allows_is_refused_not_capped(make: Any) -> None:
    too_much = _allowed() + 1
    with pytest.raises(ConfigError, match=rf"'send_buffer_bytes' \({too_much}\) is more than the kernel allows"):
        make(path="/tmp/rx-sb.sock", send_buffer_bytes=too_much)
    check_send_buffer("x", too_much - 1)  # what it allows is accepted


def test_a_datagram_server_takes_send_buffer_bytes(short_tmp: str) -> None:
    # Linux charges each reply to the server's socket until its receiver reads it
    size = min(_allowed(), 4 * _granted())  # more than the default holds, what the kernel allows
    server = rxunix.unix_datagram_server(path=f"{short_tmp}/d.sock", send_buffer_bytes=size)
    server.start()
    try:
        assert server._raw.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) >= size
    finally:
        server.stop()
    for bad in (0, 2**30):
        with pytest.raises(ConfigError, match="send_buffer_bytes"):
            rxunix.unix_datagram_server(path=f"{short_tmp}/e.sock", send_buffer_bytes=bad)


def test_send_buffer_full_tells_when_unread_datagrams_hold_the_senders_buffer(short_tmp: str) -> None:
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(f"{short_tmp}/r")
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL)  # full after two datagrams, before the
    sender.setblocking(False)                                      # receiver's queue (10 by default) is
    assert not sockbuf.send_buffer_full(sender)
    with pytest.raises(BlockingIOError):
        for _ in range(100):  # unread: each stays charged to the sender
            sender.sendto(b"x" * 30000, f"{short_tmp}/r")
    assert sockbuf.send_buffer_full(sender)
    receiver.close()
    sender.close()
