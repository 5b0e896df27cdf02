"""``separate`` pre- and postprocessor: Tremor's tests
(tremor-rs/tremor-runtime ``tremor-interceptor/src/preprocessor/separate.rs``,
``.../postprocessor/separate.rs``, and the separate cases of ``.../preprocessor.rs``)."""

from __future__ import annotations

import pytest
from rxunix.errors import ConfigError
from rxunix.processors.separate import SeparatePost, SeparatePre
from rxunix.registry import create_postprocessor, create_preprocessor

from ._util import show

DIGITS = b"0123456789"


def test_name_and_from_config() -> None:
    # separate.rs (pre): name, from_config
    p = create_preprocessor({"name": "separate", "config": {"separator": "\n", "max_length": 12345, "buffered": False}})
    assert p.name == "separate"
    assert p.feed(b"a\nb") == [b"a", b"b"]  # unbuffered


@pytest.mark.parametrize("kind", ["preprocessor", "postprocessor"])
def test_from_config_invalid_separator(kind: str) -> None:
    # separate.rs (pre and post): from_config_invalid_separator ("abc" is not one byte)
    make = create_preprocessor if kind == "preprocessor" else create_postprocessor
    with pytest.raises(ConfigError, match="separator.*must be exactly one byte"):
        make({"name": "separate", "config": {"separator": "abc"}})


def _simple_split(p: SeparatePre) -> None:
    assert p.feed(b"012345\n0123456789\n") == [b"012345", DIGITS]
    assert p.feed(b"012345") == []
    assert p.feed(b"\n0123456789\n") == [b"012345", DIGITS]


def test1_test2() -> None:
    # separate.rs: test1, test2
    _simple_split(SeparatePre(max_length=10))


def test3_test4() -> None:
    # separate.rs: test3, test4 (a frame completed past max_length is an error; the next chunk works)
    p = SeparatePre(max_length=10)
    _simple_split(p)
    assert p.feed(b"012345") == []
    assert show(p.feed(b"0123456789\n")) == ["FrameTooLarge"]
    assert p.feed(b"012345\n0123456789\n") == [b"012345", DIGITS]
    assert p.finish() == []


def test5_test6() -> None:
    # separate.rs: test5, test6. A fragment growing past max_length is an error at once, as in
    # Tremor. Tremor then takes the bytes up to the next separator ("012345") for a new frame;
    # rxunix deliberately discards them as the rest of the oversize frame and resynchronises
    # at that separator (documented in separate's docstring and docs/tremor.md).
    p = SeparatePre(max_length=10)
    _simple_split(p)
    assert p.feed(b"012345") == []
    assert show(p.feed(b"0123456789")) == ["FrameTooLarge"]
    assert p.feed(b"012345\n0123456789\n") == [DIGITS]  # Tremor: [b"012345", DIGITS]
    assert p.feed(b"012345\n0123456789\n") == [b"012345", DIGITS]
    assert p.finish() == []


def test_non_default_separator() -> None:
    # separate.rs: test_non_default_separator
    assert SeparatePre(separator=b"\0", max_length=10).feed(b"012345\x000123456789\x00") == [b"012345", DIGITS]


def test_empty_data() -> None:
    # separate.rs: test_empty_data, test_empty_data_after_buffer
    assert SeparatePre().feed(b"") == []
    p = SeparatePre()
    assert p.feed(b"a") == [] and p.feed(b"") == []


def test_split_split_split() -> None:
    # separate.rs: test_split_split_split
    p = SeparatePre(max_length=10)
    assert p.feed(b"012345\n0123456789\nabc\n") == [b"012345", DIGITS, b"abc"]
    assert p.finish() == []


def test_split_buffer_split() -> None:
    # separate.rs: test_split_buffer_split, test_split_buffer_split_buffer, test_split_buffer_buffer_split
    p = SeparatePre(max_length=10)
    assert p.feed(b"0123456789\n012345") == [DIGITS]
    assert p.feed(b"\n") == [b"012345"]
    assert p.finish() == []
    p = SeparatePre(max_length=10)
    assert p.feed(b"0123456789\n012345") == [DIGITS]
    assert p.feed(b"\nabc") == [b"012345"]
    assert p.finish() == [b"abc"]
    p = SeparatePre(max_length=10)
    assert p.feed(b"0123456789\n012345") == [DIGITS]
    assert p.feed(b"abc\n") == [b"012345abc"]


