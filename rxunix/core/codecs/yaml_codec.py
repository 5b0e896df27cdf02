"""``yaml``: YAML documents (extra ``rxunix[yaml]``), one document per frame.

Plain scalars are read as Tremor's serde_yaml 0.9 reads them (YAML 1.2), not
as PyYAML's YAML 1.1: null is ``~``, ``null``, ``Null``, ``NULL`` or nothing;
booleans are ``true``/``True``/``TRUE`` and ``false``/``False``/``FALSE`` only
(``on``, ``yes``, ``y`` stay strings); integers are decimal, ``0x``, ``0o`` or
``0b``, with no ``_`` and no leading zero (``0123`` stays a string); floats are
what Rust parses (``1e5``, ``.5``, ``-2.``) and ``.inf``/``.nan``; a number
too large for a float, timestamps and sexagesimal ``1:20`` stay strings; ``<<``
is an ordinary key (no merging). Decoding uses PyYAML's *safe* loader (the C
one when available) with those rules. Encoding uses the safe dumper with the
same rules (a string is quoted when it would read back as something else), in
block style, UTF-8, keys in their original order, never folding long strings
(PyYAML folds at 80 columns by default; Tremor's serializer does not)::

    >>> c = YamlCodec()
    >>> c.decode(b"a: [1, 2.5, on, 0o17, 1e3]\\nwhen: 2001-12-14\\nn: 0123\\n")
    {'a': [1, 2.5, 'on', 15, 1000.0], 'when': '2001-12-14', 'n': '0123'}
    >>> c.encode({"b": 1, "a": ["é", "on", "1e3"]})
    b"b: 1\\na:\\n- \\xc3\\xa9\\n- on\\n- '1e3'\\n"

Floats are written by PyYAML (``1.0e+16``, where serde_yaml writes ``1e16``)
and strings with line breaks in quoted style (serde_yaml uses a literal
block): either reads back to the same value.

An empty frame, several documents in one frame, invalid UTF-8 and YAML
syntax errors are :class:`~rxunix.core.errors.CodecError`.

A YAML document spans lines and ends with a newline, so frame it by length
(``length-prefixed`` pre- and postprocessors) or send one per datagram; the
line framing ``separate`` cuts a block-style document apart.
"""

from __future__ import annotations

import math
import re
from types import MappingProxyType
from typing import Any

from ..config import validate
from ..errors import CodecError, MissingExtraError
from .base import Codec

__all__ = ["YamlCodec"]

_CLASSES: tuple[Any, Any, Any] | None = None
#: How many times the values a document spells out its aliases may expand to (see ``_check_aliases``).
ALIAS_EXPANSION = 100
_ALIAS_FLOOR = 100_000  # a small document may always expand to this many
#: Line width given to the emitter: large enough that no string is ever folded.
_NO_FOLD = 2**31 - 1

_INT = re.compile(r"^(?:[-+]?0x[0-9a-fA-F]+|[-+]?0o[0-7]+|[-+]?0b[01]+|[-+]?(?:0|[1-9][0-9]*))$")
_FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9]+\.[0-9]*(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?
                        |[0-9]+[eE][-+]?[0-9]+)
                     |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""", re.X)
#: serde_yaml 0.9's plain scalars: (tag, regexp, first characters).
_RESOLVERS: list[tuple[str, re.Pattern[str], list[str]]] = [
    ("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")),
    ("tag:yaml.org,2002:int", _INT, list("-+0123456789")),
    ("tag:yaml.org,2002:float", _FLOAT, list("-+.0123456789")),
]


def _check_aliases(root: Any) -> None:
    """Refuse a document whose aliases make it stand for more than
    :data:`ALIAS_EXPANSION` times the values it spells out (a "billion laughs": 300
    bytes that stand for 10**9 values), or refer to a value that holds them, so that
    no one downstream walks them. serde_yaml (Tremor) has a limit of the same kind."""
    sizes: dict[int, int] = {}  # values a node stands for, aliases expanded
    spelled = 1  # values written in the document (an alias counts as one)
    stack: list[tuple[Any, list[Any] | None]] = [(root, None)]  # (node, its children once they are pushed)
    open_: set[int] = set()
    while stack:
        node, kids = stack.pop()
        key = id(node)
        if kids is not None:  # its children are done
            open_.discard(key)
            sizes[key] = 1 + sum(sizes[id(n)] for n in kids)
            continue
        if key in sizes:
            continue
        if key in open_:
            raise CodecError("yaml: an alias refers to a value that holds it (a recursive value)")
        open_.add(key)
        kids = [] if isinstance(node.value, str) else [n for kid in node.value
                                                        for n in (kid if isinstance(kid, tuple) else (kid,))]
        stack.append((node, kids))
        spelled += len(kids)
        stack.extend((n, None) for n in kids)
    if sizes[id(root)] > ALIAS_EXPANSION * spelled + _ALIAS_FLOOR:
        raise CodecError(f"yaml: its aliases stand for more than {ALIAS_EXPANSION} times the values it spells out")


def _construct_int(loader: Any, node: Any) -> Any:
    text = loader.construct_scalar(node)
    body = text.lstrip("+-")
    sign = -1 if text.startswith("-") else 1
    base = {"0x": 16, "0o": 8, "0b": 2}.get(body[:2])
    return sign * int(body[2:], base) if base else int(text)


def _construct_float(loader: Any, node: Any) -> Any:
    text = loader.construct_scalar(node)
    special = {".inf": math.inf, ".nan": math.nan}.get(text.lstrip("+-").lower())
    if special is not None:
        return -special if text.startswith("-") else special
    value = float(text)
    return value if math.isfinite(value) else text  # too large for a float: a string, as serde_yaml


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
            """Safe loader with serde_yaml 0.9's (YAML 1.2) plain scalars."""

        class Dumper(base_dumper):  # type: ignore[misc, valid-type]
            """Safe dumper with the same scalars; also writes read-only mappings (event metadata)."""

        for cls in (Loader, Dumper):
            cls.yaml_implicit_resolvers = {}
            for tag, regexp, first in _RESOLVERS:
                cls.add_implicit_resolver(tag, regexp, first)
        Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
        Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)
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
        loader = None
        try:
            loader = self._loader(text)  # (the pure-Python reader checks the characters here)
            node = loader.get_single_node()
            if node is None:
                return None
            _check_aliases(node)
            return loader.construct_document(node)
        except CodecError:
            raise
        except Exception as exc:  # YAMLError, RecursionError, TypeError (unhashable key)...
            raise CodecError(f"yaml: cannot decode {bytes(data[:40])!r}: {exc}") from None
        finally:
            if loader is not None:
                loader.dispose()

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
