"""An echo whose only subscriber of ``out`` is the server's own ``in_`` takes a read's
replies in one step (``UnixSocketServer._echo``); with any other subscriber beside it
the read goes through ``out``'s dispatch and ``in_``. Over real unix sockets both give
the same bytes, in the same order, and the same counts, with reads that hold decode
failures, several connections, and replies pushed into ``in_`` from elsewhere."""

from __future__ import annotations

from typing import Any

import gevent
import gevent.socket
import pytest
from gevent import socket as gsocket

import rxunix
from rxunix import Event
from tests.helpers import recv_exactly, wait_for

JSON_LINES = {"codec": "json", "preprocessors": ["separate"], "postprocessors": ["separate"]}
#: three connections' input: plain lines, lines with a bad one among them, a long run
INPUTS = [
    b"".join(b'{"c":0,"i":%d}\n' % i for i in range(3000)),
    b'{"c":1,"i":0}\nnot json\n{"c":1,"i":1}\n' * 200,
    b"".join(b'{"c":2,"i":%d,"pad":"%s"}\n' % (i, b"x" * 100) for i in range(2000)),
]


def _echoed(inp: bytes) -> bytes:
    return b"".join(line + b"\n" for line in inp.split(b"\n") if line and line != b"not json")


def _more(sock: gsocket.socket) -> bool:
    """True when ``sock`` has bytes to read within a short wait."""
    try:
        gevent.socket.wait_read(sock.fileno(), timeout=0.2)
    except gevent.socket.timeout:
        return False
    return True


def _run(sock_path: str, extra_subscriber: bool) -> tuple[list[bytes], dict[str, Any], int]:
    server = rxunix.unix_socket_server(path=sock_path, buf_size=8192, **JSON_LINES)
    server.out.subscribe(server.in_)
    if extra_subscriber:
        server.out.subscribe(lambda _ev: None)
    errors: list[Event] = []
    server.err.subscribe(errors.append)
    assert server._echoes_to_itself() is not extra_subscriber  # which path the reads take
    got: list[bytes] = []
    with server:
        peers = []
        for _ in INPUTS:
            s = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
            s.connect(sock_path)
            peers.append(s)
        wait_for(lambda: len(server.peers) == 3, timeout=10)
        senders = [gevent.spawn(p.sendall, inp) for p, inp in zip(peers, INPUTS, strict=True)]
        # a reply from elsewhere to the first connection (routed by its peer id), pushed
        # once that connection's replies are under way
        meta = {"unix_socket_server": {"peer": server.peers[0], "path": sock_path}}
        wait_for(lambda: server.stats["out"] > 0, timeout=10)
        server.in_.on_next(Event({"from": "elsewhere"}, meta))
        gevent.joinall(senders, timeout=30)
        wait_for(lambda: server.stats["in"] == server.stats["out"] + 1, timeout=30)
        for p in peers:  # every reply is written: read until the socket is empty
            buf = bytearray()
            with gevent.Timeout(30):
                while not buf.endswith(b"\n") or _more(p):
                    chunk = p.recv(1 << 16)
                    assert chunk, "connection closed early"
                    buf += chunk
            got.append(bytes(buf))
        wait_for(lambda: server.stats["bytes_written"] == sum(map(len, got)), timeout=10)
        stats = {k: server.stats[k] for k in ("in", "out", "bytes_read", "bytes_written")}
        for p in peers:
            p.close()
    return got, stats, sum(1 for e in errors if e.value.get("action") == "decode")


@pytest.mark.timeout(120)
def test_the_one_step_echo_and_the_dispatched_echo_give_the_same_replies(short_tmp: str) -> None:
    one_step = _run(short_tmp + "/a.sock", extra_subscriber=False)
    dispatched = _run(short_tmp + "/b.sock", extra_subscriber=True)
    routed = b'{"from":"elsewhere"}\n'
    for replies in (one_step[0], dispatched[0]):
        # the reply from elsewhere reaches its one connection, between two reads' replies
        assert sum(r.count(routed) for r in replies) == 1
        for got, inp in zip(replies, INPUTS, strict=True):
            assert got.replace(routed, b"", 1) == _echoed(inp)  # every reply, in order
    assert one_step[1] == dispatched[1]  # the same counts either way
    assert one_step[1]["in"] == one_step[1]["out"] + 1  # every event replied, plus the routed one
    assert one_step[2] == dispatched[2] == 200  # every decode failure reported


@pytest.mark.timeout(120)
@pytest.mark.parametrize("extra_subscriber", [False, True], ids=["one-step", "dispatched"])
def test_an_echo_to_a_peer_that_reads_late_is_written_once_in_order(short_tmp: str, extra_subscriber: bool) -> None:
    """The peer sends 4 MB before reading anything: the server's writer waits inside a
    send (its socket buffer full) while the reader takes more reads; their replies must
    join what is pending, never be sent beside the waiting writer."""
    path = short_tmp + "/s.sock"
    server = rxunix.unix_socket_server(path=path, buf_size=65536, max_pending_bytes=1 << 30, **JSON_LINES)
    server.out.subscribe(server.in_)
    if extra_subscriber:
        server.out.subscribe(lambda _ev: None)
    data = b"".join(b'{"i":%d,"pad":"%s"}\n' % (i, b"y" * 200) for i in range(20_000))
    with server:
        peer = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
        peer.connect(path)
        sender = gevent.spawn(peer.sendall, data)
        wait_for(lambda: server.stats["out"] == 20_000, timeout=60)  # all read, none read back yet
        got = recv_exactly(peer, len(data))
        sender.get(timeout=10)
        assert not _more(peer)  # nothing beyond the replies
        assert got == data
        assert server.stats["bytes_written"] == len(data)
        peer.close()
