"""``allow_uids`` on a datagram server: a datagram from any other uid (``SCM_CREDENTIALS``)
is dropped before it is decoded, every one counted and reported (a sender's first at
once, then at most once a second, the rest at stop)."""

from __future__ import annotations

import os
import time
from typing import Any

import gevent
import pytest
from gevent import socket
from rxunix.errors import ConfigError

import rxunix
from rxunix.core.refusals import Refusals
from rxunix.edge import dgram_server as dgram_server_module
from tests.helpers import wait_for

LINES: dict[str, Any] = {"preprocessors": ["separate"], "postprocessors": ["separate"]}


def sender(path: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    return s


def test_other_uids_datagrams_are_dropped_undecoded_and_all_reported(sock_path: str, short_tmp: str) -> None:
    server = rxunix.unix_datagram_server(path=sock_path, allow_uids=[os.getuid() + 1], **LINES)
    out: list[Any] = []
    errors: list[dict[str, Any]] = []
    server.out.subscribe(out.append)
    server.out.subscribe(server.in_)
    server.err.subscribe(lambda e: errors.append(e.value))
    server.start()
    c = sender(os.path.join(short_tmp, "c"))
    started = time.monotonic()
    try:
        for i in range(50):
            c.sendto(b'{"n": %d}\nnot json at all\n' % i, sock_path)  # never decoded: no decode error either
        wait_for(lambda: server.stats["refused"] == 50, what="every datagram refused")
        elapsed = time.monotonic() - started
        before_stop = list(errors)
        wait_for(lambda: sum(e["refused"] for e in errors) == 50, what="the burst reported without stop")
        c.settimeout(0.3)
        with pytest.raises(TimeoutError):  # nothing was answered
            c.recv(100)
    finally:
        server.stop()
        c.close()
    assert out == [] and server.stats["datagrams"] == 50
    assert {e["action"] for e in errors} == {"accept"}
    first = errors[0]
    assert first["refused"] == 1 and first["uid"] == os.getuid() and first["pid"] == os.getpid()
    assert first["stream"] == os.path.join(short_tmp, "c") and "not in allow_uids" in first["error"]
    # bounded while it floods: the first at once, then at most one a second
    assert len(before_stop) <= 1 + int(elapsed / dgram_server_module.REFUSAL_REPORT_INTERVAL) + 1
    assert sum(e["refused"] for e in errors) == 50  # every one in exactly one report


def test_listed_uids_are_served(sock_path: str, short_tmp: str) -> None:
    server = rxunix.unix_datagram_server(path=sock_path, allow_uids=[os.getuid()], **LINES)
    server.out.subscribe(server.in_)
    server.start()
    c = sender(os.path.join(short_tmp, "c"))
    try:
        c.sendto(b'"hi"\n', sock_path)
        with gevent.Timeout(5):
            assert c.recv(10) == b'"hi"\n'
    finally:
        server.stop()
        c.close()
    assert server.stats["refused"] == 0


def test_a_datagram_sent_the_moment_the_path_appears_carries_its_credentials(
        sock_path: str, short_tmp: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``SO_PASSCRED`` is on before the bind: a listed sender whose datagram arrives right
    as the socket appears is served, not refused for want of credentials."""
    from rxunix.edge import listen

    c = sender(os.path.join(short_tmp, "c"))
    real_bind = listen.bind_secure

    def bind_then_send(*args: Any, **kwargs: Any) -> Any:
        ident = real_bind(*args, **kwargs)
        c.sendto(b'"early"\n', sock_path)  # (before the server's own setup goes on)
        return ident

    monkeypatch.setattr(listen, "bind_secure", bind_then_send)
    server = rxunix.unix_datagram_server(path=sock_path, allow_uids=[os.getuid()], **LINES)
    server.out.subscribe(server.in_)
    server.start()
    try:
        c.settimeout(5)
        assert c.recv(10) == b'"early"\n'
    finally:
        server.stop()
        c.close()
    assert server.stats["refused"] == 0


@pytest.mark.parametrize("bad", [[], ["root"], [-1], [True], 0, "0"])
def test_allow_uids_must_be_a_non_empty_list_of_uids(sock_path: str, bad: Any) -> None:
    with pytest.raises(ConfigError, match="allow_uids"):
        rxunix.unix_datagram_server(path=sock_path, allow_uids=bad)


def test_refusals_core_reports_every_refusal_once_whatever_the_order() -> None:
    r = Refusals(interval=1.0, senders=3)
    reported: dict[Any, int] = {}
    refused: dict[str, int] = {}
    now = 0.0
    for i in range(2000):
        who = "abcde"[(i * 7 + i // 13) % 5]
        now += 0.01 * (i % 4)
        refused[who] = refused.get(who, 0) + 1
        for sender, count, detail in [*r.refuse(who, now, i), *(r.due(now) if i % 5 == 0 else [])]:
            reported[sender] = reported.get(sender, 0) + count
            assert detail is not None
    for sender, count, _ in r.drain():
        reported[sender] = reported.get(sender, 0) + count
    assert reported == refused and r.drain() == [] and not r.pending


def test_a_sender_cannot_escape_the_rate_limit_with_a_socket_per_datagram(sock_path: str, short_tmp: str) -> None:
    server = rxunix.unix_datagram_server(path=sock_path, allow_uids=[os.getuid() + 1], **LINES)
    errors: list[dict[str, Any]] = []
    server.err.subscribe(lambda e: errors.append(e.value))
    server.start()
    started = time.monotonic()
    try:
        for i in range(200):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            s.bind(b"")  # a fresh autobound address each time
            while not s.sendto(b"%d\n" % i, sock_path):  # (gevent gives up, 0, if the queue stays full)
                gevent.sleep(0.001)
            s.close()
        wait_for(lambda: server.stats["refused"] == 200, what="every datagram refused")
        before_stop = len(errors)
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    assert before_stop <= 2 + int(elapsed / dgram_server_module.REFUSAL_REPORT_INTERVAL)  # one sender process
    assert sum(e["refused"] for e in errors) == 200 and errors[-1]["stream"].startswith("@")  # its latest address


def test_a_uid_sending_from_many_processes_is_one_refused_sender(sock_path: str) -> None:
    import subprocess
    import sys

    server = rxunix.unix_datagram_server(path=sock_path, allow_uids=[os.getuid() + 1], **LINES)
    errors: list[dict[str, Any]] = []
    server.err.subscribe(lambda e: errors.append(e.value))
    server.start()
    send = "import socket, sys; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b'1\\n', sys.argv[1])"
    started = time.monotonic()
    try:
        for _ in range(8):  # a new process (a new pid) for each datagram
            assert subprocess.run([sys.executable, "-c", send, sock_path], timeout=30).returncode == 0
        wait_for(lambda: server.stats["refused"] == 8, what="every datagram refused")
        before_stop = len(errors)
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    assert before_stop <= 2 + int(elapsed / dgram_server_module.REFUSAL_REPORT_INTERVAL)  # not one per process
    assert sum(e["refused"] for e in errors) == 8
