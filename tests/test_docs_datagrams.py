"""The /dev/log-style syslog receiver of docs/datagrams.md, run as written, with real syslog senders."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import gevent
import gevent.subprocess as gsub

from tests.helpers import wait_for
from tests.peers.spawn import _RXUNIX_ROOT, terminate

DOC = Path(__file__).resolve().parent.parent / "docs" / "datagrams.md"
SENDER = r"""
import logging, logging.handlers, sys
h = logging.handlers.SysLogHandler(address=sys.argv[1])
h.setFormatter(logging.Formatter("%(asctime)s %(name)s[%(process)d]: %(message)s", "%b %d %H:%M:%S"))
log = logging.getLogger("pyapp")
log.addHandler(h)
log.warning("from SysLogHandler")
"""


def receiver_code() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## A /dev/log-style syslog receiver", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "the receiver's code block is missing from docs/datagrams.md"
    return match.group(1)


def test_the_documented_syslog_receiver(short_tmp: str) -> None:
    path = os.path.join(short_tmp, "log")
    env = dict(os.environ, PYTHONPATH=_RXUNIX_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    rx = gsub.Popen([sys.executable, "-c", receiver_code(), path], stdout=gsub.PIPE, env=env)
    try:
        wait_for(lambda: os.path.exists(path) or rx.poll() is not None, 20, "the receiver's socket")
        assert rx.poll() is None
        sent = gsub.run([sys.executable, "-c", SENDER, path], timeout=30)
        assert sent.returncode == 0
        expected = [b"warning pyapp from SysLogHandler\n"]
        logger = shutil.which("logger")
        if logger is not None:  # util-linux logger: another real syslog sender
            done = gsub.run([logger, "-u", path, "-i", "-t", "shapp", "-p", "user.err", "from logger"], timeout=30)
            assert done.returncode == 0
            expected.append(b"err shapp from logger\n")
        assert rx.stdout is not None
        with gevent.Timeout(20, AssertionError("the receiver printed nothing")):
            got = [rx.stdout.readline() for _ in expected]
        assert got == expected
    finally:
        terminate(rx)
