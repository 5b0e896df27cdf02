"""Chmod-style permission strings, parsed into mode bits (pure, no I/O).

The server's ``permissions`` option takes what ``chmod`` takes: octal
(``"600"``, ``"0660"``), octal with an operator (``"=600"``, ``"+020"``,
``"-077"``, as GNU chmod) and symbolic clauses (``"u=rw,go="``, ``"+rw"``,
``"g-w"``, ``"a=r,u+w"``, ``"o=u"``)::

    >>> oct(parse_permissions("=600"))
    '0o600'
    >>> oct(parse_permissions("u=rw,go="))
    '0o600'
    >>> oct(parse_permissions("g-w", base=0o775))
    '0o755'

**Relative modes** (``+``, ``-``, and clauses that leave some classes alone)
apply to ``base``: the mode a freshly bound socket would get, which is
``0o777 & ~umask`` (see :func:`default_base`). A missing "who" means ``a``
(all classes); unlike chmod, the umask does not filter the bits of ``+``/``=``:
``"+rw"`` really grants read and write to everybody.

Only permission bits are produced (``0o7777`` at most); the result is what the
socket file is chmod-ed to.
"""

from __future__ import annotations

import os
import re

from .address import is_abstract
from .errors import ConfigError

__all__ = ["parse_permissions", "check_permissions", "check_socket_permissions", "default_base", "current_umask"]

_WHO = {"u": 0o4700, "g": 0o2070, "o": 0o1007}
_ALL = 0o7777
_OCTAL = re.compile(r"([-+=]?)([0-7]{1,4})")
_CLAUSE = re.compile(r"([ugoa]*)((?:[-+=](?:[ugo]|[rwxXst]*))+)")
_ACTION = re.compile(r"([-+=])([ugo]|[rwxXst]*)")


def current_umask() -> int:
    """The process umask, read without changing it where possible (Linux ``/proc``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o077)  # fallback: racy with other threads, restored at once
    os.umask(mask)
    return mask


def default_base() -> int:
    """The mode a new socket file gets: ``0o777 & ~umask``."""
    return 0o777 & ~current_umask()


def _bits(perms: str, who_mask: int, current: int) -> int:
    """Bits named by ``perms`` (letters, or a class to copy), restricted to ``who_mask``."""
    if perms in _WHO:  # copy from a class: "g=u"
        src = current & _WHO[perms] & 0o777
        shift = {"u": 6, "g": 3, "o": 0}[perms]
        rwx = (src >> shift) & 0o7
        return (rwx << 6 | rwx << 3 | rwx) & who_mask & 0o777
    bits = 0
    for ch in perms:
        if ch == "r":
            bits |= 0o444
        elif ch == "w":
            bits |= 0o222
        elif ch == "x":
            bits |= 0o111
        elif ch == "X":
            if current & 0o111:
                bits |= 0o111
        elif ch == "s":
            bits |= 0o6000
        elif ch == "t":
            bits |= 0o1000
    return bits & who_mask


def parse_permissions(spec: str, base: int | None = None) -> int:
    """Apply ``spec`` to ``base`` (default :func:`default_base`) and return the mode.

    Raises :class:`~rxunix.core.errors.ConfigError` on a malformed spec::

        >>> oct(parse_permissions("+rw", base=0o700))
        '0o766'
        >>> oct(parse_permissions("o=u", base=0o640))
        '0o646'
        >>> parse_permissions("u+q")
        Traceback (most recent call last):
        ...
        rxunix.ConfigError: permissions: cannot parse 'u+q': expected octal ('600', '=600') \
or symbolic clauses like 'u=rw,go=' ([ugoa]*[-+=][rwxXst]*, comma separated)
    """
    if not isinstance(spec, str):
        raise ConfigError(f"permissions: must be a str like '=600', got {type(spec).__name__} {spec!r}")
    mode = (default_base() if base is None else base) & _ALL
    text = spec.strip()
    m = _OCTAL.fullmatch(text)
    if m:
        op, digits = m.groups()
        value = int(digits, 8)
        if op == "+":
            return mode | value
        if op == "-":
            return mode & ~value
        return value
    clauses = text.split(",")
    if not text or not all(_CLAUSE.fullmatch(c) for c in clauses):
        raise ConfigError(
            f"permissions: cannot parse {spec!r}: expected octal ('600', '=600') or symbolic clauses "
            "like 'u=rw,go=' ([ugoa]*[-+=][rwxXst]*, comma separated)"
        )
    for clause in clauses:
        cm = _CLAUSE.fullmatch(clause)
        assert cm is not None
        who, actions = cm.groups()
        who_mask = 0
        for w in who.replace("a", "ugo") or "ugo":
            who_mask |= _WHO[w]
        for op, perms in _ACTION.findall(actions):
            bits = _bits(perms, who_mask, mode)
            if op == "+":
                mode |= bits
            elif op == "-":
                mode &= ~bits
            else:  # "=": the classes named get exactly these bits
                mode = (mode & ~who_mask) | bits
    return mode & _ALL


def check_permissions(spec: str | int | None) -> None:
    """Validate a ``permissions`` option at construction (raises ConfigError). An int is
    the mode's bits, ``0o600`` say, up to ``0o777`` (setuid, setgid and sticky mean
    nothing on a socket): a decimal ``600``, easily written for ``"600"``, is refused::

        >>> check_permissions(0o600)
        >>> check_permissions(600)
        Traceback (most recent call last):
        ...
        rxunix.ConfigError: permissions: mode 600 is 0o1130 (an int is the mode's bits); \
for rw------- write "600" or 0o600
    """
    if spec is None:
        return
    if isinstance(spec, int) and not isinstance(spec, bool):
        if 0 <= spec <= 0o777:
            return
        digits = str(spec)
        if re.fullmatch(r"[0-7]{3}", digits):
            raise ConfigError(f"permissions: mode {spec} is {oct(spec)} (an int is the mode's bits); "
                              f'for {_rwx(int(digits, 8))} write "{digits}" or 0o{digits}')
        if 0 <= spec <= _ALL:
            raise ConfigError(f"permissions: mode {oct(spec)} sets setuid, setgid or sticky bits, "
                              "which mean nothing on a socket (0..0o777)")
        raise ConfigError(f"permissions: mode {spec!r} out of range 0..0o777")
    parse_permissions(spec, base=0o777)  # type: ignore[arg-type]


def _rwx(mode: int) -> str:
    """``0o640`` as ``rw-r-----``."""
    return "".join(c if mode & (1 << (8 - i)) else "-" for i, c in enumerate("rwxrwxrwx"))


def check_socket_permissions(path: str, spec: str | int | None) -> None:
    """Validate ``permissions`` for a socket at ``path`` (raises ConfigError).

    A Linux abstract name (``@name``) has no file, hence no mode: asking for one
    is an error that says how to restrict peers instead::

        >>> check_socket_permissions("/run/x.sock", "=600")
        >>> check_socket_permissions("@x", "=600")
        Traceback (most recent call last):
        ...
        rxunix.ConfigError: permissions: '@x' is an abstract socket name (no file, so no mode \
to set); restrict peers by uid instead (rxunix.edge.security.allow_uids)
    """
    if spec is not None and is_abstract(path):
        raise ConfigError(
            f"permissions: {path!r} is an abstract socket name (no file, so no mode to set); "
            "restrict peers by uid instead (rxunix.edge.security.allow_uids)"
        )
    check_permissions(spec)
