"""unix_datagram_server over real datagram sockets and real peers (socat, SysLogHandler, killed senders)."""

from __future__ import annotations

import json
import os
import stat
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import gevent
import gevent.subprocess as gsub
import pytest
from gevent import socket
from hypothesis import given, settings
from hypothesis import strategies as st
from rxunix.errors import SocketPathError
from rxunix.event import Event
from rxunix.origin import DGRAM_SERVER

from rxunix.edge import dgram_server as dgram_server_module
from rxunix.edge.dgram_server import UnixDatagramServer, unix_datagram_server
from tests.helpers import wait_for
from tests.peers.spawn import _RXUNIX_ROOT
from tests.sysdeps import SOCAT, needs_socat


class Run:
    """A started datagram server with its out/err collected."""

    def __init__(self, server: UnixDatagramServer, echo: bool) -> None:
        self.server = server
        self.out: list[Event] = []
        self.err: list[Event] = []
        server.out.subscribe(self.out.append)
        server.err.subscribe(self.err.append)
        if echo:
            server.out.subscribe(server.in_)
        server.start()

    def errors(self, action: str) -> list[dict[str, Any]]:
        return [e.value for e in self.err if e.value["action"] == action]

    def values(self) -> list[Any]:
        return [e.value for e in self.out]


@pytest.fixture
def run(sock_path: str) -> Iterator[Any]:
    runs: list[Run] = []

    def make(echo: bool = True, path: str | None = None, **options: Any) -> Run:
        options.setdefault("preprocessors", ["separate"])
        options.setdefault("postprocessors", ["separate"])
        r = Run(unix_datagram_server(path=path or sock_path, **options), echo)
        runs.append(r)
        return r

    yield make
    for r in runs:
        r.server.stop()


def dgram(bind: str | None = None) -> socket.socket:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if bind is not None:
        s.bind(bind)
    return s


def recv(s: socket.socket, timeout: float = 10.0) -> bytes:
    with gevent.Timeout(timeout, AssertionError("no datagram came back")):
        return s.recv(65536)


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = _RXUNIX_ROOT + os.pathsep + e.get("PYTHONPATH", "")
    return e


# ---- datagrams, frames, metadata, replies ----------------------------------------------
def test_echo_to_bound_sender_with_its_credentials(run: Any, short_tmp: str, sock_path: str) -> None:
    r = run()
    c = dgram(os.path.join(short_tmp, "c"))
    c.sendto(b'{"a":1}\n', sock_path)
    assert recv(c) == b'{"a":1}\n'
    rec = r.out[0].meta[DGRAM_SERVER]
    assert dict(rec) == {"path": sock_path, "peer": os.path.join(short_tmp, "c"),
                         "pid": os.getpid(), "uid": os.getuid(), "gid": os.getgid()}


def test_one_datagram_is_one_frame(run: Any, short_tmp: str, sock_path: str) -> None:
    r = run()
    c = dgram(os.path.join(short_tmp, "c"))
    c.sendto(b"1\n2\n3", sock_path)  # separate splits; the tail is a frame at the datagram's end
    c.sendto(b"4", sock_path)  # never joined with the next datagram
    c.sendto(b"5\n", sock_path)
    assert [recv(c) for _ in range(5)] == [b"1\n", b"2\n", b"3\n", b"4\n", b"5\n"]
    assert r.values() == [1, 2, 3, 4, 5] and not r.err
    raw = run(path=os.path.join(short_tmp, "raw"), preprocessors=[], postprocessors=[])
    c.sendto(b'{"multi":\n "line"}', os.path.join(short_tmp, "raw"))  # no preprocessor: the whole datagram
    assert recv(c) == b'{"multi":"line"}'
    assert raw.values() == [{"multi": "line"}]


def test_decode_error_is_reported_and_the_server_goes_on(run: Any, short_tmp: str, sock_path: str) -> None:
    r = run()
    c = dgram(os.path.join(short_tmp, "c"))
    c.sendto(b"nope\n7\n", sock_path)
    assert recv(c) == b"7\n"
    assert [e["action"] for e in (x.value for x in r.err)] == ["decode"]
    assert r.err[0].value["stream"] == os.path.join(short_tmp, "c")


def test_oversize_datagram_is_one_error_never_a_crash(run: Any, short_tmp: str, sock_path: str) -> None:
    r = run(buf_size=64)
    c = dgram(os.path.join(short_tmp, "c"))
    c.sendto(b"1" * 200 + b"\n", sock_path)
    c.sendto(b"2\n", sock_path)
    assert recv(c) == b"2\n"
    assert r.values() == [2]
    [e] = r.err
    assert (e.value["action"], e.value["kind"], e.value["buf_size"]) == ("read", "DatagramTooLarge", 64)


