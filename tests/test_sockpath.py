"""Socket path handling: stale/live sockets, other file kinds, length, no permission window."""

from __future__ import annotations

import os
import stat
import sys

import gevent
import gevent.subprocess as gsub
import pytest
from gevent import socket
from rxunix.errors import SocketPathError
from rxunix.sockpath import MAX_PATH_BYTES, bind_secure, check_length, check_path, remove_if_ours


def _stale(path: str) -> None:
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.close()  # the file stays, nobody accepts: stale


def _mode(path: str) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_fresh_path_bound_with_mode(sock_path: str) -> None:
    s = socket.socket(socket.AF_UNIX)
    ident = bind_secure(s, sock_path, 0o600)
    try:
        assert stat.S_ISSOCK(os.lstat(sock_path).st_mode) and _mode(sock_path) == 0o600
        assert os.listdir(os.path.dirname(sock_path)) == ["s.sock"]  # private dir cleaned up
        c = socket.socket(socket.AF_UNIX)
        c.connect(sock_path)
        c.close()
    finally:
        assert remove_if_ours(sock_path, ident)
        s.close()
    assert not os.path.exists(sock_path)


def test_stale_socket_replaced(sock_path: str) -> None:
    _stale(sock_path)
    old = os.lstat(sock_path).st_ino
    assert check_path(sock_path) is not None
    s = socket.socket(socket.AF_UNIX)
    ident = bind_secure(s, sock_path, 0o600)
    assert ident.ino != old and os.lstat(sock_path).st_ino == ident.ino
    c = socket.socket(socket.AF_UNIX)
    c.connect(sock_path)
    c.close()
    s.close()
    remove_if_ours(sock_path, ident)


