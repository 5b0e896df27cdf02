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

from . import _aliases
from ._version import __version__

_aliases.install()  # old module paths (rxunix.codecs, rxunix.connectors, ...) keep working

# ruff: noqa: E402
from .core.errors import (
    CodecError,
    ConfigError,
    FrameTooLarge,
    FramingError,
    MissingExtraError,
    RxUnixError,
    SlowReaderError,
    SocketPathError,
    UnroutableError,
)
from .core.event import ErrorEvent, Event, error_event, map_value
from .core.framing import Decoder, DecoderFactory, Encoder, EncoderFactory
from .core.origin import CLIENT, SERVER, aggregate, merge_origins
from .core.registry import (
    create_codec,
    create_postprocessor,
    create_preprocessor,
    register_codec,
    register_postprocessor,
    register_preprocessor,
)
from .edge.runtime import LocalRuntime, ThreadRuntime, get_runtime, set_runtime
from .notebook import html as _html  # noqa: F401  (registers rich display)

__all__ = [
    "__version__",
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
    "SlowReaderError",
    "SocketPathError",
    "UnroutableError",
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
    "set_gc_pause",
    "set_runtime",
    "unix_socket_client",
    "unix_socket_server",
    "UnixSocketServer",
    "UnixSocketClient",
    "unix_datagram_server",
    "unix_datagram_client",
    "UnixDatagramServer",
    "UnixDatagramClient",
]

from .edge.client import UnixSocketClient, unix_socket_client
from .edge.dgram_client import UnixDatagramClient, unix_datagram_client
from .edge.dgram_server import UnixDatagramServer, unix_datagram_server
from .edge.flowctl import connect
from .edge.gcpause import set_gc_pause
from .edge.server import UnixSocketServer, unix_socket_server

