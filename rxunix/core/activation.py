"""systemd socket activation: which inherited file descriptors are listening sockets (pure).

systemd (or ``systemd-socket-activate``, or any launcher doing the same) binds
the sockets of a ``.socket`` unit itself and starts the service with them as
file descriptors 3, 4, ... and three environment variables: ``LISTEN_FDS``
(how many), ``LISTEN_PID`` (the pid they are meant for: ours, or they are not
for us) and optionally ``LISTEN_FDNAMES`` (colon separated names, from
``FileDescriptorName=``; ``"unknown"`` when not given). This module only reads
those variables; it opens nothing::

    >>> env = {"LISTEN_FDS": "2", "LISTEN_PID": "42", "LISTEN_FDNAMES": "log:api"}
    >>> listen_fds(env, pid=42)
    [Inherited(fd=3, name='log'), Inherited(fd=4, name='api')]
    >>> select_fd(listen_fds(env, pid=42), "api")
    Inherited(fd=4, name='api')
    >>> listen_fds(env, pid=7)
    []

A server's ``systemd`` option picks one of them: ``True`` takes the only one
(several: name one), a string takes the one of that name (see
:func:`select_fd`). Errors are :class:`ActivationError`, a
:class:`~rxunix.core.errors.ConfigError`, saying what was inherited.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from .errors import ConfigError

__all__ = ["SD_LISTEN_FDS_START", "Inherited", "ActivationError", "listen_fds", "select_fd", "check_option"]

#: The first inherited file descriptor (after stdin, stdout, stderr).
SD_LISTEN_FDS_START = 3


class ActivationError(ConfigError):
    """The ``systemd`` option cannot be satisfied from the inherited sockets."""


class Inherited(NamedTuple):
    """One inherited socket: its file descriptor and its name."""

    fd: int
    name: str


def _int(env: Mapping[str, str], key: str) -> int | None:
    text = env.get(key)
    if text is None or not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        raise ActivationError(f"systemd: {key}={text!r} is not a number") from None


def listen_fds(env: Mapping[str, str] | None = None, pid: int | None = None) -> list[Inherited]:
    """The sockets passed to process ``pid`` (default: this one) per ``env`` (default: ``os.environ``).

    ``[]`` when ``LISTEN_FDS`` is unset, or ``LISTEN_PID`` is unset or names another
    process (the variables were inherited and are not for us), as systemd's
    ``sd_listen_fds`` decides. Names
    missing from ``LISTEN_FDNAMES`` are ``"unknown"``, as systemd defines.
    Raises :class:`ActivationError` for values that are not numbers.
    """
    env = os.environ if env is None else env
    pid = os.getpid() if pid is None else pid
    count = _int(env, "LISTEN_FDS")
    owner = _int(env, "LISTEN_PID")
    if count is None or count <= 0:
        return []
    if owner != pid:
        return []
    names = env.get("LISTEN_FDNAMES", "").split(":") if env.get("LISTEN_FDNAMES") else []
    names += ["unknown"] * (count - len(names))
    return [Inherited(SD_LISTEN_FDS_START + i, names[i] or "unknown") for i in range(count)]


def select_fd(inherited: Sequence[Inherited], want: bool | str) -> Inherited:
    """The inherited socket the ``systemd`` option ``want`` names.

    ``True``: the only one; a name: the one with that ``LISTEN_FDNAMES`` entry
    (exactly one must match). Raises :class:`ActivationError` otherwise::

        >>> select_fd([], True)
        Traceback (most recent call last):
        ...
        rxunix.core.activation.ActivationError: systemd: no socket was passed to this process \
(LISTEN_FDS/LISTEN_PID unset or for another process); start it from a .socket unit
    """
    if not inherited:
        raise ActivationError(
            "systemd: no socket was passed to this process (LISTEN_FDS/LISTEN_PID unset or for "
            "another process); start it from a .socket unit"
        )
    listing = ", ".join(f"fd {s.fd} {s.name!r}" for s in inherited)
    if want is True:
        if len(inherited) > 1:
            raise ActivationError(
                f"systemd: {len(inherited)} sockets were passed ({listing}); name the one to use "
                "(systemd: 'NAME', matched against LISTEN_FDNAMES)"
            )
        return inherited[0]
    matches = [s for s in inherited if s.name == want]
    if len(matches) != 1:
        how = "none" if not matches else f"{len(matches)}"
        raise ActivationError(f"systemd: {how} of the passed sockets is named {want!r} (passed: {listing})")
    return matches[0]


def check_option(value: object, permissions: object, path: str) -> bool | str:
    """Validate a server's ``systemd`` option (``False``, ``True`` or a name) against its config.

    With socket activation systemd owns the socket: ``permissions`` is a
    configuration error (use ``SocketMode=`` in the ``.socket`` unit)::

        >>> check_option("log", None, "/run/x.sock")
        'log'
        >>> check_option(True, "=600", "/run/x.sock")
        Traceback (most recent call last):
        ...
        rxunix.core.activation.ActivationError: systemd: 'permissions' does not apply to a socket passed by \
systemd (it binds /run/x.sock); set SocketMode= in the .socket unit
    """
    if value is None or value is False:
        return False
    if value is not True and not (isinstance(value, str) and value and ":" not in value):
        raise ActivationError(
            f"systemd: must be true/false or a socket name from LISTEN_FDNAMES, got {value!r}"
        )
    if permissions is not None:
        raise ActivationError(
            f"systemd: 'permissions' does not apply to a socket passed by systemd (it binds {path}); "
            "set SocketMode= in the .socket unit"
        )
    return value