@needs_socat
def test_unbound_sender_socat_sendto_reply_is_one_route_error(run: Any, sock_path: str) -> None:
    r = run()
    p = gsub.run([SOCAT, "-u", "-", f"UNIX-SENDTO:{sock_path}"], input=b'{"from":"socat"}\n', timeout=10)
    assert p.returncode == 0
    wait_for(lambda: r.out and r.err, what="the event and the route error")
    [ev] = r.out
    rec = ev.meta[DGRAM_SERVER]
    assert rec["peer"] is None and rec["pid"] not in (None, os.getpid()) and rec["uid"] == os.getuid()
    assert [e.value["action"] for e in r.err] == ["route"] and "unbound" in r.err[0].value["error"]


@needs_socat
def test_socat_bound_sender_gets_the_reply(run: Any, short_tmp: str, sock_path: str) -> None:
    run()
    back = os.path.join(short_tmp, "socat-c")
    proc = gsub.Popen([SOCAT, "-", f"UNIX-SENDTO:{sock_path},bind={back}"], stdin=gsub.PIPE, stdout=gsub.PIPE)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b'{"n":1}\n')
        proc.stdin.flush()
        with gevent.Timeout(10, AssertionError("socat got no reply")):
            assert proc.stdout.readline() == b'{"n":1}\n'
    finally:
        proc.kill()
        proc.wait()


def test_aggregate_reply_goes_to_every_sender_once(run: Any, short_tmp: str, sock_path: str) -> None:
    from rxunix.origin import aggregate

    r = run(echo=False)
    a, b = dgram(os.path.join(short_tmp, "a")), dgram(os.path.join(short_tmp, "b"))
    for s, v in ((a, b"1\n"), (b, b"2\n"), (a, b"3\n")):
        s.sendto(v, sock_path)
    wait_for(lambda: len(r.out) == 3, what="three events")
    r.server.in_.on_next(aggregate(r.out, sum))
    assert recv(a) == b"6\n" and recv(b) == b"6\n"
    a.setblocking(False)
    with pytest.raises(BlockingIOError):
        a.recv(100)  # once, not once per contributing event


def test_reply_to_a_sender_that_is_gone_is_a_write_error(run: Any, short_tmp: str, sock_path: str) -> None:
    r = run(echo=False)
    c = dgram(os.path.join(short_tmp, "c"))
    c.sendto(b"1\n", sock_path)
    wait_for(lambda: r.out, what="the event")
    c.close()  # the file stays, nobody receives
    r.server.in_.on_next(r.out[0])
    wait_for(lambda: r.errors("write"), what="the write error")
    assert r.server.running and "refused" in r.errors("write")[0]["error"].lower()
    assert r.errors("write")[0]["value"] == r.out[0].value  # the reply itself is not lost


def drain(s: socket.socket) -> list[bytes]:
    """Every datagram queued for ``s`` now, without waiting."""
    got: list[bytes] = []
    s.setblocking(False)
    try:
        while True:
            got.append(s.recv(65536))
    except BlockingIOError:
        return got
    finally:
        s.setblocking(True)


def test_a_receiver_that_stops_reading_holds_up_only_its_own_replies(
    run: Any, short_tmp: str, sock_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dgram_server_module, "REPLY_BLOCK_TIMEOUT", 120.0)
    r = run()
    stuck, other = dgram(os.path.join(short_tmp, "a")), dgram(os.path.join(short_tmp, "b"))
    n = 60  # more than a socket's receive queue holds (net.unix.max_dgram_qlen, 10 by default)
    for i in range(n):
        stuck.sendto(b"%d\n" % i, sock_path)
    wait_for(lambda: len(r.out) == n, what="the stuck receiver's events")
    other.sendto(b"-1\n", sock_path)
    assert recv(other, timeout=10.0) == b"-1\n"  # not behind the stuck receiver's replies
    got: list[bytes] = []
    wait_for(lambda: got.extend(drain(stuck)) or len(got) == n, what="the stuck receiver's replies")
    assert got == [b"%d\n" % i for i in range(n)] and not r.err  # in order, none lost


