"""``gelf-chunking`` pre- and postprocessor: Tremor's tests (tremor-rs/tremor-runtime
``tremor-interceptor/src/preprocessor/gelf_chunking.rs`` and ``.../postprocessor/gelf_chunking.rs``),
then chunks out of order, expiry, and a stream over ``length-prefixed``."""

from __future__ import annotations

import gzip
import json

import pytest
from rxunix.errors import FramingError
from rxunix.processors.gelf import GelfChunkingPost, GelfChunkingPre
from rxunix.registry import create_postprocessor, create_preprocessor

from ..test_proc_conformance import decode_chunks, encode_stream
from ._util import show


def chunk(mid: int, seq: int, count: int, piece: bytes) -> bytes:
    return b"\x1e\x0f" + mid.to_bytes(8, "big") + bytes((seq, count)) + piece


def test_gelf_chunking_default() -> None:
    # preprocessor/gelf_chunking.rs: gelf_chunking_default (an unchunked JSON message passes)
    g = create_preprocessor("gelf-chunking")
    assert g.feed(b'{"snot": "badger"}') == [b'{"snot": "badger"}']


@pytest.mark.parametrize(("frame", "ok"), [(b"", False), (b"{", False), (b"{}", True), (b'{"snot": "badger"}', True)])
def test_bad_len(frame: bytes, ok: bool) -> None:
    # preprocessor/gelf_chunking.rs: bad_len (beyond Tremor, the error is in line, not a failed call)
    out = GelfChunkingPre().feed(frame)
    assert out == [frame] if ok else show(out) == ["FramingError"]


def test_simple_encode_decode() -> None:
    # postprocessor/gelf_chunking.rs: simple_encode_decode (20-byte chunks carry 8 bytes each)
    data = bytes(range(20))
    encoder = GelfChunkingPost(chunk_size=20)
    decoder = GelfChunkingPre()
    encoded = encoder.process(data)
    assert len(encoded) == 3
    assert decoder.feed(encoded[0]) == []
    assert decoder.feed(encoded[1]) == []
    assert decoder.feed(encoded[2]) == [data]


def test_name_and_default_size() -> None:
    # postprocessor/gelf_chunking.rs: name; Tremor's fixed chunk size is 8192 (12 of them header)
    post = create_postprocessor("gelf-chunking")
    assert post.name == "gelf-chunking"
    out = post.process(b"x" * 8180 + b"y")
    assert [len(c) for c in out] == [8192, 13]
    assert out[0][:12] == chunk(0, 0, 2, b"") and out[1][:12] == chunk(0, 1, 2, b"")
    assert post.process(b"z")[0][:12] == chunk(1, 0, 1, b"")  # the id counts messages


def test_too_many_chunks() -> None:
    # postprocessor/gelf_chunking.rs: ChunkCount error above 128 chunks
    post = GelfChunkingPost(chunk_size=13)
    assert len(post.process(b"x" * 128)) == 128
    with pytest.raises(FramingError, match="maximum number of chunks is 128"):
        post.process(b"x" * 129)


def test_out_of_order_interleaved_and_wayfair() -> None:
    pre = GelfChunkingPre()
    assert pre.feed(chunk(7, 1, 2, b"world")) == []
    assert pre.feed(chunk(8, 0, 2, b"A")) == []
    assert pre.feed(b"\x1f\x3c{}") == [b"{}"]  # Wayfair's unchunked header is stripped
    assert pre.feed(chunk(7, 0, 2, b"hello ")) == [b"hello world"]
    assert pre.feed(chunk(8, 1, 2, b"B")) == [b"AB"]
    assert pre.feed(chunk(9, 5, 1, b"single")) == [b"single"]  # a count of 1 is a whole message


def test_errors_in_line() -> None:
    # beyond Tremor (which logs and drops): what is dropped is reported where it happened
    pre = GelfChunkingPre()
    assert show(pre.feed(chunk(1, 3, 2, b"x"))) == ["FramingError"]  # out of range
    assert pre.feed(chunk(2, 0, 3, b"a")) == []
    assert show(pre.feed(chunk(2, 0, 3, b"a"))) == ["FramingError"]  # duplicate: the message is dropped
    assert pre.feed(chunk(2, 1, 3, b"b")) == []  # starts anew
    assert show(pre.feed(b"\x00\x01junk")) == ["FramingError"]


def test_incomplete_messages_expire() -> None:
    # preprocessor/gelf_chunking.rs: enqueue (incomplete messages go after 5 to 10 seconds)
    now = [0]
    pre = GelfChunkingPre()
    pre.clock = lambda: now[0]
    pre._last_swap = 0  # the test clock starts at 0
    assert pre.feed(chunk(1, 0, 2, b"a")) == []
    now[0] = 6_000_000_000
    assert pre.feed(chunk(1, 1, 2, b"b")) == [b"ab"]  # one swap: still found in the previous table
    assert pre.feed(chunk(2, 0, 2, b"c")) == []
    now[0] = 12_000_000_000
    assert pre.feed(b"{}") == [b"{}"]  # swap: message 2 is now in the previous table
    now[0] = 18_000_000_000
    out = pre.feed(chunk(2, 1, 2, b"d"))
    assert show(out[:1]) == ["FramingError"] and "expired with 1 of 2 chunks" in str(out[0])
    assert out[1:] == []  # the late chunk starts a new, incomplete message


