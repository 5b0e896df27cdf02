"""rxunix.core.metrics_merge (pure): workers' metrics summed exactly, totals kept across restarts."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rxunix.core.metrics import MEASUREMENTS, metric_events
from rxunix.core.metrics_merge import MetricsMerge, base_name, measurement_of


def ev(connector: str, snap: dict[str, float], t: int = 1) -> list[dict[str, Any]]:
    return metric_events(connector, snap, t)


def test_sums_per_connector_and_tags_each_worker() -> None:
    merge = MetricsMerge()
    written = [merge.add(1, e) for e in ev("f/srv@worker1", {"events_in": 5, "events_out": 7, "connections_open": 2})]
    written += [merge.add(2, e) for e in ev("f/srv@worker2", {"events_in": 1, "events_out": 3, "connections_open": 1})]
    assert [(w["tags"]["connector"], w["tags"]["worker"]) for w in written] == \
        [("f/srv@worker1", "1")] * 3 + [("f/srv@worker2", "2")] * 3
    assert merge.merged(42) == ev("f/srv", {"events_in": 6, "events_out": 10, "connections_open": 3}, 42)
    assert merge.workers() == {("f/srv", 1): {"events_in": 5, "events_out": 7, "connections_open": 2},
                               ("f/srv", 2): {"events_in": 1, "events_out": 3, "connections_open": 1}}


def test_a_restarted_worker_continues_its_totals_and_drops_its_gauges() -> None:
    merge = MetricsMerge()
    for e in ev("f/srv@worker1", {"events_out": 10, "connections_open": 4, "paused_s": 0.5}):
        merge.add(1, e)
    merge.retire(1)
    assert merge.totals() == {"f/srv": {"events_out": 10, "connections_open": 0, "paused_s": 0.5}}
    out = [merge.add(1, e) for e in ev("f/srv@worker1", {"events_out": 3, "connections_open": 1, "paused_s": 0.25})]
    assert [o["fields"] for o in out] == [{"count": 13}, {"value": 1}, {"seconds": 0.75}]
    assert merge.totals() == {"f/srv": {"events_out": 13, "connections_open": 1, "paused_s": 0.75}}


def test_names_and_bad_events() -> None:
    assert base_name("a@worker12", 12) == "a" and base_name("a@worker12", 1) == "a@worker12"
    merge = MetricsMerge()
    with pytest.raises(KeyError):
        merge.add(1, {"measurement": "cpu", "tags": {"connector": "x"}, "fields": {"count": 1}, "timestamp": 0})
    with pytest.raises(KeyError):
        merge.add(1, {**ev("x", {"events_in": 1})[0], "fields": {"count": "many"}})
    assert [measurement_of(e).key for e in ev("c", {m.key: 1 for m in MEASUREMENTS})] == [m.key for m in MEASUREMENTS]
    assert merge.merged(0) == []


# A run: steps of (worker, counts reported by its current process) or (worker, None) = that process died.
steps = st.lists(st.tuples(st.integers(1, 3), st.one_of(st.none(), st.integers(0, 50))), max_size=40)


@given(steps)
def test_sums_are_exact_and_series_never_decrease(run: list[tuple[int, int | None]]) -> None:
    merge = MetricsMerge()
    process_total = {w: 0 for w in (1, 2, 3)}  # what each worker's live process has counted so far
    finished = 0  # totals of processes that died, as they last reported
    shown: dict[int, int] = {}
    for worker, more in run:
        if more is None:
            finished += process_total[worker]
            process_total[worker] = 0
            merge.retire(worker)
            continue
        process_total[worker] += more
        (event,) = ev(f"f/srv@worker{worker}", {"events_out": process_total[worker]})
        count = merge.add(worker, event)["fields"]["count"]
        assert count >= shown.get(worker, 0), "a worker's series never decreases"
        shown[worker] = count
        (merged,) = merge.merged(0)
        assert merged["fields"]["count"] == sum(shown.values()) == finished + sum(process_total.values())


def test_the_aggregator_is_served_summed_only() -> None:
    prometheus_client = pytest.importorskip("prometheus_client")  # (a test extra: always installed)
    from rxunix.app.prometheus import _MergedCollector

    merge = MetricsMerge()
    for e in ev("f/srv@worker1", {"events_out": 5}):
        merge.add(1, e)
    for e in ev("across-workers/link", {"events_out": 9}):
        merge.add(0, e)  # the aggregator: one process
    registry = prometheus_client.CollectorRegistry(auto_describe=False)
    registry.register(_MergedCollector(merge))
    text = prometheus_client.generate_latest(registry).decode()
    assert 'rxunix_connector_events_total{connector="across-workers/link",port="out"} 9.0' in text
    assert 'rxunix_worker_connector_events_total{connector="f/srv",port="out",worker="1"} 5.0' in text
    assert 'worker="0"' not in text  # as in the metrics file
