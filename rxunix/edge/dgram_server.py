"""``unix_datagram_server``: a unix datagram (``SOCK_DGRAM``) socket as Rx observables.

One datagram is one frame: it goes through the preprocessors on its own (a
``separate`` splits a datagram holding several lines; the tail of one
datagram never joins the next) and the codec; only a chain with
``gelf-chunking``, whose messages span datagrams, is kept per sender for all
of its datagrams (:data:`SPAN_SENDERS` senders at once; chunks of different
senders never meet). Events carry the frozen record
``meta["unix_datagram_server"] = {"path", "peer", "pid", "uid", "gid"}``:
``peer`` is the sender's bound address (``"/path"`` or ``"@abstract"``; ``None``
for an unbound sender), ``pid/uid/gid`` the sender's credentials as the kernel
vouches for them (``SO_PASSCRED``/``SCM_CREDENTIALS``). An event pushed into
``in_`` is a reply: it is encoded and sent, one datagram (or one per frame
its postprocessors make, e.g. ``gelf-chunking``'s chunks), to the sender
address(es) in its metadata; an unbound sender cannot be answered (one error,
action ``route``). A syslog receiver in the manner of ``/dev/log``::

    >>> import rxunix
    >>> log = rxunix.unix_datagram_server(path="/tmp/rx-doc-log", codec="syslog")
    >>> subscription = log.out.subscribe(lambda e: print(e.value["msg"]))
    >>> # log.start() ... log.stop()   (or: with log: ...)

Config keys (``config={...}``, or keyword shortcuts): ``path`` (required; a
filesystem path, or ``@name`` for the Linux abstract namespace),
``permissions`` (as the stream server; not with an abstract name or
systemd), ``buf_size`` (the largest datagram accepted, default 65536: a
bigger one is dropped and reported once, action ``read``, never cut),
``send_buffer_bytes`` (the socket's send buffer, ``SO_SNDBUF``: Linux charges
each reply to it until its receiver reads it, see :mod:`rxunix.edge.sockbuf`;
default: the kernel's), ``max_pending_bytes`` (bound of reply bytes waiting for slow receivers,
default 16 MiB; replies wait per receiver, so one that stops reading delays
only its own, and are dropped and reported once it has refused them for
:data:`REPLY_BLOCK_TIMEOUT` seconds), ``allow_uids`` (a list of uids: a datagram
from any other uid, as ``SCM_CREDENTIALS`` tells, is dropped before it is
decoded; counted in ``stats["refused"]`` and reported, action ``accept``,
with ``refused`` the count: a sender's first at once, then at most once per
:data:`REFUSAL_REPORT_INTERVAL` seconds per uid, whatever process or socket
it sends from, the rest at stop) and ``systemd``
(``True`` or a ``LISTEN_FDNAMES`` name: take the socket systemd passed instead
of binding; see :mod:`rxunix.edge.listen`).

``stop()`` refuses new datagrams, emits those already queued in the socket,
completes ``out`` (a window on it flushes its partial windows, whose replies are
still sent), sends pending replies (within the timeout; the rest is reported,
action ``write``), closes and unlinks the socket file if it is still ours (never
an abstract name or a systemd socket), then completes ``err``.

Error actions on ``err``: ``accept`` (a uid not in ``allow_uids``), ``read`` (socket error, oversize datagram),
``decode``, ``emit`` (a subscriber raised), ``encode``, ``route``, ``write``.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import gevent
import gevent.event
from gevent import socket as gsocket

from ..core.address import peer_name
from ..core.config import Option
from ..core.connector_options import ALLOW_UIDS, PATH, SEND_BUFFER, SERVER_OPTIONS, buf_size_option
from ..core.datagram import CREDENTIALS_SIZE, DatagramEncoder, DatagramTooLarge, parse_credentials
from ..core.dgram_replies import ReplyQueues
from ..core.event import Event, is_failure
from ..core.framing import Decoder, DecoderFactory, EncoderFactory
from ..core.options import parse_options
from ..core.origin import DGRAM_SERVER
from ..core.permissions import check_permissions
from ..core.refusals import Refusals
from .base import Connector
from .dgram_replying import DatagramReplies, PendingReply, UnroutableReply
from .listen import Listening, check_listen_config, close_listening, listen_socket
from .sockbuf import apply_send_buffer, check_send_buffer
from .turns import Turns

__all__ = ["UnixDatagramServer", "unix_datagram_server", "CONFIG_SCHEMA", "UnroutableReply"]

#: Default largest datagram accepted (bytes).
DEFAULT_BUF_SIZE = 65536
#: Senders whose GELF chunks are reassembled at once (each with its own ``max_length``).
SPAN_SENDERS = 64
#: Of those, senders of one uid (a uid's many sockets evict its own chains first).
SPAN_SENDERS_PER_UID = 16
#: Default bound of unsent reply bytes.
DEFAULT_MAX_PENDING = 16 * 1024 * 1024
#: Seconds a receiver may refuse its first waiting reply (its queue is full) before
#: every reply waiting for it is dropped and reported.
REPLY_BLOCK_TIMEOUT = 2.0
#: Seconds between two reports of one refused sender's datagrams (``allow_uids``).
REFUSAL_REPORT_INTERVAL = 1.0
_ANC_SIZE = gsocket.CMSG_SPACE(CREDENTIALS_SIZE)
_MSG_TRUNC: int = gsocket.MSG_TRUNC
_META_CACHE = 4096


def _perms(value: Any) -> Any:
    check_permissions(value)
    return value


def _positive(default: int) -> Option:
    return Option(int, default, check=lambda v: v > 0, expect="an int > 0")


CONFIG_SCHEMA: dict[str, Option] = {
    "path": PATH,
    "permissions": Option((str, int), None, convert=_perms),
    "buf_size": buf_size_option(DEFAULT_BUF_SIZE),
    "max_pending_bytes": _positive(DEFAULT_MAX_PENDING),
    "systemd": Option((bool, str), False),
    "send_buffer_bytes": SEND_BUFFER,
    "allow_uids": ALLOW_UIDS,
}


class UnixDatagramServer(DatagramReplies, Connector):
    """The ``unix_datagram_server`` connector; build it with :func:`unix_datagram_server`."""

    kind = DGRAM_SERVER
    pausable = True

    def __init__(self, config: Mapping[str, Any] | None = None, /, **options: Any) -> None:
        opts, cfg = parse_options(DGRAM_SERVER, config, options, SERVER_OPTIONS, CONFIG_SCHEMA)
        self._systemd = check_listen_config(cfg["path"], cfg["permissions"], cfg["systemd"])
        check_send_buffer(DGRAM_SERVER, cfg["send_buffer_bytes"])
        self._decoders = DecoderFactory(opts["preprocessors"] or [], opts["codec"])
        self._datagrams = DatagramEncoder(EncoderFactory(opts["codec"], opts["postprocessors"] or [])).datagrams
        super().__init__(runtime=opts["runtime"], metrics_interval_s=opts["metrics_interval_s"])
        #: The validated configuration (read-only).
        self.config: Mapping[str, Any] = MappingProxyType(cfg)
        self.path: str = cfg["path"]
        self._buf_size: int = cfg["buf_size"]
        self._max_pending: int = cfg["max_pending_bytes"]
        self._allow_uids: frozenset[int] | None = cfg["allow_uids"]
        self._refusals = Refusals(REFUSAL_REPORT_INTERVAL)
        self._refusal_timer: gevent.Greenlet | None = None
        # one decoder per datagram (a datagram's tail never joins the next), unless a
        # preprocessor joins messages from several datagrams (GELF chunks): then one per
        # sender, for its datagrams only (the most recent SPAN_SENDERS senders)
        self._shared_decoder: Decoder | None = None if opts["preprocessors"] else self._decoders()
        self._spans: OrderedDict[tuple[Any, bytes], tuple[Decoder, Any, Mapping[str, Any]]] | None = (
            OrderedDict() if self._decoders.spans_frames else None)
        self._listening: Listening | None = None
        self._raw: Any = None
        self._reader: gevent.Greenlet | None = None
        self._writer: gevent.Greenlet | None = None
        self._waiting = False  # the reader is blocked in recvmsg (safe to kill)
        self._stopping = False
        self._replies = ReplyQueues(self._max_pending, REPLY_BLOCK_TIMEOUT)
        self._given_up: deque[tuple[str, str, PendingReply]] = deque()  # dropped replies not yet reported
        self._wake = gevent.event.Event()
        self._metas: dict[tuple[Any, ...], Mapping[str, Any]] = {}
        self._own_meta: Mapping[str, Any] = MappingProxyType({DGRAM_SERVER: MappingProxyType({"path": self.path})})

    # ---- lifecycle (hub thread) -------------------------------------------
    def _start(self) -> None:
        ls = listen_socket(self.path, gsocket.SOCK_DGRAM, self.config["permissions"], systemd=self._systemd,
                           passcred=True)
        size = self.config["send_buffer_bytes"]
        if size is not None and (problem := apply_send_buffer(ls.sock, size)):
            self._error(problem, "read", self.path, self._own_meta, send_buffer_bytes=size)
        self._listening = ls
        self._raw = getattr(ls.sock, "_sock", ls.sock)
        self._stopping = False
        self._reader = self._spawn(self._read_loop, ls.sock)
        self._writer = self._spawn(self._write_loop)

    def _stop(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        self._stopping = True
        ls = self._listening
        if ls is None:
            return
        try:  # no new datagrams (senders get EPIPE); what is queued stays readable
            self._raw.shutdown(gsocket.SHUT_RD)
        except OSError:
            pass
        reader = self._reader
        if reader is not None:
            if self._waiting:
                reader.kill(block=True, timeout=1.0)
            else:
                reader.join(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
                reader.kill(block=True, timeout=1.0)
        self._drain_queued()
        if self._refusal_timer is not None:
            self._refusal_timer.kill(block=False)
        for report in self._refusals.drain():
            self._report_refused(*report)
        for decoder, peer, meta in (self._spans or {}).values():  # what senders' decoders still hold
            self._emit_items(decoder.finish(), peer, meta)
        self._complete_out()  # nothing more is read: windows flush while replies can still be sent
        self._wake.set()
        writer = self._writer
        if writer is not None:
            writer.join(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
            writer.kill(block=True, timeout=1.0)
        self._report_given_up()  # what a killed writer had not reported yet
        for addr, _, reply in self._replies.clear():
            self._drop_reply(reply, addr, UnroutableReply(f"stop: reply to {addr} not sent in time"))
        self._listening = None
        close_listening(self.path, ls)

    # ---- receiving --------------------------------------------------------
    def _read_loop(self, sock: Any) -> None:
        recvmsg = sock.recvmsg
        size = self._buf_size
        turns = Turns()
        gate = self.gate
        backoff = 0.0
        while not self._stopping:
            self._waiting = True
            try:
                if not gate.open:  # paused by a flow-control link: senders wait (or get EAGAIN)
                    gate.wait()
                    continue
                data, anc, flags, addr = recvmsg(size, _ANC_SIZE)
            except OSError as exc:
                if self._stopping:
                    return
                self._error(exc, "read", self.path, self._own_meta)
                backoff = min(max(backoff * 2, 0.01), 1.0)
                gevent.sleep(backoff)
                continue
            finally:
                self._waiting = False
            backoff = 0.0
            if not data and not anc and self._stopping:
                return  # shut down: nothing more queued
            self._datagram(data, anc, flags, addr)
            turns.took_turn()  # a flooding sender must not starve the hub

    def _drain_queued(self) -> None:
        """At stop: take the datagrams still queued in the socket, without waiting."""
        raw = self._raw
        while True:
            try:
                data, anc, flags, addr = raw.recvmsg(self._buf_size, _ANC_SIZE, gsocket.MSG_DONTWAIT)
            except OSError:
                return
            if not data and not anc:
                return
            self._datagram(data, anc, flags, addr)

    def _meta(self, addr: Any, anc: list[tuple[int, int, bytes]]) -> Mapping[str, Any]:
        creds = anc[0][2] if anc else b""
        key = (addr, creds)
        meta = self._metas.get(key)
        if meta is None:
            c = parse_credentials(anc)
            record = {"path": self.path, "peer": peer_name(addr),
                      "pid": c.pid if c else None, "uid": c.uid if c else None, "gid": c.gid if c else None}
            meta = MappingProxyType({DGRAM_SERVER: MappingProxyType(record)})
            if len(self._metas) >= _META_CACHE:
                self._metas.clear()
            self._metas[key] = meta
        return meta

    def _datagram(self, data: bytes, anc: list[tuple[int, int, bytes]], flags: int, addr: Any) -> None:
        meta = self._meta(addr, anc)
        record = meta[DGRAM_SERVER]
        peer = record["peer"]
        self.stats["datagrams"] += 1
        if self._allow_uids is not None and record["uid"] not in self._allow_uids:  # fails closed (uid None too)
            self._refuse(record)
            return
        if flags & _MSG_TRUNC:
            self._error(
                DatagramTooLarge(f"datagram larger than buf_size ({self._buf_size} bytes): dropped"),
                "read", peer, meta, buf_size=self._buf_size,
            )
            return
        decoder = self._shared_decoder
        if decoder is not None:
            items = decoder.feed(data)
        elif self._spans is not None:
            items = self._sender_decoder(addr, anc, peer, meta).feed(data)
        else:
            decoder = self._decoders()
            items = decoder.feed(data)
            items.extend(decoder.finish())
        self._emit_items(items, peer, meta)

    def _refuse(self, record: Mapping[str, Any]) -> None:
        """Drop a datagram from a uid not in ``allow_uids``: counted; reported at once for a
        new uid, then at most once a second per uid, however many processes and sockets it
        sends from (a timer reports what a burst left)."""
        self.stats["refused"] += 1
        refusals = self._refusals
        for report in refusals.refuse(record["uid"], time.monotonic(), (record["peer"], record["pid"], record["gid"])):
            self._report_refused(*report)
        if refusals.pending and self._refusal_timer is None:
            self._refusal_timer = self._spawn(self._report_refusals_later)

    def _report_refusals_later(self) -> None:
        refusals = self._refusals
        try:
            while refusals.pending:
                gevent.sleep(refusals.interval / 2)
                for report in refusals.due(time.monotonic()):
                    self._report_refused(*report)
        finally:
            self._refusal_timer = None

    def _report_refused(self, uid: Any, count: int, latest: Any) -> None:
        peer, pid, gid = latest  # (of its latest refused datagram)
        self._error(f"{count} datagram(s) refused: sender uid {uid} (pid {pid}) is not in allow_uids", "accept",
                    peer, self._own_meta, uid=uid, pid=pid, gid=gid, refused=count)

    def _sender_decoder(self, addr: Any, anc: list[tuple[int, int, bytes]], peer: Any,
                        meta: Mapping[str, Any]) -> Decoder:
        """The decoder of one sender (its address and credentials), for a chain whose
        messages span datagrams; the least recent of more than SPAN_SENDERS goes, its
        incomplete messages reported."""
        spans = self._spans
        assert spans is not None
        key = (addr, anc[0][2] if anc else b"")
        entry = spans.get(key)
        if entry is not None:
            spans.move_to_end(key)
            return entry[0]
        decoder = self._decoders()
        uid = meta[DGRAM_SERVER]["uid"]
        mine = [k for k, (_, _, m) in spans.items() if m[DGRAM_SERVER]["uid"] == uid]
        if len(mine) >= SPAN_SENDERS_PER_UID:  # one uid's many sockets evict its own chains, no one else's
            self._end_span(mine[0])
        elif len(spans) >= SPAN_SENDERS:
            self._end_span(next(iter(spans)))
        spans[key] = (decoder, peer, meta)
        return decoder

    def _end_span(self, key: tuple[Any, bytes]) -> None:
        """Forget one sender's chain; its incomplete messages are reported."""
        assert self._spans is not None
        old, old_peer, old_meta = self._spans.pop(key)
        self._emit_items(old.finish(), old_peer, old_meta)

    def _emit_items(self, items: list[Any], peer: Any, meta: Mapping[str, Any]) -> None:
        for item in items:
            if is_failure(item):
                self._error(item, "decode", peer, meta)
                continue
            try:
                self._emit(Event(item, meta))
            except Exception as exc:  # a subscriber failed: report, keep receiving
                self._error(exc, "emit", peer, meta)


def unix_datagram_server(config: Mapping[str, Any] | None = None, /, **options: Any) -> UnixDatagramServer:
    """Create a :class:`UnixDatagramServer` (not started).

    Accepts the same shapes as :func:`rxunix.unix_socket_server`: ``config={...}``
    plus ``codec``, ``preprocessors``, ``postprocessors``, ``runtime``; Tremor's
    whole connector dict; keyword shortcuts for the config keys. Bad keys or
    values raise :class:`~rxunix.core.errors.ConfigError` naming the key::

        >>> unix_datagram_server(path="@rx-doc", permissions="=600")
        Traceback (most recent call last):
        ...
        rxunix.ConfigError: permissions: '@rx-doc' is an abstract socket name (no file, so no \
mode to set); restrict peers by uid instead (rxunix.edge.security.allow_uids)
    """
    return UnixDatagramServer(config, **options)
