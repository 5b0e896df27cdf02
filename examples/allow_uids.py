"""An echo server that admits only listed uids, using the peers' SO_PEERCRED credentials.

    python examples/allow_uids.py /tmp/rx-allow.sock 1000 0     # admit uids 1000 and 0

Every connection's credentials (``pid``, ``uid``, ``gid``, from ``SO_PEERCRED``) are
in ``event.meta["unix_socket_server"]``. The socket itself is open to everybody
(``"=666"``): the filter, not the file mode, decides. Events of any other uid are
dropped and reported (``rejected {...}`` on stdout); admitted events are echoed.
Ctrl-C or SIGTERM stops the server (pending replies written, socket file removed).
"""

from __future__ import annotations

import json
import signal
import sys

import gevent
from rxunix.security import allow_uids

import rxunix


def main(path: str, uids: list[int]) -> None:
    server = rxunix.unix_socket_server(
        config={"path": path, "permissions": "=666"},
        codec="json", preprocessors=["separate"], postprocessors=["separate"],
    )

    def rejected(err: rxunix.ErrorEvent) -> None:
        print("rejected", json.dumps(err.value, default=str), flush=True)

    # only events of the listed uids reach the pipeline (here: echo back)
    server.out.pipe(allow_uids(uids, errors=rejected, server=server)).subscribe(server.in_)
    server.err.subscribe(lambda e: print("error", json.dumps(e.value, default=str), flush=True))

    with server:
        for sig in (signal.SIGINT, signal.SIGTERM):
            gevent.signal_handler(sig, lambda: gevent.spawn(server.stop))
        print("ready", flush=True)
        server.join()


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], [int(u) for u in sys.argv[2:]])