def test_replies_to_a_receiver_whose_queue_stays_full_are_reported_each(
    run: Any, short_tmp: str, sock_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dgram_server_module, "REPLY_BLOCK_TIMEOUT", 0.2)
    r = run()
    stuck = dgram(os.path.join(short_tmp, "a"))
    n = 60
    for i in range(n):
        stuck.sendto(b"%d\n" % i, sock_path)
    wait_for(lambda: len(r.out) == n and r.errors("write"), what="every event, and dropped replies")
    wait_for(lambda: not r.server._replies, what="no reply left waiting")  # each in its queue or dropped
    got, dropped = drain(stuck), r.errors("write")
    assert got == [b"%d\n" % i for i in range(len(got))]  # what its queue held, in order
    assert len(got) + len(dropped) == n and all("stayed full" in e["error"] for e in dropped)
    assert [e["value"] for e in dropped] == list(range(len(got), n))  # each with its reply's value
    stuck.sendto(b'"again"\n', sock_path)  # reading again: its next reply goes
    assert recv(stuck) == b'"again"\n'


def test_replies_given_up_are_each_reported_once_when_stop_kills_a_writer_in_a_report(
    run: Any, short_tmp: str, sock_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dgram_server_module, "REPLY_BLOCK_TIMEOUT", 0.2)
    r = run()
    slept: list[bool] = []

    def slow_first_report(e: Event) -> None:  # an err subscriber that yields inside the writer's first report
        if e.value["action"] == "write" and not slept:
            slept.append(True)
            gevent.sleep(5)

    r.server.err.subscribe(slow_first_report)
    stuck = dgram(os.path.join(short_tmp, "a"))
    n = 60
    for i in range(n):
        stuck.sendto(b"%d\n" % i, sock_path)
    wait_for(lambda: slept, what="the first dropped reply's report")
    r.server.stop(timeout=0.3)  # the writer is killed while that report yields
    got = drain(stuck)
    reported = [e["value"] for e in r.errors("write")]
    assert len(got) + len(reported) == n and len(reported) > 1
    assert sorted(reported) == list(range(len(got), n))  # each given-up reply reported, none twice


def test_a_gelf_message_chunked_over_several_datagrams_is_one_event(
        run: Any, short_tmp: str, sock_path: str) -> None:
    from rxunix.processors.gelf import GelfChunkingPost

    r = run(echo=False, preprocessors=["gelf-chunking"], postprocessors=[])
    sender = dgram(os.path.join(short_tmp, "gelf"))
    message = {"short_message": "x" * 100, "host": "h"}
    chunks = GelfChunkingPost(chunk_size=40).process(json.dumps(message).encode())
    assert len(chunks) > 3
    for c in reversed(chunks):  # one datagram each, out of order
        sender.sendto(c, sock_path)
    sender.sendto(GelfChunkingPost(chunk_size=40).process(b'{"a": 1}')[0], sock_path)  # another, whole
    sender.sendto(chunks[0], sock_path)  # the first chunk of a message that never completes
    wait_for(lambda: len(r.out) == 2, what="both messages")
    assert r.values() == [message, {"a": 1}] and not r.err
    r.server.stop()
    assert [e.value["action"] for e in r.err] == ["decode"]  # the incomplete one, reported at stop
    assert "incomplete at the end of the stream" in r.err[0].value["error"]


def test_gelf_chunks_of_different_senders_never_mix(run: Any, short_tmp: str, sock_path: str) -> None:
    from rxunix.processors.gelf import GelfChunkingPost

    r = run(echo=False, preprocessors=["gelf-chunking"], postprocessors=[])
    a, b = dgram(os.path.join(short_tmp, "a")), dgram(os.path.join(short_tmp, "b"))
    chunks_a = GelfChunkingPost(chunk_size=20).process(b'{"from": "A", "pad": "aaaaaaaaaa"}')
    chunks_b = GelfChunkingPost(chunk_size=20).process(b'{"from": "B", "pad": "bbbbbbbbbb"}')  # the same id 0
    assert len(chunks_a) == len(chunks_b) > 2
    for c in chunks_a[:1] + chunks_a[2:]:
        a.sendto(c, sock_path)
    b.sendto(chunks_b[1], sock_path)  # would complete A's message with B's bytes if they met
    a.sendto(chunks_a[1], sock_path)
    wait_for(lambda: r.out, what="A's message")
    r.server.stop()
    assert r.values() == [{"from": "A", "pad": "aaaaaaaaaa"}]
    assert r.out[0].meta[DGRAM_SERVER]["peer"] == os.path.join(short_tmp, "a")
    (err,) = r.err  # B's one chunk, incomplete at stop, reported as B's
    assert "incomplete" in err.value["error"] and err.value["stream"] == os.path.join(short_tmp, "b")


