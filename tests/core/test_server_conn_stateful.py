"""ServerConn without sockets: random interleavings of reads, replies, partial writes,
failures, EOF, drain and close, with the invariants checked after every step."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from rxunix.core.errors import CodecError
from rxunix.core.framing import DecoderFactory, EncoderFactory
from rxunix.core.server_conn import SEND_BYTES, TRANSITIONS, ConnState, Evicted, IllegalTransition, ServerConn

META = {"unix_socket_server": {"path": "/s", "peer": 1}}


def make(max_pending: int = 64) -> ServerConn:
    return ServerConn(DecoderFactory(["separate"], "json")(), EncoderFactory("json", ["separate"])(),
                      meta=META, max_pending=max_pending)


class ServerConnMachine(RuleBasedStateMachine):
    @initialize(max_pending=st.integers(8, 200))
    def setup(self, max_pending: int) -> None:
        self.conn = make(max_pending)
        self.stream = b""  # every byte the peer sent
        self.fed = 0
        self.received: list[object] = []  # values the core produced
        self.accepted = b""  # reply bytes the core accepted, in order
        self.wire = b""  # reply bytes the kernel took, in order
        self.handed: memoryview | None = None
        self.states = [self.conn.state]
        self.evicted = False
        self.eof = False
        self.failures = 0  # decode failures (a cut number flushed at EOF)

    # ---- the peer -----------------------------------------------------------
    @rule(values=st.lists(st.integers(-1000, 1000), max_size=5))
    def peer_sends(self, values: list[int]) -> None:
        self.stream += b"".join(b"%d\n" % v for v in values)

    @precondition(lambda self: not self.eof)
    @rule(n=st.integers(1, 40))
    def read(self, n: int) -> None:
        chunk = self.stream[self.fed:self.fed + n]
        if not chunk or not self.conn.reading:
            return
        self.fed += len(chunk)
        batch = self.conn.receive(chunk)
        assert batch.failures == []
        assert all(e.meta is batch.meta for e in batch)
        self.received += [e.value for e in batch]

    @precondition(lambda self: not self.eof)
    @rule()
    def eof_arrives(self) -> None:
        self.eof = True
        rest = self.stream[self.fed:]
        if self.conn.reading and rest:
            self.fed = len(self.stream)
            self.received += [e.value for e in self.conn.receive(rest)]
        tail = self.conn.receive_eof()
        self.received += [e.value for e in tail]
        self.failures += len(tail.failures)

    # ---- replies and writes ----------------------------------------------------
    @rule(value=st.integers(-10**6, 10**6))
    def reply(self, value: int) -> None:
        was_open = self.conn.open
        result = self.conn.queue_reply(value)
        if isinstance(result, Evicted):  # the reply that crossed the bound is queued, then dropped
            assert was_open and result.pending > result.max_pending
            self.evicted = True
        if was_open:
            self.accepted += b"%d\n" % value

    @rule(values=st.lists(st.one_of(st.integers(-99, 99), st.just(float("nan"))), max_size=6))
    def reply_batch(self, values: list[object]) -> None:
        was_open = self.conn.open
        good = b"".join(b"%d\n" % v for v in values if v == v)  # type: ignore[str-bytes-safe]
        result = self.conn.queue_replies(values)
        if isinstance(result, Evicted):
            self.evicted = True
            self.accepted += good
            return
        bad = {i for i, _ in result}
        assert bad == {i for i, v in enumerate(values) if v != v}
        assert all(isinstance(e, CodecError) for _, e in result)
        if was_open:
            self.accepted += good

    @rule(fraction=st.floats(0, 1))
    def kernel_takes(self, fraction: float) -> None:
        view = self.conn.data_to_send()
        if view is None:
            assert self.conn.pending == 0
            return
        n = int(len(view) * fraction)
        self.wire += bytes(view[:n])
        self.conn.sent(n)

    @rule()
    def write_fails(self) -> None:
        pending, reading = self.conn.pending, self.conn.reading
        assert self.conn.send_failed() == pending
        assert self.conn.pending == 0 and self.conn.data_to_send() is None
        assert self.conn.reading == reading  # what the peer sent is still read until EOF
        assert self.conn.open == reading

    @rule()
    def drain(self) -> None:
        self.conn.drain()

    @rule()
    def close(self) -> None:
        self.conn.close()

    @rule()
    def sent_too_much_is_refused(self) -> None:
        view = self.conn.data_to_send()
        with pytest.raises(ValueError):
            self.conn.sent((0 if view is None else len(view)) + 1)

    # ---- invariants ---------------------------------------------------------
    @invariant()
    def accounting_is_exact(self) -> None:
        c = self.conn
        assert c.queued == c.written + c.dropped + c.pending
        assert c.queued == len(self.accepted)

    @invariant()
    def wire_is_an_ordered_prefix_of_the_replies(self) -> None:
        assert self.accepted.startswith(self.wire)
        assert self.conn.written == len(self.wire)

    @invariant()
    def memory_is_bounded(self) -> None:
        if self.conn.open:
            assert self.conn.pending <= self.conn.max_pending
        else:
            assert self.conn.pending == 0

    @invariant()
    def nothing_read_is_lost_or_twice(self) -> None:
        fed = self.stream[:self.fed]
        lines = fed.split(b"\n")
        complete = [int(x) for x in lines[:-1] if x]
        tail = lines[-1]
        if self.eof and tail:  # flushed at EOF: a value if it parses, else one failure
            if tail.lstrip(b"-").isdigit():
                complete.append(int(tail))
            else:
                assert self.failures == 1
        assert self.received == complete

    @invariant()
    def transitions_are_legal(self) -> None:
        if self.conn.state is not self.states[-1]:
            assert self.conn.state in TRANSITIONS[self.states[-1]]
            self.states.append(self.conn.state)

    @invariant()
    def drained_connections_close_once_written(self) -> None:
        if self.conn.state is ConnState.DRAINING:
            assert self.conn.pending > 0


ServerConnMachine.TestCase.settings = settings(
    max_examples=120, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestServerConn = ServerConnMachine.TestCase


def test_illegal_transitions_raise() -> None:
    conn = make()
    conn.close()
    with pytest.raises(IllegalTransition):
        conn._move(ConnState.OPEN)


def test_eviction_drops_everything_pending_and_says_how_much() -> None:
    conn = make(max_pending=10)
    assert conn.queue_reply(12345) is None  # 6 bytes
    result = conn.queue_reply(67890)
    assert result == Evicted(12, 10)
    assert (conn.state, conn.dropped, conn.pending) == (ConnState.CLOSED, 12, 0)
    assert conn.queue_reply(1) is None and conn.queued == 12  # closed: nothing accepted


def test_exactly_max_pending_bytes_is_still_open() -> None:
    """``pending <= max_pending`` holds for an open connection: a reply that fills it
    to the byte is queued, one byte more evicts."""
    conn = make(max_pending=12)
    assert conn.queue_reply(12345) is None and conn.queue_reply(67890) is None  # 6 + 6 bytes
    assert (conn.state, conn.pending) == (ConnState.OPEN, 12)
    assert conn.queue_reply(1) == Evicted(14, 12)


def test_half_closed_peer_still_gets_its_replies() -> None:
    conn = make()
    assert [e.value for e in conn.receive(b"1\n2")] == [1]
    assert [e.value for e in conn.receive_eof()] == [2]
    assert conn.state is ConnState.HALF_CLOSED and not conn.reading
    conn.queue_replies([1, 2])
    view = conn.data_to_send()
    assert view is not None and bytes(view) == b"1\n2\n"
    conn.drain()
    assert conn.state is ConnState.DRAINING
    conn.sent(4)
    assert conn.state is ConnState.CLOSED and conn.dropped == 0


def test_decode_failures_stand_apart_from_events() -> None:
    conn = make()
    batch = conn.receive(b'1\n{"bad\n3\n')
    assert [e.value for e in batch] == [1, 3]
    assert [(i, type(f).__name__) for i, f in batch.failures] == [(1, "CodecError")]


def _base(view: bytes | memoryview) -> object:
    """The object whose bytes ``view`` shows (itself for ``bytes``)."""
    return view.obj if isinstance(view, memoryview) else view


def test_a_reply_queued_while_nothing_is_pending_is_written_as_it_is() -> None:
    """The common case (every reply of a read written before the next read): the encoded
    bytes are the next write themselves, no copy or view; a partial write leaves a view of
    the rest, and replies queued behind it follow in order."""
    conn = make()
    conn.queue_replies([1, 22])
    view = conn.data_to_send()
    assert view.__class__ is bytes and view == b"1\n22\n" and conn.data_to_send() is view
    conn.sent(3)
    rest = conn.data_to_send()
    assert isinstance(rest, memoryview) and rest.obj is view and bytes(rest) == b"2\n"
    conn.queue_replies([3])
    assert bytes(conn.data_to_send()) == b"2\n3\n"  # type: ignore[arg-type]
    conn.sent(4)
    assert conn.data_to_send() is None and conn.written == conn.queued == 7 and conn.pending == 0


def test_a_reader_that_falls_behind_costs_linear_time() -> None:
    """The unsent rest of a write is never copied again behind new replies: every write
    is at most SEND_BYTES, or one reply larger than that handed out alone; nothing is lost
    or reordered."""
    conn = make(max_pending=1 << 30)
    big = "x" * (3 * SEND_BYTES)
    accepted = b""
    for i in range(40):  # a large reply among many small ones, while the kernel takes little
        values: list[object] = [big] if i == 5 else [i] * 500
        assert conn.queue_replies(values) == []
        accepted += b"".join(b'"%s"\n' % v.encode() if isinstance(v, str) else b"%d\n" % v for v in values)
    wire, largest = b"", 0
    while (view := conn.data_to_send()) is not None:
        largest = max(largest, len(view))
        assert len(view) <= SEND_BYTES or len(_base(view)) == len(big) + 3
        n = min(len(view), 70_000)
        wire += bytes(view[:n])
        conn.sent(n)
    assert wire == accepted and conn.pending == 0 and conn.written == len(accepted)
    assert largest == len(big) + 3  # the large reply went out as it was, not joined


def test_the_unsent_rest_of_a_write_is_handed_out_again_uncopied() -> None:
    conn = make(max_pending=1 << 30)
    conn.queue_replies(["y" * (2 * SEND_BYTES)])
    first = conn.data_to_send()
    assert first is not None
    conn.sent(10)
    conn.queue_replies([1, 2])
    rest = conn.data_to_send()
    assert rest is not None and _base(rest) is _base(first) and len(rest) == len(first) - 10
    conn.sent(len(rest))
    tail = conn.data_to_send()
    assert tail is not None and bytes(tail) == b"1\n2\n"
