"""An rxunix ``unix_socket_server`` in its own process, for the stress suite.

    python tests/peers/stress_server.py PATH [--echo] [--out FILE] [--spare-fds N]
                                             [--permissions MODE] [--allow-uids 0,1000]

``separate`` + ``json``. Prints ``ready {"pid":..., "fds":...}`` once it accepts,
then one ``err {...}`` line per error event (and ``rejected {...}`` per event
refused by ``--allow-uids``). ``--out`` appends every received value to FILE as a
JSON line, written with ``os.write`` per event, so it survives a SIGKILL.
``--echo`` sends every event back to its connection. ``--spare-fds N`` lowers the
soft ``RLIMIT_NOFILE`` to the fds open once ready plus N (to make ``accept`` fail).
SIGTERM/SIGINT stop the server cleanly (drain) and exit 0.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sys

import gevent

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

from rxunix.connectors.server import unix_socket_server  # noqa: E402
from rxunix.event import Event  # noqa: E402


def say(tag: str, obj: object) -> None:
    sys.stdout.write(f"{tag} {json.dumps(obj, default=str, sort_keys=True)}\n")
    sys.stdout.flush()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("path")
    ap.add_argument("--echo", action="store_true")
    ap.add_argument("--out")
    ap.add_argument("--spare-fds", type=int)
    ap.add_argument("--permissions")
    ap.add_argument("--allow-uids")
    ap.add_argument("--max-pending", type=int)
    args = ap.parse_args()

    config: dict[str, object] = {"path": args.path}
    if args.permissions:
        config["permissions"] = args.permissions
    if args.max_pending:
        config["max_pending_bytes"] = args.max_pending
    server = unix_socket_server(config=config, codec="json", preprocessors=["separate"],
                                postprocessors=["separate"])
    out_fd = os.open(args.out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600) if args.out else None

    events = server.out
    if args.allow_uids is not None:
        from rxunix.security import allow_uids

        uids = [int(u) for u in args.allow_uids.split(",") if u]
        events = events.pipe(allow_uids(uids, errors=lambda ev: say("rejected", ev.value),
                                        server=server))

    def on_event(ev: Event) -> None:
        if out_fd is not None:
            os.write(out_fd, (json.dumps(ev.value, sort_keys=True) + "\n").encode())
        if args.echo:
            server.in_.on_next(ev)

    events.subscribe(on_event)
    server.err.subscribe(lambda ev: say("err", ev.value))
    server.start()

    def stop() -> None:
        gevent.spawn(server.stop, 10)

    gevent.signal_handler(signal.SIGTERM, stop)
    gevent.signal_handler(signal.SIGINT, stop)
    fds = len(os.listdir("/proc/self/fd"))
    if args.spare_fds is not None:
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (fds + args.spare_fds, hard))
    say("ready", {"pid": os.getpid(), "fds": fds})
    server.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
