"""Make sure the system tools the tests drive as real peers are present, once.

socat (a raw socket client in the server tests) and jq (piped after
``rxunix server``). Every tox test env runs this in ``commands_pre``; envs run
in parallel, so the check and the install happen under an exclusive file lock
(``fcntl.flock``) and the check is repeated once the lock is held: the first
env installs, the others wait for it and then find the tools present. apt-get
itself is also told to wait for the dpkg lock (another apt user outside tox).

Exit status and output:

* 0, silent: the tools are present (no network, no lock held for long);
* 0, one line on stderr: they are missing and cannot be installed here (not
  root, or no apt-get); the tests that need them are skipped with that reason
  (``tests/sysdeps.py`` asks :func:`cannot_install`);
* 0 after installing them; 1 when the install command failed.

Environment (for tests and unusual machines):

``RXUNIX_SYSDEPS_INSTALL``
    the install command (split like a shell command line) instead of apt-get;
    the missing package names are appended as arguments.
``RXUNIX_SYSDEPS_LOCK``
    the lock file (default: ``.tox/sysdeps.lock`` in the checkout).
"""

from __future__ import annotations

import fcntl
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence

#: tool looked up on PATH -> Debian package that provides it
TOOLS = {"socat": "socat", "jq": "jq"}

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_LOCK = os.path.join(ROOT, ".tox", "sysdeps.lock")
WAITING = "sysdeps: waiting for the install lock (another test env is installing)"


def missing_packages(tools: dict[str, str] | None = None) -> list[str]:
    """The packages whose tool is not on PATH, in a stable order."""
    tools = TOOLS if tools is None else tools
    return sorted({pkg for tool, pkg in tools.items() if shutil.which(tool) is None})


def install_command() -> list[str] | None:
    """The injected install command (``RXUNIX_SYSDEPS_INSTALL``), or ``None`` for apt-get."""
    text = os.environ.get("RXUNIX_SYSDEPS_INSTALL", "").strip()
    return shlex.split(text) if text else None


def cannot_install(euid: int | None = None, apt_get: str | None = "") -> str | None:
    """Why the missing tools cannot be installed here, or ``None`` if they can.

    ``euid`` and ``apt_get`` default to this process's user and ``which apt-get``.

        >>> cannot_install(euid=1000, apt_get="/usr/bin/apt-get")
        'not root (uid 1000): cannot apt-get install'
        >>> cannot_install(euid=0, apt_get=None)
        'no apt-get on this machine'
        >>> cannot_install(euid=0, apt_get="/usr/bin/apt-get") is None
        True
    """
    if install_command() is not None:
        return None
    euid = os.geteuid() if euid is None else euid
    apt_get = shutil.which("apt-get") if apt_get == "" else apt_get
    if apt_get is None:
        return "no apt-get on this machine"
    if euid != 0:
        return f"not root (uid {euid}): cannot apt-get install"
    return None


def _install(packages: Sequence[str]) -> int:
    custom = install_command()
    if custom is not None:
        return subprocess.run([*custom, *packages], check=False).returncode
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    wait = ["-o", "DPkg::Lock::Timeout=300"]  # another apt user (not a test env): wait, do not fail
    print(f"sysdeps: apt-get install {' '.join(packages)}", file=sys.stderr, flush=True)
    subprocess.run(["apt-get", *wait, "update", "-qq"], check=False, env=env)
    return subprocess.run(["apt-get", *wait, "install", "-y", "-qq", *packages], check=False, env=env).returncode


def _locked(lock_path: str) -> int:
    """Open and exclusively lock ``lock_path`` (waiting, and saying so); the fd holds the lock."""
    os.makedirs(os.path.dirname(lock_path) or ".", exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(WAITING, file=sys.stderr, flush=True)
        fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def ensure(lock_path: str | None = None) -> int:
    """Install the missing tools once (see the module docstring); the exit status."""
    if not missing_packages():
        return 0
    why = cannot_install()
    if why is not None:
        print(f"sysdeps: {' '.join(missing_packages())} missing and not installed: {why}; "
              "the tests that need them are skipped", file=sys.stderr)
        return 0
    fd = _locked(lock_path or os.environ.get("RXUNIX_SYSDEPS_LOCK") or DEFAULT_LOCK)
    try:
        missing = missing_packages()  # again: whoever held the lock may have installed them
        if not missing:
            return 0
        rc = _install(missing)
        still = missing_packages()
        if rc != 0 or still:
            print(f"sysdeps: installing {' '.join(missing)} failed (exit status {rc}); "
                  f"still missing: {' '.join(still) or 'nothing'}", file=sys.stderr)
            return 1
        return 0
    finally:
        os.close(fd)  # releases the lock


if __name__ == "__main__":
    sys.exit(ensure())
