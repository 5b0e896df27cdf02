"""A sender process for the flow-control tests: numbered JSON lines, one blocking send each.

    python numbered_sender.py PATH SENDER COUNT PAD

Prints one JSON line when done: ``{"sender", "sent", "max_send_s", "total_s"}``;
``max_send_s`` is the longest single ``sendall`` (a paused reader makes it block).
"""

from __future__ import annotations

import json
import socket
import sys
import time


def main() -> None:
    path, sender, count, pad = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    began = time.monotonic()
    longest = 0.0
    filler = "x" * pad
    for n in range(count):
        line = json.dumps({"s": sender, "n": n, "pad": filler}).encode() + b"\n"
        t = time.monotonic()
        s.sendall(line)
        longest = max(longest, time.monotonic() - t)
    s.close()
    print(json.dumps({"sender": sender, "sent": count, "max_send_s": longest,
                      "total_s": time.monotonic() - began}), flush=True)


if __name__ == "__main__":
    main()
