"""The small processors: remove-empty, base64, length prefixes, ingest-ns, chunk, collect."""

from __future__ import annotations

from typing import Any

import pytest
from rxunix.errors import ConfigError, FrameTooLarge, FramingError
from rxunix.processors.b64 import Base64Post, Base64Pre
from rxunix.processors.chunking import ChunkPost, CollectPost
from rxunix.processors.ingest_ns import IngestNsPost, IngestNsPre
from rxunix.processors.length_prefixed import (
    LengthPrefixedPost,
    LengthPrefixedPre,
    TextualLengthPrefixedPost,
    TextualLengthPrefixedPre,
)
from rxunix.processors.remove_empty import RemoveEmptyPre
from rxunix.registry import create_postprocessor, create_preprocessor, names

from .test_proc_conformance import decode_chunks


def show(frames: list[Any]) -> list[Any]:
    return [f if isinstance(f, bytes) else type(f).__name__ for f in frames]


def lp(n: int) -> bytes:
    return n.to_bytes(8, "big")


def test_every_registered_processor_loads() -> None:
    for name in names("preprocessor"):
        create_preprocessor(name)
    for name in names("postprocessor"):
        if name not in ("compress", "chunk", "stream-compress"):  # need an algorithm / max_bytes
            create_postprocessor(name)
    create_postprocessor({"name": "compress", "config": {"algorithm": "gzip"}})
    create_postprocessor({"name": "stream-compress", "config": {"algorithm": "xz2"}})
    create_postprocessor({"name": "chunk", "config": {"max_bytes": 1}})


# --- remove-empty -------------------------------------------------------------------------------


def test_remove_empty() -> None:
    p = RemoveEmptyPre()
    assert p.feed(b"") == [] and p.feed(b" ") == [b" "] and p.finish() == []
    assert decode_chunks(["separate", "remove-empty"], [b"a\n\n\nb\n", b"\n"]) == [b"a", b"b"]


# --- base64 -------------------------------------------------------------------------------------


def test_base64_errors_in_line() -> None:
    out = decode_chunks(["separate", "base64"], [b"aGk=\n***\naGk\nYQ==\n\n"])
    assert show(out) == [b"hi", "FramingError", "FramingError", b"a", b""]
    assert "base64" in str(out[1])


def test_base64_post() -> None:
    assert Base64Post().process(b"\x00\xff") == [b"AP8="]
    assert Base64Pre().feed(b"AP8=") == [b"\x00\xff"]


# --- length-prefixed ----------------------------------------------------------------------------


def test_length_prefixed_many_frames_in_one_chunk_and_split_header() -> None:
    p = LengthPrefixedPre()
    data = lp(1) + b"a" + lp(0) + lp(2) + b"bc" + lp(3)[:5]
    assert p.feed(data) == [b"a", b"", b"bc"]
    assert p.feed(lp(3)[5:] + b"de") == []
    assert p.feed(b"f") == [b"def"]


def test_length_prefix_claiming_2_pow_60_is_an_error_not_an_allocation() -> None:
    p = LengthPrefixedPre()  # default max_length: 16 MiB
    out = p.feed(lp(2**60) + b"x" * 1000)
    assert show(out) == ["FrameTooLarge"]
    assert "max_length 16777216" in str(out[0])
    # the payload is skipped as it arrives, nothing is held
    assert len(p._buf) == 0 and p._want is None
    assert p.feed(b"y" * 100_000) == []
    assert p.finish() == []


def test_oversize_frame_is_skipped_and_the_stream_stays_in_sync() -> None:
    p = LengthPrefixedPre(max_length=4)
    data = lp(2) + b"ok" + lp(6) + b"toolon" + lp(4) + b"fine"
    assert show(p.feed(data)) == [b"ok", "FrameTooLarge", b"fine"]
    # across chunks, byte by byte
    q = LengthPrefixedPre(max_length=4)
    out: list[Any] = []
    for i in range(len(data)):
        out += q.feed(data[i : i + 1])
    assert show(out) == [b"ok", "FrameTooLarge", b"fine"]