def test_stop_emits_what_is_already_queued(run: Any, short_tmp: str, sock_path: str) -> None:
    r = run(echo=False)
    c = dgram()
    for i in range(200):
        c.sendto(b"%d\n" % i, sock_path)
    r.server.stop()
    assert r.values() == list(range(200))
    assert not os.path.exists(sock_path)  # unlinked on stop
    with pytest.raises(OSError):
        c.sendto(b"late\n", sock_path)


def test_stop_flushes_a_partial_window_to_its_sender(run: Any, short_tmp: str, sock_path: str) -> None:
    from rxunix.operators import tumbling_count

    r = run(echo=False)
    r.server.out.pipe(tumbling_count(4)).subscribe(r.server.in_)
    c = dgram(os.path.join(short_tmp, "c"))
    for i in range(6):
        c.sendto(b"%d\n" % i, sock_path)
    assert recv(c) == b"[0,1,2,3]\n"
    r.server.stop()
    assert recv(c) == b"[4,5]\n"
    assert r.err == []


# ---- path safety, permissions, abstract names --------------------------------------------
def test_permissions_and_path_safety(run: Any, short_tmp: str, sock_path: str) -> None:
    stale = dgram(sock_path)
    stale.close()  # a stale socket file: replaced
    r = run(permissions="=600")
    assert stat.S_IMODE(os.lstat(sock_path).st_mode) == 0o600
    with pytest.raises(SocketPathError, match="in use"):
        unix_datagram_server(path=sock_path).start()  # a live datagram socket
    live_stream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    live_stream.bind(os.path.join(short_tmp, "st"))
    live_stream.listen(1)
    with pytest.raises(SocketPathError, match="in use"):
        unix_datagram_server(path=os.path.join(short_tmp, "st")).start()  # a live socket of the other type
    live_stream.close()
    regular = os.path.join(short_tmp, "file")
    open(regular, "w").close()
    with pytest.raises(SocketPathError, match="regular file"):
        unix_datagram_server(path=regular).start()
    r.server.stop()
    assert not os.path.exists(sock_path) and os.path.exists(regular)
    wide = run(path=os.path.join(short_tmp, "wide"), permissions="=666")  # wider than the umask allows
    assert stat.S_IMODE(os.lstat(os.path.join(short_tmp, "wide")).st_mode) == 0o666
    c = dgram(os.path.join(short_tmp, "c"))
    c.sendto(b"1\n", os.path.join(short_tmp, "wide"))
    assert recv(c) == b"1\n"
    assert wide.out[0].meta[DGRAM_SERVER]["path"] == os.path.join(short_tmp, "wide")


def test_abstract_name_datagram_server(run: Any, short_tmp: str) -> None:
    name = f"@rx-test-{uuid.uuid4().hex}"
    r = run(path=name)
    assert os.listdir(short_tmp) == []  # no file anywhere
    c = dgram("\0" + name[1:] + "-c")
    c.sendto(b"1\n", b"\0" + name[1:].encode())
    assert recv(c) == b"1\n"
    assert r.out[0].meta[DGRAM_SERVER]["peer"] == name + "-c"
    with pytest.raises(SocketPathError, match="in use"):
        unix_datagram_server(path=name).start()
    r.server.stop()
    again = run(path=name)  # the name is free once stopped
    assert again.server.running


@needs_socat
def test_socat_abstract_sendto(run: Any) -> None:
    name = f"rx-test-{uuid.uuid4().hex}"
    r = run(path="@" + name, echo=False)
    p = gsub.run([SOCAT, "-u", "-", f"ABSTRACT-SENDTO:{name}"], input=b'"abstract"\n', timeout=10)
    assert p.returncode == 0
    wait_for(lambda: r.out, what="the event")
    assert r.values() == ["abstract"]


# ---- real peers: SysLogHandler, a sender killed mid-stream, fuzz ---------------------------
SYSLOG_SENDER = r"""
import logging, logging.handlers, sys
h = logging.handlers.SysLogHandler(address=sys.argv[1], facility="local3")
h.setFormatter(logging.Formatter("%(asctime)s %(name)s[%(process)d]: %(message)s", "%b %d %H:%M:%S"))
log = logging.getLogger("myapp")
log.addHandler(h)
log.setLevel(logging.DEBUG)
log.warning("disk %d%% full", 91)
log.info("multi\nline")
log.error("done")
"""


