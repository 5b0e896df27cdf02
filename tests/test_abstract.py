"""Linux abstract socket names (``@name``) for the stream connectors, with socat as the peer."""

from __future__ import annotations

import os
import uuid

import gevent.subprocess as gsub
import pytest
from rxunix.connectors.client import unix_socket_client
from rxunix.connectors.server import unix_socket_server
from rxunix.errors import ConfigError, SocketPathError
from rxunix.event import Event
from rxunix.origin import CLIENT, SERVER

from tests.helpers import wait_for
from tests.sysdeps import SOCAT, needs_socat


def name() -> str:
    return f"rx-test-{uuid.uuid4().hex}"


def echo_server(path: str) -> tuple[object, list[Event]]:
    s = unix_socket_server(path=path, preprocessors=["separate"], postprocessors=["separate"])
    got: list[Event] = []
    s.out.subscribe(got.append)
    s.out.subscribe(s.in_)
    s.start()
    return s, got


@needs_socat
def test_stream_server_on_an_abstract_name_with_socat(short_tmp: str) -> None:
    assert SOCAT is not None
    n = name()
    srv, got = echo_server("@" + n)
    try:
        p = gsub.run([SOCAT, "-t", "5", "-", f"ABSTRACT-CONNECT:{n}"], input=b'{"a":1}\n', capture_output=True,
                     timeout=20)
        assert p.stdout == b'{"a":1}\n'
        assert got[0].meta[SERVER]["path"] == "@" + n and got[0].meta[SERVER]["uid"] == os.getuid()
        with pytest.raises(SocketPathError, match="in use"):
            unix_socket_server(path="@" + n).start()
    finally:
        srv.stop()  # type: ignore[attr-defined]
    srv2, _ = echo_server("@" + n)  # free again once stopped; nothing to unlink
    srv2.stop()  # type: ignore[attr-defined]


def test_stream_client_to_an_abstract_server() -> None:
    n = "@" + name()
    srv, _ = echo_server(n)
    c = unix_socket_client(path=n, preprocessors=["separate"], postprocessors=["separate"])
    out: list[Event] = []
    c.out.subscribe(out.append)
    c.start()
    try:
        c.in_.on_next(Event({"x": 1}))
        wait_for(lambda: out, what="the reply")
        assert out[0].value == {"x": 1} and out[0].meta[CLIENT] == {"peer": n}
    finally:
        c.stop()
        srv.stop()  # type: ignore[attr-defined]


def test_permissions_on_abstract_name_refused_with_the_way_out() -> None:
    with pytest.raises(ConfigError, match=r"abstract socket name.*allow_uids"):
        unix_socket_server(path="@" + name(), permissions="=600")
