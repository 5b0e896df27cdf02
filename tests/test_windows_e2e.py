"""End to end over real unix sockets: an aggregate reaches every contributing connection
exactly once, and no other connection (SPEC 3.2, 6)."""

from __future__ import annotations

import json
import socket as stdsocket
from typing import Any

import gevent
import gevent.socket
from rxunix.operators import connection_key, reducers, tumbling_count

from tests.helpers import wait_for


def _server(path: str) -> Any:
    from rxunix.connectors.server import unix_socket_server

    return unix_socket_server(
        config={"path": path}, codec="json", preprocessors=["separate"], postprocessors=["separate"]
    )


def _connect(path: str) -> Any:
    s = gevent.socket.socket(stdsocket.AF_UNIX, stdsocket.SOCK_STREAM)
    s.connect(path)
    return s


class _Reader:
    """Reads a client socket until EOF in its own greenlet; ``data`` so far."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.data = b""
        self.greenlet = gevent.spawn(self._run)

    def _run(self) -> bytes:
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                return self.data
            self.data += chunk

    def result(self) -> bytes:
        return self.greenlet.get(timeout=5)  # type: ignore[no-any-return]


def test_count_window_replies_to_each_contributor_once(sock_path: str) -> None:
    server = _server(sock_path)
    window = tumbling_count(3)
    server.out.pipe(window).subscribe(server.in_)
    errors: list[Any] = []
    server.err.subscribe(errors.append)
    server.start()
    try:
        clients = [_connect(sock_path) for _ in range(3)]
        silent = _connect(sock_path)
        wait_for(lambda: len(server.peers) == 4, 5, "four connections")
        readers = []
        for i, c in enumerate(clients):
            c.sendall(json.dumps({"client": i}).encode() + b"\n")
            c.shutdown(stdsocket.SHUT_WR)  # half-closed peers still get their replies
            readers.append(_Reader(c))
        silent_reader = _Reader(silent)
        wait_for(lambda: all(r.data.endswith(b"\n") for r in readers), 5, "the aggregate at each client")
    finally:
        server.stop()
    received = [r.result() for r in readers]  # everything until the server closed them
    for data in received:
        lines = data.splitlines()
        assert len(lines) == 1, f"expected the aggregate once, got {data!r}"
        assert sorted(v["client"] for v in json.loads(lines[0])) == [0, 1, 2]
    assert silent_reader.result() == b""  # sent nothing, receives nothing
    # nothing unroutable or unencodable (other errors, e.g. at stop, are the server's business)
    assert not [e for e in errors if e.value["action"] in ("route", "encode", "write")], errors
    assert window.live_groups == 0
    for c in [*clients, silent]:
        c.close()


def test_per_connection_windows_reply_to_their_own_connection(sock_path: str) -> None:
    server = _server(sock_path)
    server.out.pipe(tumbling_count(2, key=connection_key, reduce=reducers.sum("n"))).subscribe(server.in_)
    server.start()
    try:
        a, b = _connect(sock_path), _connect(sock_path)
        a.sendall(b'{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n')
        b.sendall(b'{"n":10}\n{"n":20}\n')
        for s in (a, b):
            s.shutdown(stdsocket.SHUT_WR)
        ra, rb = _Reader(a), _Reader(b)
        wait_for(lambda: ra.data.count(b"\n") == 2 and rb.data.count(b"\n") == 1, 5, "three aggregates")
    finally:
        server.stop()
    assert ra.result() == b"3\n7\n"
    assert rb.result() == b"30\n"
    a.close()
    b.close()


def test_origins_of_two_servers_are_kept_apart(short_tmp: str) -> None:
    """One window over two servers' events; the aggregate is pushed into both servers:
    each server sends it to its own contributors only (once), reports nothing
    unroutable for the other server's origins, and a silent client gets nothing."""
    import os

    import reactivex as rx

    paths = [os.path.join(short_tmp, "a.sock"), os.path.join(short_tmp, "b.sock")]
    servers = [_server(p) for p in paths]
    errors: list[Any] = []
    window = tumbling_count(3)
    for s in servers:
        s.err.subscribe(errors.append)

    def to_both(aggregate: Any) -> None:
        for s in servers:
            s.in_.on_next(aggregate)

    rx.merge(*(s.out for s in servers)).pipe(window).subscribe(to_both)
    for s in servers:
        s.start()
    try:
        # two contributors on server a, one on server b, one silent client on each
        senders = [_connect(paths[0]), _connect(paths[0]), _connect(paths[1])]
        silent = [_connect(paths[0]), _connect(paths[1])]
        wait_for(lambda: len(servers[0].peers) == 3 and len(servers[1].peers) == 2, 5, "five connections")
        readers = []
        for i, c in enumerate(senders):
            c.sendall(json.dumps({"client": i}).encode() + b"\n")
            c.shutdown(stdsocket.SHUT_WR)
            readers.append(_Reader(c))
        silent_readers = [_Reader(c) for c in silent]
        wait_for(lambda: all(r.data.endswith(b"\n") for r in readers), 5, "the aggregate at each client")
    finally:
        for s in servers:
            s.stop()
    for r in readers:
        lines = r.result().splitlines()
        assert len(lines) == 1, lines  # from its own server only
        assert sorted(v["client"] for v in json.loads(lines[0])) == [0, 1, 2]
    assert [r.result() for r in silent_readers] == [b"", b""]
    assert not [e for e in errors if e.value["action"] in ("route", "encode", "write")], errors
    for c in [*senders, *silent]:
        c.close()


