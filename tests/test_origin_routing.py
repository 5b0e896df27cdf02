"""Pure origin merging and reply routing (SPEC 3, rules 1-3)."""

from __future__ import annotations

from rxunix.event import Event
from rxunix.origin import CLIENT, SERVER, aggregate, merge_origins, origin_records
from rxunix.routing import route


def srv(peer: object, path: str = "/s") -> Event:
    return Event(peer, {SERVER: {"path": path, "peer": peer}})


def test_origin_records_shapes() -> None:
    assert origin_records({}) == []
    assert origin_records({SERVER: {"peer": 1}}) == [{"peer": 1}]
    assert origin_records({SERVER: [{"peer": 1}, "junk", {"peer": 2}]}) == [{"peer": 1}, {"peer": 2}]
    assert origin_records({SERVER: 5}) == []
    assert origin_records({CLIENT: {"peer": "/p"}}, CLIENT) == [{"peer": "/p"}]


def test_merge_origins_distinct_in_first_seen_order() -> None:
    a, b, c = srv(1), srv(2), srv(1, "/other")
    merged = merge_origins([b, a, b, c, a])
    assert merged[SERVER] == [
        {"path": "/s", "peer": 2},
        {"path": "/s", "peer": 1},
        {"path": "/other", "peer": 1},
    ]


def test_merge_origins_keeps_last_plain_meta_and_client_records() -> None:
    e1 = Event(1, {"k": 1, CLIENT: {"peer": "/p"}})
    e2 = Event(2, {"k": 2, CLIENT: {"peer": "/p"}, SERVER: {"path": "/s", "peer": 4}})
    merged = merge_origins([e1, e2])
    assert merged["k"] == 2
    assert merged[CLIENT] == [{"peer": "/p"}]
    assert merged[SERVER] == [{"path": "/s", "peer": 4}]
    assert merge_origins([]) == {}


def test_merge_of_merged_is_flat() -> None:
    first = Event(0, merge_origins([srv(1), srv(2)]))
    again = merge_origins([first, srv(2), srv(3)])
    assert [r["peer"] for r in again[SERVER]] == [1, 2, 3]


def test_aggregate() -> None:
    agg = aggregate([srv(1), srv(2), srv(1)], sum)
    assert agg.value == 4
    assert [r["peer"] for r in agg.meta[SERVER]] == [1, 2]
    assert aggregate([srv(5)]).value == [5]


def test_route_single_peer() -> None:
    r = route({SERVER: {"path": "/s", "peer": 1}}, "/s", live={1, 2})
    assert r.targets == [1] and r.missing == [] and not r.unroutable


def test_route_list_of_peers_duplicates_once() -> None:
    meta = {SERVER: {"path": "/s", "peer": [1, 2, 1, 3]}}
    r = route(meta, "/s", live={1, 2})
    assert r.targets == [1, 2] and r.missing == [3]


def test_route_aggregate_each_contributor_once() -> None:
    meta = merge_origins([srv(1), srv(2), srv(1), srv(9)])
    r = route(meta, "/s", live={1, 2})
    assert r.targets == [1, 2] and r.missing == [9]


def test_route_other_path_records_ignored() -> None:
    r = route({SERVER: [{"path": "/other", "peer": 1}]}, "/s", live={1})
    assert r.targets == [] and r.missing == [] and r.unroutable
    # a record without a path is taken as ours
    assert route({SERVER: {"peer": 1}}, "/s", live={1}).targets == [1]


def test_route_unroutable_and_bad_peers() -> None:
    assert route({}, "/s", live={1}).unroutable
    r = route({SERVER: {"path": "/s", "peer": 4}}, "/s", live=set())
    assert r.unroutable and r.missing == [4]
    r2 = route({SERVER: {"path": "/s", "peer": [True, "x", None, 2]}}, "/s", live={1, 2})
    assert r2.targets == [2] and r2.missing == [True, "x"]
