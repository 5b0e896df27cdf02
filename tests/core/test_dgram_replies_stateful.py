"""ReplyQueues without sockets: replies added, sent, refused and cleared in random order
against a model; each receiver's replies leave in order, none is lost or counted twice."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from rxunix.core.dgram_replies import ReplyQueues

RECEIVERS = st.sampled_from(["/a", "/b", "@c"])


class ReplyQueuesMachine(RuleBasedStateMachine):
    @initialize(max_pending=st.integers(1, 40), timeout=st.sampled_from([0.0, 1.0, 2.0]))
    def setup(self, max_pending: int, timeout: float) -> None:
        self.q = ReplyQueues(max_pending, timeout)
        self.model: dict[str, list[tuple[bytes, int]]] = {}
        self.refusing_since: dict[str, float] = {}
        self.now = 0.0
        self.next_id = 0
        self.added = self.left = 0  # replies queued; replies out (sent, given up, cleared)

    @rule(receiver=RECEIVERS, size=st.integers(0, 12))
    def add(self, receiver: str, size: int) -> None:
        self.next_id += 1
        data = b"x" * size
        fits = sum(len(d) for q in self.model.values() for d, _ in q) + size <= self.q.max_pending
        assert self.q.add(receiver, data, self.next_id) is fits
        if fits:
            self.model.setdefault(receiver, []).append((data, self.next_id))
            self.added += 1

    @rule(seconds=st.sampled_from([0.0, 0.5, 1.0, 2.5]))
    def time_passes(self, seconds: float) -> None:
        self.now += seconds

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def kernel_takes_the_head(self, data: st.DataObject) -> None:
        receiver = data.draw(st.sampled_from(sorted(self.model)))
        assert self.q.head(receiver) == self.model[receiver][0]
        self.q.sent(receiver)
        self.model[receiver].pop(0)
        self.refusing_since.pop(receiver, None)
        self.left += 1
        if not self.model[receiver]:
            del self.model[receiver]

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def kernel_refuses_the_head(self, data: st.DataObject) -> None:
        receiver = data.draw(st.sampled_from(sorted(self.model)))
        since = self.refusing_since.setdefault(receiver, self.now)
        given_up = self.q.refused(receiver, self.now)
        if self.now - since < self.q.block_timeout:
            assert given_up == []
            return
        assert given_up == self.model.pop(receiver)  # all of its replies, in order; no one else's
        del self.refusing_since[receiver]
        self.left += len(given_up)

    @rule()
    def stop(self) -> None:
        left = self.q.clear()
        assert left == [(r, d, t) for r, q in self.model.items() for d, t in q]
        self.left += len(left)
        self.model.clear()
        self.refusing_since.clear()

    @invariant()
    def matches_the_model(self) -> None:
        q = self.q
        assert q.receivers() == list(self.model)
        assert len(q) == sum(map(len, self.model.values())) == self.added - self.left
        assert q.pending == sum(len(d) for r in self.model.values() for d, _ in r) <= q.max_pending
        assert all(q.waiting(r) == (r in self.model) for r in ("/a", "/b", "@c"))


TestReplyQueues = ReplyQueuesMachine.TestCase
TestReplyQueues.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)


@pytest.mark.parametrize(("max_pending", "timeout"), [(0, 1.0), (10, -1.0)])
def test_bad_bounds_are_refused(max_pending: int, timeout: float) -> None:
    with pytest.raises(ValueError):
        ReplyQueues(max_pending, timeout)
