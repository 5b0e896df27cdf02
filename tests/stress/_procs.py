"""Subprocess peers of the stress suite (gevent.subprocess: cooperative unpatched too)."""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

import gevent
from gevent import subprocess as gsub

from ..helpers import wait_for

PEERS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "peers")
ROOT = os.path.dirname(os.path.dirname(PEERS))


class Peer:
    """A peer script whose stdout lines are collected by a greenlet."""

    def __init__(self, script: str, *args: str, **popen: Any) -> None:
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = gsub.Popen([sys.executable, os.path.join(PEERS, script), *args], stdout=gsub.PIPE,
                               stdin=gsub.DEVNULL, env=env, **popen)
        self.lines: list[str] = []
        self._reader = gevent.spawn(self._read)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(raw.decode().rstrip("\n"))

    def tagged(self, tag: str) -> list[dict[str, Any]]:
        return [json.loads(line.split(" ", 1)[1]) for line in list(self.lines) if line.startswith(tag + " ")]

    def wait_line(self, tag: str, count: int = 1, timeout: float = 20) -> list[dict[str, Any]]:
        def ready() -> bool:
            if self.proc.poll() is not None and len(self.tagged(tag)) < count:
                raise AssertionError(f"peer exited with {self.proc.returncode}: {self.lines[-5:]}")
            return len(self.tagged(tag)) >= count

        wait_for(ready, timeout, f"{count} {tag!r} line(s)")
        return self.tagged(tag)

    def wait_text(self, text: str, timeout: float = 20) -> None:
        wait_for(lambda: text in self.lines, timeout, f"{text!r} from peer")

    def kill(self, sig: int = signal.SIGKILL) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=20)
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return int(rc)
