"""``textual-length-prefixed`` pre- and postprocessor: Tremor's tests (tremor-rs/tremor-runtime
``tremor-interceptor/src/preprocessor/textual_length_prefixed.rs``,
``.../postprocessor/textual_length_prefixed.rs``, ``.../preprocessor.rs``)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rxunix.processors.base import Preprocessor
from rxunix.registry import create_postprocessor, create_preprocessor


def pre() -> Preprocessor:
    return create_preprocessor("textual-length-prefixed")


def test_name() -> None:
    # textual_length_prefixed.rs (pre and post): name
    assert pre().name == "textual-length-prefixed"
    assert create_postprocessor("textual-length-prefixed").name == "textual-length-prefixed"


def test_textual_length_prefix_postp() -> None:
    # postprocessor/textual_length_prefixed.rs: textual_length_prefix_postp
    assert create_postprocessor("textual-length-prefixed").process(b"\x01\x02\x03") == [b"3 \x01\x02\x03"]


def test_textual_length_prefix() -> None:
    # textual_length_prefixed.rs and preprocessor.rs: textual_length_prefix
    out = pre().feed(b"42 " + b"O" * 42)
    assert [len(f) for f in out] == [42]


def test_empty_textual_prefix() -> None:
    # textual_length_prefixed.rs and preprocessor.rs: empty_textual_prefix
    p = pre()
    assert p.feed(b"") == []
    encoded = create_postprocessor("textual-length-prefixed").process(b"")[0]
    assert encoded == b"0 "
    assert p.feed(encoded) == [b""]


def test_textual_prefix_length_loop() -> None:
    # textual_length_prefixed.rs and preprocessor.rs: textual_prefix_length_loop (lengths count bytes)
    datas = [
        "24 '?\U000d617eѨR\u202e\U000f8f7c\U000ede29\U000ac78436 ?{¥?MȺ\r\U000bac419\U0005bbbb\r\U0001c46c"
        "\U0004ba79¥\x7f*?:\x00$i",
        "60 %\U000a825a\U000a4269\U00039e0c\U000b3e21<ì\U000f6c20ѨÛ`HW\U0009523fV",
        "\x03\U000605fe%Fq\U00089b5e\U00093780Q3",
        "¥?\ufeff9",
        " '\ufffd2\U0004269b",
    ]
    p = pre()
    out = [f for d in datas for f in p.feed(d.encode())]
    assert [len(f) for f in out] == [24, 36, 60, 9]


@settings(max_examples=200, deadline=None)
@given(strings=st.lists(st.text(min_size=1), min_size=1, max_size=4), data=st.data())
def test_textual_length_prefix_prop(strings: list[str], data: st.DataObject) -> None:
    # textual_length_prefixed.rs and preprocessor.rs: textual_length_prefix_prop (chopped anywhere)
    wire = b"".join(b"%d %s" % (len(s.encode()), s.encode()) for s in strings)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=4)))
    chunks = [wire[a:b] for a, b in zip([0, *cuts], [*cuts, len(wire)], strict=True)]
    p = pre()
    assert [f for c in chunks for f in p.feed(c)] == [s.encode() for s in strings]


@given(length=st.integers(1, 99))
def test_textual_length_pre_post(length: int) -> None:
    # textual_length_prefixed.rs and preprocessor.rs: textual_length_pre_post
    encoded = create_postprocessor("textual-length-prefixed").process(b"\x01" * length)[0]
    assert [len(f) for f in pre().feed(encoded)] == [length]


def test_the_length_ends_at_any_ascii_whitespace_and_may_have_a_plus() -> None:
    # textual_length_prefixed.rs: the header ends at the first `is_ascii_whitespace` byte and its
    # digits are parsed as u32 (which takes one leading "+"); vertical tab is not ASCII whitespace there
    for sep in (b" ", b"\t", b"\n", b"\x0c", b"\r"):
        assert pre().feed(b"3" + sep + b"abc" + b"+2" + sep + b"xy") == [b"abc", b"xy"]
    assert [type(f).__name__ for f in pre().feed(b"3\x0babc")] == ["FramingError"]
    assert [type(f).__name__ for f in pre().feed(b"++3 abc")] == ["FramingError"]


def test_a_plus_and_twenty_digits_is_the_longest_header_in_any_chunking() -> None:
    twenty = b"+" + b"0" * 19 + b"5"
    for chunks in ([twenty + b" hello"], [twenty, b" hello"], [b"+", b"0" * 19, b"5", b" hel", b"lo"]):
        p = pre()
        assert [f for c in chunks for f in p.feed(c)] == [b"hello"]
    for too_long in (b"+" + b"0" * 20 + b"5 hello", b"0" * 20 + b"5 hello", b"+" + b"0" * 21):
        for chunks in ([too_long], [too_long[:10], too_long[10:21], too_long[21:]]):
            p = pre()
            assert [type(f).__name__ for c in chunks for f in p.feed(c)] == ["FramingError"]
