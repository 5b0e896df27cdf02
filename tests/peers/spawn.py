"""Start and stop the echo-server subprocesses of the client tests (gevent-friendly)."""

from __future__ import annotations

import os
import sys

import gevent
from gevent import subprocess

import rxunix

ECHO_SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "echo_server.py")
#: The directory holding the rxunix package the tests import (for the subprocess).
_RXUNIX_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(rxunix.__file__)))


def start_echo_server(
    path: str, impl: str = "plain", garbage: bool = False, timeout: float = 15.0
) -> subprocess.Popen:
    """Run ``echo_server.py`` in a subprocess and wait until it accepts connections."""
    args = [sys.executable, ECHO_SERVER, path, "--impl", impl]
    if garbage:
        args.append("--garbage")
    env = dict(os.environ)
    env["PYTHONPATH"] = _RXUNIX_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, env=env)
    try:
        with gevent.Timeout(timeout, AssertionError(f"echo server ({impl}) not ready in {timeout}s")):
            line = proc.stdout.readline()
        if line.strip() != b"ready":
            raise AssertionError(f"echo server ({impl}) failed to start: {line!r}, rc={proc.wait()}")
    except BaseException:
        kill(proc)
        raise
    return proc


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL the process (if still running) and reap it."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def terminate(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM the process and reap it (SIGKILL if it does not end in time)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    kill(proc)
