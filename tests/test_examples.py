"""The README's code example runs as shown."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_quickstart_example_echoes_and_accounts() -> None:
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", "quickstart.py")],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.splitlines()
    assert out[:3] == [
        f"Event(value={{'hello': 'world', 'n': {i}}}, meta={{'unix_socket_client': {{'peer': '{path}'}}}})"
        for i, path in zip(range(3), [out[0].split("'peer': '")[1].split("'")[0]] * 3, strict=True)
    ]
    assert out[3] == "pushed 3 written 3 reported 0"
    assert not os.path.exists(os.path.dirname(out[0].split("'peer': '")[1].split("'")[0]))