@pytest.mark.parametrize("name", ["length-prefixed", "textual-length-prefixed"])
def test_max_length_zero_is_unlimited(name: str) -> None:
    big = b"x" * 17_000_000
    post = create_postprocessor(name).process(big)[0]
    assert create_preprocessor({"name": name, "config": {"max_length": 0}}).feed(post) == [big]
    assert show(create_preprocessor(name).feed(post)) == ["FrameTooLarge"]


@pytest.mark.parametrize(
    ("cls", "tail"),
    [
        (LengthPrefixedPre, lp(5) + b"abc"),
        (LengthPrefixedPre, lp(5)[:3]),
        (TextualLengthPrefixedPre, b"5 abc"),
        (TextualLengthPrefixedPre, b"12"),
    ],
)
def test_stream_ending_inside_a_frame_is_an_error(cls: Any, tail: bytes) -> None:
    p = cls()
    assert p.feed(tail) == []
    [err] = p.finish()
    assert isinstance(err, FramingError) and "stream ended" in str(err)
    assert p.finish() == []
    assert p.feed(b"0 " if cls is TextualLengthPrefixedPre else lp(0)) == [b""]  # reusable after finish


# --- textual-length-prefixed --------------------------------------------------------------------


def test_textual_post() -> None:
    assert TextualLengthPrefixedPost().process(b"hello") == [b"5 hello"]
    assert TextualLengthPrefixedPost().process(b"") == [b"0 "]
    assert LengthPrefixedPost().process(b"") == [lp(0)]


def test_textual_leading_zeros_and_split_headers() -> None:
    p = TextualLengthPrefixedPre()
    assert p.feed(b"003 abc1") + p.feed(b"0 0123456789") == [b"abc", b"0123456789"]


def test_textual_oversize_is_one_error_and_stays_in_sync() -> None:
    p = TextualLengthPrefixedPre(max_length=3)
    assert show(p.feed(b"2 ok7 toolo")) == [b"ok", "FrameTooLarge"]
    assert show(p.feed(b"ng3 yes")) == [b"yes"]
    assert show(p.feed(b"99999999999999999999 ")) == ["FrameTooLarge"]  # 20 digits: a valid u64


@pytest.mark.parametrize(
    "bad",
    [b"x", b"12x", b" ", b"-1 a", b"1\x0b", b"123456789012345678901", b"++2 ab", b"\xef\xbc\x91 a"],
)
def test_textual_malformed_header_poisons_the_stream_until_finish(bad: bytes) -> None:
    p = TextualLengthPrefixedPre()
    out = p.feed(b"2 ok1 a" + bad + b"3 abc")
    assert show(out) == [b"ok", b"a", "FramingError"]
    assert "malformed length header" in str(out[-1])
    assert p.discarded > 0
    assert p.feed(b"3 abc") == []  # no guessing: everything after is discarded...
    assert p.discarded >= len(bad) + 5
    assert p.finish() == []
    assert p.feed(b"3 abc") == [b"abc"]  # ...until the stream ends; a new stream starts clean
    assert p.discarded == 0


def test_textual_malformed_header_byte_by_byte() -> None:
    p = TextualLengthPrefixedPre()
    out: list[Any] = []
    for b in b"1 a12z4 abcd":
        out += p.feed(bytes([b]))
    assert show(out) == [b"a", "FramingError"]


# --- ingest-ns ----------------------------------------------------------------------------------


def test_ingest_ns_prefix_is_the_current_time() -> None:
    import time

    before = time.time_ns()
    [framed] = IngestNsPost().process(b"x")
    after = time.time_ns()
    assert before <= int.from_bytes(framed[:8], "big") <= after
    assert framed[8:] == b"x"


