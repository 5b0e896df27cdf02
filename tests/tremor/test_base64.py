"""``base64`` pre- and postprocessor: Tremor's tests (tremor-rs/tremor-runtime
``tremor-interceptor/src/preprocessor/base64.rs``, ``.../postprocessor/base64.rs``, ``.../preprocessor.rs``)."""

from __future__ import annotations

import base64
import json

from rxunix.framing import DecoderFactory, EncoderFactory
from rxunix.registry import create_postprocessor, create_preprocessor

from ._util import show, upstream


def test_base64() -> None:
    # base64.rs and preprocessor.rs: name, test_base64
    post, pre = create_postprocessor("base64"), create_preprocessor("base64")
    assert post.name == "base64"
    enc = post.process(b"snot badger")[0]
    assert enc == b"c25vdCBiYWRnZXI="
    assert pre.feed(enc) == [b"snot badger"]
    assert pre.finish() == []


def test_invalid_input_is_an_error_in_line() -> None:
    # Tremor's pre fails the call on bad base64; rxunix reports it in line
    assert show(create_preprocessor("base64").feed(b"not base64!")) == ["FramingError"]


def test_udp_postprocessors_fixture() -> None:
    # tremor-cli/tests/integration/udp-postprocessors: yaml events, base64'd, one per line
    data = upstream("_tremor_integration_data")
    enc = EncoderFactory("yaml", ["base64", "separate"])()
    wire = b"".join(enc.encode(json.loads(line)) for line in data.UDP_POST_IN)
    assert wire.split(b"\n")[:-1] == data.UDP_POST_EXPECTED  # byte for byte, as Tremor wrote it
    dec = DecoderFactory(["separate", "base64"], "yaml")()
    assert dec.feed(wire) == [json.loads(line) for line in data.UDP_POST_IN]
    assert base64.b64decode(data.UDP_POST_EXPECTED[0]).startswith(b"about: Pariatur")
