"""rxunix's exception types: raised (bad configuration, a socket path that cannot be
used), or named as the ``kind`` of an error event on a connector's ``err`` (framing,
codec, routing, slow readers), where failures of the stream go instead of raising."""

from __future__ import annotations

__all__ = [
    "RxUnixError",
    "ConfigError",
    "MissingExtraError",
    "FramingError",
    "FrameTooLarge",
    "CodecError",
    "SocketPathError",
    "UnroutableError",
    "SlowReaderError",
]


class RxUnixError(Exception):
    """Base class of every rxunix error."""


class ConfigError(RxUnixError, ValueError):
    """Bad configuration: names the key and lists what is allowed."""


class MissingExtraError(RxUnixError, ImportError):
    """An optional dependency is missing; the message names the pip extra."""

    def __init__(self, feature: str, module: str, extra: str) -> None:
        super().__init__(
            f"{feature} needs the '{module}' package: pip install 'rxunix[{extra}]'"
        )
        self.feature, self.module, self.extra = feature, module, extra


class FramingError(RxUnixError):
    """A pre/postprocessor could not process the bytes of a stream."""


class FrameTooLarge(FramingError):
    """A frame exceeded the configured limit (``max_length``; ``chunk``'s ``max_bytes``)."""


class CodecError(RxUnixError):
    """A codec could not decode or encode a value."""


class SocketPathError(RxUnixError, OSError):
    """The socket path cannot be used (live socket, regular file, too long...)."""


class UnroutableError(RxUnixError):
    """A reply names no live connection of the server it was pushed into (an ``err``
    event's kind; never raised)."""


class SlowReaderError(RxUnixError):
    """A connection's unsent replies exceeded ``max_pending_bytes``, or were not written
    within a stop's drain (an ``err`` event's kind; never raised)."""


# Public names: tracebacks and reprs say ``rxunix.ConfigError``, the name users import.
for _cls in (RxUnixError, ConfigError, MissingExtraError, FramingError, FrameTooLarge, CodecError,
             SocketPathError, UnroutableError, SlowReaderError):
    _cls.__module__ = "rxunix"
del _cls
