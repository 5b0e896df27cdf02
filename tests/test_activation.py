"""systemd socket activation: servers launched the way systemd launches them (real processes).

A launcher binds the socket(s), sets LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES and execs
``rxunix server --systemd`` (tests/peers/sd_launch.py; and systemd's own
``systemd-socket-activate`` where installed).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import uuid
from collections.abc import Iterator

import gevent
import gevent.subprocess as gsub
import pytest
from gevent import socket

from tests.peers.spawn import _RXUNIX_ROOT, terminate

SD_LAUNCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers", "sd_launch.py")
SSA = shutil.which("systemd-socket-activate")
SERVER = [sys.executable, "-m", "rxunix", "server"]


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = _RXUNIX_ROOT + os.pathsep + e.get("PYTHONPATH", "")
    return e


@pytest.fixture
def procs() -> Iterator[list[gsub.Popen]]:
    started: list[gsub.Popen] = []
    yield started
    for p in started:
        terminate(p)


def launch(procs: list[gsub.Popen], launcher: list[str], server_args: list[str]) -> gsub.Popen:
    p = gsub.Popen([*launcher, *SERVER, *server_args], stdout=gsub.PIPE, stderr=gsub.PIPE, env=env())
    procs.append(p)
    if launcher[1:2] == [SD_LAUNCH]:
        wait_bound(p)
    return p


def wait_bound(p: gsub.Popen) -> None:
    """The launcher says ``bound`` once the sockets exist (before it execs the server)."""
    assert p.stderr is not None
    with gevent.Timeout(20, AssertionError("the launcher did not bind")):
        line = p.stderr.readline()
    assert line == b"bound\n", line


def readline(p: gsub.Popen, timeout: float = 20.0) -> bytes:
    assert p.stdout is not None
    with gevent.Timeout(timeout, AssertionError("no output from the server")):
        return p.stdout.readline()


def dgram_echo(path: str, own: str, data: bytes) -> bytes:
    c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    c.bind(own)
    try:
        c.sendto(data, path)
        with gevent.Timeout(20, AssertionError("no reply")):
            return c.recv(65536)
    finally:
        c.close()


def stream_echo(address: str | bytes, data: bytes) -> bytes:
    """Send ``data``, return the reply line; a refused connect is retried (a launcher's
    socket path exists from its bind, a moment before it listens)."""
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with gevent.Timeout(20, AssertionError("no reply")):
            while True:
                try:
                    c.connect(address)
                    break
                except ConnectionRefusedError:
                    c.close()
                    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    gevent.sleep(0.01)
            c.sendall(data)
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = c.recv(65536)
                if not chunk:
                    break
                buf += chunk
        return buf
    finally:
        c.close()


def failure(p: gsub.Popen) -> tuple[int, str]:
    with gevent.Timeout(30, AssertionError("the server did not exit")):
        _, err = p.communicate()
    return p.returncode, err.decode()


def test_datagram_server_takes_the_passed_socket(procs: list[gsub.Popen], short_tmp: str) -> None:
    path = os.path.join(short_tmp, "log")
    p = launch(procs, [sys.executable, SD_LAUNCH, "--dgram", f"{path}=log", "--"],
               [path, "--dgram", "--systemd", "--echo", "--meta"])
    # the socket exists before the server runs: nothing sent meanwhile is lost
    assert dgram_echo(path, os.path.join(short_tmp, "c"), b'{"x":1}\n') == b'{"x":1}\n'
    first = json.loads(readline(p))
    assert first["value"] == {"x": 1} and first["meta"]["unix_datagram_server"]["path"] == path
    # queued before the server set SO_PASSCRED: no credentials rather than false ones
    assert first["meta"]["unix_datagram_server"]["pid"] in (None, os.getpid())
    assert dgram_echo(path, os.path.join(short_tmp, "c2"), b"2\n") == b"2\n"
    second = json.loads(readline(p))
    assert second["meta"]["unix_datagram_server"]["pid"] == os.getpid()
    p.terminate()
    assert failure(p)[0] == 0
    assert stat.S_ISSOCK(os.lstat(path).st_mode)  # systemd's socket: never unlinked by us


def test_named_socket_is_picked_from_several(procs: list[gsub.Popen], short_tmp: str) -> None:
    a, b = os.path.join(short_tmp, "a"), os.path.join(short_tmp, "b")
    launcher = [sys.executable, SD_LAUNCH, "--dgram", f"{a}=log", "--dgram", f"{b}=api", "--"]
    launch(procs, launcher, [b, "--dgram", "--systemd", "api", "--echo"])
    assert dgram_echo(b, os.path.join(short_tmp, "c"), b"2\n") == b"2\n"
    a2, b2 = a + "2", b + "2"
    p = launch(procs, [sys.executable, SD_LAUNCH, "--dgram", f"{a2}=log", "--dgram", f"{b2}=api", "--"],
               [a2, "--dgram", "--systemd"])
    code, err = failure(p)
    assert code == 1 and "2 sockets were passed" in err and "'log'" in err and "'api'" in err


@pytest.mark.parametrize(
    "passed, flag, message",
    [
        ("--stream", "--dgram", "is a stream socket, but this is a datagram server: use ListenDatagram="),
        ("--dgram", None, "is a datagram socket, but this is a stream server: use ListenStream="),
    ],
)
def test_wrong_socket_type_is_a_clear_error(
    procs: list[gsub.Popen], short_tmp: str, passed: str, flag: str | None, message: str
) -> None:
    path = os.path.join(short_tmp, "s")
    args = [path, "--systemd"] + ([flag] if flag else [])
    p = launch(procs, [sys.executable, SD_LAUNCH, passed, path, "--"], args)
    code, err = failure(p)
    assert code == 1 and message in err, err


def test_variables_for_another_process_are_ignored(procs: list[gsub.Popen], short_tmp: str) -> None:
    path = os.path.join(short_tmp, "s")
    p = launch(procs, [sys.executable, SD_LAUNCH, "--stream", path, "--other-pid", "--"], [path, "--systemd"])
    code, err = failure(p)
    assert code == 1 and "no socket was passed to this process" in err, err


def test_abstract_stream_socket_passed(procs: list[gsub.Popen]) -> None:
    name = f"rx-test-{uuid.uuid4().hex}"
    launch(procs, [sys.executable, SD_LAUNCH, "--stream", f"@{name}", "--"], [f"@{name}", "--systemd", "--echo"])
    assert stream_echo(b"\0" + name.encode(), b'"abstract"\n') == b'"abstract"\n'


FLOW = """
def flow(ctx):
    srv = ctx.server(config={"path": ctx.param("socket"), "systemd": True},
                     preprocessors=["separate"], postprocessors=["separate"])
    srv.out.subscribe(srv.in_)