def test_gelf_messages_over_a_stream() -> None:
    # GELF's documented use: gzip'd JSON, chunked, here framed with length-prefixed over a stream
    messages = [gzip.compress(json.dumps({"version": "1.1", "host": "h", "short_message": "m" * n}).encode())
                for n in (1, 500, 3000)]  # fmt: skip
    stream = encode_stream([{"name": "gelf-chunking", "config": {"chunk_size": 100}}, "length-prefixed"], messages)
    assert decode_chunks(["length-prefixed", "gelf-chunking"], [stream]) == messages
    byte_by_byte = [stream[i : i + 1] for i in range(len(stream))]
    assert decode_chunks(["length-prefixed", "gelf-chunking", "decompress"], byte_by_byte) == [
        gzip.decompress(m) for m in messages
    ]


def test_incomplete_messages_are_bounded_by_max_length_oldest_dropped_first() -> None:
    # a message costs its pieces plus 100 + 8 bytes per chunk slot (116 for two chunks)
    g = GelfChunkingPre(max_length=1000)
    assert g.feed(chunk(1, 0, 2, b"a" * 500)) == []  # 616
    assert g.feed(chunk(2, 0, 2, b"b" * 200)) == []  # 316
    out = g.feed(chunk(3, 0, 2, b"c" * 200))  # 1248 > 1000: message 1, the oldest, goes
    assert [type(f).__name__ for f in out] == ["FramingError"] and "0x1 dropped incomplete" in str(out[0])
    assert g.feed(chunk(2, 1, 2, b"B")) == [b"b" * 200 + b"B"]  # the others are whole
    out = g.feed(chunk(4, 0, 2, b"d" * 1000))  # a message that alone would not fit: nothing else goes
    assert [str(f) for f in out] == ["gelf-chunking: message 0x4 would hold more than max_length 1000 bytes; "
                                     "dropped"]
    assert g.feed(chunk(3, 1, 2, b"C")) == [b"c" * 200 + b"C"]
    assert [type(f).__name__ for f in g.feed(chunk(5, 0, 129, b"x"))] == ["FramingError"]  # GELF: at most 128


def test_a_message_that_outgrows_max_length_is_dropped_alone() -> None:
    g = GelfChunkingPre(max_length=1000)
    assert g.feed(chunk(1, 0, 2, b"a" * 500)) == []
    out = g.feed(chunk(1, 1, 2, b"a" * 600))  # 616 + 600 > 1000
    assert [type(f).__name__ for f in out] == ["FramingError"] and g._held == 0
    assert g.finish() == []


def test_header_only_chunks_count_against_max_length() -> None:
    g = GelfChunkingPre(max_length=1 << 20)
    for i in range(20000):  # 12-byte chunks announcing 128 slots each
        g.feed(chunk(i, 0, 128, b""))
    held = len(g._current) + len(g._previous)
    assert g._held <= 1 << 20 and held == (1 << 20) // (100 + 8 * 128)


def test_messages_incomplete_at_the_end_are_reported() -> None:
    g = GelfChunkingPre()
    g.feed(chunk(7, 0, 3, b"x"))
    (err,) = g.finish()
    assert isinstance(err, FramingError) and "incomplete at the end of the stream, with 1 of 3" in str(err)
    assert g.finish() == []


def test_many_partial_messages_hold_at_most_max_length() -> None:
    g = GelfChunkingPre(max_length=1 << 20)  # a flood of first chunks, never completed
    errors = sum(len(g.feed(chunk(i, 0, 2, b"z" * 8000))) for i in range(2000))
    held = len(g._current) + len(g._previous)
    assert held == (1 << 20) // (8000 + 116) and errors == 2000 - held  # every dropped one reported


def test_a_chunk_numbered_at_its_count_is_out_of_range() -> None:
    """Sequence numbers run from 0 to count - 1: chunk 2 of 2 is an error in line (not an IndexError)."""
    pre = GelfChunkingPre()
    assert show(pre.feed(chunk(1, 2, 2, b"x"))) == ["FramingError"]
    assert pre.feed(chunk(1, 0, 2, b"a")) == [] and pre.feed(chunk(1, 1, 2, b"b")) == [b"ab"]  # and it goes on


def test_a_duplicate_chunk_drops_its_message_so_the_rest_makes_nothing() -> None:
    pre = GelfChunkingPre()
    assert pre.feed(chunk(2, 0, 3, b"a")) == []
    assert show(pre.feed(chunk(2, 0, 3, b"a"))) == ["FramingError"]
    assert pre.feed(chunk(2, 1, 3, b"b")) == []  # a new message: the dropped one's chunk 0 is not in it
    assert pre.feed(chunk(2, 2, 3, b"c")) == []  # (the mixed "abc" is never emitted)
    (err,) = pre.finish()
    assert "with 2 of 3" in str(err)


def test_expired_messages_give_their_bytes_back_to_max_length() -> None:
    now = [0]
    pre = GelfChunkingPre(max_length=1000)
    pre.clock = lambda: now[0]
    pre._last_swap = 0
    assert pre.feed(chunk(1, 0, 2, b"a" * 500)) == [] and pre._held > 0
    for step in (1, 2, 3):  # two swaps: the message expires
        now[0] = step * 6_000_000_000
        pre.feed(b"{}")
    assert pre._held == 0
    assert pre.feed(chunk(2, 0, 2, b"b" * 800)) == []  # room for it: nothing else is dropped
    assert pre.feed(chunk(2, 1, 2, b"B")) == [b"b" * 800 + b"B"]
