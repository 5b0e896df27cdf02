"""Flow control: links pause sources while a sink cannot take more; nothing dropped or reordered."""

from __future__ import annotations

from typing import Any

import pytest
from reactivex import operators as ops
from reactivex.subject import Subject
from rxunix.connectors.base import Connector
from rxunix.connectors.files import write_file
from rxunix.flow import Runner

import rxunix
from rxunix import Event
from rxunix.edge.flowctl import Link, PauseGate, Readiness, connect
from tests.helpers import wait_for

#: How long a paused source is watched to show that it stays paused. A fixed window is
#: inherent here: "reads nothing more" has no event to wait for; broken pausing reads at once.
PAUSED_WINDOW_S = 0.3


class Source(Connector):
    kind = "test_source"
    pausable = True

    def _start(self) -> None: ...
    def _stop(self, timeout: float | None) -> None: ...
    def _receive(self, event: Event) -> None: ...


class Sink(Connector):
    """A sink whose readiness the test sets."""

    kind = "test_sink"
    flow_controlled = True

    def __init__(self) -> None:
        super().__init__()
        self.got: list[Any] = []
        self.completed = 0

    def _start(self) -> None: ...
    def _stop(self, timeout: float | None) -> None: ...

    def _receive(self, event: Event) -> None:
        self.got.append(event.value)

    def _input_completed(self) -> None:
        self.completed += 1


def _push(src: Source, *values: int) -> None:
    for v in values:
        src._emit(Event(v))


def test_pause_holds_in_order_and_resumes() -> None:
    src, sink = Source(), Sink()
    link = connect(src, sink)
    assert isinstance(link, Link) and src.gate.open
    _push(src, 1, 2)
    sink._set_ready(False)
    assert not src.gate.open  # the source is told to stop reading
    _push(src, 3, 4, 5)  # what it had read already waits in the link
    assert sink.got == [1, 2] and link.held == 3
    sink._set_ready(True)
    wait_for(lambda: src.gate.open, 5, "the gate to reopen")
    _push(src, 6)
    assert sink.got == [1, 2, 3, 4, 5, 6] and link.held == 0
    assert src.gate.paused_s > 0


def test_not_ready_again_while_draining_keeps_the_rest() -> None:
    src, sink = Source(), Sink()
    link = connect(src.out, sink.in_)

    def receive(event: Event) -> None:
        sink.got.append(event.value)
        if event.value == 3:
            sink._set_ready(False)  # full again in the middle of the drain

    sink._receive = receive  # type: ignore[method-assign]
    sink._set_ready(False)
    _push(src, 1, 2, 3, 4, 5)
    sink._set_ready(True)
    wait_for(lambda: sink.got == [1, 2, 3], 5, "a partial drain")
    assert link.held == 2 and not src.gate.open
    sink._set_ready(True)
    wait_for(lambda: sink.got == [1, 2, 3, 4, 5] and src.gate.open, 5, "the rest")


def test_completion_waits_for_held_events() -> None:
    subject: Subject[Event] = Subject()
    src, sink = Source(), Sink()
    connect(subject, sink.in_.on_next.__self__, pause=src)
    sink._set_ready(False)
    subject.on_next(Event(1))
    subject.on_completed()
    assert sink.completed == 0
    sink._set_ready(True)
    wait_for(lambda: sink.completed == 1, 5, "completion after the held event")
    assert sink.got == [1]


def test_sink_ending_hands_over_held_events_and_releases_the_source() -> None:
    src, sink = Source(), Sink()
    link = connect(src, sink)
    sink._set_ready(False)
    _push(src, 1, 2)
    assert not src.gate.open
    sink.start()
    sink.stop()  # completes ready: the sink reports what it cannot take, nothing stays in the link
    assert sink.got == [1, 2] and link.held == 0
    assert src.gate.open  # a source paused for a sink that will never be ready again would never end
    _push(src, 3)
    assert sink.got == [1, 2, 3] and link.held == 0  # handed over at once (the sink counts it)
    link.dispose()


def test_dispose_flushes_and_releases() -> None:
    src, sink = Source(), Sink()
    link = connect(src, sink)
    sink._set_ready(False)
    _push(src, 7)
    link.dispose()
    assert sink.got == [7] and src.gate.open
    _push(src, 8)
    assert sink.got == [7]  # unwired


def test_readiness_goes_off_at_the_limit_and_on_again_at_half_of_it() -> None:
    """Hysteresis: a sink around its limit does not flap ready/not ready per event."""
    r = Readiness()
    seen: list[bool] = []
    r.subject.subscribe(seen.append)
    values = []
    for held in (99, 100, 99, 60, 51, 50, 99, 100):
        r.track(held, 100)
        values.append(r.value)
    assert values == [True, False, False, False, False, True, True, False]
    assert seen == [True, False, True, False]  # changes only (the first: the value on subscribe)


def test_gate_counts_holders() -> None:
    gate = PauseGate()
    a, b = object(), object()
    gate.hold(a)
    gate.hold(a)
    gate.hold(b)
    gate.release(a)
    assert not gate.open
    gate.release(b)
    assert gate.open


def test_always_ready_sinks_get_a_plain_subscription(short_tmp: str) -> None:
    src = Source()
    sink = write_file(f"{short_tmp}/x.jsonl")
    assert not isinstance(connect(src, sink), Link)


