"""Looking components up by Tremor's names: Tremor's tests (tremor-rs/tremor-runtime
``tremor-interceptor/src/preprocessor.rs`` test_lookup, ``.../postprocessor.rs`` test_lookup_*)."""

from __future__ import annotations

import pytest
from rxunix.errors import ConfigError
from rxunix.registry import create_codec, create_postprocessor, create_preprocessor, names

PRE = ["separate", "base64", "decompress", "remove-empty", "gelf-chunking", "ingest-ns", "length-prefixed",
       "textual-length-prefixed"]  # fmt: skip
POST = ["separate", "ingest-ns", "collect", "gelf-chunking", "base64", "length-prefixed", "textual-length-prefixed"]
CODECS = ["json", "string", "binary", "msgpack", "yaml", "csv", "influx", "binflux", "statsd", "dogstatsd", "syslog",
          "null"]  # fmt: skip


@pytest.mark.parametrize("name", PRE)
def test_lookup_preprocessors(name: str) -> None:
    # preprocessor.rs: test_lookup (every name of LOOKUP_TABLE, by name alone)
    assert create_preprocessor(name).name == name


@pytest.mark.parametrize("name", POST)
def test_lookup_postprocessors(name: str) -> None:
    # postprocessor.rs: test_lookup_separate, test_lookup_ingest_ns, test_lookup_collect, test_lookup_gelf,
    # test_lookup_base64, test_lookup_length_prefix (chunk, compress, stream-compress need a config: see their files)
    assert create_postprocessor(name).name == name


@pytest.mark.parametrize("name", CODECS)
def test_lookup_codecs(name: str) -> None:
    assert create_codec(name).name == name


def test_every_tremor_name_is_registered() -> None:
    assert set(PRE) <= set(names("preprocessor"))
    assert set(POST) | {"chunk", "compress", "stream-compress"} <= set(names("postprocessor"))
    assert set(CODECS) <= set(names("codec"))


@pytest.mark.parametrize("name", ["snot", "bad_lookup"])
def test_lookup_errors(name: str) -> None:
    # preprocessor.rs: test_lookup; postprocessor.rs: test_lookup_errors
    for make in (create_preprocessor, create_postprocessor, create_codec):
        with pytest.raises(ConfigError, match="unknown name"):
            make(name)