def test_live_socket_of_another_process_untouched(sock_path: str) -> None:
    code = (
        "import socket,sys\n"
        "s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8)\n"
        "print('ready', flush=True)\n"
        "while True:\n"
        "    c,_=s.accept()\n"
        "    try: c.sendall(b'alive')\n"
        "    except OSError: pass\n"
        "    c.close()\n"
    )
    proc = gsub.Popen([sys.executable, "-c", code, sock_path], stdout=gsub.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        ino = os.lstat(sock_path).st_ino
        s = socket.socket(socket.AF_UNIX)
        with pytest.raises(SocketPathError, match="in use"):
            bind_secure(s, sock_path, 0o600)
        s.close()
        assert os.lstat(sock_path).st_ino == ino
        assert os.listdir(os.path.dirname(sock_path)) == ["s.sock"]
        c = socket.socket(socket.AF_UNIX)
        c.connect(sock_path)
        assert c.recv(10) == b"alive"
        c.close()
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("kind", ["file", "dir", "symlink", "dangling symlink", "fifo"])
def test_other_kinds_refused_and_untouched(sock_path: str, short_tmp: str, kind: str) -> None:
    target = os.path.join(short_tmp, "target")
    if kind == "file":
        with open(sock_path, "w") as f:
            f.write("precious")
    elif kind == "dir":
        os.mkdir(sock_path)
    elif kind == "symlink":
        _stale(target)  # even a link to a stale socket is refused
        os.symlink(target, sock_path)
    elif kind == "dangling symlink":
        os.symlink(target, sock_path)
    else:
        os.mkfifo(sock_path)
    before = os.lstat(sock_path)
    s = socket.socket(socket.AF_UNIX)
    with pytest.raises(SocketPathError, match="refusing to replace"):
        bind_secure(s, sock_path, 0o600)
    s.close()
    after = os.lstat(sock_path)
    assert (after.st_ino, after.st_mode, after.st_mtime_ns) == (before.st_ino, before.st_mode, before.st_mtime_ns)
    if kind == "file":
        with open(sock_path) as f:
            assert f.read() == "precious"
    assert not [n for n in os.listdir(short_tmp) if n.startswith(".rxu-")]


def _long_dir(short_tmp: str, total: int) -> str:
    """A path of exactly ``total`` bytes inside short_tmp (creating directories)."""
    d = short_tmp
    while len(d) + 1 + 60 < total - 10:
        d = os.path.join(d, "d" * 50)
        os.mkdir(d)
    name = "x" * (total - len(d) - 1)
    path = os.path.join(d, name)
    assert len(path.encode()) == total
    return path


def test_path_length_limit(short_tmp: str) -> None:
    too_long = _long_dir(short_tmp, MAX_PATH_BYTES + 1)
    with pytest.raises(SocketPathError, match=r"108 bytes|over the limit of 107"):
        check_length(too_long)
    s = socket.socket(socket.AF_UNIX)
    with pytest.raises(SocketPathError, match="over the limit"):
        bind_secure(s, too_long, 0o600)
    s.close()
    with pytest.raises(SocketPathError, match="empty"):
        check_length("")
    with pytest.raises(SocketPathError, match="NUL"):
        check_length("/tmp/a\0b")


def test_longest_path_works(short_tmp: str) -> None:
    """107 bytes: the private bind directory does not fit beside it; the bind goes
    through /proc/self/fd and still lands in the right place."""
    path = _long_dir(short_tmp, MAX_PATH_BYTES)
    s = socket.socket(socket.AF_UNIX)
    ident = bind_secure(s, path, 0o640)
    assert _mode(path) == 0o640
    c = socket.socket(socket.AF_UNIX)
    c.connect(path)
    c.close()
    assert remove_if_ours(path, ident)
    s.close()


def test_remove_if_ours_leaves_replacements_alone(sock_path: str) -> None:
    s = socket.socket(socket.AF_UNIX)
    ident = bind_secure(s, sock_path, None)
    os.unlink(sock_path)
    with open(sock_path, "w") as f:
        f.write("someone else's")
    assert not remove_if_ours(sock_path, ident)
    assert os.path.isfile(sock_path)
    s.close()


WATCHER = r"""
import os, stat, sys
path, stop = sys.argv[1], sys.argv[2]
last, n = None, 0
print("ready", flush=True)
while not os.path.exists(stop):
    try:
        now = oct(stat.S_IMODE(os.lstat(path).st_mode))
        n += 1
    except FileNotFoundError:
        now = "gone"
    if now != last:  # each change of what it sees: a mode, or "gone"
        print(now, flush=True)
        last = now
print("end", n, flush=True)
"""


class Watcher:
    """A process that watches a path and reports each change of what it sees; the modes seen."""

    def __init__(self, proc: gsub.Popen) -> None:
        self.proc = proc
        self.modes: set[str] = set()

    def saw(self, want: str | None = None) -> None:
        """Wait until the watcher reports ``want`` (None: any mode, the path present)."""
        with gevent.Timeout(10, AssertionError(f"the watcher never saw {want or 'the path'}")):
            while True:
                line = self.proc.stdout.readline().decode().strip()
                assert line and not line.startswith("end"), "the watcher ended"
                if line != "gone":
                    self.modes.add(line)
                if line == want or (want is None and line != "gone"):
                    return


def _watch(sock_path: str, bind_once: object, rounds: int) -> tuple[int, set[str]]:
    stop = sock_path + ".stop"
    proc = gsub.Popen([sys.executable, "-c", WATCHER, sock_path, stop], stdout=gsub.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    w = Watcher(proc)
    w.saw("gone")
    try:
        for _ in range(rounds):
            bind_once(w)  # type: ignore[operator]
    finally:
        open(stop, "w").close()
        out, _ = proc.communicate(timeout=20)
        os.unlink(stop)
    *rest, end = out.decode().split("\n")[:-1]
    w.modes.update(line for line in rest if line != "gone")
    return int(end.split()[1]), w.modes


def test_permissions_never_more_open_than_requested(sock_path: str) -> None:
    """A process watching the path while we bind again and again never sees a mode
    other than the requested one."""
    os.umask(old := os.umask(0o000))  # worst case: a new socket would be 0777
    os.umask(0o000)
    try:
        def secure(w: Watcher) -> None:
            s = socket.socket(socket.AF_UNIX)
            ident = bind_secure(s, sock_path, 0o600)
            w.saw()  # the watcher saw it (and whatever came before)
            remove_if_ours(sock_path, ident)
            s.close()
            w.saw("gone")

        count, modes = _watch(sock_path, secure, 200)
        assert count > 0 and modes == {"0o600"}

        def naive(w: Watcher) -> None:  # what Tremor does: bind, then chmod
            s = socket.socket(socket.AF_UNIX)
            s.bind(sock_path)
            w.saw()
            os.chmod(sock_path, 0o600)
            w.saw("0o600")
            os.unlink(sock_path)
            s.close()
            w.saw("gone")

        count, modes = _watch(sock_path, naive, 100)
        assert "0o777" in modes  # the watcher does catch a window when there is one
    finally:
        os.umask(old)
