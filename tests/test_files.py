"""File source/sink, console and exit connectors, in code (no sockets)."""

from __future__ import annotations

import io
import os
from typing import Any

import gevent
import pytest
import simplejson
from rxunix.codecs.json_codec import JsonCodec
from rxunix.connectors.console import Console, to_json_line
from rxunix.connectors.exit import ExitConnector, exit_status
from rxunix.connectors.files import FileSink, FileSource, read_file, write_file
from rxunix.demo import SAMPLE
from rxunix.errors import ConfigError
from rxunix.event import ErrorEvent, Event

from rxunix.edge.descriptors import close_now

from .helpers import wait_for

TRICKY = [
    {"b": {"z": [1, {"y": None, "x": [True, False]}], "a": -3}, "a": 848311734.7466849},
    [1, -2, 3.25, "four", {"five": 5}, [], {}],
    "naïve café ☕ 日本語",
    -42,
    1e-07,
    "exit",
]


_SORTED = JsonCodec(mode="sorted")


def sorted_line(value: Any) -> str:
    """The sorted minified form (rxunix's json codec, sorted mode)."""
    return _SORTED.encode(value).decode("utf-8")


def collect(conn: Any) -> tuple[list[Any], list[ErrorEvent], dict[str, bool]]:
    values: list[Any] = []
    errors: list[ErrorEvent] = []
    done = {"completed": False}
    conn.out.subscribe(on_next=lambda e: values.append(e.value), on_completed=lambda: done.update(completed=True))
    conn.err.subscribe(errors.append)
    return values, errors, done


# ---- read_file ---------------------------------------------------------------


def test_read_file_decodes_lines_reports_bad_ones_in_order_and_completes(short_tmp: str) -> None:
    path = os.path.join(short_tmp, "in.jsonl")
    with open(path, "wb") as fh:  # last line without a newline: flushed at EOF
        fh.write(b'{"a": 1}\nnot json\n[2, -3.5]\n"\xc3\xa9t\xc3\xa9"')
    src = read_file(path)
    order: list[Any] = []
    src.out.subscribe(lambda e: order.append(e.value))
    src.err.subscribe(lambda e: order.append(("error", e.value["action"])))
    src.start()
    assert src.join(5)
    assert order == [{"a": 1}, ("error", "decode"), [2, -3.5], "été"]
    assert src.state == "stopped" and src.stats["out"] == 3 and src.stats["errors"] == 1


def test_read_file_with_other_preprocessors_and_codec(short_tmp: str) -> None:
    path = os.path.join(short_tmp, "in.txt")
    with open(path, "wb") as fh:
        fh.write(b"one|two||three")
    src = FileSource(path, preprocessors=[{"name": "separate", "config": {"separator": "|"}}, "remove-empty"],
                     codec="string")
    values, errors, done = collect(src)
    src.start()
    assert src.join(5)
    assert values == ["one", "two", "three"] and errors == [] and done["completed"]


def test_read_file_in_small_chunks_loses_nothing(short_tmp: str) -> None:
    path = os.path.join(short_tmp, "in.jsonl")
    with open(path, "w", encoding="utf-8") as fh:
        for v in TRICKY * 50:
            fh.write(simplejson.dumps(v, ensure_ascii=False) + "\n")
    src = read_file(path, buf_size=7)  # frames cut everywhere, multi-byte chars too
    values, errors, _ = collect(src)
    src.start()
    assert src.join(10)
    assert values == TRICKY * 50 and errors == []


def test_read_file_from_a_pipe_does_not_block_the_hub() -> None:
    r, w = os.pipe()
    src = read_file(f"/dev/fd/{r}")
    values, errors, done = collect(src)
    src.start()
    ticks = []

    def writer() -> None:
        for i in range(5):
            os.write(w, b'{"i": %d}\n' % i)
            ticks.append(i)
            gevent.sleep(0.01)
        close_now(w)  # (gevent's patched os.close closes on the hub's next turn: no EOF for the reader now)

    g = gevent.spawn(writer)
    assert src.join(5)
    g.join()
    os.close(r)
    assert values == [{"i": i} for i in range(5)] and errors == [] and done["completed"]
    assert ticks == list(range(5))


