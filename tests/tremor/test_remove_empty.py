"""``remove-empty`` preprocessor: Tremor's tests (tremor-rs/tremor-runtime
``tremor-interceptor/src/preprocessor/remove_empty.rs``, ``.../preprocessor.rs``)."""

from __future__ import annotations

import json

from rxunix.framing import DecoderFactory
from rxunix.registry import create_preprocessor

from ._util import upstream


def test_remove_empty() -> None:
    # remove_empty.rs: name, test_remove_empty
    pre = create_preprocessor("remove-empty")
    assert pre.name == "remove-empty"
    assert pre.feed(b"snot badger") == [b"snot badger"]
    assert pre.feed(b"") == []


def test_filter_empty() -> None:
    # preprocessor.rs: test_filter_empty, test_filter_null
    pre = create_preprocessor("remove-empty")
    assert pre.feed(b"") == []
    assert pre.finish() == []


def test_empty_line_fixture() -> None:
    # tremor-cli/tests/integration/empty-line: blank lines between JSON documents are dropped
    data = upstream("_tremor_integration_data")
    dec = DecoderFactory(["separate", "remove-empty"], "json")()
    values = dec.feed(b"\n".join(data.EMPTY_LINE_IN) + b"\n") + dec.finish()
    assert len(values) == len(data.EMPTY_LINE_EXPECTED) == 3
    assert values == [json.loads(line) for line in data.EMPTY_LINE_EXPECTED]
