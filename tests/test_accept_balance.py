"""The workers' accept rule and table: the least-loaded present worker takes the next connection."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import Any

import gevent
import pytest
from gevent import socket as gsocket
from hypothesis import given
from hypothesis import strategies as st

from rxunix.core.balance import ABSENT, may_accept
from rxunix.edge.balance import STALL, AcceptTable
from tests.helpers import record_results, wait_for

counts = st.lists(st.one_of(st.just(ABSENT), st.integers(0, 50)), min_size=1, max_size=16)


@given(counts)
def test_exactly_the_least_loaded_present_workers_may_accept(row: list[int]) -> None:
    present = [c for c in row if c != ABSENT]
    for mine in present:
        assert may_accept(mine, row) == (mine == min(present))


@given(counts)
def test_someone_may_always_accept_and_taking_a_connection_keeps_counts_within_one(row: list[int]) -> None:
    present = [i for i, c in enumerate(row) if c != ABSENT]
    if not present:
        return
    # from all-equal counts, handing out connections by the rule never spreads them by more than one
    row = [0 if c != ABSENT else ABSENT for c in row]
    for _ in range(3 * len(present)):
        taker = next(i for i in present if may_accept(row[i], row))
        row[taker] += 1
        live = [row[i] for i in present]
        assert max(live) - min(live) <= 1


def test_the_table_is_shared_across_a_fork_and_a_retired_worker_is_absent() -> None:
    table = AcceptTable(sockets=2, workers=3)
    one, two = table.share(1, 1), table.share(1, 2)
    one.publish(4)
    pid = os.fork()
    if pid == 0:  # the child is worker 2 of socket 1
        two.publish(1)
        os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    assert not one.may_accept() and two.may_accept()
    assert table.share(0, 1).may_accept()  # socket 0's row is its own (all absent but nobody fewer)
    table.retire(2)
    assert one.may_accept()


@pytest.mark.parametrize("socket_, worker", [(2, 1), (0, 0), (0, 4), (-1, 1)])
def test_a_slot_outside_the_table_is_refused(socket_: int, worker: int) -> None:
    with pytest.raises(ValueError, match="no slot"):
        AcceptTable(sockets=2, workers=3).share(socket_, worker)


Listener = tuple[Any, str]


@pytest.fixture
def listener(short_tmp: str) -> Iterator[Listener]:
    path = os.path.join(short_tmp, "l.sock")
    sock = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
    sock.bind(path)
    sock.listen(8)
    yield sock, path
    sock.close()


def _connect(path: str) -> socket.socket:
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.connect(path)
    return c


def test_wait_turn_returns_when_a_connection_waits_for_the_least_loaded_worker(
        listener: Listener, monkeypatch: pytest.MonkeyPatch) -> None:
    from rxunix.edge import balance

    # wait_turn's checks of the backlog, and what they found
    checks = record_results(monkeypatch, balance, "pending_connection")
    sock, path = listener
    table = AcceptTable(sockets=1, workers=2)
    mine = table.share(0, 1)
    mine.publish(0)
    table.share(0, 2).publish(3)
    waiter = gevent.spawn(mine.wait_turn, sock.fileno())
    # it found no connection waiting (and went on to wait for one without yielding in between)
    wait_for(lambda: checks, 5, "wait_turn to check the backlog")
    assert not any(checks)
    assert not waiter.ready(), "no connection waits: it keeps waiting"
    client = _connect(path)
    assert waiter.join(timeout=5) is None and waiter.successful()
    client.close()


def test_a_connection_waits_at_most_stall_for_a_worker_that_does_not_take_it(listener: Listener) -> None:
    sock, path = listener
    table = AcceptTable(sockets=1, workers=2)
    busy = table.share(0, 1)
    busy.publish(5)
    table.share(0, 2).publish(0)  # worker 2 holds fewer but never accepts
    client = _connect(path)
    started = gevent.get_hub().loop.now()
    waiter = gevent.spawn(busy.wait_turn, sock.fileno())
    waiter.join(timeout=5 + STALL)
    assert waiter.successful()
    assert gevent.get_hub().loop.now() - started >= STALL * 0.9
    client.close()