def test_read_file_ready_gate_pauses_reading(short_tmp: str) -> None:
    path = os.path.join(short_tmp, "in.jsonl")
    with open(path, "w") as fh:
        fh.writelines(f"{i}\n" for i in range(100))
    allowed = {"n": 10}
    refusals = [0]

    def ready() -> bool:
        if len(values) < allowed["n"]:
            return True
        refusals[0] += 1
        return False

    src = FileSource(path, ready=ready)
    values, _, done = collect(src)
    src.start()
    wait_for(lambda: len(values) == 10, 5, "the first 10 events")
    # the source asked again and again and was told no each time: it is past the point where
    # it would have emitted the 11th event
    wait_for(lambda: refusals[0] >= 3, 5, "the source to ask again while not ready")
    assert len(values) == 10 and not done["completed"]  # paused, not lost
    allowed["n"] = 1000
    assert src.join(5)
    assert values == list(range(100))


def test_read_file_stop_while_reading_a_large_file(short_tmp: str) -> None:
    path = os.path.join(short_tmp, "big.jsonl")
    with open(path, "w") as fh:
        fh.writelines(f"{i}\n" for i in range(200_000))
    src = read_file(path, buf_size=1024)
    values, _, done = collect(src)
    src.start()
    wait_for(lambda: len(values) > 0, 5, "first events")
    src.stop(2)
    assert src.state == "stopped" and done["completed"]
    n = len(values)
    assert 0 < n < 200_000 and values == list(range(n))


def test_read_file_missing_file_fails_at_start(short_tmp: str) -> None:
    src = read_file(os.path.join(short_tmp, "nope.jsonl"))
    with pytest.raises(FileNotFoundError):
        src.start()


def test_read_file_options_are_validated() -> None:
    with pytest.raises(ConfigError, match="path"):
        FileSource()
    with pytest.raises(ConfigError, match="buf_size"):
        FileSource("x", buf_size=0)
    with pytest.raises(ConfigError, match="codec"):
        FileSource("x", codec="nope")


# ---- write_file ----------------------------------------------------------------


def test_write_file_sorted_minified_lines(short_tmp: str) -> None:
    path = os.path.join(short_tmp, "out.log")
    sink = write_file(path).start()
    for v in TRICKY:
        sink.in_.on_next(Event(v, {"ignored": 1}))
    sink.stop()
    with open(path, encoding="utf-8") as fh:
        assert fh.read().splitlines() == [sorted_line(v) for v in TRICKY]
    assert sink.stats["in"] == len(TRICKY)


def test_write_file_flushes_while_running(short_tmp: str) -> None:
    path = os.path.join(short_tmp, "out.log")
    sink = write_file(path).start()
    sink.in_.on_next(Event({"b": 1, "a": 2}))
    wait_for(lambda: os.path.getsize(path) > 0, 5, "the line to reach the file")
    with open(path) as fh:
        assert fh.read() == '{"a":2,"b":1}\n'
    sink.stop()


def test_write_file_truncate_and_append(short_tmp: str) -> None:
    path = os.path.join(short_tmp, "out.log")
    with open(path, "w") as fh:
        fh.write("old\n")
    with write_file(path) as sink:
        sink.in_.on_next(Event(1))
    with write_file(config={"file": path}, mode="append") as sink:  # Tremor's key
        sink.in_.on_next(Event(2))
    with open(path) as fh:
        assert fh.read() == "1\n2\n"


def test_write_file_reports_encode_failures_and_keeps_going(short_tmp: str) -> None:
    path = os.path.join(short_tmp, "out.log")
    sink = FileSink(path)
    errors: list[ErrorEvent] = []
    sink.err.subscribe(errors.append)
    sink.in_.on_next(Event("early"))  # pushed before start: written at start
    sink.start()
    sink.in_.on_next(Event(object(), {"peer": 7}))
    sink.in_.on_next(Event(float("nan")))
    sink.in_.on_next(Event("after"))
    sink.stop()
    with open(path) as fh:
        assert fh.read() == '"early"\n"after"\n'
    assert [e.value["action"] for e in errors] == ["encode", "encode"]
    assert errors[0].meta["peer"] == 7
    sink.in_.on_next(Event("late"))  # after stop: counted, never silently lost
    assert sink.stats["dropped"] == 1


def test_write_file_custom_codec_and_postprocessor(short_tmp: str) -> None:
    path = os.path.join(short_tmp, "out.txt")
    with write_file(path, codec="string", postprocessors=[{"name": "separate", "config": {"separator": "|"}}]) as s:
        s.in_.on_next(Event("a"))
        s.in_.on_next(Event("b"))
    with open(path) as fh:
        assert fh.read() == "a|b|"


def test_write_file_bad_options() -> None:
    with pytest.raises(ConfigError, match="mode"):
        FileSink("x", mode="overwrite")
    with pytest.raises(ConfigError, match="path"):
        FileSink()


