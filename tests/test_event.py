"""Events: immutability, metadata kept, equality, pickling, error events."""

from __future__ import annotations

import pickle
from types import MappingProxyType

import pytest
from rxunix.event import ErrorEvent, Event, error_event, map_value


def test_immutable() -> None:
    e = Event({"a": 1}, {"k": 1})
    with pytest.raises(AttributeError, match="immutable"):
        e.value = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        e.meta["k"] = 2  # type: ignore[index]
    with pytest.raises(AttributeError):
        e.other = 1  # type: ignore[attr-defined]


def test_meta_is_copied_not_aliased() -> None:
    meta = {"k": 1}
    e = Event(1, meta)
    meta["k"] = 2
    assert e.meta["k"] == 1
    proxy = MappingProxyType({"k": 3})
    assert Event(1, proxy).meta is proxy


def test_with_value_keeps_meta() -> None:
    e = Event(1, {"unix_socket_server": {"path": "/s", "peer": 3}})
    e2 = e.with_value("x")
    assert e2.value == "x" and e2.meta is e.meta
    assert map_value(lambda v: v * 2)(Event(2, {"a": 1})) == Event(4, {"a": 1})


def test_with_meta_updates_copy() -> None:
    e = Event(1, {"a": 1})
    e2 = e.with_meta({"b": 2}, a=3)
    assert dict(e2.meta) == {"a": 3, "b": 2} and dict(e.meta) == {"a": 1}


def test_equality() -> None:
    assert Event(1, {"a": 1}) == Event(1, {"a": 1})
    assert Event(1, {"a": 1}) != Event(1, {"a": 2})
    assert Event(1) != Event(2)
    assert Event(1) == Event(1, {})
    assert Event(1) != ErrorEvent(1)
    assert Event(1) != 1
    with pytest.raises(TypeError):
        hash(Event(1))


def test_pickling() -> None:
    for e in (Event({"a": [1, 2]}, {"m": {"x": 1}}), ErrorEvent({"error": "x"}, {"m": 1})):
        back = pickle.loads(pickle.dumps(e))
        assert back == e and type(back) is type(e)


def test_error_event_fields() -> None:
    meta = {"unix_socket_server": {"path": "/s", "peer": 7}}
    e = error_event(
        ValueError("bad"), connector="unix_socket_server", action="decode", stream=7, meta=meta, data=b"x"
    )
    assert e.is_error and not Event(1).is_error
    assert e.value == {
        "error": "bad",
        "kind": "ValueError",
        "connector": "unix_socket_server",
        "action": "decode",
        "stream": 7,
        "data": b"x",
    }
    assert dict(e.meta) == meta
    assert isinstance(e.with_value(1), ErrorEvent)
    s = error_event("gone", connector="unix_socket_client", action="connect")
    assert s.value["kind"] == "Error" and s.value["stream"] is None and dict(s.meta) == {}
    assert error_event(KeyError(), connector="c", action="a").value["error"] == "KeyError"


def test_to_dict_and_repr_are_plain() -> None:
    e = Event(1, {"m": MappingProxyType({"x": (1, 2)})})
    assert e.to_dict() == {"value": 1, "meta": {"m": {"x": [1, 2]}}}
    assert "Event(value=1" in repr(e)
