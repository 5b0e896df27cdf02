"""``rxunix server`` / ``rxunix client`` as processes, against each other and ``jq``; usage errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import simplejson
from rxunix.cli import main

from .helpers import wait_for
from .sysdeps import require

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
RXUNIX = [sys.executable, "-m", "rxunix"]

VALUES: list[Any] = [
    {"zeta": {"b": [1, {"y": None}], "a": -3}, "alpha": 848311734.7466849},
    [1, -2, 3.25, "four", {"five": 5}, [], {}],
    "naïve café ☕ 日本語",
    -42,
    {"tiny": 1e-7, "neg": -0.001},
]


def jsonl(values: list[Any]) -> str:
    return "".join(simplejson.dumps(v, ensure_ascii=False) + "\n" for v in values)


def parse_lines(text: str) -> list[Any]:
    return [simplejson.loads(line) for line in text.splitlines() if line.strip()]


def start_server(sock: str, *args: str, stdout: Any = subprocess.PIPE) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([*RXUNIX, "server", sock, *args], env=ENV, stdout=stdout, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: os.path.exists(sock) or proc.poll() is not None, 15, "the server's socket")
    except AssertionError:
        proc.kill()
        raise
    assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    return proc


def stop(proc: subprocess.Popen[bytes], timeout: float = 5) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    finally:
        if proc.poll() is None:
            proc.kill()


def client(*args: str, stdin: str | None = None, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*RXUNIX, "client", *args], env=ENV, input=stdin, capture_output=True, text=True,
                          encoding="utf-8", timeout=timeout)


def test_server_piped_to_jq_and_client_against_it(short_tmp: str) -> None:
    jq_path = require("jq")
    sock = os.path.join(short_tmp, "s.sock")
    server = start_server(sock, "--echo", "--permissions", "=600")
    jq = subprocess.Popen([jq_path, "-c", "."], stdin=server.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert server.stdout is not None
    server.stdout.close()  # jq owns the pipe now
    try:
        assert oct(os.stat(sock).st_mode & 0o777) == oct(0o600)
        infile = os.path.join(short_tmp, "in.jsonl")
        with open(infile, "w", encoding="utf-8") as fh:
            fh.write(jsonl(VALUES))
        r = client(sock, "--input", infile, "--replies", str(len(VALUES)))
        assert r.returncode == 0, r.stderr
        assert parse_lines(r.stdout) == VALUES  # the echoes, in order
        assert stop(server) == 0
        out, err = jq.communicate(timeout=5)
        assert jq.returncode == 0, err
        assert parse_lines(out.decode("utf-8")) == VALUES  # what the server printed, through jq
        assert not os.path.exists(sock)
    finally:
        for p in (server, jq):
            if p.poll() is None:
                p.kill()


def test_client_reads_stdin_and_prints_metadata_pretty(short_tmp: str) -> None:
    sock = os.path.join(short_tmp, "s.sock")
    server = start_server(sock, "--echo", "--meta", "--send-buffer-bytes", "131072")
    try:
        r = client(sock, "--meta", "--pretty", "--idle", "0.3", "--send-buffer-bytes", "65536",
                   stdin=jsonl(VALUES[:2]))
        assert r.returncode == 0, r.stderr
        decoder = simplejson.JSONDecoder()
        text, replies, i = r.stdout, [], 0
        while text[i:].strip():
            obj, end = decoder.raw_decode(text[i:].lstrip())
            i = len(text) - len(text[i:].lstrip()) + end
            replies.append(obj)
        assert [x["value"] for x in replies] == VALUES[:2]
        assert all(x["meta"] == {"unix_socket_client": {"peer": sock}} for x in replies)
        assert "\n  " in r.stdout  # pretty
        assert stop(server) == 0
        assert server.stdout is not None
        printed = parse_lines(server.stdout.read().decode("utf-8"))
        assert [x["value"] for x in printed] == VALUES[:2]
        record = printed[0]["meta"]["unix_socket_server"]
        assert record["path"] == sock and isinstance(record["peer"], int) and record["uid"] == os.getuid()
    finally:
        if server.poll() is None:
            server.kill()


def test_client_sends_input_lines_longer_than_a_frame_limit(short_tmp: str) -> None:
    sock = os.path.join(short_tmp, "s.sock")
    unlimited = '{"name": "separate", "config": {"max_length": 0}}'
    server = start_server(sock, "--echo", "--pre", unlimited)
    try:
        values = [{"a": 1}, {"big": "x" * 10_000}, {"b": 2}]
        r = client(sock, "--replies", "3", "--pre", unlimited, stdin=jsonl(values))
        assert r.returncode == 0, r.stderr
        assert parse_lines(r.stdout) == values
        assert stop(server) == 0
    finally:
        if server.poll() is None:
            server.kill()


def test_server_errors_are_json_lines_on_stderr(short_tmp: str) -> None:
    sock = os.path.join(short_tmp, "s.sock")
    server = start_server(sock)
    try:
        # the string codec sends the text as is: "not json" is a decode error at the server
        r = client(sock, "--codec", "string", "--idle", "0.3", stdin=jsonl(["not json", {"ok": 1}]))
        assert r.returncode == 0, r.stderr
        assert stop(server) == 0
        assert server.stdout is not None and server.stderr is not None
        assert parse_lines(server.stdout.read().decode()) == [{"ok": 1}]
        errors = parse_lines(server.stderr.read().decode())
        assert [(e["connector"], e["action"]) for e in errors] == [("unix_socket_server", "decode")]
    finally:
        if server.poll() is None:
            server.kill()


def test_client_without_a_server_fails_with_json_errors(short_tmp: str) -> None:
    sock = os.path.join(short_tmp, "nobody.sock")
    r = client(sock, "--no-reconnect", stdin=jsonl([1, 2]))
    assert r.returncode == 1
    errors = parse_lines(r.stderr)
    assert errors[0]["action"] == "connect" and errors[0]["connector"] == "unix_socket_client"
    assert all(e["connector"] == "unix_socket_client" for e in errors)
    assert r.stdout == ""


def test_server_allow_uid_serves_listed_uids_only(short_tmp: str) -> None:
    sock = os.path.join(short_tmp, "s.sock")
    server = start_server(sock, "--echo", "--allow-uid", str(os.getuid() + 1))
    try:
        r = client(sock, "--idle", "0.5", "--no-reconnect", stdin='{"a": 1}\n')
    finally:
        assert stop(server) == 0
    err = server.stderr.read().decode() if server.stderr else ""
    assert r.stdout == "" and f"peer uid {os.getuid()}" in err and "not in allow_uids" in err
    served = start_server(sock, "--echo", "--allow-uid", "12345", "--allow-uid", str(os.getuid()))
    try:
        r = client(sock, "--idle", "0.5", stdin='{"a": 1}\n')
    finally:
        stop(served)
    assert r.stdout == '{"a":1}\n', r.stderr


@pytest.mark.parametrize(
    "argv, option",
    [
        (["server", "/tmp/x.sock", "--codec", "jsn"], "--codec"),
        (["server", "/tmp/x.sock", "--pre", "nope"], "--pre"),
        (["server", "/tmp/x.sock", "--post", '{"name": "separate", "config": {"bad": 1}}'], "--post"),
        (["server", "/tmp/x.sock", "--permissions", "rw-everything"], "--permissions"),
        (["server", "/tmp/x.sock", "--buf-size", "0"], "--buf-size"),
        (["server", "/tmp/x.sock", "--buf-size", "1099511627776"], "--buf-size"),
        (["server", "/tmp/x.sock", "--dgram", "--buf-size", "67108865"], "--buf-size"),
        (["client", "/tmp/x.sock", "--dgram", "--buf-size", "67108865"], "--buf-size"),
        (["server", "/tmp/x.sock", "--send-buffer-bytes", "1073741823"], "--send-buffer-bytes"),
        (["client", "/tmp/x.sock", "--send-buffer-bytes", "2147483648"], "--send-buffer-bytes"),
        (["client", "/tmp/x.sock", "--dgram", "--send-buffer-bytes", "65536"], "--send-buffer-bytes"),
        (["server", "/tmp/" + "x" * 120], "PATH"),
        (["server", "/tmp/x.sock", "--allow-uid", "-1"], "--allow-uid"),
        (["client", "/tmp/x.sock", "--retries", "many"], "--retries"),
        (["client", "/tmp/x.sock", "--idle", "-1"], "--idle"),
        (["client", "/tmp/x.sock", "--frobnicate"], "--frobnicate"),
        (["demo", "--server-delay", "x"], "--server-delay"),
        (["run", "/nonexistent/flow.py"], "FLOW"),
        (["run", "x.py", "--set", "novalue"], "--set"),
        (["run", "x.py", "--workers", "1025"], "--workers"),
        (["server", "/tmp/x.sock", "--systemd", ""], "--systemd"),
        (["server", "/tmp/x.sock", "--allow-uid", "4294967295"], "--allow-uid"),
        ([], "COMMAND"),
    ],
)
def test_usage_errors_name_the_option(argv: list[str], option: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert option in err and "usage: rxunix" in err


def test_usage_error_from_a_real_process() -> None:
    r = subprocess.run([*RXUNIX, "server", "/tmp/x.sock", "--codec", "jsn"], env=ENV, capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 2
    assert "argument --codec: codec: unknown name 'jsn'; allowed:" in r.stderr


def test_a_signal_while_the_command_exits_does_not_change_its_status() -> None:
    code = textwrap.dedent("""
        import atexit, os, signal
        import rxunix.app.cli as cli
        cli.main = lambda: 7  # the run is over: its status is 7
        atexit.register(os.kill, os.getpid(), signal.SIGTERM)  # a late SIGTERM, as the process exits
        cli.entry()
    """)
    r = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=20)
    assert r.returncode == 7, (r.returncode, r.stderr)


def test_version_and_help() -> None:
    r = subprocess.run([*RXUNIX, "--help"], env=ENV, capture_output=True, text=True, timeout=20)
    assert r.returncode == 0 and all(c in r.stdout for c in ("demo", "run", "server", "client"))


def test_a_second_server_on_a_live_socket_fails_and_leaves_the_first_alone(short_tmp: str) -> None:
    sock = os.path.join(short_tmp, "s.sock")
    first = start_server(sock, "--echo")
    try:
        r = subprocess.run([*RXUNIX, "server", sock], env=ENV, capture_output=True, text=True, timeout=20)
        assert r.returncode == 1
        assert "cannot start" in r.stderr and sock in r.stderr
        assert os.path.exists(sock)
        reply = client(sock, "--replies", "1", stdin=jsonl([{"still": "alive"}]))
        assert reply.returncode == 0 and parse_lines(reply.stdout) == [{"still": "alive"}]
        assert stop(first) == 0
    finally:
        if first.poll() is None:
            first.kill()
