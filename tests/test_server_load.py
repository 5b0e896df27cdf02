"""unix_socket_server under load, and across uids (real client processes)."""

from __future__ import annotations

import os
import sys
import time

import gevent.subprocess as gsub
import pytest
from rxunix.connectors.server import unix_socket_server

from rxunix import Event

MANY = r"""
import json, sys
import gevent
from gevent import socket
path, conns, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def one(k):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    want = b"".join(json.dumps({"c": k, "i": i}, separators=(",", ":")).encode() + b"\n" for i in range(per))
    s.sendall(want)
    got = b""
    while len(got) < len(want):
        d = s.recv(65536)
        if not d:
            break
        got += d
    s.close()
    return got == want

socks = [gevent.spawn(one, k) for k in range(conns)]
gevent.joinall(socks, raise_error=True)
print(sum(g.value for g in socks))
"""


@pytest.mark.slow
def test_1000_concurrent_connections_echo_10_each(sock_path: str) -> None:
    server = unix_socket_server(path=sock_path, preprocessors=["separate"], postprocessors=["separate"])
    out: list[Event] = []
    err: list[Event] = []
    server.out.subscribe(out.append)
    server.err.subscribe(err.append)
    server.out.subscribe(server.in_)
    t0 = time.monotonic()
    with server:
        procs = [
            gsub.Popen([sys.executable, "-c", MANY, sock_path, "500", "10"], stdout=gsub.PIPE)
            for _ in range(2)
        ]
        results = [p.communicate(timeout=60)[0] for p in procs]
        assert [p.returncode for p in procs] == [0, 0]
    assert [int(r) for r in results] == [500, 500]  # every connection got exactly its replies
    assert len(out) == 10_000 and not err
    peers = {e.meta["unix_socket_server"]["peer"] for e in out}
    assert len(peers) == 1000
    assert time.monotonic() - t0 < 30


CHILD = r"""
import os, socket, sys
os.setgid(65534); os.setuid(65534)
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
    s.sendall(b'"hi"\n')
    print("connected", s.recv(10).decode().strip())
except PermissionError:
    print("denied")
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to uid 65534")
@pytest.mark.parametrize("perms, expected", [("=600", "denied"), ("=666", 'connected "hi"'), ("u=rw,go=", "denied"),
                                             ("a+rw", 'connected "hi"')])
def test_other_uid_respects_permissions(short_tmp: str, perms: str, expected: str) -> None:
    os.chmod(short_tmp, 0o755)  # uid 65534 must be able to reach the socket's directory
    path = os.path.join(short_tmp, "s.sock")
    server = unix_socket_server(path=path, permissions=perms, preprocessors=["separate"],
                                postprocessors=["separate"])
    out: list[Event] = []
    server.out.subscribe(out.append)
    server.out.subscribe(server.in_)
    with server:
        p = gsub.run([sys.executable, "-c", CHILD, path], stdout=gsub.PIPE, timeout=30, check=True)
    assert p.stdout.decode().strip() == expected
    if expected != "denied":
        assert out[0].meta["unix_socket_server"]["uid"] == 65534
        assert out[0].meta["unix_socket_server"]["gid"] == 65534
