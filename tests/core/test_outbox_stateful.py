"""Outbox without sockets: pushes, connects, partial writes, failures, disconnects,
finishing and close in random order; written + reported + held == pushed always."""

from __future__ import annotations

from itertools import accumulate
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import given as hypothesis_given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from rxunix.core.errors import RxUnixError
from rxunix.core.event import Event
from rxunix.core.framing import EncoderFactory
from rxunix.core.outbox import TRANSITIONS, Outbox, OutboxState

ENCODER = EncoderFactory("json", ["separate"])


class OutboxMachine(RuleBasedStateMachine):
    @initialize(queue_size=st.integers(0, 6), limit=st.integers(1, 64))
    def setup(self, queue_size: int, limit: int) -> None:
        self.box = Outbox(queue_size)
        self.limit = limit
        self.next_id = 0
        self.wires: list[bytes] = []  # bytes each connection's kernel took
        self.wire: bytes | None = None  # the live connection's
        self.reported: dict[int, str] = {}
        self.states = [self.box.state]

    def _event(self) -> Event:
        self.next_id += 1
        return Event(self.next_id if self.next_id % 7 else float("nan"))  # every 7th cannot be encoded

    def _take_reports(self) -> None:
        for r in self.box.take_reports():
            key = r.event.value
            assert key not in self.reported or key != key, "reported twice"
            self.reported[key if key == key else -len(self.reported)] = r.action

    @rule(n=st.integers(1, 4), many=st.booleans())
    def push(self, n: int, many: bool) -> None:
        events = [self._event() for _ in range(n)]
        if many:
            self.box.push_many(events)
        else:
            for e in events:
                self.box.push(e)
        self._take_reports()

    @precondition(lambda self: self.box.state is OutboxState.DISCONNECTED)
    @rule()
    def connect(self) -> None:
        self.box.connected(ENCODER())
        self.wire = b""

    @precondition(lambda self: self.wire is not None)
    @rule(fraction=st.floats(0, 1))
    def kernel_takes(self, fraction: float) -> None:
        view = self.box.data_to_send(self.limit)
        self._take_reports()
        if view is None:
            return
        n = int(len(view) * fraction)
        assert self.wire is not None
        self.wire += bytes(view[:n])
        self.box.sent(n)

    @precondition(lambda self: self.wire is not None)
    @rule()
    def connection_breaks(self) -> None:
        self.box.disconnected("broken pipe")
        self._take_reports()
        assert self.wire is not None
        self.wires.append(self.wire)
        self.wire = None

    @precondition(lambda self: self.wire is not None)
    @rule()
    def write_fails(self) -> None:
        """A failed write ends the connection (the edge closes it, then hands over)."""
        self.box.send_failed("EPIPE")
        self.box.disconnected()
        self._take_reports()
        assert self.wire is not None
        self.wires.append(self.wire)
        self.wire = None

    @precondition(lambda self: self.box.state is OutboxState.CONNECTED)
    @rule()
    def finishing(self) -> None:
        self.box.finishing("client stopped")

    @rule()
    def close(self) -> None:
        self.box.close("client stopped")
        self._take_reports()
        if self.wire is not None:
            self.wires.append(self.wire)
            self.wire = None

    # ---- invariants ---------------------------------------------------------
    @invariant()
    def accounting_is_exact(self) -> None:
        b = self.box
        assert b.written + b.reported + b.held == b.pushed == self.next_id
        assert b.reported == len(self.reported)

    @invariant()
    def each_event_is_written_once_in_order_or_reported(self) -> None:
        wires = self.wires + ([self.wire] if self.wire is not None else [])
        written: list[int] = []
        for w in wires:
            lines = w.split(b"\n")
            written += [int(x) for x in lines[:-1]]
            if lines[-1] and w is not self.wire:  # a cut event of a finished connection: reported
                assert any(b"%d" % k == lines[-1] or (b"%d" % k).startswith(lines[-1])
                           for k in self.reported if k > 0 and self.reported[k] == "write")
        assert written == sorted(set(written)), "order kept, nothing twice"
        assert not set(written) & set(self.reported)
        # complete lines of the batch in flight are on the wire before the batch counts as written
        assert self.box.written <= len(written) <= self.box.written + self.box.held

    @invariant()
    def queue_is_bounded_while_disconnected(self) -> None:
        if self.box.state is OutboxState.DISCONNECTED and not self.wires:  # never connected
            assert self.box.held <= self.box.queue_size

    @invariant()
    def transitions_are_legal(self) -> None:
        if self.box.state is not self.states[-1]:
            assert self.box.state in TRANSITIONS[self.states[-1]]
            self.states.append(self.box.state)

    @invariant()
    def closed_holds_nothing(self) -> None:
        if self.box.state is OutboxState.CLOSED:
            assert self.box.held == 0 and self.box.idle


