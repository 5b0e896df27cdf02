"""Pure decisions of the datagram connectors: credentials, replies' addresses, oversize.

No sockets here; the connectors (:mod:`rxunix.edge.dgram_server`,
:mod:`rxunix.edge.dgram_client`) feed these functions what the kernel
gave them.

Credentials arrive as ``SCM_CREDENTIALS`` ancillary data (the receiver sets
``SO_PASSCRED``): three native ints, pid, uid and gid::

    >>> import struct
    >>> parse_credentials([(SOL_SOCKET, SCM_CREDENTIALS, struct.pack("3i", 42, 1000, 100))])
    Credentials(pid=42, uid=1000, gid=100)
    >>> parse_credentials([]) is None
    True

A reply goes to the sender address(es) recorded in its metadata under
``meta["unix_datagram_server"]`` (``peer``: ``"/path"``, ``"@abstract"`` or
``None`` for an unbound sender, which cannot be answered)::

    >>> meta = {DGRAM_SERVER: [{"path": "/s", "peer": "@c1"}, {"path": "/s", "peer": None},
    ...                        {"path": "/other", "peer": "@c2"}, {"path": "/s", "peer": "@c1"}]}
    >>> reply_route(meta, "/s")
    DatagramRoute(targets=['@c1'], unbound=1, owners={'@c1': None})
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from .errors import FrameTooLarge
from .framing import EncoderFactory
from .origin import DGRAM_SERVER, origin_records

__all__ = [
    "DatagramEncoder",
    "SOL_SOCKET",
    "SCM_CREDENTIALS",
    "CREDENTIALS_SIZE",
    "Credentials",
    "parse_credentials",
    "DatagramTooLarge",
    "DatagramRoute",
    "reply_route",
]

#: Linux values of the socket constants (kept here so this module needs no ``socket``).
SOL_SOCKET = 1
SCM_CREDENTIALS = 2
_UCRED = struct.Struct("3i")
#: Bytes of one ``struct ucred``.
CREDENTIALS_SIZE = _UCRED.size


class DatagramTooLarge(FrameTooLarge):
    """A datagram did not fit the receive buffer (``buf_size``); it was dropped, not cut."""


class Credentials(NamedTuple):
    """The sender's process id, user id and group id, as the kernel vouches for them."""

    pid: int
    uid: int
    gid: int


def parse_credentials(ancdata: Iterable[tuple[int, int, bytes]]) -> Credentials | None:
    """The ``SCM_CREDENTIALS`` of a message's ancillary data; ``None`` if it has none.

    A datagram queued before the receiver turned ``SO_PASSCRED`` on carries no
    record of its sender: the kernel then reports pid 0 and the overflow uid/gid,
    which are not credentials (``None`` too)::

        >>> parse_credentials([(SOL_SOCKET, SCM_CREDENTIALS, struct.pack("3i", 0, 65534, 65534))]) is None
        True
    """
    for level, kind, data in ancdata:
        if level == SOL_SOCKET and kind == SCM_CREDENTIALS and len(data) >= CREDENTIALS_SIZE:
            creds = Credentials(*_UCRED.unpack_from(data))
            return creds if creds.pid > 0 else None
    return None


class DatagramRoute(NamedTuple):
    """``targets``: sender addresses to send the reply to (each once); ``unbound``: how many
    records name an unbound sender (no address to answer); ``owners``: the uid of the
    sender each target was recorded for (None if unknown)."""

    targets: list[str]
    unbound: int
    owners: dict[str, Any]


def reply_route(meta: Mapping[str, Any], path: str, key: str = DGRAM_SERVER) -> DatagramRoute:
    """Where a reply goes: the distinct ``peer`` addresses of the records of server ``path``.

    Records of another server (another ``path``) are not ours and are skipped;
    a record without a usable address counts as ``unbound``.
    """
    targets: list[str] = []
    owners: dict[str, Any] = {}
    unbound = 0
    for rec in origin_records(meta, key):
        rpath = rec.get("path")
        if rpath is not None and rpath != path:
            continue
        peer = rec.get("peer")
        if not isinstance(peer, str) or not peer:
            unbound += 1
            continue
        if peer not in owners:
            owners[peer] = rec.get("uid")
            targets.append(peer)
    return DatagramRoute(targets, unbound, owners)


class DatagramEncoder:
    """The datagrams of one event, for a datagram connector (sans-I/O).

    One datagram per event, the postprocessors' frames joined (``separate``,
    ``compress``, ``stream-compress``: a datagram is one frame to its receiver),
    empty if they give nothing; but one datagram per frame when a
    postprocessor's frames are messages of their own (``gelf-chunking``), from
    one encoder kept for the connector, so that each message has its own id. A
    chain that holds state across events (``collect``, ``stream-compress``) gets
    a fresh encoder per event, finished at once: a datagram never waits for the
    next event::

        >>> gelf = DatagramEncoder(EncoderFactory("string", [{"name": "gelf-chunking",
        ...                                                   "config": {"chunk_size": 14}}]))
        >>> first, second = gelf.datagrams("abc"), gelf.datagrams("abc")
        >>> len(first), first[0][2:10] != second[0][2:10]  # two chunks; another message id
        (2, True)
        >>> DatagramEncoder(EncoderFactory("json", ["separate"])).datagrams([1, 2])
        [b'[1,2]\\n']
    """

    __slots__ = ("_factory", "_kept", "splits")

    def __init__(self, factory: EncoderFactory) -> None:
        enc = factory()
        self._factory = factory
        #: True when an event may be several datagrams (``gelf-chunking``)
        self.splits: bool = enc.splits_datagrams
        self._kept = enc if enc.stateless or self.splits else None

    def datagrams(self, value: Any) -> list[bytes]:
        """Encode ``value``; raises :class:`~rxunix.core.errors.CodecError` or
        :class:`~rxunix.core.errors.FramingError`."""
        kept = self._kept
        if kept is None:
            enc = self._factory()
            return [enc.encode(value) + enc.finish()]
        if self.splits:
            return kept.encode_frames(value)
        return [kept.encode(value)]
