"""``rxunix demo`` as users run it: a real process, real sockets, real files."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import simplejson
from rxunix.codecs.json_codec import JsonCodec
from rxunix.demo import SAMPLE

from rxunix.edge.descriptors import close_now

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}

# Written in assorted styles (spaces, unsorted keys, escapes); "exit" last.
INPUT_LINES = [
    '{"zeta": {"b": [1, {"y": null, "x": [true, false, []]}], "a": -3}, "alpha": 848311734.7466849}',
    '[1, -2, 3.25, "four", {"five": 5, "four": [4]}, [], {}]',
    '"naïve café ☕ 日本語 \\u00e9"',
    "-42",
    '{"big": 12345678901234567890, "neg": -0.001, "tiny": 1e-7, "e": 1.5e300}',
    '{"nested": {"deeper": {"deepest": ["Ünïcödé", -1, 0.5]}}}',
    '"exit"',
]
_SORTED = JsonCodec(mode="sorted")


def sorted_form(line: str) -> str:
    return _SORTED.encode(simplejson.loads(line)).decode("utf-8")


def rxunix(*args: str, cwd: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rxunix", *args],
        cwd=cwd, env=ENV, capture_output=True, text=True, encoding="utf-8", timeout=timeout,
    )


def read_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return fh.read().splitlines()


def write_input(directory: str, lines: list[str]) -> str:
    path = os.path.join(directory, "in.jsonl")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def check_logs(directory: str, lines: list[str]) -> None:
    expected = [sorted_form(line) for line in lines]
    assert expected[-1] == '"exit"'
    assert read_lines(os.path.join(directory, "server_out.log")) == expected
    assert read_lines(os.path.join(directory, "client_out.log")) == expected[:-1]


def test_demo_echoes_every_event_and_exits_0(short_tmp: str) -> None:
    infile = write_input(short_tmp, INPUT_LINES)
    logs = os.path.join(short_tmp, "logs")
    r = rxunix("demo", "--input", infile, "--dir", logs, cwd=short_tmp)
    assert r.returncode == 0, r.stderr
    check_logs(logs, INPUT_LINES)
    n = len(INPUT_LINES)
    assert f"sent {n}, received {n}, errors 0" in r.stderr
    # the replies but "exit" on stdout, as the source document's stdio connector shows them
    assert [sorted_form(x) for x in r.stdout.splitlines()] == [sorted_form(x) for x in INPUT_LINES[:-1]]
    assert set(os.listdir(short_tmp)) == {"in.jsonl", "logs"}


def test_demo_with_the_client_started_before_the_server(short_tmp: str) -> None:
    infile = write_input(short_tmp, INPUT_LINES)
    sock = os.path.join(short_tmp, "demo.sock")
    r = rxunix("demo", "--input", infile, "--dir", short_tmp, "--socket", sock, "--server-delay", "0.25",
               "--quiet", cwd=short_tmp)
    assert r.returncode == 0, r.stderr
    check_logs(short_tmp, INPUT_LINES)
    assert "server started after 0.25s" in r.stderr
    retries = int(r.stderr.split("reconnect retries ")[1].split()[0])
    assert retries >= 1  # it really had to reconnect
    assert r.stdout == "" and not os.path.exists(sock)


def test_demo_built_in_sample_in_the_working_directory(short_tmp: str) -> None:
    r = rxunix("demo", "--quiet", cwd=short_tmp)
    assert r.returncode == 0, r.stderr
    with open(SAMPLE, encoding="utf-8") as fh:
        sample = fh.read().splitlines()
    check_logs(short_tmp, sample)
    assert "built-in sample" in r.stderr and "elapsed" in r.stderr
    assert set(os.listdir(short_tmp)) == {"server_out.log", "client_out.log"}


def test_demo_input_without_exit_gets_one(short_tmp: str) -> None:
    infile = write_input(short_tmp, ['{"a": 1}', "[2]"])
    r = rxunix("demo", "--input", infile, "--dir", short_tmp, "--quiet", cwd=short_tmp)
    assert r.returncode == 0, r.stderr
    check_logs(short_tmp, ['{"a": 1}', "[2]", '"exit"'])
    assert 'no "exit" line' in r.stderr


def expect_failure(r: subprocess.CompletedProcess[str], *words: Any) -> None:
    assert r.returncode == 1, (r.returncode, r.stderr)
    for w in words:
        assert w in r.stderr, r.stderr


def test_demo_fails_clearly_on_bad_input_lines(short_tmp: str) -> None:
    infile = write_input(short_tmp, ['{"a": 1}', "{not json", '"exit"'])
    r = rxunix("demo", "--input", infile, "--dir", short_tmp, "--quiet", cwd=short_tmp)
    expect_failure(r, '"action":"decode"', "1 error event")
    assert read_lines(os.path.join(short_tmp, "server_out.log")) == ['{"a":1}', '"exit"']


def test_demo_fails_clearly_when_the_server_never_comes(short_tmp: str) -> None:
    r = rxunix("demo", "--dir", short_tmp, "--server-delay", "30", "--quiet", cwd=short_tmp, timeout=20)
    expect_failure(r, "gave up connecting", 'stopped before "exit" came back')


def test_demo_fails_clearly_on_a_bad_socket_path_or_input(short_tmp: str) -> None:
    long_path = os.path.join(short_tmp, "x" * 120 + ".sock")
    expect_failure(rxunix("demo", "--socket", long_path, "--dir", short_tmp, cwd=short_tmp), "108")
    expect_failure(rxunix("demo", "--input", "nope.jsonl", "--dir", short_tmp, cwd=short_tmp), "no such file")
    expect_failure(rxunix("demo", "--input", short_tmp, "--dir", short_tmp, cwd=short_tmp), "is a directory")
    r = rxunix("demo", "--timeout", "soon", cwd=short_tmp)
    assert r.returncode == 2 and "--timeout" in r.stderr
    a_file = os.path.join(short_tmp, "a-file")
    open(a_file, "w").close()
    expect_failure(rxunix("demo", "--dir", a_file, cwd=short_tmp), "--dir", "File exists")


def test_demo_reads_its_input_from_a_fifo(short_tmp: str) -> None:
    """``rxunix demo --input FIFO`` (a named pipe another program writes): read like a file."""
    fifo = os.path.join(short_tmp, "in.fifo")
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "rxunix", "demo", "--input", fifo, "--dir", short_tmp,
                             "--quiet"], cwd=short_tmp, env=ENV, stderr=subprocess.PIPE, text=True)
    try:
        fd: list[int] = []

        def opened() -> bool:  # once the demo has opened its end (or it ended)
            try:
                fd.append(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # ENXIO: no reader yet
                return proc.poll() is not None
            return True

        deadline = time.monotonic() + 30
        while not opened() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert fd, (proc.poll(), proc.stderr.read() if proc.stderr and proc.poll() is not None else "")
        os.write(fd[0], b'{"a": 1}\n"exit"\n')
        close_now(fd[0])  # (not deferred under the patched pytest)
        assert proc.wait(30) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert read_lines(os.path.join(short_tmp, "server_out.log")) == ['{"a":1}', '"exit"']


def test_demo_times_out_instead_of_hanging(short_tmp: str) -> None:
    # stdin stays open and never sends "exit": the run must end by itself
    proc = subprocess.Popen([sys.executable, "-m", "rxunix", "demo", "--input", "-", "--dir", short_tmp,
                             "--timeout", "1", "--quiet"], cwd=short_tmp, env=ENV, stdin=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdin is not None
    proc.stdin.write('{"a": 1}\n')
    proc.stdin.flush()
    try:
        proc.wait(timeout=15)  # not communicate(): that would close stdin
        assert proc.stderr is not None
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdin.close()
    assert proc.returncode == 1, err
    assert 'timed out after 1.0s waiting for "exit"' in err and "sent 1, received 1" in err
    assert read_lines(os.path.join(short_tmp, "server_out.log")) == ['{"a":1}']
