"""Security: file mode keeps other uids out, a planted symlink is refused (its target
untouched), a socket in a directory others can write is allowed but should be warned
about, and an SO_PEERCRED filter admits only listed uids."""

from __future__ import annotations

import _socket
import errno
import json
import os
import signal
import stat
import time
import warnings
from typing import Any

import gevent
import gevent.os
import pytest
from rxunix.connectors.server import unix_socket_server
from rxunix.errors import SocketPathError
from rxunix.security import InsecureSocketDirWarning, check_socket_dir

from ..helpers import wait_for
from ._figures import record
from ._procs import PEERS, ROOT, Peer
from ._server import connect, recv_lines, running

NOBODY = 65534
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another uid")


def _client_as_nobody(path: str, line: str | None) -> dict[str, Any]:
    """Runs in the forked child: stdlib C-level socket only (no gevent, no hub)."""
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    result: dict[str, Any] = {"uid": os.getuid()}
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    s.settimeout(5.0)
    try:
        s.connect(path)
    except OSError as exc:
        result["connect"] = errno.errorcode.get(exc.errno or 0, str(exc))
        return result
    result["connect"] = "ok"
    if line is not None:
        s.sendall(line.encode() + b"\n")
        s.settimeout(3.0)  # the negative case: no reply within 3 s (or closed)
        try:
            data = s.recv(65536)
            result["reply"] = data.decode(errors="replace").strip() if data else "closed"
        except TimeoutError:
            result["reply"] = "none"
        except OSError as exc:
            result["reply"] = errno.errorcode.get(exc.errno or 0, str(exc))
    s.close()
    return result


