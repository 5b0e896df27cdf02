"""``.ci/sysdeps.py``: installs the test tools once when tox envs start together; never races.

The install command is injected (``RXUNIX_SYSDEPS_INSTALL``): a fake, slow installer that
creates the tools in a private bin directory, so no test needs the network or root.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from .sysdeps import SCRIPT, installer, require

N = 4

FAKE_INSTALLER = textwrap.dedent("""
    import os, sys, time
    d = os.environ["FAKE_DIR"]
    with open(os.path.join(d, "installs"), "a") as f:
        f.write("start " + " ".join(sys.argv[1:]) + "\\n")
    others = int(os.environ["FAKE_N"]) - 1
    lock_ino = ":%d " % os.stat(os.environ["RXUNIX_SYSDEPS_LOCK"]).st_ino

    def blocked():  # processes blocked in flock() on the install lock, as the kernel lists them
        with open("/proc/locks") as f:
            return sum(" -> FLOCK " in line and lock_ino in line for line in f)

    # stay in the install until every other process is blocked on the lock, so they truly race
    deadline = time.monotonic() + 30
    while blocked() < others:
        if time.monotonic() > deadline:
            sys.exit("fake installer: the other processes never waited on the lock")
        time.sleep(0.02)
    for pkg in sys.argv[1:]:  # one tool at a time: half-installed in between
        if blocked() != others:  # the others keep waiting, not finding half-installed tools
            sys.exit("fake installer: a process stopped waiting on the lock mid-install")
        tool = os.path.join(d, "bin", pkg)
        with open(tool, "w") as f:
            f.write("#!/bin/sh\\nexit 0\\n")
        os.chmod(tool, 0o755)
    with open(os.path.join(d, "installs"), "a") as f:
        f.write("done\\n")
""")


def _env(tmp: Path, install: str | None) -> dict[str, str]:
    (tmp / "bin").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RXUNIX_SYSDEPS")}
    env.update(PATH=str(tmp / "bin"), FAKE_DIR=str(tmp), FAKE_N=str(N),
               RXUNIX_SYSDEPS_LOCK=str(tmp / "lock" / "sysdeps.lock"))
    if install is not None:
        env["RXUNIX_SYSDEPS_INSTALL"] = install
    return env


def _fake_installer(tmp: Path) -> str:
    script = tmp / "fake_install.py"
    script.write_text(FAKE_INSTALLER)
    return f"{sys.executable} {script}"


def test_concurrent_envs_install_once_and_all_wait(tmp_path: Path) -> None:
    env = _env(tmp_path, _fake_installer(tmp_path))
    for i in range(N):
        (tmp_path / f"err{i}").write_text("")
    procs = []
    for i in range(N):
        with open(tmp_path / f"err{i}", "w") as err:
            procs.append(subprocess.Popen([sys.executable, SCRIPT], env=env, stderr=err))
    codes = [p.wait(timeout=60) for p in procs]
    errs = [(tmp_path / f"err{i}").read_text() for i in range(N)]
    assert codes == [0] * N, errs
    # exactly one install ran, with both packages, and it finished
    assert (tmp_path / "installs").read_text() == "start jq socat\ndone\n"
    # every other process waited for it (and, the lock held, found the tools present)
    assert sum("waiting for the install lock" in e for e in errs) == N - 1, errs
    assert all((tmp_path / "bin" / tool).exists() for tool in ("socat", "jq"))


def test_tools_present_means_no_install_and_no_lock(tmp_path: Path) -> None:
    env = _env(tmp_path, "/bin/false")  # would fail if it ran
    for tool in ("socat", "jq"):
        (tmp_path / "bin" / tool).write_text("#!/bin/sh\n")
        (tmp_path / "bin" / tool).chmod(0o755)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, SCRIPT], env=env, capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert not (tmp_path / "lock").exists()
    assert time.monotonic() - started < 20


def test_cannot_install_says_why_and_does_not_fail_the_env(tmp_path: Path) -> None:
    env = _env(tmp_path, None)  # PATH without apt-get
    proc = subprocess.run([sys.executable, SCRIPT], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0
    assert proc.stderr == ("sysdeps: jq socat missing and not installed: no apt-get on this machine; "
                           "the tests that need them are skipped\n")


def test_a_failed_install_fails_loudly(tmp_path: Path) -> None:
    env = _env(tmp_path, "/bin/false")
    proc = subprocess.run([sys.executable, SCRIPT], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert "installing jq socat failed (exit status 1); still missing: jq socat" in proc.stderr


def test_reasons_not_root_and_no_apt_get() -> None:
    mod = installer()
    assert mod.cannot_install(euid=1000, apt_get="/usr/bin/apt-get") == "not root (uid 1000): cannot apt-get install"
    assert mod.cannot_install(euid=0, apt_get=None) == "no apt-get on this machine"
    assert mod.cannot_install(euid=0, apt_get="/usr/bin/apt-get") is None


def test_require_skips_only_when_it_cannot_be_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RXUNIX_SYSDEPS_INSTALL", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # neither the tool nor apt-get
    with pytest.raises(pytest.skip.Exception, match="socat not installed and cannot be installed here: no apt-get"):
        require("socat")
    monkeypatch.setenv("RXUNIX_SYSDEPS_INSTALL", "/bin/true")  # installable: missing is a failure
    with pytest.raises(pytest.fail.Exception, match="socat is missing but could be installed"):
        require("socat")
    (tmp_path / "socat").write_text("#!/bin/sh\n")
    (tmp_path / "socat").chmod(0o755)
    assert require("socat") == str(tmp_path / "socat")