def test_ingest_ns_pre_strips_and_remembers() -> None:
    post = IngestNsPost()
    post._clock = lambda: 0x0102030405060708
    assert post.process(b"ab") == [b"\x01\x02\x03\x04\x05\x06\x07\x08ab"]
    p = IngestNsPre()
    assert p.last_ingest_ns is None
    assert p.feed(b"\x01\x02\x03\x04\x05\x06\x07\x08ab") == [b"ab"]
    assert p.last_ingest_ns == 0x0102030405060708
    assert p.feed(b"\0" * 8) == [b""]
    out = decode_chunks(["length-prefixed", "ingest-ns"], [lp(3) + b"abc" + lp(8) + b"\0" * 7 + b"z"])
    assert show(out) == ["FramingError", b""]


# --- chunk / collect ----------------------------------------------------------------------------


def test_chunk() -> None:
    c = ChunkPost(max_bytes=3)
    assert c.process(b"") == []  # an empty event adds nothing
    assert c.process(b"abc") == [b"abc"]  # exactly full
    with pytest.raises(FrameTooLarge, match="event of 7 bytes exceeds max_bytes 3"):
        c.process(b"abcdefg")  # never split: not sent, reported
    assert c.process(b"a") == []
    assert c.process(b"bc") == [b"abc"]
    assert c.process(b"d") == []
    assert c.process(b"efg") == [b"d"]  # would not fit: held ones go, this one is held
    assert c.finish() == [b"efg"]
    assert c.finish() == []
    with pytest.raises(ConfigError, match="option 'max_bytes' is required"):
        ChunkPost()


def test_collect() -> None:
    c = CollectPost(max_bytes=5)
    assert c.process(b"ab") == []
    assert c.process(b"cd") == []
    assert c.process(b"ef") == [b"abcd"]  # the next would exceed: emit what is held
    assert c.process(b"ghi") == []  # exactly full is held (no early emit, as Tremor)
    assert c.process(b"") == []
    assert c.process(b"toolong") == [b"efghi"]  # the big one is held alone, never split
    assert c.process(b"x") == [b"toolong"]
    assert c.finish() == [b"x"]
    assert c.finish() == []


def test_collect_default_holds_until_finish() -> None:
    c = CollectPost()
    assert c.process(b"a" * 8000) == []
    assert c.process(b"b" * 9000) == []
    assert c.finish() == [b"a" * 8000 + b"b" * 9000]
    assert CollectPost(max_bytes=2).process(b"big") == []  # never an empty chunk


# --- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name", "options", "key"),
    [
        ("pre", "remove-empty", {"x": 1}, "no options"),
        ("pre", "base64", {"padding": True}, "no options"),
        ("post", "base64", {"padding": True}, "no options"),
        ("pre", "ingest-ns", {"x": 1}, "no options"),
        ("post", "ingest-ns", {"x": 1}, "no options"),
        ("pre", "length-prefixed", {"max_length": -1}, "max_length"),
        ("pre", "length-prefixed", {"max_length": "1"}, "max_length"),
        ("pre", "length-prefixed", {"length": 4}, "allowed: max_length"),
        ("post", "length-prefixed", {"max_length": 4}, "no options"),
        ("pre", "textual-length-prefixed", {"max_length": 2.0}, "max_length"),
        ("post", "textual-length-prefixed", {"max_length": 4}, "no options"),
        ("post", "chunk", {"max_bytes": 0}, "max_bytes"),
        ("post", "chunk", {"max_bytes": "8"}, "max_bytes"),
        ("post", "chunk", {"size": 8}, "allowed: max_bytes"),
        ("post", "collect", {"max_bytes": -1}, "max_bytes"),
        ("post", "collect", {"max_bytes": True}, "max_bytes"),
    ],
)
def test_bad_options(kind: str, name: str, options: dict[str, Any], key: str) -> None:
    create = create_preprocessor if kind == "pre" else create_postprocessor
    with pytest.raises(ConfigError, match=key) as info:
        create({"name": name, "config": options})
    assert name in str(info.value)


def test_frame_too_large_is_a_framing_error() -> None:
    [err] = LengthPrefixedPre(max_length=1).feed(lp(2))
    assert isinstance(err, FrameTooLarge) and isinstance(err, FramingError)
