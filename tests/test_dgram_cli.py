"""``rxunix server --dgram`` / ``rxunix client --dgram`` and abstract paths, as real processes."""

from __future__ import annotations

import json
import os
import sys
import uuid

import gevent
import gevent.subprocess as gsub
from gevent import socket
from rxunix.cli import build_parser

from tests.helpers import wait_for
from tests.peers.spawn import _RXUNIX_ROOT, terminate
from tests.sysdeps import SOCAT, needs_socat

RXUNIX = [sys.executable, "-m", "rxunix"]


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = _RXUNIX_ROOT + os.pathsep + e.get("PYTHONPATH", "")
    return e


def test_flags_parse() -> None:
    p = build_parser()
    a = p.parse_args(["server", "@x", "--dgram", "--systemd"])
    assert (a.path, a.dgram, a.systemd) == ("@x", True, True)
    assert p.parse_args(["server", "/s", "--systemd", "log"]).systemd == "log"
    assert p.parse_args(["server", "/s"]).systemd is False
    assert p.parse_args(["client", "/s", "--dgram"]).dgram is True


def test_abstract_path_with_permissions_is_a_usage_error() -> None:
    p = gsub.run([*RXUNIX, "server", "@rx-x", "--permissions", "=600"], capture_output=True, env=env(), timeout=30)
    assert p.returncode == 2 and b"abstract socket name" in p.stderr and b"allow_uids" in p.stderr


@needs_socat
def test_dgram_server_prints_socat_datagrams_and_echoes(short_tmp: str) -> None:
    assert SOCAT is not None
    path = os.path.join(short_tmp, "s")
    srv = gsub.Popen([*RXUNIX, "server", path, "--dgram", "--echo", "--meta"], stdout=gsub.PIPE, env=env())
    try:
        wait_for(lambda: os.path.exists(path) or srv.poll() is not None, 20, "the socket")
        back = os.path.join(short_tmp, "c")
        c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        c.bind(back)
        c.sendto(b'{"n":1}\n', path)
        with gevent.Timeout(20, AssertionError("no echo")):
            assert c.recv(100) == b'{"n":1}\n'
        p = gsub.run([SOCAT, "-u", "-", f"UNIX-SENDTO:{path}"], input=b'{"n":2}\n', timeout=20)
        assert p.returncode == 0
        assert srv.stdout is not None
        with gevent.Timeout(20, AssertionError("no output")):
            lines = [json.loads(srv.stdout.readline()) for _ in range(2)]
        assert [ln["value"] for ln in lines] == [{"n": 1}, {"n": 2}]
        assert lines[0]["meta"]["unix_datagram_server"]["peer"] == back
        assert lines[1]["meta"]["unix_datagram_server"]["peer"] is None
    finally:
        terminate(srv)
    assert srv.returncode == 0 and not os.path.exists(path)


def test_dgram_client_sends_input_and_prints_replies(short_tmp: str) -> None:
    name = f"@rx-test-{uuid.uuid4().hex}"
    srv = gsub.Popen([*RXUNIX, "server", name, "--dgram", "--echo"], stdout=gsub.DEVNULL, env=env())
    try:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

        def up() -> bool:
            try:
                probe.connect(b"\0" + name[1:].encode())
                return True
            except OSError:
                return srv.poll() is not None

        wait_for(up, 20, "the abstract datagram server")
        p = gsub.run([*RXUNIX, "client", name, "--dgram", "--replies", "3"], input=b'1\n{"a":2}\n"three"\n',
                     capture_output=True, env=env(), timeout=60)
        assert p.returncode == 0, p.stderr
        assert [json.loads(x) for x in p.stdout.splitlines()] == [1, {"a": 2}, "three"]
    finally:
        terminate(srv)


def test_dgram_client_without_server_fails_with_status_1(short_tmp: str) -> None:
    p = gsub.run([*RXUNIX, "client", os.path.join(short_tmp, "none"), "--dgram", "--retries", "1",
                  "--retry-interval-ms", "10"], input=b"1\n", capture_output=True, env=env(), timeout=60)
    assert p.returncode == 1 and b"gave up connecting" in p.stderr


@needs_socat
def test_stream_server_on_abstract_path(short_tmp: str) -> None:
    assert SOCAT is not None
    name = f"rx-test-{uuid.uuid4().hex}"
    srv = gsub.Popen([*RXUNIX, "server", "@" + name, "--echo"], stdout=gsub.DEVNULL, env=env())
    try:
        def answer() -> bool:
            p = gsub.run([SOCAT, "-t", "3", "-", f"ABSTRACT-CONNECT:{name}"], input=b"[7]\n", capture_output=True,
                         timeout=20)
            return p.stdout == b"[7]\n" or srv.poll() is not None

        wait_for(answer, 30, "an echo over the abstract name")
        assert srv.poll() is None
        assert os.listdir(short_tmp) == []
    finally:
        terminate(srv)


def test_dgram_server_allow_uid_drops_and_reports_other_uids(short_tmp: str) -> None:
    path = os.path.join(short_tmp, "s")
    srv = gsub.Popen([*RXUNIX, "server", path, "--dgram", "--echo", "--allow-uid", str(os.getuid() + 1)],
                     stdout=gsub.PIPE, stderr=gsub.PIPE, env=env())
    try:
        wait_for(lambda: os.path.exists(path) or srv.poll() is not None, 20, "the socket")
        c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        c.bind(os.path.join(short_tmp, "c"))
        for n in range(3):
            c.sendto(b'{"n":%d}\n' % n, path)
        assert srv.stderr is not None
        with gevent.Timeout(20, AssertionError("no refusal reported")):
            report = json.loads(srv.stderr.readline())
        assert report["action"] == "accept" and report["uid"] == os.getuid() and report["refused"] == 1
        srv.terminate()
        out, err = srv.communicate(timeout=20)
    finally:
        terminate(srv)
    assert srv.returncode == 0
    assert out == b""  # nothing decoded, nothing echoed
    rest = [json.loads(x) for x in err.splitlines() if x.startswith(b"{")]
    assert 1 + sum(r["refused"] for r in rest if r.get("action") == "accept") == 3  # the rest reported at stop