def test_sample_through_read_file_and_write_file(short_tmp: str) -> None:
    out = os.path.join(short_tmp, "copy.log")
    src, sink = read_file(SAMPLE), write_file(out)
    src.out.subscribe(sink.in_)
    sink.start()
    src.start()
    assert src.join(5)
    sink.stop()
    with open(SAMPLE, encoding="utf-8") as fh:
        expected = [sorted_line(simplejson.loads(line)) for line in fh]
    with open(out, encoding="utf-8") as fh:
        assert fh.read().splitlines() == expected
    assert expected[-1] == '"exit"' and len(expected) >= 8


# ---- console and exit ----------------------------------------------------------


def test_console_json_lines_pretty_and_meta() -> None:
    buf = io.StringIO()
    c = Console(stream=buf).start()
    c.in_.on_next(Event({"a": [1, "é"], "n": 848311734.7466849}, {"k": 1}))
    c.in_.on_next(Event(b"raw\xff"))
    c.stop()
    assert buf.getvalue().splitlines() == ['{"a":[1,"é"],"n":848311734.7466849}', '"raw\\\\xff"']
    assert to_json_line(Event(1, {"k": {"x": 1}}), meta=True) == '{"value":1,"meta":{"k":{"x":1}}}'
    assert to_json_line(Event({"a": 1}), pretty=True) == '{\n  "a": 1\n}'


def test_console_reports_a_closed_stream_once() -> None:
    buf = io.StringIO()
    c = Console(stream=buf)
    errors: list[ErrorEvent] = []
    c.err.subscribe(errors.append)
    c.start()
    buf.close()
    for i in range(3):
        c.in_.on_next(Event(i))
    c.stop()
    assert len(errors) == 1 and errors[0].value["action"] == "write"
    assert c.stats["dropped"] == 2


def test_exit_connector() -> None:
    seen: list[int] = []
    ex = ExitConnector(seen.append).start()
    ex.in_.on_next(Event({"exit": 3}))
    ex.in_.on_next(Event(5))  # only the first counts
    assert ex.join(1) and ex.status == 3 and seen == [3]
    assert [exit_status(v) for v in ("exit", 2, {"exit": 4}, None, True)] == [0, 2, 4, 0, 0]
    # a failure never wraps round to success; a whole float counts as its int
    assert [exit_status(v) for v in (256, 512, -1, 3.0, {"exit": 255}, 2.5)] == [1, 1, 1, 3, 255, 0]


def _fifo_source(short_tmp: str, monkeypatch: pytest.MonkeyPatch) -> tuple[FileSource, str, list[int]]:
    """A ``read_file`` source (not started) of a new FIFO; its path; and the fds the source
    has begun to wait on for a writer (``wait_read``), recorded as it does."""
    import gevent.socket

    from rxunix.edge import files

    waits: list[int] = []
    real = gevent.socket.wait_read

    def wait_read(fd: int, *args: Any, **kwargs: Any) -> Any:
        waits.append(fd)
        return real(fd, *args, **kwargs)

    monkeypatch.setattr(files.gsocket, "wait_read", wait_read)
    fifo = os.path.join(short_tmp, "in.fifo")
    os.mkfifo(fifo)
    return read_file(fifo), fifo, waits


def test_read_file_of_a_fifo_waits_for_its_writer_without_blocking_the_hub(
        short_tmp: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import time

    src, fifo, waits = _fifo_source(short_tmp, monkeypatch)
    values, errors, done = collect(src)
    started = time.monotonic()
    src.start()  # no writer yet: opening must not wait for one
    assert time.monotonic() - started < 1.0
    # the reader waits for a writer (not taking "no writer yet" for end of file); the hub runs meanwhile
    wait_for(lambda: waits, 5, "the reader to wait for a writer")
    assert values == [] and not done["completed"] and src.state == "running"
    writer = subprocess.Popen(["sh", "-c", f"printf '1\\n2\\n' > {fifo}"])
    assert src.join(10)
    assert writer.wait(10) == 0
    assert values == [1, 2] and errors == [] and done["completed"]


def test_stopping_a_read_file_that_waits_for_a_fifo_writer_is_prompt(
        short_tmp: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    src, _, waits = _fifo_source(short_tmp, monkeypatch)
    src.start()
    wait_for(lambda: waits, 5, "the reader to wait for a writer")
    started = time.monotonic()
    src.stop()
    assert time.monotonic() - started < 2.0 and src.state == "stopped"