"""


def test_flow_file_with_systemd(procs: list[gsub.Popen], short_tmp: str) -> None:
    path = os.path.join(short_tmp, "s")
    flow = os.path.join(short_tmp, "flow.py")
    with open(flow, "w") as f:
        f.write(FLOW)
    p = gsub.Popen([sys.executable, SD_LAUNCH, "--stream", path, "--", sys.executable, "-m", "rxunix", "run", flow,
                    "--set", f"socket={path}"], stdout=gsub.PIPE, stderr=gsub.PIPE, env=env())
    procs.append(p)
    wait_bound(p)
    assert stream_echo(path, b"[1,2]\n") == b"[1,2]\n"


@pytest.mark.skipif(SSA is None, reason="systemd-socket-activate not installed (the Python launcher tests cover this)")
@pytest.mark.parametrize("kind", ["stream", "dgram"])
def test_systemd_socket_activate(procs: list[gsub.Popen], short_tmp: str, kind: str) -> None:
    assert SSA is not None
    path = os.path.join(short_tmp, "s")
    launcher = [SSA, "-l", path, "--fdname=rx"] + (["--datagram"] if kind == "dgram" else [])
    extra = ["--dgram"] if kind == "dgram" else []
    p = launch(procs, launcher, [path, "--systemd", "rx", "--echo", *extra])
    with gevent.Timeout(20, AssertionError("systemd-socket-activate did not bind")):
        while not os.path.exists(path):
            if p.poll() is not None:
                raise AssertionError(f"systemd-socket-activate exited: {p.communicate()}")
            gevent.sleep(0.01)
    if kind == "dgram":
        assert dgram_echo(path, os.path.join(short_tmp, "c"), b'"hi"\n') == b'"hi"\n'
    else:
        assert stream_echo(path, b'"hi"\n') == b'"hi"\n'
    p.terminate()
    assert failure(p)[0] == 0
    assert os.path.exists(path)

