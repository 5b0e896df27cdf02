"""``yaml``: YAML documents (extra ``rxunix[yaml]``), one document per frame.

Decoding uses PyYAML's *safe* loader (the C one when available) with one
change: timestamps stay strings, so decoded values stay JSON-like. Encoding
uses the safe dumper in block style, UTF-8, keys in their original order, and
never folds long strings (PyYAML folds at 80 columns by default; Tremor's
serializer does not, so the bytes match Tremor's for long lines)::

    >>> c = YamlCodec()
    >>> c.decode(b"a: [1, 2.5, on]\\nwhen: 2001-12-14\\n")
    {'a': [1, 2.5, True], 'when': '2001-12-14'}
    >>> c.encode({"b": 1, "a": ["é"]})
    b'b: 1\\na:\\n- \\xc3\\xa9\\n'

An empty frame, several documents in one frame, invalid UTF-8 and YAML
syntax errors are :class:`~rxunix.errors.CodecError`.

A YAML document spans lines and ends with a newline, so frame it by length
(``length-prefixed`` pre- and postprocessors) or send one per datagram; the
line framing ``separate`` cuts a block-style document apart.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from ..config import validate
from ..errors import CodecError, MissingExtraError
from .base import Codec

__all__ = ["YamlCodec"]

_CLASSES: tuple[Any, Any, Any] | None = None
#: Line width given to the emitter: large enough that no string is ever folded.
_NO_FOLD = 2**31 - 1


def _classes() -> tuple[Any, Any, Any]:
    """(module, Loader, Dumper), built once on first use."""
    global _CLASSES
    if _CLASSES is None:
        try:
            import yaml
        except ImportError:
            raise MissingExtraError("codec 'yaml'", "yaml", "yaml") from None
        base_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        base_dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

        class Loader(base_loader):  # type: ignore[misc, valid-type]
            """Safe loader that keeps timestamps as strings."""

        Loader.yaml_implicit_resolvers = {
            first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
            for first, resolvers in base_loader.yaml_implicit_resolvers.items()
        }

        class Dumper(base_dumper):  # type: ignore[misc, valid-type]
            """Safe dumper that also writes read-only mappings (event metadata)."""

        Dumper.add_representer(MappingProxyType, lambda dumper, data: dumper.represent_dict(dict(data)))
        _CLASSES = (yaml, Loader, Dumper)
    return _CLASSES


class YamlCodec(Codec):
    """YAML <-> values (safe load/dump). No options."""

    name = "yaml"

    def __init__(self, **options: Any) -> None:
        validate("yaml", options, {})
        self._yaml, self._loader, self._dumper = _classes()

    def decode(self, data: bytes) -> Any:
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CodecError(f"yaml: invalid UTF-8 at byte {exc.start}") from None
        if not text.strip():
            raise CodecError("yaml: empty frame")
        try:
            return self._yaml.load(text, Loader=self._loader)
        except Exception as exc:  # YAMLError, RecursionError, TypeError (unhashable key)...
            raise CodecError(f"yaml: cannot decode {bytes(data[:40])!r}: {exc}") from None

    def encode(self, value: Any) -> bytes:
        try:
            return self._yaml.dump(  # type: ignore[no-any-return]
                value,
                Dumper=self._dumper,
                allow_unicode=True,
                sort_keys=False,
                default_flow_style=False,
                encoding="utf-8",
                width=_NO_FOLD,
            )
        except Exception as exc:  # RepresenterError, RecursionError...
            raise CodecError(f"yaml: cannot encode {type(value).__name__}: {exc}") from None
