"""Pure decisions behind datagrams, abstract names and socket activation (no sockets)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rxunix.connectors.server import unix_socket_server
from rxunix.errors import ConfigError, SocketPathError
from rxunix.event import Event
from rxunix.origin import DGRAM_SERVER, merge_origins
from rxunix.permissions import check_socket_permissions
from rxunix.security import allow_uids, peer_uid
from rxunix.sockpath import MAX_PATH_BYTES, check_length

from rxunix.core.activation import ActivationError, Inherited, check_option, listen_fds, select_fd
from rxunix.core.address import is_abstract, peer_name, sockaddr
from rxunix.core.datagram import SCM_CREDENTIALS, SOL_SOCKET, Credentials, parse_credentials, reply_route
from rxunix.edge.dgram_client import unix_datagram_client
from rxunix.edge.dgram_server import unix_datagram_server


# ---- abstract names ---------------------------------------------------------
def test_abstract_notation() -> None:
    assert is_abstract("@x") and not is_abstract("/x") and not is_abstract("x@")
    assert sockaddr("@rx/log") == b"\0rx/log"
    assert sockaddr("/run/x.sock") == "/run/x.sock"
    assert peer_name(b"\0rx/log") == "@rx/log"
    assert peer_name(None) is None and peer_name("") is None and peer_name(b"") is None
    assert peer_name("/tmp/c") == "/tmp/c"


@given(st.binary(min_size=1, max_size=MAX_PATH_BYTES))
def test_abstract_address_round_trip(name: bytes) -> None:
    addr = b"\0" + name
    assert sockaddr(peer_name(addr) or "") == addr


def test_abstract_name_length_and_emptiness() -> None:
    check_length("@" + "a" * MAX_PATH_BYTES)  # the whole sun_path after the NUL
    with pytest.raises(SocketPathError, match="over the limit"):
        check_length("@" + "a" * (MAX_PATH_BYTES + 1))
    with pytest.raises(SocketPathError, match="must not be empty"):
        check_length("@")


@pytest.mark.parametrize("factory", [unix_socket_server, unix_datagram_server])
def test_permissions_with_abstract_name_is_a_config_error(factory: object) -> None:
    with pytest.raises(ConfigError, match="abstract socket name.*allow_uids"):
        factory(path="@rx-test", permissions="=600")  # type: ignore[operator]
    factory(path="@rx-test")  # type: ignore[operator]
    check_socket_permissions("/tmp/x", "u=rw")


# ---- credentials and reply routing ------------------------------------------
def test_parse_credentials() -> None:
    raw = struct.pack("3i", 7, 1000, 100)
    assert parse_credentials([(SOL_SOCKET, SCM_CREDENTIALS, raw)]) == Credentials(7, 1000, 100)
    assert parse_credentials([(SOL_SOCKET, 1, raw)]) is None  # SCM_RIGHTS: not credentials
    assert parse_credentials([(SOL_SOCKET, SCM_CREDENTIALS, raw[:8])]) is None  # cut short
    assert parse_credentials([]) is None
    assert parse_credentials([(SOL_SOCKET, SCM_CREDENTIALS, struct.pack("3i", 0, 65534, 65534))]) is None


def test_reply_route() -> None:
    rec = {"path": "/s", "peer": "@a"}
    assert reply_route({DGRAM_SERVER: rec}, "/s")[:2] == (["@a"], 0)
    assert reply_route({DGRAM_SERVER: {"path": "/s", "peer": None}}, "/s")[:2] == ([], 1)
    assert reply_route({DGRAM_SERVER: rec}, "/other")[:2] == ([], 0)  # not ours
    assert reply_route({}, "/s")[:2] == ([], 0)
    assert reply_route({DGRAM_SERVER: [{"path": "/s", "peer": "/c", "uid": 7}]}, "/s").owners == {"/c": 7}
    merged = merge_origins([Event(1, {DGRAM_SERVER: rec}), Event(2, {DGRAM_SERVER: {"path": "/s", "peer": "/c"}}),
                            Event(3, {DGRAM_SERVER: rec})])
    assert reply_route(merged, "/s")[:2] == (["@a", "/c"], 0)  # an aggregate goes to each sender once


def test_allow_uids_admits_datagram_senders() -> None:
    import reactivex as rx

    evs = [Event(i, {DGRAM_SERVER: {"path": "/s", "peer": None, "uid": uid}}) for i, uid in enumerate([0, 5])]
    assert peer_uid(evs[1]) == 5
    got: list[int] = []
    refused: list[Event] = []
    rx.from_iterable(evs).pipe(allow_uids([0], errors=refused.append)).subscribe(lambda e: got.append(e.value))
    assert got == [0] and [r.value["uid"] for r in refused] == [5]


# ---- systemd environment ----------------------------------------------------
def test_listen_fds_parsing() -> None:
    env = {"LISTEN_FDS": "3", "LISTEN_PID": "10", "LISTEN_FDNAMES": "a:b"}
    assert listen_fds(env, pid=10) == [Inherited(3, "a"), Inherited(4, "b"), Inherited(5, "unknown")]
    assert listen_fds(env, pid=11) == []  # meant for another process
    assert listen_fds({}, pid=10) == []
    assert listen_fds({"LISTEN_FDS": "1"}, pid=10) == []  # no LISTEN_PID: not for us (as sd_listen_fds)
    with pytest.raises(ActivationError, match="LISTEN_FDS='x' is not a number"):
        listen_fds({"LISTEN_FDS": "x", "LISTEN_PID": "10"}, pid=10)


def test_select_fd() -> None:
    two = [Inherited(3, "log"), Inherited(4, "api")]
    assert select_fd(two, "api").fd == 4
    assert select_fd(two[:1], True).fd == 3
    with pytest.raises(ActivationError, match="2 sockets were passed.*name the one"):
        select_fd(two, True)
    with pytest.raises(ActivationError, match="none of the passed sockets is named 'web'"):
        select_fd(two, "web")
    with pytest.raises(ActivationError, match="no socket was passed"):
        select_fd([], "log")


def test_systemd_option_checks() -> None:
    assert check_option(False, "=600", "/s") is False
    assert check_option(True, None, "/s") is True
    with pytest.raises(ActivationError, match="SocketMode="):
        check_option("log", "=600", "/s")
    with pytest.raises(ActivationError, match="true/false or a socket name"):
        check_option("a:b", None, "/s")
    with pytest.raises(ConfigError, match="SocketMode="):
        unix_datagram_server(path="/tmp/x", systemd=True, permissions="=600")
    with pytest.raises(ConfigError, match="SocketMode="):
        unix_socket_server(path="/tmp/x", systemd="log", permissions="=600")


# ---- configuration shapes ---------------------------------------------------
def test_datagram_connectors_accept_tremor_shapes() -> None:
    s = unix_datagram_server({"codec": "syslog", "preprocessors": ["separate"], "config": {"path": "/tmp/x"}})
    assert s.path == "/tmp/x" and s.config["buf_size"] == 65536 and s.config["systemd"] is False
    c = unix_datagram_client({"codec": "json", "config": {"path": "@x"}, "reconnect": {"retry": {"interval_ms": 5}}})
    assert c.path == "@x" and c.policy is not None and c.policy.interval_ms == 5
    with pytest.raises(ConfigError, match="unknown option 'backlog'"):
        unix_datagram_server(path="/tmp/x", backlog=3)
    with pytest.raises(ConfigError, match="'buf_size'"):
        unix_datagram_client(path="/tmp/x", buf_size=0)
    with pytest.raises(ConfigError, match="'path' is required"):
        unix_datagram_server(config={})
