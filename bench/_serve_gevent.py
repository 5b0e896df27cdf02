"""The gevent servers of ``_serve.py``: a hand-written gevent loop and rxunix (see there)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
import gevent.server
from _common import json_funcs, lines_of, now, rxunix_codec
from gevent import socket
from gevent.fileobject import FileObjectPosix

WINDOW, STEP = 100, 10


class _Counting:
    """What every ingest server shares: the event count and when the target was reached."""

    def __init__(self, target: int) -> None:
        self.count = 0
        self.target = target
        self.t_last: float | None = None
        self.errors = 0
        self.done = gevent.event.Event()

    def wait(self, timeout: float) -> bool:
        return bool(self.done.wait(timeout))


class HandServer(_Counting):
    """gevent StreamServer: ``recv(buf)``, split, decode (+ encode and one ``sendall`` per read).
    ``chain`` ``"sliding"``: the ``sliding`` row's windows, replied whole (see :meth:`_sliding`)."""

    def __init__(self, mode: str, path: str, target: int, lib: str, buf: int, chain: str = "echo",
                 send_buffer: int | None = None) -> None:
        super().__init__(target)
        self.decode_all, self.encode_all = json_funcs(lib)
        self.buf = buf
        self.send_buffer = send_buffer
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(1024)
        if mode == "echo" and chain not in ("echo", "sliding"):  # (_serve.LOOP_CHAINS)
            raise ValueError(f"no hand-written loop for chain {chain!r}")
        handle = self._ingest if mode != "echo" else self._sliding if chain == "sliding" else self._echo
        self.server = gevent.server.StreamServer(listener, self._sized(handle))

    def _sized(self, handle: Callable[[socket.socket, Any], None]) -> Callable[[socket.socket, Any], None]:
        """``handle`` on a connection whose send buffer is ``send_buffer`` bytes (if given)."""
        if self.send_buffer is None:
            return handle

        def sized(sock: socket.socket, addr: Any) -> None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer)
            handle(sock, addr)

        return sized

    def _ingest(self, sock: socket.socket, _addr: Any) -> None:
        decode_all, size, recv = self.decode_all, self.buf, sock.recv
        carry = bytearray()
        while True:
            data = recv(size)
            if not data:
                break
            parts = lines_of(data, carry)
            if parts:
                decode_all(parts)
                self.count += len(parts)
                if self.count >= self.target and self.t_last is None:
                    self.t_last = now()
                    self.done.set()
        sock.close()

    def _echo(self, sock: socket.socket, _addr: Any) -> None:
        decode_all, encode_all, size = self.decode_all, self.encode_all, self.buf
        recv, sendall = sock.recv, sock.sendall
        carry = bytearray()
        while True:
            data = recv(size)
            if not data:
                break
            parts = lines_of(data, carry)
            if parts:
                sendall(encode_all(decode_all(parts)))
        sock.close()

    def _sliding(self, sock: socket.socket, _addr: Any) -> None:
        """The ``sliding`` row by hand: windows of ``WINDOW`` values every ``STEP`` values of
        the connection, each replied whole, one ``sendall`` per read. As cheap as a loop gets
        them: each block of ``STEP`` values is encoded once (one list, its brackets cut off)
        and a window is its ``WINDOW // STEP`` blocks joined (``STEP`` divides ``WINDOW``)."""
        decode_all, encode_all, size = self.decode_all, self.encode_all, self.buf
        recv, sendall, per = sock.recv, sock.sendall, WINDOW // STEP
        carry = bytearray()
        pending: list[Any] = []  # the values of the block being filled
        blocks: list[bytes] = []  # the encoded blocks of the next window
        while True:
            data = recv(size)
            if not data:
                break
            parts = lines_of(data, carry)
            if not parts:
                continue
            pending += decode_all(parts)
            out, i = [], 0
            while len(pending) - i >= STEP:
                blocks.append(encode_all([pending[i:i + STEP]])[1:-2])  # b"[v,..,v]\n" -> b"v,..,v"
                i += STEP
                if len(blocks) == per:
                    out += (b"[", b",".join(blocks), b"]\n")
                    del blocks[0]
            del pending[:i]
            if out:
                sendall(b"".join(out))
        sock.close()

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()


