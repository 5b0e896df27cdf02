"""Hostile input, socket level: random byte streams in random chunks from several
concurrent connections into a real ``unix_socket_server``, for every framing x codec.

For each connection, what the server emits (events on ``out`` and ``decode`` error
events on ``err``, tagged with its peer id) must equal what the pure decoder makes of
that connection's bytes: every frame ends as exactly one event or one error event,
nothing is merged across connections, and nothing is lost. No exception escapes
into the hub, and after each run a well-formed client is still served (echo).
"""

from __future__ import annotations

import time
from typing import Any

import gevent
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rxunix.framing import DecoderFactory

from ..helpers import wait_for
from ._chains import CODECS, FRAMINGS, JUNK, SAMPLES, framed, normal, split
from ._figures import record, scale
from ._server import connect, is_gone, running

EXAMPLES = int(scale(2, 40))
TRIED: dict[str, int] = {}
STARTED: list[float] = []
FRAMES: dict[str, int] = {}


def streams(framing: str, codec: str) -> st.SearchStrategy[list[tuple[bytes, list[int]]]]:
    good = [framed(framing, p) for c in (codec, "json") for p in SAMPLES[c]]
    piece = st.one_of(st.sampled_from(good), st.sampled_from(JUNK), st.binary(max_size=64))
    one = st.tuples(st.lists(piece, max_size=25).map(b"".join), st.lists(st.integers(0, 4096), max_size=6))
    return st.lists(one, min_size=1, max_size=4)


def reference(factory: DecoderFactory, data: bytes) -> list[Any]:
    d = factory()
    return normal(d.feed(data) + d.finish())


def served(items: list[tuple[str, Any]]) -> list[Any]:
    out: list[Any] = []
    for what, x in items:
        if what == "value":
            out.extend(normal([x]))
        elif what == "decode":
            out.append(("error", x))
    return out


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("framing", sorted(FRAMINGS))
def test_server_survives_hostile_streams(
    framing: str, codec: str, sock_path: str, hub_errors: list[Any]
) -> None:
    pres, posts, _ = FRAMINGS[framing]
    factory = DecoderFactory(pres, codec)
    STARTED.append(STARTED[0] if STARTED else time.monotonic())
    key = f"{framing}|{codec}"
    TRIED[key] = FRAMES[key] = 0
    probe_peer: list[int] = []
    opts = {"codec": codec, "preprocessors": pres, "postprocessors": posts}
    with running(sock_path, echo=lambda ev: ev.meta["unix_socket_server"]["peer"] in probe_peer,
                 **opts) as rec:
        server = rec.server

        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                         HealthCheck.function_scoped_fixture])
        @given(conns=streams(framing, codec))
        def check(conns: list[tuple[bytes, list[int]]]) -> None:
            socks = [connect(sock_path, server) for _ in conns]

            def send(sock: Any, data: bytes, cuts: list[int]) -> None:
                for part in split(data, cuts):
                    sock.sendall(part)
                    gevent.sleep(0)
                sock.close()

            gevent.joinall([gevent.spawn(send, s, d, c) for (s, _), (d, c) in zip(socks, conns, strict=True)],
                           raise_error=True)
            for (_, peer), (data, _) in zip(socks, conns, strict=True):
                wait_for(is_gone(server, peer), 10, f"peer {peer} to be closed")
                want = reference(factory, data)
                TRIED[key] += 1
                FRAMES[key] += len(want)
                assert served(rec.of(peer)) == want, f"peer {peer}"

        check()
        assert not hub_errors, hub_errors
        # still serving: a well-formed client gets its echo
        sock, peer = connect(sock_path, server)
        probe_peer.append(peer)
        payload = SAMPLES["json"][0] if codec in ("json", "yaml") else SAMPLES[codec][0]
        sock.sendall(framed(framing, payload))
        wait_for(lambda: any(w == "value" for w, _ in rec.of(peer)), 10, "the probe's event")
        got = sock.recv(65536)
        sock.close()
        assert got, "no echo for a well-formed client after the hostile runs"
    assert not hub_errors, hub_errors


def test_zz_fuzz_server_figures() -> None:
    started = STARTED[0] if STARTED else time.monotonic()
    record("hostile input", "server fuzz: every framing x codec, concurrent random streams",
           started=started, load=f"{len(TRIED)} chains, {sum(FRAMES.values())} frames",
           bad_inputs=sum(TRIED.values()), note="events+errors == pure decode, per connection")
    assert len(TRIED) == len(FRAMINGS) * len(CODECS)
