"""One registry from Tremor's names to the pure pre/postprocessors and codecs.

A *spec* is what a user writes in a connector configuration: a name
(``"separate"``), a dict ``{"name": "separate", "config": {"max_length": 100}}``
exactly as in Tremor, or (in code) a ready factory. Specs are checked eagerly,
so a bad name or option fails at construction, naming the key::

    >>> create_preprocessor({"name": "separate", "config": {"separator": "|"}}).feed(b"a|b")
    [b'a']
    >>> create_codec("jsn")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rxunix.ConfigError: codec: unknown name 'jsn'; allowed: binary, binflux, csv, ...

Users add their own under a new name::

    >>> from rxunix.core.codecs.base import Codec
    >>> class Upper(Codec):
    ...     def decode(self, data): return data.decode().upper()
    ...     def encode(self, value): return value.lower().encode()
    >>> register_codec("upper", Upper)
    >>> create_codec("upper").decode(b"hi")
    'HI'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from .codecs.base import Codec
from .errors import ConfigError
from .processors.base import Postprocessor, Preprocessor

__all__ = [
    "Spec",
    "register_preprocessor",
    "register_postprocessor",
    "register_codec",
    "create_preprocessor",
    "create_postprocessor",
    "create_codec",
    "preprocessor_factory",
    "postprocessor_factory",
    "codec_factory",
    "names",
    "builtin_names",
]

Kind = Literal["preprocessor", "postprocessor", "codec"]
#: A name, a ``{"name": ..., "config": {...}}`` dict, or a zero-argument factory.
Spec = str | Mapping[str, Any] | Callable[[], Any]

_P = "rxunix.core.processors."
_C = "rxunix.core.codecs."

# Built-ins are named lazily ("module:attr") so optional dependencies are only
# imported when used.
_REGISTRY: dict[str, dict[str, Any]] = {
    "preprocessor": {
        "separate": _P + "separate:SeparatePre",
        "remove-empty": _P + "remove_empty:RemoveEmptyPre",
        "base64": _P + "b64:Base64Pre",
        "decompress": _P + "compression:DecompressPre",
        "length-prefixed": _P + "length_prefixed:LengthPrefixedPre",
        "textual-length-prefixed": _P + "length_prefixed:TextualLengthPrefixedPre",
        "ingest-ns": _P + "ingest_ns:IngestNsPre",
        "gelf-chunking": _P + "gelf:GelfChunkingPre",
    },
    "postprocessor": {
        "separate": _P + "separate:SeparatePost",
        "base64": _P + "b64:Base64Post",
        "compress": _P + "compression:CompressPost",
        "length-prefixed": _P + "length_prefixed:LengthPrefixedPost",
        "textual-length-prefixed": _P + "length_prefixed:TextualLengthPrefixedPost",
        "chunk": _P + "chunking:ChunkPost",
        "collect": _P + "chunking:CollectPost",
        "ingest-ns": _P + "ingest_ns:IngestNsPost",
        "gelf-chunking": _P + "gelf:GelfChunkingPost",
        "stream-compress": _P + "stream_compress:StreamCompressPost",
    },
    "codec": {
        "json": _C + "json_codec:JsonCodec",
        "string": _C + "text:StringCodec",
        "binary": _C + "text:BinaryCodec",
        "msgpack": _C + "msgpack_codec:MsgpackCodec",
        "yaml": _C + "yaml_codec:YamlCodec",
        "csv": _C + "csv_codec:CsvCodec",
        "influx": _C + "influx:InfluxCodec",
        "statsd": _C + "statsd:StatsdCodec",
        "syslog": _C + "syslog:SyslogCodec",
        "dogstatsd": _C + "dogstatsd:DogStatsdCodec",
        "binflux": _C + "binflux:BinfluxCodec",
        "null": _C + "text:NullCodec",
    },
}

#: The names rxunix provides, as shipped (the registry itself also holds user registrations).
_BUILTIN: dict[str, frozenset[str]] = {kind: frozenset(entries) for kind, entries in _REGISTRY.items()}

_BASES: dict[str, type] = {
    "preprocessor": Preprocessor,
    "postprocessor": Postprocessor,
    "codec": Codec,
}


def names(kind: Kind) -> list[str]:
    """The registered names of one kind, sorted."""
    return sorted(_REGISTRY[kind])


def builtin_names(kind: Kind) -> list[str]:
    """The names rxunix itself provides for one kind (not those registered since), sorted."""
    return sorted(_BUILTIN[kind])


def _register(kind: Kind, name: str, factory: Callable[..., Any], replace: bool) -> None:
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{kind}: a name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise ConfigError(f"{kind} {name!r}: factory must be callable, got {factory!r}")
    if name in _REGISTRY[kind] and not replace:
        raise ConfigError(f"{kind} {name!r} is already registered (pass replace=True to override)")
    _REGISTRY[kind][name] = factory


def register_preprocessor(name: str, factory: Callable[..., Preprocessor], *, replace: bool = False) -> None:
    """Register a preprocessor class/factory, called with the config as keyword arguments."""
    _register("preprocessor", name, factory, replace)


def register_postprocessor(name: str, factory: Callable[..., Postprocessor], *, replace: bool = False) -> None:
    """Register a postprocessor class/factory, called with the config as keyword arguments."""
    _register("postprocessor", name, factory, replace)


def register_codec(name: str, factory: Callable[..., Codec], *, replace: bool = False) -> None:
    """Register a codec class/factory, called with the config as keyword arguments."""
    _register("codec", name, factory, replace)


def _resolve(kind: Kind, name: str) -> Callable[..., Any]:
    entry = _REGISTRY[kind].get(name)
    if entry is None:
        raise ConfigError(f"{kind}: unknown name {name!r}; allowed: {', '.join(names(kind))}")
    if isinstance(entry, str):
        module, attr = entry.split(":")
        entry = getattr(importlib.import_module(module), attr)
        _REGISTRY[kind][name] = entry
    return entry  # type: ignore[no-any-return]


def _parse(kind: Kind, spec: Spec) -> tuple[str, Callable[..., Any], dict[str, Any]]:
    if isinstance(spec, str):
        return spec, _resolve(kind, spec), {}
    if isinstance(spec, Mapping):
        extra = set(spec) - {"name", "config"}
        if extra or "name" not in spec:
            raise ConfigError(
                f"{kind}: a spec dict takes keys 'name' (required) and 'config', got {sorted(spec)}"
            )
        name = spec["name"]
        if not isinstance(name, str):
            raise ConfigError(f"{kind}: 'name' must be a string, got {name!r}")
        config = spec.get("config")
        config = {} if config is None else config
        if not isinstance(config, Mapping):
            raise ConfigError(f"{kind} {name!r}: 'config' must be a dict, got {type(config).__name__}")
        return name, _resolve(kind, name), dict(config)
    if callable(spec):
        return getattr(spec, "__name__", repr(spec)), spec, {}
    raise ConfigError(
        f"{kind}: expected a name, a {{'name': ..., 'config': {{...}}}} dict or a factory, got {spec!r}"
    )


def _factory(kind: Kind, spec: Spec) -> Callable[[], Any]:
    name, factory, config = _parse(kind, spec)

    def make() -> Any:
        try:
            obj = factory(**config)
        except ConfigError:
            raise
        except TypeError as exc:
            raise ConfigError(f"{kind} {name!r}: bad config {config!r}: {exc}") from None
        if not isinstance(obj, _BASES[kind]) and not _quacks(kind, obj):
            raise ConfigError(f"{kind} {name!r}: factory returned {obj!r}, not a {kind}")
        return obj

    make()  # validate now, fail at construction
    return make


def _quacks(kind: Kind, obj: Any) -> bool:
    needed = {"preprocessor": ("feed",), "postprocessor": ("process",), "codec": ("decode", "encode")}
    return all(callable(getattr(obj, m, None)) for m in needed[kind])


def preprocessor_factory(spec: Spec) -> Callable[[], Preprocessor]:
    """A validated zero-argument factory of fresh preprocessor instances."""
    return _factory("preprocessor", spec)


def postprocessor_factory(spec: Spec) -> Callable[[], Postprocessor]:
    """A validated zero-argument factory of fresh postprocessor instances."""
    return _factory("postprocessor", spec)


def codec_factory(spec: Spec) -> Callable[[], Codec]:
    """A validated zero-argument factory of fresh codec instances."""
    return _factory("codec", spec)


def create_preprocessor(spec: Spec) -> Preprocessor:
    """One preprocessor instance from a spec."""
    return preprocessor_factory(spec)()


def create_postprocessor(spec: Spec) -> Postprocessor:
    """One postprocessor instance from a spec."""
    return postprocessor_factory(spec)()


def create_codec(spec: Spec) -> Codec:
    """One codec instance from a spec."""
    return codec_factory(spec)()


def spec_list(kind: Kind, specs: Sequence[Spec] | None) -> list[Callable[[], Any]]:
    """Validate a list of specs (``None`` = empty) into factories."""
    if specs is None:
        return []
    if isinstance(specs, (str, bytes)) or not isinstance(specs, Sequence):
        raise ConfigError(f"{kind}s: expected a list of names or {{'name', 'config'}} dicts, got {specs!r}")
    return [_factory(kind, s) for s in specs]