def as_nobody(path: str, line: str | None = None) -> dict[str, Any]:
    """fork + setuid(65534): connect (and send ``line``) as another uid; its result."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 0
        try:
            os.close(r)
            os.write(w, json.dumps(_client_as_nobody(path, line)).encode())
        except BaseException as exc:
            os.write(w, json.dumps({"child_error": repr(exc)}).encode())
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    gevent.os.make_nonblocking(r)  # read cooperatively: the server must run meanwhile
    chunks = []
    try:
        while True:
            data = gevent.os.nb_read(r, 65536)
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(r)

    def reaped() -> bool:
        try:
            return os.waitpid(pid, os.WNOHANG)[0] == pid
        except ChildProcessError:  # gevent's child watcher reaped it already
            return True

    wait_for(reaped, 20, "the forked client to exit")
    return json.loads(b"".join(chunks))  # type: ignore[no-any-return]


@needs_root
@pytest.mark.parametrize("mode,expected", [("=600", "EACCES"), ("=666", "ok")])
def test_other_uid_refused_by_mode(short_tmp: str, mode: str, expected: str) -> None:
    started = time.monotonic()
    os.chmod(short_tmp, 0o711)  # others may traverse: only the socket's mode decides
    path = os.path.join(short_tmp, "s.sock")
    uids: list[int] = []

    def echo(ev: Any) -> bool:
        uids.append(ev.meta["unix_socket_server"]["uid"])
        return True

    with running(path, echo=echo, config={"permissions": mode}) as rec:
        got = as_nobody(path, '{"from":"nobody"}')
        seen = [x for _, what, x in rec.items if what == "value"]
    assert got["uid"] == NOBODY
    if expected == "ok":  # the control: the same client gets in when the mode allows it
        assert got["connect"] == "ok" and got["reply"] == '{"from":"nobody"}'
        assert seen == [{"from": "nobody"}] and uids == [NOBODY]  # SO_PEERCRED metadata
    else:
        record("security", f"uid {NOBODY} vs a root server with permissions {mode}", started=started,
               load="1 foreign client", faults=1, bad_inputs=1, lost=0, leaks=int(got["connect"] == "ok"),
               note=f"connect: {got['connect']}")
        assert got["connect"] == expected
        assert seen == []


@pytest.mark.parametrize("target_kind", ["file", "dangling"])
def test_planted_symlink_refused_target_untouched(short_tmp: str, target_kind: str) -> None:
    started = time.monotonic()
    other = os.path.join(short_tmp, "victim")
    os.mkdir(other)
    target = os.path.join(other, "precious" if target_kind == "file" else "not-there")
    if target_kind == "file":
        with open(target, "w") as f:
            f.write("keep me")
        os.chmod(target, 0o640)
        before = os.stat(target)
    path = os.path.join(short_tmp, "s.sock")
    os.symlink(target, path)
    server = unix_socket_server(config={"path": path, "permissions": "=600"})
    with pytest.raises(SocketPathError, match="symlink"):
        server.start()
    assert os.path.islink(path) and os.readlink(path) == target
    if target_kind == "file":
        after = os.stat(target)
        with open(target) as f:
            assert f.read() == "keep me"
        assert (after.st_mode, after.st_ino, after.st_mtime_ns) == (before.st_mode, before.st_ino,
                                                                     before.st_mtime_ns)
    else:
        assert not os.path.lexists(target)
    assert sorted(os.listdir(short_tmp)) == ["s.sock", "victim"]  # no leftovers
    record("security", f"symlink planted at the socket path ({target_kind} target)", started=started,
           bad_inputs=1, faults=1, note="refused with SocketPathError; target untouched")


def _start_in(directory: str) -> tuple[list[str], list[str]]:
    """Start/stop a server in ``directory``; the warnings and err messages it produced."""
    path = os.path.join(directory, "s.sock")
    server = unix_socket_server(config={"path": path, "permissions": "=600"})
    errs: list[str] = []
    server.err.subscribe(lambda e: errs.append(str(e.value)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        server.start()
        try:
            s, _ = connect(path, server)
            s.close()
        finally:
            server.stop()
    return [str(w.message) for w in caught], errs


@pytest.mark.parametrize("dmode", [0o777, 0o1777])
def test_dir_writable_by_others_is_allowed(short_tmp: str, dmode: int) -> None:
    os.chmod(short_tmp, dmode)
    _start_in(short_tmp)  # allowed: starts, accepts, stops
    assert stat.S_IMODE(os.stat(short_tmp).st_mode) == dmode


def test_dir_writable_by_others_is_warned_about(short_tmp: str) -> None:
    os.chmod(short_tmp, 0o777)
    caught, errs = _start_in(short_tmp)
    assert any("writable" in m for m in caught + errs), (caught, errs)


def test_dir_check_helper(short_tmp: str) -> None:
    path = os.path.join(short_tmp, "s.sock")
    assert check_socket_dir(path) is None  # 0700 from mkdtemp
    os.chmod(short_tmp, 0o777)
    with pytest.warns(InsecureSocketDirWarning, match="writable by other users"):
        assert check_socket_dir(path)


@needs_root
def test_allow_uids_example_rejects_second_uid(short_tmp: str) -> None:
    """examples/allow_uids.py admits uid 0 only: root is echoed, uid 65534 is refused."""
    started = time.monotonic()
    os.chmod(short_tmp, 0o711)
    path = os.path.join(short_tmp, "s.sock")
    example = os.path.join(ROOT, "examples", "allow_uids.py")
    server = Peer(os.path.relpath(example, PEERS), path, "0")
    try:
        server.wait_text("ready")
        s, _ = connect(path)
        s.sendall(b'{"from":"root"}\n')
        assert recv_lines(s, 1) == [b'{"from":"root"}']
        got = as_nobody(path, '{"from":"nobody"}')
        rejected = server.wait_line("rejected")
        s.sendall(b'{"from":"root","again":1}\n')  # the admitted peer is unaffected
        assert recv_lines(s, 1) == [b'{"from":"root","again":1}']
        s.close()
    finally:
        rc = server.kill(signal.SIGTERM)
    record("security", "allow_uids([0]): second uid rejected (SO_PEERCRED)", started=started,
           load="1 admitted + 1 foreign peer", faults=1, bad_inputs=1,
           leaks=int(got.get("reply") not in ("none", "closed")),
           note=f"foreign peer's reply: {got.get('reply')}; rejected as uid {rejected[0]['uid']}")
    assert rc == 0
    assert got["connect"] == "ok" and got["reply"] in ("none", "closed")
    assert [r["uid"] for r in rejected] == [NOBODY] and rejected[0]["action"] == "admit"
