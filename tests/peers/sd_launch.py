"""Launch a program the way systemd socket activation does (for the tests).

    python sd_launch.py [--stream PATH[=NAME]]... [--dgram PATH[=NAME]]... [--other-pid] -- PROGRAM ARGS...

Binds each socket (in order: fds 3, 4, ...; a stream socket listens; ``@name``
is the abstract namespace), sets ``LISTEN_FDS``, ``LISTEN_PID`` (this process,
which the program replaces via exec) and ``LISTEN_FDNAMES``, prints ``bound``
on stderr and execs PROGRAM. ``--other-pid`` sets ``LISTEN_PID`` to another pid
(the variables are then not for the program).
"""

from __future__ import annotations

import fcntl
import os
import socket
import sys


def _bind(kind: int, spec: str) -> tuple[socket.socket, str]:
    path, _, name = spec.partition("=")
    s = socket.socket(socket.AF_UNIX, kind)
    s.bind(b"\0" + path[1:].encode() if path.startswith("@") else path)
    if kind == socket.SOCK_STREAM:
        s.listen(128)
    return s, name or "unknown"


def main(argv: list[str]) -> None:
    split = argv.index("--")
    opts, program = argv[:split], argv[split + 1:]
    socks: list[tuple[socket.socket, str]] = []
    other_pid = False
    i = 0
    while i < len(opts):
        if opts[i] in ("--stream", "--dgram"):
            kind = socket.SOCK_STREAM if opts[i] == "--stream" else socket.SOCK_DGRAM
            socks.append(_bind(kind, opts[i + 1]))
            i += 2
        elif opts[i] == "--other-pid":
            other_pid = True
            i += 1
        else:
            raise SystemExit(f"sd_launch: unknown option {opts[i]!r}")
    high = [fcntl.fcntl(s.fileno(), fcntl.F_DUPFD, 100) for s, _ in socks]  # out of the way of 3, 4, ...
    for s, _ in socks:
        s.close()
    for n, fd in enumerate(high):
        os.dup2(fd, 3 + n, inheritable=True)
        os.close(fd)
    env = dict(os.environ)
    env["LISTEN_FDS"] = str(len(socks))
    env["LISTEN_PID"] = str(os.getpid() + 1 if other_pid else os.getpid())
    env["LISTEN_FDNAMES"] = ":".join(name for _, name in socks)
    print("bound", file=sys.stderr, flush=True)
    os.execvpe(program[0], program, env)


if __name__ == "__main__":
    main(sys.argv[1:])
