"""rxunix.core.metrics (pure): Tremor's metrics shape, totals to increments, interval bookkeeping."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rxunix.core.metrics import MEASUREMENTS, Interval, increments, metric_events, progress_line


def test_shape_is_tremors() -> None:
    evs = metric_events("relay/server", {"events_in": 2, "events_out": 10, "events_err": 1}, 123)
    assert evs == [
        {"measurement": "connector_events", "tags": {"connector": "relay/server", "port": p},
         "fields": {"count": n}, "timestamp": 123}
        for p, n in (("in", 2), ("out", 10), ("err", 1))
    ]


def test_every_measurement_has_one_field_and_own_tags() -> None:
    snap = {m.key: 1 for m in MEASUREMENTS}
    evs = metric_events("c", snap, 0)
    assert len(evs) == len(MEASUREMENTS)
    seen = {(e["measurement"], tuple(sorted(e["tags"].items()))) for e in evs}
    assert len(seen) == len(evs)  # no two measurements collide
    for ev in evs:
        assert list(ev) == ["measurement", "tags", "fields", "timestamp"]
        assert len(ev["fields"]) == 1 and ev["tags"]["connector"] == "c"


def test_unknown_key_is_refused() -> None:
    with pytest.raises(KeyError, match="bogus"):
        metric_events("c", {"bogus": 1}, 0)


@given(st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=30))
def test_increments_sum_to_the_last_total(steps: list[int]) -> None:
    totals, t = [], 0
    for s in steps:
        t += s
        totals.append(t)
    evs = [e for i, n in enumerate(totals)
           for e in metric_events("c", {"events_out": n, "connections_open": i, "paused_s": n / 10}, i)]
    inc = increments(evs)
    outs = [e["fields"]["count"] for e in inc if e["measurement"] == "connector_events"]
    assert outs == steps and sum(outs) == totals[-1]
    assert all(e["measurement"] != "connector_connections_open" for e in inc)  # gauges left out
    paused = sum(e["fields"]["seconds"] for e in inc if e["measurement"] == "connector_paused")
    assert paused == pytest.approx(totals[-1] / 10)


def test_interval_skips_missed_ticks() -> None:
    iv = Interval(0.5, start=100.0)
    assert not iv.due(100.49) and iv.wait(100.25) == 0.25
    assert iv.due(100.5)
    iv.advance(102.2)  # the hub was busy for 1.7 s: one tick, the next after now
    assert iv.next_at == 102.5 and iv.wait(102.2) == pytest.approx(0.3)
    for bad in (0, 1e-300, 0.0009, math.inf):  # a tick at least every millisecond
        with pytest.raises(ValueError, match="at least 0.001 seconds"):
            Interval(bad, start=0)
    tiny = Interval(0.001, start=1e9)  # far from 0: few digits of a float left for the interval
    tiny.advance(1e9 + 5.0)
    assert 1e9 + 5.0 < tiny.next_at <= 1e9 + 5.0 + 0.002


def test_progress_line() -> None:
    line = progress_line(3.0, [("a", {"events_out": 250_000, "events_err": 0}), ("b", {})])
    assert line == "3.0s | a out=250k | b idle"


def test_every_connector_takes_metrics_interval_s() -> None:
    import rxunix
    from rxunix.edge.console import Console
    from rxunix.edge.exit import ExitConnector

    made = [rxunix.unix_socket_server(path="/tmp/rx-m.sock", metrics_interval_s=2),
            rxunix.unix_socket_client(path="/tmp/rx-m.sock", metrics_interval_s=2),
            rxunix.unix_datagram_server(path="/tmp/rx-m.sock", metrics_interval_s=2),
            rxunix.unix_datagram_client(path="/tmp/rx-m.sock", metrics_interval_s=2),
            Console(metrics_interval_s=2), ExitConnector(metrics_interval_s=2)]
    assert [c.metrics_interval_s for c in made] == [2.0] * len(made)
    for bad in (0, 1e-300, True, "1"):
        with pytest.raises(rxunix.ConfigError, match="metrics_interval_s"):
            rxunix.unix_socket_server(path="/tmp/rx-m.sock", metrics_interval_s=bad)