def test_sliding_window_replies_each_aggregate_to_its_contributors(sock_path: str) -> None:
    """Three clients feed one sliding window (the last 4 events every 2); each client
    receives exactly the aggregates its events are in, once each, in order; a silent
    client receives nothing."""
    from reactivex import operators as ops
    from rxunix.operators import sliding_count

    per_client, clients_n = 5, 3
    server = _server(sock_path)
    window = sliding_count(4, 2)
    emitted: list[Any] = []
    # take() completes the window after the last event, so the partial windows are
    # flushed while the server still runs
    aggregates = server.out.pipe(ops.take(per_client * clients_n), window, ops.share())
    aggregates.subscribe(emitted.append)
    aggregates.subscribe(server.in_)
    errors: list[Any] = []
    server.err.subscribe(errors.append)
    server.start()
    try:
        clients = [_connect(sock_path) for _ in range(clients_n)]
        silent = _connect(sock_path)
        wait_for(lambda: len(server.peers) == clients_n + 1, 5, "four connections")
        readers = [_Reader(c) for c in clients]
        silent_reader = _Reader(silent)
        senders = [gevent.spawn(_send_slowly, c, i, per_client) for i, c in enumerate(clients)]
        gevent.joinall(senders, raise_error=True)

        def expected(i: int) -> list[Any]:
            return [e.value for e in emitted if i in {v["client"] for v in e.value}]

        wait_for(lambda: len(emitted) == 8 and all(
            r.data.count(b"\n") == len(expected(i)) for i, r in enumerate(readers)), 5, "every reply")
    finally:
        server.stop()
    # 15 events: full windows start at events 0, 2, ..., 10; then [12, 13, 14] and [14], flushed
    assert [len(e.value) for e in emitted] == [4] * 6 + [3, 1]
    for i, r in enumerate(readers):
        got = [json.loads(line) for line in r.result().splitlines()]
        assert got == expected(i) and got, f"client {i}"
    for e in emitted:  # each aggregate's origins: one record per contributing connection
        assert len(e.meta["unix_socket_server"]) == len({v["client"] for v in e.value})
    assert silent_reader.result() == b""
    assert not [e for e in errors if e.value["action"] in ("route", "encode", "write")], errors
    assert window.live_groups == 0
    for c in [*clients, silent]:
        c.close()


