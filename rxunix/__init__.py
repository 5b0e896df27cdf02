"""rxunix: reactive stream processing over UNIX domain sockets.

Servers and clients are ReactiveX observables running on gevent greenlets;
framing, codecs and pipelines are Rx operators; replies find their way back to
the connection(s) their data came from through origin metadata.

    >>> import rxunix
    >>> server = rxunix.unix_socket_server(config={"path": "/tmp/rx-doc.sock"},
    ...                                    preprocessors=["separate"], postprocessors=["separate"])
    >>> subscription = server.out.subscribe(server.in_)   # echo
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    CodecError,
    ConfigError,
    FrameTooLarge,
    FramingError,
    MissingExtraError,
    RxUnixError,
    SocketPathError,
)
from .event import ErrorEvent, Event, error_event, map_value
from .framing import Decoder, DecoderFactory, Encoder, EncoderFactory
from .origin import CLIENT, SERVER, aggregate, merge_origins
from .registry import (
    create_codec,
    create_postprocessor,
    create_preprocessor,
    register_codec,
    register_postprocessor,
    register_preprocessor,
)
from .runtime import LocalRuntime, ThreadRuntime, get_runtime, set_runtime

__version__ = "0.1.0"

__all__ = [
    "CLIENT",
    "SERVER",
    "CodecError",
    "ConfigError",
    "Decoder",
    "DecoderFactory",
    "Encoder",
    "EncoderFactory",
    "ErrorEvent",
    "Event",
    "FrameTooLarge",
    "FramingError",
    "LocalRuntime",
    "MissingExtraError",
    "RxUnixError",
    "SocketPathError",
    "ThreadRuntime",
    "aggregate",
    "connect",
    "create_codec",
    "create_postprocessor",
    "create_preprocessor",
    "error_event",
    "get_runtime",
    "map_value",
    "merge_origins",
    "register_codec",
    "register_postprocessor",
    "register_preprocessor",
    "set_runtime",
    "unix_socket_client",
    "unix_socket_server",
    "UnixSocketServer",
    "UnixSocketClient",
]

# Connectors are imported on first use, so that ``import rxunix`` stays light.
_LAZY = {
    "connect": ".connectors.flowctl",
    "unix_socket_server": ".connectors.server",
    "UnixSocketServer": ".connectors.server",
    "unix_socket_client": ".connectors.client",
    "UnixSocketClient": ".connectors.client",
}

if TYPE_CHECKING:
    from .connectors.client import UnixSocketClient, unix_socket_client
    from .connectors.flowctl import connect
    from .connectors.server import UnixSocketServer, unix_socket_server


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rxunix' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
