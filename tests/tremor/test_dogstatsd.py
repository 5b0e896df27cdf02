"""``dogstatsd`` codec: Tremor's tests (tremor-rs/tremor-runtime ``tremor-codec/src/codec/dogstatsd.rs``)
and real-world datagrams (Datadog's datagram format documentation) with round trips."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rxunix.codecs.dogstatsd import DogStatsdCodec
from rxunix.errors import CodecError
from rxunix.registry import create_codec

from ._util import decode_encode_decode

CASES: list[tuple[str, bytes, dict[str, Any]]] = [
    ("dogstatsd_complete_payload", b"dog:111|g|@0.5|#foo:bar,fizz:buzz|c:123abc",
     {"metric": {"metric": "dog", "values": [111.0], "type": "g", "sample_rate": 0.5,
                 "tags": ["foo:bar", "fizz:buzz"], "container_id": "123abc"}}),
    ("dogstatsd_complete_payload_multiple_values", b"dog:111:222:333:4.44|g|@0.5|#foo:bar,fizz:buzz|c:123abc",
     {"metric": {"metric": "dog", "values": [111.0, 222.0, 333.0, 4.44], "type": "g", "sample_rate": 0.5,
                 "tags": ["foo:bar", "fizz:buzz"], "container_id": "123abc"}}),
    ("dogstatsd_payload_with_sample_and_tags", b"dog:111|g|@0.5|#foo:bar,fizz:buzz",
     {"metric": {"metric": "dog", "values": [111.0], "type": "g", "sample_rate": 0.5,
                 "tags": ["foo:bar", "fizz:buzz"]}}),
    ("dogstatsd_payload_with_sample_and_container_id", b"dog:111|g|@0.5|c:123abc",
     {"metric": {"metric": "dog", "values": [111.0], "type": "g", "sample_rate": 0.5, "container_id": "123abc"}}),
    ("dogstatsd_payload_with_tags_and_container_id", b"dog:111|g|#foo:bar,fizz:buzz|c:123abc",
     {"metric": {"metric": "dog", "values": [111.0], "type": "g", "tags": ["foo:bar", "fizz:buzz"],
                 "container_id": "123abc"}}),
    ("dogstatsd_payload_with_tags", b"dog:111|g|#foo:bar,fizz:buzz",
     {"metric": {"metric": "dog", "values": [111.0], "type": "g", "tags": ["foo:bar", "fizz:buzz"]}}),
    ("dogstatsd_payload_with_tag", b"dog:111|g|#foo:bar",
     {"metric": {"metric": "dog", "values": [111.0], "type": "g", "tags": ["foo:bar"]}}),
    ("dogstatsd_payload_with_container_id", b"dog:111|g|c:123abc",
     {"metric": {"metric": "dog", "values": [111.0], "type": "g", "container_id": "123abc"}}),
    ("dogstatsd_count", b"dog:1|c", {"metric": {"type": "c", "metric": "dog", "values": [1.0]}}),
    ("dogstatsd_time", b"dog:320|ms", {"metric": {"type": "ms", "metric": "dog", "values": [320.0]}}),
    ("dogstatsd_event",
     b"_e{21,36}:An exception occurred|Cannot parse CSV file from 10.0.0.17|t:warning|#err_type:bad_file",
     {"event": {"title": "An exception occurred", "text": "Cannot parse CSV file from 10.0.0.17",
                "type": "warning", "tags": ["err_type:bad_file"]}}),
    ("dogstatsd_basic_event", b"_e{21,36}:An exception occurred|Cannot parse CSV file from 10.0.0.17",
     {"event": {"title": "An exception occurred", "text": "Cannot parse CSV file from 10.0.0.17"}}),
    ("dogstatsd_complete_event",
     b"_e{4,6}:Test|A Test|d:1663016695|h:test.example.com|k:a1b2c3|p:normal|s:test|t:warning"
     b"|#err_type:bad_file|c:123abc",
     {"event": {"title": "Test", "text": "A Test", "timestamp": 1_663_016_695, "hostname": "test.example.com",
                "aggregation_key": "a1b2c3", "priority": "normal", "source": "test", "type": "warning",
                "tags": ["err_type:bad_file"], "container_id": "123abc"}}),
    ("dogstatsd_service_check", b"_sc|Redis connection|2|#env:dev|m:Redis connection timed out after 10s",
     {"service_check": {"name": "Redis connection", "status": 2, "tags": ["env:dev"],
                        "message": "Redis connection timed out after 10s"}}),
    ("dogstatsd_basic_service_check", b"_sc|Redis connection|2",
     {"service_check": {"name": "Redis connection", "status": 2}}),
    ("dogstatsd_complete_service_check",
     b"_sc|Redis connection|2|d:1663016695|h:test.example.com|#env:dev|m:Redis connection timed out after 10s"
     b"|c:123abc",
     {"service_check": {"name": "Redis connection", "status": 2, "timestamp": 1_663_016_695,
                        "hostname": "test.example.com", "tags": ["env:dev"],
                        "message": "Redis connection timed out after 10s", "container_id": "123abc"}}),
]  # fmt: skip


@pytest.mark.parametrize(("test", "line", "expected"), CASES, ids=[c[0] for c in CASES])
def test_tremor_cases(test: str, line: bytes, expected: dict[str, Any]) -> None:
    # dogstatsd.rs: each named test decodes to Tremor's value and encodes back to the same bytes
    c = DogStatsdCodec()
    assert c.decode(line) == expected
    assert c.encode(expected) == line


@pytest.mark.parametrize("line", [b"dog:111", b"_e{4,6}:Test", b"_sc|Redis connection"])
def test_bad_payloads(line: bytes) -> None:
    # dogstatsd.rs: dogstatsd_bad_metric_payload, dogstatsd_bad_event_payload, dogstatsd_bad_service_check_payload
    with pytest.raises(CodecError):
        DogStatsdCodec().decode(line)


@pytest.mark.parametrize(
    "line",
    [
        b"foo:1620649445.3351967|h",
        b"foo1:12345|c",
        b"foo2:1234567890|c",
        b"_sc|Redis connection|2|d:1663016695|h:test.example.com|#env:dev|m:Redis connection timed out after 10s"
        b"|c:123abc",
        b"_sc|Redis connection|2",
        b"_e{21,36}:An exception occurred|Cannot parse CSV file from 10.0.0.17",
        b"_e{21,36}:An exception occurred|Cannot parse CSV file from 10.0.0.17|#env:dev,test:testing",
    ],
)
def test_bench(line: bytes) -> None:
    # dogstatsd.rs: bench
    c = DogStatsdCodec()
    assert c.encode(c.decode(line)) == line


@pytest.mark.parametrize(
    "line",
    [
        b"page.views:1|c|#env:prod,service:web",  # Datadog docs: count with tags
        b"fuel.level:0.5|g|#env:prod",
        b"song.length:240|h|@0.5|#genre:rock",
        b"users.uniques:1234|s",
        b"request.latency:12.5|d|#route:/api/v1",
        b"request.latency:12.5:13:7.25|d|@0.1|#route:/api/v1",  # several values in one datagram (v1.1)
        b"_e{13,20}:deploy failed|rollback of \xc3\xa9tape 2|p:low|t:error|#team:ops",  # UTF-8: lengths in bytes
        b"_sc|db.ok|0|h:db1|#env:prod|m:all good",
    ],
)
def test_real_world_round_trip(line: bytes) -> None:
    c = create_codec("dogstatsd")
    v = c.decode(line)
    assert c.decode(c.encode(v)) == v
    assert c.encode(v) == line


@pytest.mark.parametrize(
    "line",
    [
        b"dog:1|c|T1656581400",  # beyond Tremor (which ignores it): an unknown section is an error
        b"dog:1|",  # beyond Tremor (which accepts it without a type): a type is needed
        b"_e{4,5}:Test|A Test",  # beyond Tremor: the text is longer than its header says
        b"_sc|x|4",  # status outside 0-3 (as Tremor)
        b"dog:nan|c",
    ],
)
def test_invalid_lines_are_errors(line: bytes) -> None:
    with pytest.raises(CodecError):
        DogStatsdCodec().decode(line)


def test_encode_errors() -> None:
    c = DogStatsdCodec()
    for bad in ({}, {"metric": {"metric": "a", "values": [1]}}, {"metric": {"metric": "a|b", "type": "c",
                "values": [1]}}, {"service_check": {"name": "n", "status": 9}}, {"event": {"title": "t"}}, [],
                {"metric": {"metric": "a", "type": "c", "values": [1], "tags": []}},
                {"service_check": {"name": "", "status": 0}}):  # (_sc||0 does not read back)
        with pytest.raises(CodecError):
            c.encode(bad)


PIECES = [b"dog", b":", b"1", b"2.5", b"-3", b"|", b"c", b"g", b"ms", b"d", b"@0.5", b"#", b"a:b", b",", b"c:", b"_e{",
          b"4,6}", b"_sc|", b"2", b"d:1663016695", b"h:", b"m:", b"t:", b"\xff", b" "]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=14).map(b"".join) | st.binary(max_size=40))
def test_anything_decodes_or_is_an_error_and_round_trips(data: bytes) -> None:
    result = decode_encode_decode(DogStatsdCodec(), data)
    if result is not None:
        assert result[0] == result[1]


@pytest.mark.parametrize("line", [b"dog_sc|:1|c", b"a|b:1|c", b"dogdogdogdog_sc|dogh:22|g"])
def test_a_metric_name_with_a_bar_is_an_error_not_a_value_that_cannot_be_written_back(line: bytes) -> None:
    with pytest.raises(CodecError, match="not a 'metric:value|type' line"):
        DogStatsdCodec().decode(line)


def test_fractional_values_are_written_as_ryu_writes_them() -> None:
    # codec/dogstatsd.rs: encode_metric writes a value with a fraction with ryu
    c = create_codec("dogstatsd")
    for value, text in ((1.5e-7, b"1.5e-7"), (1e-5, b"0.00001"), (0.25, b"0.25"), (2.0, b"2")):
        assert c.encode({"metric": {"metric": "m", "type": "c", "values": [value]}}) == b"m:" + text + b"|c"