def _send_slowly(sock: Any, client: int, count: int) -> None:
    """One line at a time, yielding between lines, so the clients' events interleave."""
    for n in range(count):
        sock.sendall(json.dumps({"client": client, "n": n}).encode() + b"\n")
        gevent.sleep(0.001)
    sock.shutdown(stdsocket.SHUT_WR)


def test_per_connection_sliding_windows_reach_readers_that_fall_behind(sock_path: str) -> None:
    """``sliding_count(100, 10, key=connection_key)``: each event is in 10 windows, so the
    replies are ten times the requests. Clients that send everything before reading
    (their unsent replies grow far past one write) still receive every window of their
    own events, once, in order, and nothing of the others'; at stop, the partial windows
    of their last events too (the connections are still open)."""
    from rxunix.operators import sliding_count

    per_client, clients_n, pad = 2000, 3, b"x" * 100
    server = _server(sock_path)
    server.out.pipe(sliding_count(100, 10, key=connection_key)).subscribe(server.in_)
    errors: list[Any] = []
    server.err.subscribe(errors.append)
    server.start()
    try:
        clients = [_connect(sock_path) for _ in range(clients_n)]
        for i, c in enumerate(clients):  # far more than a socket buffer's worth of replies waits
            c.sendall(b"".join(b'{"c":%d,"n":%d,"p":"%s"}\n' % (i, n, pad) for n in range(per_client)))
        wait_for(lambda: server._conns and min(c.core.pending for c in server._conns.values()) > 1_000_000,
                 10, "replies pile up unread")
        readers = [_Reader(c) for c in clients]
        full = (per_client - 100) // 10 + 1
        wait_for(lambda: all(r.data.count(b"\n") == full for r in readers), 20, "every full window")
    finally:
        server.stop()
    for i, r in enumerate(readers):
        got = [json.loads(line) for line in r.result().splitlines()]
        want = [[{"c": i, "n": n, "p": pad.decode()} for n in range(s, min(s + 100, per_client))]
                for s in range(0, per_client, 10)]  # the last 9 partial: flushed at stop
        assert got == want, f"client {i}"
    assert errors == []


def test_whole_windows_are_written_from_slices_byte_for_byte(sock_path: str, monkeypatch: Any) -> None:
    """A sliding window subscribed straight to ``in_`` hands it each read's windows as
    slices of one sequence; the server encodes each element once, and the bytes are
    exactly each window's own encoding (exponents, non-ASCII text), in order."""
    from rxunix.operators import sliding_count

    from rxunix.core.codecs.json_codec import JsonCodec

    told: list[int] = []
    plain = JsonCodec.encode_slices

    def spy(self: JsonCodec, elems: list[Any], spans: list[tuple[int, int]], sep: bytes) -> bytes:
        told.append(len(spans))
        return plain(self, elems, spans, sep)

    monkeypatch.setattr(JsonCodec, "encode_slices", spy)
    values = [{"n": n, "x": 1e-7 * (n + 1), "big": 1e20 * n, "s": "ü€"} for n in range(41)]
    server = _server(sock_path)
    server.out.pipe(sliding_count(5, 2, key=connection_key)).subscribe(server.in_)
    server.start()
    try:
        sock = _connect(sock_path)
        sock.sendall(b"".join(JsonCodec().encode(v) + b"\n" for v in values))  # one read, or a few
        want = b"".join(JsonCodec().encode(values[s:s + 5]) + b"\n" for s in range(0, 37, 2))
        reader = _Reader(sock)
        wait_for(lambda: len(reader.data) >= len(want), 5, "every full window")
        assert sum(told) == 19  # every full window went as a slice
    finally:
        server.stop()
    assert reader.result()[:len(want)] == want


