"""With ``pause_reading_bytes``, a stream server stops reading from a connection whose
unsent replies pass the bound and goes on once half of them are written: a peer that
sends faster than it reads waits (as on a pipe) and loses nothing; eviction at
``max_pending_bytes`` still bounds replies that come from elsewhere. Over real unix
sockets, on the batch and the per-event path. (Without it, the default, a peer that
sends without reading is evicted at ``max_pending_bytes``: tests/test_server.py.)
"""

from __future__ import annotations

import time
from typing import Any

import gevent
import pytest
from gevent import socket as gsocket

import rxunix
from rxunix import ConfigError, Event
from rxunix.core.connector_options import parse_server_options
from tests.helpers import recv_exactly, wait_for
from tests.test_batch_and_per_event import LINES, PATHS, Path

MAX_PENDING = 256 * 1024
PAUSE = 128 * 1024
BUF = 8192
PAUSING = {"buf_size": BUF, "max_pending_bytes": MAX_PENDING, "pause_reading_bytes": PAUSE}
#: How long a paused reader is watched to show that it stays paused. A fixed window is inherent:
#: "reads nothing more" has no event to wait for; a reader that does not pause reads on at once.
PAUSED_WINDOW_S = 0.25


@pytest.fixture(params=sorted(PATHS))
def path(request: pytest.FixtureRequest) -> Path:
    return PATHS[request.param]


def _line(i: int) -> bytes:
    return b'{"i":%d,"pad":"%s"}\n' % (i, b"x" * 200)


def _connect(sock_path: str) -> gsocket.socket:
    s = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
    s.connect(sock_path)
    return s


def _pending(server: Any) -> float:
    return server.metrics_snapshot()["pending_bytes"]


def test_a_peer_that_sends_without_reading_waits_and_loses_nothing(sock_path: str, path: Path) -> None:
    server = rxunix.unix_socket_server(path=sock_path, **PAUSING, **LINES)
    path(server.out).subscribe(server.in_)
    errors: list[Event] = []
    server.err.subscribe(errors.append)
    n = 12_000  # ~2.6 MB of replies: ten times max_pending_bytes
    data = b"".join(map(_line, range(n)))
    with server:
        peer = _connect(sock_path)
        sender = gevent.spawn(peer.sendall, data)
        peak = 0
        with gevent.Timeout(30):
            while not server.stats["read_pauses"] or server.stats["out"] == 0:
                peak = max(peak, _pending(server))
                gevent.sleep(0.001)
            # paused: the server reads nothing more while its replies stay unread
            out_then = server.stats["out"]
            window_ends = time.monotonic() + PAUSED_WINDOW_S
            while time.monotonic() < window_ends:
                peak = max(peak, _pending(server))
                gevent.sleep(0.005)
        assert server.stats["out"] == out_then < n
        assert not sender.dead  # the peer's sends wait, as on a pipe
        assert not errors and server.peers  # not evicted
        # a read's replies at most past the bound (replies are queued at the end of a read)
        assert PAUSE < peak <= PAUSE + BUF, peak
        assert recv_exactly(peer, len(data)) == data  # every reply, in order
        sender.join(5)
        assert sender.successful()
        assert not errors
        peer.close()


def test_replies_from_elsewhere_are_still_bounded_by_eviction(sock_path: str) -> None:
    """A peer that reads nothing, sent replies by another source (not its own reads,
    so pausing its reader cannot help): closed at ``max_pending_bytes``, reported."""
    server = rxunix.unix_socket_server(path=sock_path, **PAUSING, **LINES)
    seen: list[Event] = []
    server.out.subscribe(seen.append)
    errors: list[Event] = []
    server.err.subscribe(errors.append)
    with server:
        peer = _connect(sock_path)
        peer.sendall(b'{"hello":1}\n')
        wait_for(lambda: bool(seen), 5, "the peer's event")
        meta = seen[0].meta
        pushed = 0
        with gevent.Timeout(30):
            while not errors:
                server.in_.on_next(Event({"pad": "x" * 1000}, meta))
                pushed += 1
                gevent.sleep(0)
        (err,) = errors
        assert err.value["action"] == "write" and err.value["kind"] == "SlowReaderError"
        assert err.value["dropped_bytes"] > MAX_PENDING
        assert pushed * 1000 > MAX_PENDING
        wait_for(lambda: not server.peers, 5, "the peer to be closed")
        peer.close()


def test_stop_ends_a_paused_reader_within_its_timeout(sock_path: str) -> None:
    server = rxunix.unix_socket_server(path=sock_path, **PAUSING, **LINES)
    server.out.subscribe(server.in_)
    errors: list[Event] = []
    server.err.subscribe(errors.append)
    server.start()
    peer = _connect(sock_path)
    sender = gevent.spawn(peer.sendall, b"".join(map(_line, range(12_000))))
    wait_for(lambda: server.stats["read_pauses"] > 0, 10, "the reader to pause")
    t0 = time.monotonic()
    server.stop(timeout=1.0)
    assert time.monotonic() - t0 < 5
    assert not server.running
    # the replies the peer never read are reported, not lost silently
    dropped = [e.value for e in errors if e.value["action"] == "write"]
    assert dropped and all(d["kind"] == "SlowReaderError" and d["dropped_bytes"] > 0 for d in dropped)
    sender.kill()
    peer.close()


def test_pause_reading_bytes_is_checked_against_max_pending_bytes() -> None:
    def cfg(**keys: Any) -> dict[str, Any]:
        return parse_server_options(None, {"path": "/tmp/x.sock", **keys})[1]

    assert cfg()["pause_reading_bytes"] == 0  # never pause
    assert cfg(pause_reading_bytes=4096, max_pending_bytes=8192)["pause_reading_bytes"] == 4096
    with pytest.raises(ConfigError, match=r"'pause_reading_bytes' \(8192\) must be below 'max_pending_bytes'"):
        cfg(pause_reading_bytes=8192, max_pending_bytes=8192)
    with pytest.raises(ConfigError, match=r"'pause_reading_bytes' must be an int >= 0"):
        cfg(pause_reading_bytes=-1)
    with pytest.raises(ConfigError, match=r"'pause_reading_bytes' must be int"):
        cfg(pause_reading_bytes="1M")
