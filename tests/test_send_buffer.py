"""``send_buffer_bytes``: the kernel's send buffer of each stream connection, server and
client. Over real unix sockets: with a larger buffer, replies (server) and events
(client) that a peer has not read yet are in the kernel instead of rxunix's queue;
a request the kernel would cap, or a bad value, is a ConfigError naming the key."""

from __future__ import annotations

import socket
from typing import Any

import gevent
import pytest
from gevent import socket as gsocket

import rxunix
from rxunix import ConfigError
from rxunix.edge.sockbuf import check_send_buffer, set_send_buffer
from tests.helpers import recv_exactly, wait_for

LINES = {"codec": "json", "preprocessors": ["separate"], "postprocessors": ["separate"]}
BUFFER = 1 << 20  # asked for; the default is about 208 KiB
N = 4000
LINE = b'{"i":%d,"pad":"%s"}\n'


def _wmem_max() -> int:
    """What the kernel lets this process ask for (Linux: net.core.wmem_max)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        return set_send_buffer(probe, 2**31 - 1)
    finally:
        probe.close()


needs_room = pytest.mark.skipif(_wmem_max() < BUFFER, reason="the kernel caps send buffers below 1 MiB here")


def _data(n: int = N) -> bytes:
    return b"".join(LINE % (i, b"x" * 130) for i in range(n))  # ~155 bytes a line: ~620 KB


def _server(sock_path: str, **config: Any) -> Any:
    server = rxunix.unix_socket_server(path=sock_path, **config, **LINES)
    server.out.subscribe(server.in_)
    return server


def _unread_replies(sock_path: str, **config: Any) -> tuple[int, float, int]:
    """A peer sends ~620 KB of lines and reads nothing; once every reply is queued:
    ``(bytes written to the kernel, bytes still pending in the server, reply bytes)``.
    Then it reads them all and checks they are the echo, in order."""
    data = _data()
    server = _server(sock_path, **config)
    with server:
        peer = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
        peer.connect(sock_path)
        peer.sendall(data)
        wait_for(lambda: server.stats["in"] == N, what="every reply queued")
        wait_for(lambda: server.stats["bytes_written"] + server.metrics_snapshot()["pending_bytes"] == len(data),
                 what="the writer took its turn")
        written, pending = server.stats["bytes_written"], server.metrics_snapshot()["pending_bytes"]
        assert recv_exactly(peer, len(data)) == data
        peer.close()
    return written, pending, len(data)


@needs_room
def test_a_server_connection_holds_a_reads_replies_in_the_kernel(sock_path: str) -> None:
    written, pending, total = _unread_replies(sock_path, send_buffer_bytes=BUFFER)
    assert (written, pending) == (total, 0)


def test_with_the_kernels_default_the_same_replies_wait_in_the_server(sock_path: str) -> None:
    written, pending, total = _unread_replies(sock_path)
    assert written < total and pending == total - written


@needs_room
def test_a_client_hands_events_to_the_kernel_while_the_server_reads_nothing(sock_path: str) -> None:
    listener = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(1)
    accepted = gevent.spawn(listener.accept)
    client = rxunix.unix_socket_client(path=sock_path, send_buffer_bytes=BUFFER, **LINES)
    pad = "x" * 130
    with client:
        conn, _ = accepted.get(timeout=10)
        for i in range(N):
            client.in_.on_next(rxunix.Event({"i": i, "pad": pad}))
        wait_for(lambda: client.written == N, what="every event written while nobody reads")
        got = recv_exactly(conn, len(_data()))
    assert got.count(b"\n") == N and got.startswith(b'{"i":0,')
    conn.close()
    listener.close()


@pytest.mark.parametrize("make", [rxunix.unix_socket_server, rxunix.unix_socket_client])
@pytest.mark.parametrize("bad", [0, -1, 2**31, "1MiB", 1.5])
def test_a_bad_value_is_refused_naming_the_key(make: Any, bad: Any) -> None:
    with pytest.raises(ConfigError, match="send_buffer_bytes"):
        make(path="/tmp/rx-sb.sock", send_buffer_bytes=bad)


@pytest.mark.parametrize("make", [rxunix.unix_socket_server, rxunix.unix_socket_client])
def test_more_than_the_kernel_allows_is_refused_not_capped(make: Any) -> None:
    too_much = _wmem_max() + 1
    with pytest.raises(ConfigError, match=rf"'send_buffer_bytes' \({too_much}\) is more than the kernel allows"):
        make(path="/tmp/rx-sb.sock", send_buffer_bytes=too_much)
    check_send_buffer("x", too_much - 1)  # what it allows is accepted