OutboxMachine.TestCase.settings = settings(
    max_examples=120, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestOutbox = OutboxMachine.TestCase


def test_cut_event_is_reported_and_the_rest_waits_for_the_next_connection() -> None:
    box = Outbox()
    box.push_many([Event(10), Event(20), Event(30)])
    box.connected(ENCODER())
    view = box.data_to_send()
    assert view is not None and bytes(view) == b"10\n20\n30\n"
    box.sent(4)  # "10\n2"
    box.disconnected("EPIPE")
    reports = box.take_reports()
    assert [(r.event.value, r.action) for r in reports] == [(20, "write")]
    assert (box.written, box.held) == (1, 1)
    box.connected(ENCODER())
    view = box.data_to_send()
    assert view is not None and bytes(view) == b"30\n"


def test_events_that_encode_to_no_bytes_are_written() -> None:
    """A postprocessor that holds everything until the end (``collect``) writes no byte
    per event: the events still count as written (written + reported + held == pushed)."""
    box = Outbox()
    box.push_many([Event(1), Event(2), Event(3)])
    box.connected(EncoderFactory("json", ["collect"])())
    assert box.data_to_send() is None
    assert (box.written, box.reported, box.held, box.pushed) == (3, 0, 0, 3)


def test_pushes_while_finishing_or_closed_are_reported() -> None:
    box = Outbox()
    box.connected(ENCODER())
    box.finishing("client stopped")
    box.push(Event(1))
    box.close("client stopped")
    box.push(Event(2))
    assert [(r.event.value, r.action) for r in box.take_reports()] == [(1, "enqueue"), (2, "enqueue")]
    assert box.written + box.reported == box.pushed == 2


def test_sent_beyond_what_was_handed_out_is_an_error() -> None:
    box = Outbox()
    box.connected(ENCODER())
    box.push(Event(1))
    assert box.data_to_send() is not None
    with pytest.raises(ValueError):
        box.sent(3)


values_st = st.lists(
    st.one_of(st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=False), st.text(max_size=3),
              st.just("line\nbreak")),
    min_size=0, max_size=60)


@settings(max_examples=150, deadline=None)
@pytest.mark.parametrize("codec", ["json", "string"])
@hypothesis_given(values=values_st, limit=st.integers(1, 400), cut=st.floats(0, 1))
def test_runs_encoded_in_one_call_give_the_bytes_and_ends_of_one_event_at_a_time(
        codec: str, values: list[Any], limit: int, cut: float) -> None:
    """A batch made of runs (one encoder call each) holds exactly the bytes of encoding
    each event alone, failures reported in place, and a cut anywhere in it settles the
    same events as written, reported and held as the per-event encoding would."""
    factory = EncoderFactory(codec, ["separate"])
    one = factory()
    expected: list[tuple[int, bytes]] = []  # (event index, its bytes) of the events that encode
    for i, v in enumerate(values):
        try:
            expected.append((i, one.encode(v)))
        except RxUnixError:
            pass
    box = Outbox()
    events = [Event(v) for v in values]
    box.push_many(events)
    box.connected(factory())
    view = box.data_to_send(limit)
    failed = [r.event for r in box.take_reports()]
    if view is None:
        assert not expected or limit <= 0
        return
    data = bytes(view)
    size, at_least = 0, 0
    for _, b in expected:  # how many events a batch of one event at a time holds
        if size >= limit:
            break
        size += len(b)
        at_least += 1
    sizes = list(accumulate(len(b) for _, b in expected))
    assert len(data) in sizes  # a whole number of events: a prefix of the encodable ones
    taken = expected[:sizes.index(len(data)) + 1]
    assert data == b"".join(b for _, b in taken) and len(taken) >= at_least
    consumed = len(values) - (box.held - len(taken))  # events taken from the queue: in the batch or reported
    assert failed == [events[i] for i in range(consumed) if i not in dict(expected)]
    assert taken[-1][0] < consumed
    n = int(len(data) * cut)
    box.sent(n)
    box.disconnected("EPIPE")
    ends = list(accumulate(len(b) for _, b in taken))
    whole = sum(1 for e in ends if e <= n)
    cut_one = 1 if whole < len(taken) and n > (ends[whole - 1] if whole else 0) else 0
    assert box.written == whole
    assert box.reported == len(failed) + cut_one
    assert box.written + box.reported + box.held == box.pushed == len(values)