def _chain(name: str, gap: float) -> Callable[[Any], Any]:
    """The operator(s) between ``server.out`` and ``server.in_`` of a window-bench row."""
    import rxunix.operators as rops
    from reactivex import operators as ops

    if name == "echo":
        return lambda src: src
    if name == "map":
        return lambda src: src.pipe(ops.map(lambda ev: ev))
    if name == "map_values":
        return lambda src: src.pipe(rops.map_values(lambda v: v))
    if name == "tumbling":
        return lambda src: src.pipe(rops.tumbling_count(WINDOW, key=rops.connection_key))
    if name == "sliding":
        return lambda src: src.pipe(rops.sliding_count(WINDOW, STEP, key=rops.connection_key))
    if name == "sliding_mean":  # the same windows, one small value each (a field's mean and the last msg)
        return lambda src: src.pipe(rops.sliding_count(WINDOW, STEP, key=rops.connection_key, reduce=_mean_id))
    if name == "session":
        return lambda src: src.pipe(rops.session_window(gap, key=rops.connection_key))
    raise ValueError(f"unknown chain {name!r}")


def _mean_id(values: list[Any]) -> dict[str, Any]:
    """The ``sliding_mean`` row's reducer: the mean ``id`` and the last value's ``msg``
    (which carries the end marker of a client's last window)."""
    return {"mean_id": sum(v["id"] for v in values) / len(values), "last": values[-1]["msg"]}


class RxServer(_Counting):
    """rxunix ``unix_socket_server`` (``separate`` + ``json`` with the row's backend and buf_size)."""

    def __init__(self, mode: str, path: str, target: int, lib: str, buf: int, chain: str, gap: float,
                 send_buffer: int | None = None) -> None:
        import rxunix

        super().__init__(target)
        config = {"path": path, "buf_size": buf, "max_pending_bytes": 1 << 30, "pause_reading_bytes": 1}
        if send_buffer is not None:
            config["send_buffer_bytes"] = send_buffer
        self.server = rxunix.unix_socket_server(
            # no eviction (a session window's one aggregate can exceed the default bound); a read's
            # replies are all written before the next read (reading pauses while any byte is
            # unsent, resumes at none), as the hand loops' sendall does
            config=config,
            codec=rxunix_codec(lib),
            preprocessors=["separate"], postprocessors=["separate"],
        )
        self.first_errors: list[Any] = []
        self.stopping = False
        self.server.err.subscribe(self._on_error)
        if mode == "echo":
            _chain(chain, gap)(self.server.out).subscribe(self.server.in_)
        else:
            self.server.out.subscribe(self._count)

    def _on_error(self, ev: Any) -> None:
        if self.stopping:  # e.g. partial sliding windows flushed at stop, for clients that left
            return
        self.errors += 1
        if len(self.first_errors) < 3:
            self.first_errors.append(ev)
            print(f"rxunix error: {ev!r}", file=sys.stderr, flush=True)

    def _count(self, _ev: Any) -> None:
        self.count += 1
        if self.count == self.target:
            self.t_last = now()
            self.done.set()

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.stopping = True  # the run was measured: what the windows flush now goes nowhere
        self.server.stop()


def main(args: argparse.Namespace, control: Any, reply: Callable[[dict[str, Any]], None]) -> None:
    """Serve commands from stdin until it closes."""

    def make(mode: str, path: str, target: int) -> Any:
        if args.impl == "hand":
            return HandServer(mode, path, target, args.json, args.buf, args.chain, args.send_buffer)
        return RxServer(mode, path, target, args.json, args.buf, args.chain, args.gap, args.send_buffer)

    if args.impl == "rxunix":  # import everything now, in parallel with the other rows' processes
        import rxunix

        _ = rxunix.unix_socket_server
        _chain(args.chain, args.gap)
    ctl = control(make)
    stdin = FileObjectPosix(sys.stdin.fileno(), "rb", close=False)
    reply({"ready": True})
    for line in stdin:
        cmd = json.loads(line)
        try:
            res = ctl.simple(cmd)
            if res is None:  # result
                waited = ctl.mode != "ingest" or ctl.inst.wait(cmd.get("timeout", 120))
                res = ctl.finish_result(waited)
        except Exception as exc:  # reported to the orchestrator, which fails the row loudly
            res = {"error": f"{type(exc).__name__}: {exc}"}
        reply(res)
