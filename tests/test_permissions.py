"""The pure chmod-style parser behind the server's ``permissions`` option."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest
from rxunix.errors import ConfigError
from rxunix.permissions import check_permissions, current_umask, default_base, parse_permissions


@pytest.mark.parametrize(
    "spec, base, expected",
    [
        ("=600", 0o755, 0o600),
        ("600", 0o755, 0o600),
        ("0660", 0o755, 0o660),
        ("=0", 0o777, 0o000),
        ("+020", 0o600, 0o620),
        ("-077", 0o777, 0o700),
        ("u=rw,go=", 0o777, 0o600),
        ("u=rw,g=r,o=", 0o777, 0o640),
        ("+rw", 0o700, 0o766),
        ("g-w", 0o775, 0o755),
        ("a=r,u+w", 0o000, 0o644),
        ("ug=rw", 0o001, 0o661),
        ("o=u", 0o640, 0o646),
        ("g=u-x", 0o750, 0o760),
        ("go-rwx", 0o777, 0o700),
        ("a+X", 0o600, 0o600),
        ("a+X", 0o700, 0o711),
        ("u=rwx,g=rx,o=rx", 0o000, 0o755),
    ],
)
def test_specs(spec: str, base: int, expected: int) -> None:
    assert parse_permissions(spec, base=base) == expected


@pytest.mark.parametrize("spec", ["", "u+q", "999", "=8", "u", "rw", "u=rw,", ",", "12345", "u=rw;g=r"])
def test_malformed_specs_name_the_problem(spec: str) -> None:
    with pytest.raises(ConfigError, match="permissions: cannot parse"):
        parse_permissions(spec, base=0o777)


def test_not_a_string() -> None:
    with pytest.raises(ConfigError, match="must be a str"):
        parse_permissions(0o600)  # type: ignore[arg-type]


def test_check_permissions_accepts_int_modes_and_none() -> None:
    check_permissions(None)
    check_permissions(0o600)
    with pytest.raises(ConfigError, match="out of range"):
        check_permissions(0o17777)
    with pytest.raises(ConfigError, match='mode 600 is 0o1130 .*write "600" or 0o600'):
        check_permissions(600)  # decimal 600 written for "600"
    with pytest.raises(ConfigError, match="mode 0o1777 sets setuid, setgid or sticky bits"):
        check_permissions(0o1777)  # sticky: nothing on a socket
    with pytest.raises(ConfigError):
        check_permissions("x=y")


def test_default_base_is_what_a_new_file_gets(tmp_path: os.PathLike[str]) -> None:
    mask = os.umask(0o027)
    try:
        assert current_umask() == 0o027
        assert default_base() == 0o750
        assert oct(parse_permissions("g+w")) == oct(0o770)
    finally:
        os.umask(mask)
    assert current_umask() == mask


@pytest.mark.parametrize("spec", ["u=rw,go=", "g-w", "+rw", "a=r,u+w", "o=u", "go-rwx", "=640", "-022"])
def test_agrees_with_chmod(tmp_path: os.PathLike[str], spec: str) -> None:
    """GNU chmod with umask 0 is the reference for every spec (with an explicit who)."""
    path = os.path.join(tmp_path, "f")
    for base in (0o777, 0o640, 0o000):
        with open(path, "w"):
            pass
        os.chmod(path, base)
        subprocess.run(["chmod", "--", spec, path], check=True, preexec_fn=lambda: os.umask(0))
        assert parse_permissions(spec, base=base) == stat.S_IMODE(os.stat(path).st_mode), (spec, oct(base))