def test_syslog_handler_to_a_syslog_datagram_server(run: Any, sock_path: str) -> None:
    r = run(echo=False, codec="syslog", postprocessors=[],
            preprocessors=[{"name": "separate", "config": {"separator": "\0"}}])
    p = gsub.run([sys.executable, "-c", SYSLOG_SENDER, sock_path], timeout=30, capture_output=True)
    assert p.returncode == 0, p.stderr
    wait_for(lambda: len(r.out) == 3, what="three log records")
    got = [(v["facility"], v["severity"], v["appname"], v["msg"]) for v in r.values()]
    assert got == [("local3", "warning", "myapp", "disk 91% full"), ("local3", "info", "myapp", "multi\nline"),
                   ("local3", "err", "myapp", "done")]
    assert {e.meta[DGRAM_SERVER]["pid"] for e in r.out} == {int(r.values()[0]["procid"])}
    assert not r.err


KILLED_SENDER = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[2])
i = 0
while True:
    s.sendto(b'{"i":%d,"pad":"%s"}\n' % (i, b"x" * (i % 300)), sys.argv[1])
    i += 1
"""


def test_sender_killed_mid_stream(run: Any, short_tmp: str, sock_path: str) -> None:
    r = run()  # echo: replies to the sender, which will be dead
    proc = gsub.Popen([sys.executable, "-c", KILLED_SENDER, sock_path, os.path.join(short_tmp, "k")])
    try:
        wait_for(lambda: len(r.out) >= 500, timeout=30, what="500 datagrams from the sender")
    finally:
        proc.kill()
        proc.wait()
    n = len(r.out)
    wait_for(lambda: not r.server._replies, what="replies settled")
    c = dgram(os.path.join(short_tmp, "after"))
    c.sendto(b'"after"\n', sock_path)
    assert recv(c) == b'"after"\n'  # still serving
    values = r.values()
    assert values[-1] == "after" and len(values) >= n
    assert [v["i"] for v in values[:-1]] == list(range(len(values) - 1))  # whole, in order, none lost
    assert not r.errors("decode") and not r.errors("read")
    assert all("refused" in e["error"].lower() or "no such file" in e["error"].lower() for e in r.errors("write"))


def test_fuzzed_datagrams_never_break_the_server(run: Any, short_tmp: str, sock_path: str) -> None:
    r = run(buf_size=512)
    c = dgram(os.path.join(short_tmp, "c"))
    c.settimeout(10)

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.binary(max_size=700), max_size=8))
    def check(datagrams: list[bytes]) -> None:
        before = r.server.stats["datagrams"]
        for d in datagrams:
            c.sendto(d, sock_path)
        c.sendto(b'"sentinel"\n', sock_path)
        while True:  # replies (echoes of whatever decoded) end with the sentinel's
            if c.recv(65536) == b'"sentinel"\n':
                break
        assert r.server.stats["datagrams"] == before + len(datagrams) + 1

    check()
    seen = len(r.errors("read"))
    c.sendto(b"x" * 600, sock_path)  # over buf_size (512): one error in line, the server goes on
    c.sendto(b'"sentinel"\n', sock_path)
    assert c.recv(65536) == b'"sentinel"\n'
    assert r.server.running
    for e in r.err:
        assert e.value["action"] in ("decode", "read"), e.value
    oversize = r.errors("read")
    assert len(oversize) == seen + 1 and all(e["kind"] == "DatagramTooLarge" for e in oversize)


def test_thread_runtime_server_and_client(short_tmp: str, sock_path: str) -> None:
    """Notebook style: the hub runs in its own thread; in_ and stop() are called from this one."""
    import threading

    from rxunix.runtime import ThreadRuntime

    from rxunix.edge.dgram_client import unix_datagram_client

    rt = ThreadRuntime()
    try:
        srv = unix_datagram_server(path=sock_path, runtime=rt, preprocessors=["separate"], postprocessors=["separate"])
        srv.out.subscribe(srv.in_)
        srv.start()
        cli = unix_datagram_client(path=sock_path, runtime=rt, preprocessors=["separate"], postprocessors=["separate"])
        got: list[Any] = []
        done = threading.Event()
        cli.out.subscribe(lambda e: (got.append(e.value), len(got) == 50 and done.set()))
        cli.start()
        for i in range(50):
            cli.in_.on_next(Event(i))
        assert done.wait(20), got
        assert got == list(range(50))
        cli.stop()
        srv.stop()
        assert cli.written == cli.pushed == 50 and not os.path.exists(sock_path)
    finally:
        rt.close()


def test_an_unroutable_reply_is_an_unroutable_error() -> None:
    from rxunix.errors import UnroutableError

    assert issubclass(dgram_server_module.UnroutableReply, UnroutableError)  # one except clause for both servers


def test_a_reply_of_several_datagrams_is_reported_once(
        run: Any, short_tmp: str, sock_path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dgram_server_module, "REPLY_BLOCK_TIMEOUT", 0.2)
    gelf = [{"name": "gelf-chunking", "config": {"chunk_size": 40}}]
    r = run(echo=False, preprocessors=[], postprocessors=gelf)
    r.server.out.subscribe(lambda e: r.server.in_.on_next(e.with_value({"pad": "y" * 400, "echo": e.value})))
    stuck = dgram(os.path.join(short_tmp, "a"))  # never reads: 16 datagrams a reply
    for i in range(3):
        stuck.sendto(b"%d" % i, sock_path)
    # all three reported and nothing left to report: no datagram of theirs waits, none is given up
    # but unreported (every later report of these replies would come from one of the two)
    wait_for(lambda: len(r.errors("write")) >= 3 and not r.server._replies and not r.server._given_up,
             what="the replies given up")
    assert sorted(e["value"]["echo"] for e in r.errors("write")) == [0, 1, 2]  # each once, not per datagram


def test_a_reply_never_follows_a_symlink_planted_at_the_senders_address(
        run: Any, short_tmp: str, sock_path: str) -> None:
    """A sender unlinks the name it sent from and plants a symlink to a socket only the server
    may write to: the kernel would resolve it at the reply, with the server's rights."""
    r = run()
    victim_path = os.path.join(short_tmp, "victim")
    victim = dgram(victim_path)
    sender_path = os.path.join(short_tmp, "s")
    sender = dgram(sender_path)
    os.unlink(sender_path)  # its socket stays bound, still named so in the datagrams it sends
    os.symlink(victim_path, sender_path)
    sender.sendto(b'{"cmd": "injected"}\n', sock_path)
    wait_for(lambda: r.errors("route"), what="the refused reply")
    (err,) = r.errors("route")
    assert "symlink" in err["error"] and err["value"] == {"cmd": "injected"}
    victim.settimeout(0.3)
    with pytest.raises(TimeoutError):
        victim.recv(100)  # nothing reached the victim
    sender.close()
    victim.close()


