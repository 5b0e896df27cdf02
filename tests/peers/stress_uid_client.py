"""A stdlib client for the security tests, meant to run under another uid.

    python tests/peers/stress_uid_client.py PATH [LINE]

Prints one JSON line: ``{"connect": "ok" | "<errno name>", "uid": ..., "reply": ...}``.
With LINE, sends it (plus a newline) and waits up to 3 s for a reply line (``reply``
is the line, ``"closed"`` or ``"none"``).
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys


def main() -> None:
    path = sys.argv[1]
    result: dict[str, object] = {"uid": os.getuid()}
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
    except OSError as exc:
        result["connect"] = errno.errorcode.get(exc.errno or 0, str(exc))
        print(json.dumps(result), flush=True)
        return
    result["connect"] = "ok"
    if len(sys.argv) > 2:
        s.sendall(sys.argv[2].encode() + b"\n")
        s.settimeout(3.0)
        try:
            data = s.recv(65536)
            result["reply"] = data.decode(errors="replace").strip() if data else "closed"
        except TimeoutError:
            result["reply"] = "none"
        except OSError as exc:
            result["reply"] = errno.errorcode.get(exc.errno or 0, str(exc))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
