"""``EventSubject.on_next_batch`` to per-event subscribers: every event, in order, each once."""

from __future__ import annotations

from typing import Any

from reactivex import operators as ops

from rxunix.core.event import Event
from rxunix.edge.ports import EventSubject


def test_a_function_subscriber_gets_each_event_of_a_batch_in_order() -> None:
    out, seen = EventSubject(owner=None), []
    out.subscribe(lambda e: seen.append(e.value))
    assert out.on_next_batch(Event.many([1, 2, 3])) == []
    out.on_next(Event(4))
    assert seen == [1, 2, 3, 4]


def test_a_subscriber_that_raises_misses_nothing_after_it_and_the_failures_come_back() -> None:
    out, seen = EventSubject(owner=None), []

    def on_event(e: Event) -> None:
        if e.value % 2:
            raise ValueError(e.value)
        seen.append(e.value)

    out.subscribe(on_event)
    failures = out.on_next_batch(Event.many([1, 2, 3, 4]))
    assert [f.args for f in failures] == [(1,), (3,)]
    assert seen == [2, 4]


def test_a_subscription_disposed_inside_a_batch_gets_no_more_of_it() -> None:
    out, seen = EventSubject(owner=None), []
    holder: dict[str, Any] = {}

    def on_event(e: Event) -> None:
        seen.append(e.value)
        if e.value == 2:
            holder["sub"].dispose()

    holder["sub"] = out.subscribe(on_event)
    out.on_next_batch(Event.many([1, 2, 3]))
    out.on_next_batch(Event.many([4]))
    assert seen == [1, 2]


def test_an_operator_chain_and_a_completed_subscriber_behave_as_with_on_next() -> None:
    out, mapped, done = EventSubject(owner=None), [], []
    out.pipe(ops.map(lambda e: e.value * 10), ops.take(2)).subscribe(mapped.append, on_completed=lambda: done.append(1))
    out.on_next_batch(Event.many([1, 2, 3]))
    assert mapped == [10, 20] and done == [1]