def test_leftovers() -> None:
    # separate.rs: test_leftovers
    p = SeparatePre(max_length=10)
    assert p.feed(b"123\n456") == [b"123"]
    assert p.feed(b"7890") == []
    assert p.feed(b"123\n456") == [b"4567890123"]
    assert p.finish() == [b"456"]
    assert p.finish() == []


def test_max_length_unbuffered() -> None:
    # separate.rs: test_max_length_unbuffered (0 = no limit)
    data = bytearray(b"A" * 10000)
    data[9998] = ord("\n")
    p = SeparatePre(max_length=0, buffered=False)
    assert [len(f) for f in p.feed(bytes(data))] == [9998, 1]
    assert p.finish() == []


def test_from_config_len() -> None:
    # separate.rs: from_config_len
    data = bytearray(b"A" * 10000)
    data[9998] = ord("\n")
    p = create_preprocessor({"name": "separate", "config": {"separator": "\n", "max_length": 12345}})
    assert [len(f) for f in p.feed(bytes(data))] == [9998]
    assert [len(f) for f in p.finish()] == [1]


def test_finish_chain_unbuffered() -> None:
    # separate.rs: test_finish_chain_unbuffered. Tremor's finish(Some(b"|")) processes the last
    # chunk and flushes; here the last chunk is fed, then finish() flushes.
    p = SeparatePre(separator="|", max_length=0, buffered=False)
    data = bytearray(b"A" * 100)
    data[89] = ord("|")
    assert [len(f) for f in p.feed(bytes(data))] == [89, 10]
    assert p.feed(b"|") + p.finish() == [b"", b""]


def test_finish_chain_buffered() -> None:
    # separate.rs: test_finish_chain_buffered
    p = SeparatePre(separator="|", max_length=0, buffered=True)
    data = bytearray(b"A" * 100)
    data[89] = ord("|")
    assert [len(f) for f in p.feed(bytes(data))] == [89]
    assert [len(f) for f in p.feed(b"|A") + p.finish()] == [10, 1]


def test_lines() -> None:
    # separate.rs and preprocessor.rs: test_lines (post adds the separator, pre takes the first line)
    enc = SeparatePost().process(b"snot\nbadger")[0]
    assert enc == b"snot\nbadger\n"
    pre = SeparatePre()
    assert pre.feed(enc)[0] == b"snot"
    assert pre.finish() == []


def test_separate_buffered() -> None:
    # separate.rs and preprocessor.rs: test_separate_buffered
    data = b"snot\nbadger\nwombat\ncapybara\nquagga"
    pre = SeparatePre(max_length=1000)
    out = pre.feed(data)
    assert out == data.split(b"\n")[:-1]
    assert out + pre.finish() == data.split(b"\n")


@pytest.mark.parametrize("sep", [b"\n", b"\r"])
@pytest.mark.parametrize(
    ("inbound", "first", "second"),
    [(b"snot%bbadger", b"snot", b"badger"), (b"snot%b", b"snot", b""), (b"%bsnot", b"", b"snot"), (b"%b", b"", b"")],
)
def test_separate_no_buffer_no_maxlength(sep: bytes, inbound: bytes, first: bytes, second: bytes) -> None:
    # separate.rs: test_separate_no_buffer_no_maxlength, test_carriage_return_no_buffer_no_maxlength
    # (a trailing separator ends an empty frame)
    p = SeparatePre(separator=sep, max_length=0, buffered=False)
    assert p.feed(inbound % sep) == [first, second]


def test_separate_postprocessor() -> None:
    # postprocessor/separate.rs: separate_postprocessor, separate_postprocessor_default
    post = create_postprocessor({"name": "separate", "config": {"separator": "|"}})
    assert post.process(b"") == [b"|"] and post.process(b"foob") == [b"foob|"]
    post = create_postprocessor("separate")
    assert post.process(b"") == [b"\n"] and post.process(b"foob") == [b"foob\n"]


def test_unbuffered_oversize_is_reported() -> None:
    # Tremor drops an oversize unbuffered frame silently; rxunix reports it in line (Beyond Tremor)
    p = SeparatePre(max_length=2, buffered=False)
    assert show(p.feed(b"ok\ntoo\nno\n")) == [b"ok", "FrameTooLarge", b"no", b""]
