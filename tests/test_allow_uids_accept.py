"""``allow_uids`` on a stream server: a connection from any other uid is closed when
accepted, before anything it sent is read or decoded, and takes no connection slot."""

from __future__ import annotations

import os
from typing import Any

import gevent
import pytest
from gevent import socket
from rxunix.errors import ConfigError

import rxunix

LINES: dict[str, Any] = {"preprocessors": ["separate"], "postprocessors": ["separate"]}


def connect(path: str) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def test_other_uids_are_closed_at_accept_before_any_read(sock_path: str) -> None:
    server = rxunix.unix_socket_server(path=sock_path, allow_uids=[os.getuid() + 1], max_connections=1, **LINES)
    out: list[Any] = []
    errors: list[Any] = []
    server.out.subscribe(out.append)
    server.err.subscribe(errors.append)
    server.start()
    try:
        for _ in range(3):  # more than max_connections: a refused connection holds no slot
            s = connect(sock_path)
            s.sendall(b'{"never": "decoded"}\n{"partial":')
            with gevent.Timeout(5, AssertionError("a refused connection was left open")):
                try:
                    assert s.recv(10) == b""
                except ConnectionResetError:  # closed with what it sent unread
                    pass
            s.close()
    finally:
        server.stop()
    assert out == [] and [e.value["action"] for e in errors] == ["accept"] * 3
    assert errors[0].value["uid"] == os.getuid() and "not in allow_uids" in errors[0].value["error"]
    assert server.stats["refused"] == 3 and server.stats["connections"] == 0


def test_listed_uids_are_served(sock_path: str) -> None:
    server = rxunix.unix_socket_server(path=sock_path, allow_uids=[os.getuid()], **LINES)
    server.out.subscribe(server.in_)
    server.start()
    try:
        s = connect(sock_path)
        s.sendall(b'"hi"\n')
        with gevent.Timeout(5):
            assert s.recv(10) == b'"hi"\n'
    finally:
        server.stop()


@pytest.mark.parametrize("bad", [[], ["root"], [-1], [True], 0, "0"])
def test_allow_uids_must_be_a_non_empty_list_of_uids(sock_path: str, bad: Any) -> None:
    with pytest.raises(ConfigError, match="allow_uids"):
        rxunix.unix_socket_server(path=sock_path, allow_uids=bad)
