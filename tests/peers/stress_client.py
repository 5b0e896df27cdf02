"""A plain (stdlib only) client for the stress suite's SIGKILL test.

    python tests/peers/stress_client.py PATH ID N

Connects, sends N JSON lines ``{"c": ID, "n": i}``, then the first half of one more
(no newline), prints ``sent`` and waits to be killed.
"""

from __future__ import annotations

import socket
import sys
import time


def main() -> None:
    path, cid, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b"".join(b'{"c":%d,"n":%d}\n' % (cid, i) for i in range(n)))
    s.sendall(b'{"c":%d,"partial":"' % cid)  # half a frame: never completed
    print("sent", flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
