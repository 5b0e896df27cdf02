"""What a new user meets first: the commands as processes, over real sockets and real pipes.

``client --replies`` with ``--idle``, a closed stdout (``| head``), rxunix's warnings as one
line, the demo's log handling, ``run --set dir=``, a regular file at a client's socket path,
the examples' default socket directory.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from rxunix.security import InsecureSocketDirWarning
from rxunix.sockpath import describe_connect_error

from rxunix.app.cli_output import rxunix_warnings
from rxunix.edge.descriptors import close_now

from .helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
RXUNIX = [sys.executable, "-m", "rxunix"]
EXAMPLES = ROOT / "examples"
QUIET_STDOUT_CLOSED = 141  # 128 + SIGPIPE


def start_server(sock: str, *args: str, stdout: Any = subprocess.DEVNULL) -> subprocess.Popen[str]:
    proc = subprocess.Popen([*RXUNIX, "server", sock, *args], env=ENV, stdout=stdout, stderr=subprocess.PIPE,
                            text=True)
    wait_for(lambda: os.path.exists(sock) or proc.poll() is not None, 15, "the server's socket")
    assert proc.poll() is None, proc.communicate()[1]
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()


def closed_pipe() -> int:
    """The write end of a pipe whose reader is already gone."""
    r, w = os.pipe()
    close_now(r)  # (gevent's patched os.close would close it only on the hub's next turn)
    return w


def assert_quiet(stderr: str) -> None:
    for noise in ("Traceback", "BrokenPipe", "Broken pipe", "Exception ignored", "stopping:"):
        assert noise not in stderr, stderr


# ---- client --replies N --idle S ------------------------------------------------------------
def test_replies_with_idle_gives_up_with_a_message_and_status_1(short_tmp: str) -> None:
    sock = os.path.join(short_tmp, "s.sock")
    server = start_server(sock)  # no --echo: never answers
    try:
        started = time.monotonic()
        r = subprocess.run([*RXUNIX, "client", sock, "--replies", "2", "--idle", "0.5"], input='{"a": 1}\n',
                           env=ENV, capture_output=True, text=True, timeout=30)
        assert r.returncode == 1, r.stderr
        assert "rxunix client: error: 0 of 2 replies, then none for 0.5s (--idle) after the input ended" in r.stderr
        assert time.monotonic() - started < 20
    finally:
        stop(server)


def test_replies_reached_exits_0_before_idle(short_tmp: str) -> None:
    sock = os.path.join(short_tmp, "s.sock")
    server = start_server(sock, "--echo")
    try:
        r = subprocess.run([*RXUNIX, "client", sock, "--replies", "2", "--idle", "60"], input='1\n2\n',
                           env=ENV, capture_output=True, text=True, timeout=30)
        assert (r.returncode, r.stdout, r.stderr) == (0, "1\n2\n", "")
    finally:
        stop(server)


# ---- a closed stdout -------------------------------------------------------------------------
def test_server_piped_into_head_exits_quietly_when_head_does(short_tmp: str) -> None:
    sock = os.path.join(short_tmp, "s.sock")
    server = start_server(sock, stdout=subprocess.PIPE)
    assert server.stdout is not None and server.stderr is not None
    try:
        subprocess.run([*RXUNIX, "client", sock, "--idle", "0.2"], input="1\n2\n3\n", text=True, env=ENV,
                       capture_output=True, timeout=30, check=True)
        assert server.stdout.readline() == "1\n"  # head -1
        server.stdout.close()
        assert server.wait(15) == QUIET_STDOUT_CLOSED  # although nothing more is written
        assert server.stderr.read() == ""
        assert not os.path.exists(sock)  # stopped with its usual drain
    finally:
        stop(server)


def _exits_quietly_on_a_closed_stdout(short_tmp: str, names: tuple[str, ...]) -> None:
    sock = os.path.join(short_tmp, "s.sock")
    server = start_server(sock, "--echo")
    w = closed_pipe()
    try:
        procs = {
            # (--idle 30: the first reply is written, and fails, however late a loaded machine makes it)
            "client": [*RXUNIX, "client", sock, "--input", str(ROOT / "rxunix" / "data" / "sample.jsonl"),
                       "--idle", "30"],
            "demo": [*RXUNIX, "demo", "--dir", os.path.join(short_tmp, "demo")],
            "run": [*RXUNIX, "run", str(EXAMPLES / "echo_server.py"), "--set", f"socket={short_tmp}/run.sock",
                    "--set", f"dir={short_tmp}"],
        }
        for name in names:
            r = subprocess.run(procs[name], stdout=w, stderr=subprocess.PIPE, text=True, env=ENV, timeout=30,
                               cwd=short_tmp)
            assert r.returncode == QUIET_STDOUT_CLOSED, (name, r.stderr)
            assert_quiet(r.stderr)
    finally:
        os.close(w)
        stop(server)


def test_run_and_demo_exit_quietly_on_a_closed_stdout(short_tmp: str) -> None:
    _exits_quietly_on_a_closed_stdout(short_tmp, ("demo", "run"))


def test_client_exits_quietly_on_a_closed_stdout(short_tmp: str) -> None:
    _exits_quietly_on_a_closed_stdout(short_tmp, ("client",))


# ---- warnings --------------------------------------------------------------------------------
def test_insecure_socket_dir_warning_is_one_clean_line(short_tmp: str) -> None:
    shared = os.path.join(short_tmp, "shared")
    os.mkdir(shared)
    os.chmod(shared, 0o777)
    sock = os.path.join(shared, "s.sock")
    server = subprocess.Popen([*RXUNIX, "server", sock], env=ENV, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: os.path.exists(sock) or server.poll() is not None, 15, "the server's socket")
    finally:
        stop(server)
    assert server.stderr is not None
    assert server.stderr.read() == (f"rxunix: warning: socket path {sock!r} is in {shared!r}, writable by other "
                                    "users (mode 777); prefer a private directory\n")


def test_only_rxunix_warnings_are_reformatted(capsys: pytest.CaptureFixture[str],
                                              recwarn: pytest.WarningsRecorder) -> None:
    with rxunix_warnings():
        warnings.warn("their own", InsecureSocketDirWarning, stacklevel=1)
        warnings.warn("someone else's", UserWarning, stacklevel=1)
    assert capsys.readouterr().err == "rxunix: warning: their own\n"
    # the other warning took Python's usual path (here: pytest's recorder)
    assert [(w.category, str(w.message)) for w in recwarn] == [(UserWarning, "someone else's")]


# ---- demo logs, run --set dir ----------------------------------------------------------------
@pytest.mark.parametrize("kind", ["regular file", "missing directory"])
def test_demo_with_a_bad_socket_creates_and_truncates_nothing(short_tmp: str, kind: str) -> None:
    bad = os.path.join(short_tmp, "f") if kind == "regular file" else os.path.join(short_tmp, "nodir", "s.sock")
    Path(short_tmp, "f").write_text("not a socket")
    Path(short_tmp, "server_out.log").write_text("yesterday's log\n")
    r = subprocess.run([*RXUNIX, "demo", "--socket", bad, "--dir", os.path.join(short_tmp, "new")],
                       cwd=short_tmp, env=ENV, capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert ("exists and is a regular file" if kind == "regular file" else "does not exist") in r.stderr
    assert Path(short_tmp, "server_out.log").read_text() == "yesterday's log\n"
    assert sorted(os.listdir(short_tmp)) == ["f", "server_out.log"]  # no logs, no --dir created


def test_demo_logs_are_ignored_by_git() -> None:
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert {"server_out.log", "client_out.log"} <= set(ignored)


def test_run_set_dir_creates_the_directory_like_demo_dir(short_tmp: str) -> None:
    logs = os.path.join(short_tmp, "a", "logs")
    r = subprocess.run([*RXUNIX, "run", str(EXAMPLES / "echo.py"), "--set", f"socket={short_tmp}/s.sock",
                        "--set", f"dir={logs}"], cwd=short_tmp, env=ENV, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(logs)) == ["client_out.log", "server_out.log"]
    Path(short_tmp, "file").write_text("")
    r = subprocess.run([*RXUNIX, "run", str(EXAMPLES / "echo.py"), "--set", f"dir={short_tmp}/file"],
                       cwd=short_tmp, env=ENV, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "argument --set: dir=" in r.stderr and "cannot create the directory" in r.stderr


def test_examples_default_to_a_private_socket_directory(short_tmp: str) -> None:
    # both example flows, no --set socket: they agree on a path in a 0700 per-user directory
    env = {**ENV, "TMPDIR": short_tmp}
    r = subprocess.run([*RXUNIX, "run", str(EXAMPLES / "echo.py"), "--set", "dir=logs"], cwd=short_tmp, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    private = os.path.join(short_tmp, f"rxunix-{os.getuid()}")
    assert f"[server] listening on {private}/unix-socket.sock" in r.stderr
    assert "warning" not in r.stderr.lower()
    assert os.stat(private).st_mode & 0o777 == 0o700
    assert os.listdir(private) == []  # the socket file removed on stop


def test_examples_refuse_a_socket_directory_open_to_others(short_tmp: str) -> None:
    env = {**ENV, "TMPDIR": short_tmp}
    private = os.path.join(short_tmp, f"rxunix-{os.getuid()}")
    os.mkdir(private)
    os.chmod(private, 0o777)
    r = subprocess.run([*RXUNIX, "run", str(EXAMPLES / "echo_server.py")], cwd=short_tmp, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert f"{private} is not a private directory of this user (mode 777" in r.stderr


# ---- a regular file at a client's socket path ------------------------------------------------
def test_client_names_a_regular_file_at_its_path(short_tmp: str) -> None:
    path = os.path.join(short_tmp, "f")
    Path(path).write_text("")
    r = subprocess.run([*RXUNIX, "client", path, "--no-reconnect"], input="1\n", env=ENV, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1
    assert f"({path!r} is not a socket (a regular file))" in r.stderr
    assert "refused" not in r.stderr


def test_describe_connect_error(short_tmp: str) -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    os.mkdir(os.path.join(short_tmp, "d"))
    os.symlink(os.path.join(short_tmp, "d"), os.path.join(short_tmp, "link"))
    assert describe_connect_error(f"{short_tmp}/d", refused) == f"'{short_tmp}/d' is not a socket (a directory)"
    assert describe_connect_error(f"{short_tmp}/link", refused) == f"'{short_tmp}/link' is not a socket (a directory)"
    stale = os.path.join(short_tmp, "stale.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(stale)
    s.close()  # a socket file nobody listens on: the kernel's word stands
    with pytest.raises(ConnectionRefusedError) as info:
        socket.socket(socket.AF_UNIX).connect(stale)
    assert describe_connect_error(stale, info.value) == "ConnectionRefusedError: [Errno 111] Connection refused"
    missing = FileNotFoundError(2, "No such file or directory")
    assert describe_connect_error(f"{short_tmp}/none", missing) == f"FileNotFoundError: {missing}"


@pytest.mark.parametrize("closed", [1, 2])
def test_a_closed_stdout_or_stderr_is_dev_null_not_a_traceback_nor_mixed_output(short_tmp: str, closed: int) -> None:
    """``rxunix server PATH >&-`` / ``2>&-``: it serves; nothing lands in the other stream."""
    sock = os.path.join(short_tmp, "s.sock")
    out_r, out_w = os.pipe()  # the stream left open, read here
    doomed_r, doomed_w = os.pipe()  # the stream closed in the child before the exec
    # (close_now: gevent's patched os.close would close only on the hub's next turn, after the exec)
    proc = subprocess.Popen([*RXUNIX, "server", sock, "--echo"], env=ENV, preexec_fn=lambda: close_now(closed),
                            stdout=out_w if closed == 2 else doomed_w,
                            stderr=out_w if closed == 1 else doomed_w)
    close_now(out_w)
    close_now(doomed_w)
    try:
        wait_for(lambda: os.path.exists(sock) or proc.poll() is not None, 15, "the server's socket")
        assert proc.poll() is None
        assert os.readlink(f"/proc/{proc.pid}/fd/{closed}") == os.devnull
        peer = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        peer.connect(sock)
        peer.sendall(b'{"a": 1}\nnot json\n')
        peer.settimeout(10)
        assert peer.recv(100) == b'{"a":1}\n'  # served
        peer.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    with os.fdopen(out_r, "rb") as f:
        other = f.read().decode()
    with os.fdopen(doomed_r, "rb") as f:
        assert f.read() == b""  # closed before the exec: nothing came through it
    assert "Traceback" not in other
    if closed == 2:  # the decode error went nowhere, not into the events on stdout
        assert other == '{"a":1}\n'
    else:  # stderr has its usual lines, the error among them
        assert "cannot decode" in other