def test_a_window_that_cannot_be_encoded_is_an_error_in_its_place(sock_path: str, monkeypatch: Any) -> None:
    """Windows of one connection reach ``in_`` unbuilt; one that holds a value the codec
    cannot encode becomes an ``encode`` error event naming the connection, and every
    other window is written, in order."""
    from rxunix.operators import map_values, sliding_count

    from rxunix.core.event import SliceBatch

    unbuilt: list[int] = []
    lazy_of = SliceBatch.lazy_of

    def spy(elems: list[Any], spans: list[tuple[int, int]], meta: Any) -> SliceBatch:
        unbuilt.append(len(spans))
        return lazy_of(elems, spans, meta)

    monkeypatch.setattr(SliceBatch, "lazy_of", spy)
    server = _server(sock_path)
    errors: list[Any] = []
    server.err.subscribe(errors.append)
    bad = lambda v: {"set": {1}} if v["n"] == 2 else v  # noqa: E731 - a set: not JSON
    server.out.pipe(map_values(bad), sliding_count(2, 1, key=connection_key)).subscribe(server.in_)
    server.start()
    try:
        sock = _connect(sock_path)
        sock.sendall(b"".join(json.dumps({"n": n}).encode() + b"\n" for n in range(6)))
        reader = _Reader(sock)
        wait_for(lambda: reader.data.count(b"\n") >= 3 and len(errors) >= 2, 5, "three windows, two errors")
        peer = server.peers[0]
    finally:
        server.stop()
    assert sum(unbuilt) == 5  # every window a read closed (the last, partial one is flushed at stop)
    lines = [json.loads(line) for line in reader.result().splitlines()]
    assert lines[:3] == [[{"n": 0}, {"n": 1}], [{"n": 3}, {"n": 4}], [{"n": 4}, {"n": 5}]]
    encode = [e for e in errors if e.value["action"] == "encode"]
    assert len(encode) == 2 and all(e.value["stream"] == peer for e in encode), errors
    assert [e.value["value"] for e in encode] == [[{"n": 1}, {"set": {1}}], [{"set": {1}}, {"n": 3}]]
    assert all(rec["peer"] == peer for e in encode for rec in e.meta["unix_socket_server"])


def test_unbuilt_windows_and_an_echo_of_the_same_read_keep_their_order(sock_path: str) -> None:
    """``in_`` gathers a read's replies from two chains (the read echoed, then the
    windows it closes, unbuilt); what comes after the windows builds them: the peer
    gets each read's echo, then its windows, in order, every line once."""
    from rxunix.operators import sliding_count

    server = _server(sock_path)
    server.out.subscribe(server.in_)
    server.out.pipe(sliding_count(4, 2, key=connection_key)).subscribe(server.in_)
    server.out.subscribe(server.in_)  # a second echo after the windows: gathered behind them
    server.start()
    try:
        sock = _connect(sock_path)
        reader = _Reader(sock)
        want: list[Any] = []
        for read in range(3):  # one read at a time: each answered before the next is sent
            values = [{"n": 4 * read + i} for i in range(4)]
            sock.sendall(b"".join(json.dumps(v).encode() + b"\n" for v in values))
            want += values
            want += [[{"n": n} for n in range(s, s + 4)] for s in range(0, 4 * read + 1, 2) if s + 4 > 4 * read]
            want += values
            lines = len(want)
            wait_for(lambda: reader.data.count(b"\n") == lines, 5, f"the replies to read {read}")  # noqa: B023
    finally:
        server.stop()
    got = [json.loads(line) for line in reader.result().splitlines()]
    assert got[:len(want)] == want


def test_stop_flushes_a_partial_window_to_a_connection_still_open(sock_path: str) -> None:
    """stop() completes ``out`` before the connections close: the window's partial
    aggregate is written to its contributor, not reported as unroutable."""
    server = _server(sock_path)
    errors: list[Any] = []
    server.err.subscribe(errors.append)
    server.out.pipe(tumbling_count(4)).subscribe(server.in_)
    server.start()
    try:
        peer = _connect(sock_path)
        reader = _Reader(peer)
        peer.sendall(b"".join(b"%d\n" % i for i in range(6)))
        wait_for(lambda: reader.data.count(b"\n") == 1, what="the first whole window")
    finally:
        server.stop()
    assert [json.loads(line) for line in reader.result().splitlines()] == [[0, 1, 2, 3], [4, 5]]
    assert errors == []
    peer.close()