def test_connect_refuses_what_it_cannot_pause(sock_path: str) -> None:
    client = rxunix.unix_socket_client(path=sock_path)
    with pytest.raises(TypeError, match="pause="):
        connect(Subject(), client)
    with pytest.raises(TypeError, match="sink"):
        connect(Source(), print)
    for bad_source in ([1, 2], client.in_, client.in_.on_next):
        with pytest.raises(TypeError, match="source must be"):
            connect(bad_source, client)
    src = Source()
    mapped = src.out.pipe(ops.map(lambda e: e))
    for bad in (42, [src, "x"], client.in_):
        with pytest.raises(TypeError, match="pause must be"):
            connect(mapped, client, pause=bad)
    with pytest.raises(ValueError, match="pauses nothing"):
        connect(mapped, client, pause=[])


def test_pause_may_name_a_connector_or_its_out() -> None:
    src, sink = Source(), Sink()
    for pause in (src, src.out, [src.out], (src,)):  # an observable is not taken for a list (it never ends)
        link = connect(src.out.pipe(ops.map(lambda e: e)), sink, pause=pause)
        sink._set_ready(False)
        assert not src.gate.open
        sink._set_ready(True)
        link.dispose()


def test_flow_files_link_automatically(sock_path: str) -> None:
    made: dict[str, Any] = {}

    def flow(ctx: Any) -> None:
        srv = made["srv"] = ctx.server(config={"path": sock_path})
        cli = made["cli"] = ctx.client(config={"path": sock_path + ".out"})
        log = ctx.write_file(sock_path + ".log")
        srv.out.subscribe(cli.in_)
        srv.out.subscribe(cli.in_.on_next)
        srv.out.subscribe(log.in_)  # always ready: plain
        srv.out.subscribe(srv.in_)  # itself: plain

    runner = Runner(handle_signals=False)
    runner.deploy(flow)
    srv, cli = made["srv"], made["cli"]
    cli._set_ready(False)
    assert not srv.gate.open and len(srv.gate._holders) == 2  # two links, nothing else
    cli._set_ready(True)
    assert srv.gate.open
    assert [e.connector.name for e in runner.entries] == [
        "flow/unix_socket_server", "flow/unix_socket_client", "flow/write_file"]


def test_connect_one_line_relay_over_real_sockets(short_tmp: str) -> None:
    import gevent
    from gevent import socket

    listen, down = f"{short_tmp}/in.sock", f"{short_tmp}/down.sock"
    server = rxunix.unix_socket_server(path=listen, preprocessors=["separate"])
    client = rxunix.unix_socket_client(path=down, postprocessors=["separate"], queue_size=50,
                                       reconnect={"retry": {"interval_ms": 20, "growth_rate": 1}})
    link = rxunix.connect(server.out, client.in_)  # the documented one line
    errors: list[Event] = []
    server.err.subscribe(errors.append)
    client.err.subscribe(errors.append)
    server.start()
    client.start()
    total = 3000
    lines = [b'{"n":%d,"pad":"%s"}\n' % (n, b"p" * 300) for n in range(total)]

    def send() -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(listen)
            for line in lines:
                s.sendall(line)

    sender = gevent.spawn(send)
    try:
        wait_for(lambda: not server.gate.open, 10, "the server to pause")
        before = server.stats["bytes_read"]
        gevent.sleep(PAUSED_WINDOW_S)  # paused: the server reads nothing more, the sender is stuck in sendall
        assert server.stats["bytes_read"] == before and not sender.dead
        assert client.held == 50 and client.reported == 0
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(down)
        listener.listen(1)
        conn, _ = listener.accept()
        want = b"".join(lines)
        got = bytearray()
        conn.settimeout(20)
        while len(got) < len(want):
            got += conn.recv(1 << 16)
        assert bytes(got) == want  # every event, in order, once
        sender.join(10)
        assert sender.successful()
        conn.close()
        listener.close()
    finally:
        link.dispose()
        client.stop()
        server.stop()
    assert errors == [] and client.reported == 0 and client.written == total


def test_client_replies_pause_while_their_sink_is_not_ready(sock_path: str) -> None:
    import gevent
    from gevent import socket

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.listen(1)
    client = rxunix.unix_socket_client(path=sock_path, preprocessors=["separate"])
    sink = Sink()
    sink._set_ready(False)
    link = connect(client, sink)
    client.start()
    conn, _ = listener.accept()
    total = 20_000
    replies = b"".join(b'{"r":%d,"pad":"%s"}\n' % (n, b"q" * 100) for n in range(total))
    sender = gevent.spawn(conn.sendall, replies)
    try:
        wait_for(lambda: client.connected, 5, "the connection")
        gevent.sleep(PAUSED_WINDOW_S)  # paused from the start: the client reads nothing, the server's send blocks
        assert client.stats["bytes_read"] == 0 and not sender.dead and sink.got == []
        sink._set_ready(True)
        wait_for(lambda: len(sink.got) == total, 20, "every reply")
        assert [v["r"] for v in sink.got] == list(range(total))
        sender.join(10)
        assert sender.successful()
    finally:
        link.dispose()
        client.stop()
        conn.close()
        listener.close()
    assert client.gate.paused_s > PAUSED_WINDOW_S
