"""A standalone echo server for client tests, run as a subprocess.

    python tests/peers/echo_server.py PATH [--impl plain|rxunix] [--garbage]

``plain`` (default) uses only the standard library ``socket``/``selectors``
modules (nothing of rxunix): it echoes every complete line it receives, per
connection, in order. ``rxunix`` runs rxunix's own ``unix_socket_server`` with
``separate`` + ``json`` and echoes events back to the connection they came from.
``--garbage`` (plain only) first sends a line that is not JSON to every new
connection. A stale socket file left by a killed predecessor is replaced. The
server prints ``ready`` on stdout once it accepts connections, and runs until
killed (SIGTERM/SIGINT end it cleanly).
"""

from __future__ import annotations

import argparse
import os
import selectors
import signal
import socket
import stat
import sys


def _unlink_stale(path: str) -> None:
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass


def run_plain(path: str, garbage: bool) -> None:
    _unlink_stale(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    listener.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ, None)
    pending: dict[socket.socket, bytes] = {}
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            if key.data is None:
                conn, _addr = listener.accept()
                conn.setblocking(True)
                if garbage:
                    conn.sendall(b"this is not json\n")
                sel.register(conn, selectors.EVENT_READ, "conn")
                pending[conn] = b""
                continue
            conn = key.fileobj  # type: ignore[assignment]
            try:
                data = conn.recv(65536)
            except OSError:
                data = b""
            if not data:
                sel.unregister(conn)
                if pending.get(conn):
                    try:
                        conn.sendall(pending[conn])  # echo an unterminated tail too
                    except OSError:
                        pass
                pending.pop(conn, None)
                conn.close()
                continue
            buf = pending[conn] + data
            cut = buf.rfind(b"\n") + 1
            pending[conn] = buf[cut:]
            if cut:
                try:
                    conn.sendall(buf[:cut])
                except OSError:
                    pass


def run_rxunix(path: str) -> None:
    import gevent
    import gevent.event
    from rxunix.connectors.server import unix_socket_server

    server = unix_socket_server(
        config={"path": path}, codec="json", preprocessors=["separate"], postprocessors=["separate"]
    )
    server.out.subscribe(server.in_)
    server.start()
    print("ready", flush=True)
    done = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, done.set)
    gevent.signal_handler(signal.SIGINT, done.set)
    done.wait()
    server.stop()


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--impl", choices=("plain", "rxunix"), default="plain")
    ap.add_argument("--garbage", action="store_true")
    args = ap.parse_args(argv)
    if args.impl == "plain":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            run_plain(args.path, args.garbage)
        except KeyboardInterrupt:
            pass
    else:
        run_rxunix(args.path)


if __name__ == "__main__":
    main(sys.argv[1:])