def test_a_reply_goes_only_to_a_socket_the_sender_owns(short_tmp: str) -> None:
    from rxunix.edge.dgram_replying import reply_path_problem

    path = os.path.join(short_tmp, "own")
    s = dgram(path)
    try:
        assert reply_path_problem(path, os.getuid()) is None
        assert "owned by uid" in (reply_path_problem(path, os.getuid() + 1) or "")
        assert reply_path_problem(path, None) is None  # no credentials (queued before SO_PASSCRED): no owner
        link = os.path.join(short_tmp, "hard")
        os.link(path, link)
        assert "hard link" in (reply_path_problem(path, os.getuid()) or "")
        os.unlink(link)
        assert reply_path_problem("@abstract", None) is None  # no file: nothing to redirect
        assert reply_path_problem(os.path.join(short_tmp, "gone"), 0) is None  # the send will fail and say so
        regular = os.path.join(short_tmp, "file")
        open(regular, "w").close()
        assert "not a socket" in (reply_path_problem(regular, os.getuid()) or "")
    finally:
        s.close()


def test_one_uids_many_sockets_evict_only_its_own_gelf_chains(run: Any, short_tmp: str, sock_path: str) -> None:
    from rxunix.processors.gelf import GelfChunkingPost

    r = run(echo=False, preprocessors=["gelf-chunking"], postprocessors=[])
    n = dgram_server_module.SPAN_SENDERS_PER_UID + 4
    senders = [dgram(os.path.join(short_tmp, f"g{i}")) for i in range(n)]
    for s in senders:  # the first of two chunks of a message each: n incomplete messages of one uid
        s.sendto(GelfChunkingPost(chunk_size=20).process(b'{"pad": "aaaaaaaaaaaaaaaa"}')[0], sock_path)
    wait_for(lambda: r.server.stats["datagrams"] == n, what="every first chunk")
    assert len(r.server._spans) == dgram_server_module.SPAN_SENDERS_PER_UID  # its own oldest chains went
    assert len(r.errors("decode")) == 4 and all("incomplete" in e["error"] for e in r.errors("decode"))
    for s in senders:
        s.close()
