"""Make sure the system tools the tests drive as real peers are present.

socat (a raw socket client in the server tests) and jq (piped after
``rxunix server``). Installs them with apt-get when run as root; otherwise
fails with a message saying what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

TOOLS = {"socat": "socat", "jq": "jq"}


def main() -> int:
    missing = [pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None]
    if not missing:
        return 0
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(f"tests need these system packages: {' '.join(missing)} (install them, e.g. apt-get install)",
              file=sys.stderr)
        return 1
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
