"""The flow runner in code: build, start order, exit statuses, drain order, flow files."""

from __future__ import annotations

import io
import os
import signal
import textwrap
from typing import Any

import gevent
import pytest
from rxunix.connectors.base import Connector
from rxunix.event import Event
from rxunix.flow import SINK, SOURCE, Flow, FlowFileError, Runner, load_flow_file, out_or_exit

from tests.helpers import wait_for


class Recorder(Connector):
    """A connector that records its lifecycle in a shared list."""

    kind = "recorder"

    def __init__(self, name: str, log: list[str], fail: bool = False) -> None:
        super().__init__()
        self.name, self.log, self.fail = name, log, fail

    def _start(self) -> None:
        if self.fail:
            raise OSError(f"{self.name} cannot start")
        self.log.append(f"start {self.name}")

    def _stop(self, timeout: float | None) -> None:
        self.log.append(f"stop {self.name}")

    def _receive(self, event: Event) -> None:
        self.log.append(f"{self.name} got {event.value}")


def quiet_runner(**kw: Any) -> tuple[Runner, io.StringIO]:
    buf = io.StringIO()
    return Runner(handle_signals=False, log=buf, **kw), buf


def test_servers_stop_before_the_clients_they_may_feed() -> None:
    """A relay (``server.out`` into ``client.in_``) stopped gracefully: the server drains
    what it read into the client, which then writes it; the other way round the client
    would be stopped before the server's last events reached it."""
    from rxunix.flow import CLIENT, SERVER

    log: list[str] = []
    runner, _ = quiet_runner()

    def flow(ctx: Flow) -> None:
        ctx.add(Recorder("sink", log), order=SINK)
        ctx.add(Recorder("server", log), order=SERVER)
        ctx.add(Recorder("client", log), order=CLIENT)
        ctx.add(Recorder("source", log), order=SOURCE)
        ctx.spawn_later(0.01, ctx.exit, 0)

    runner.deploy(flow)
    assert runner.run() == 0
    assert log[4:] == ["stop source", "stop server", "stop client", "stop sink"]


def test_metrics_that_cannot_be_written_end_the_run_with_one_line_before_anything_starts() -> None:
    from rxunix.app.monitoring import Monitor

    log: list[str] = []
    monitor = Monitor()
    monitor.metrics = "/nonexistent-rxunix-dir/metrics.jsonl"
    runner, buf = quiet_runner(monitor=monitor)
    runner.deploy(lambda ctx: ctx.add(Recorder("server", log)))
    assert runner.run() == 1
    assert "error: metrics: [Errno 2] No such file or directory" in buf.getvalue() and log == []


def test_error_events_nobody_subscribed_are_logged_then_counted(short_tmp: str) -> None:
    """A server whose ``err`` the flow left alone: its decode errors are logged, the
    first UNHEARD_LOGGED of them, then counted; a connector whose ``err`` has a
    subscriber is left to it."""
    from gevent import socket as gsocket

    from rxunix.app.monitoring import UNHEARD_LOGGED

    path, heard = os.path.join(short_tmp, "s.sock"), []
    runner, buf = quiet_runner()

    def flow(ctx: Flow) -> None:
        ctx.server(path=path, preprocessors=["separate"])
        other = ctx.server(path=path + "2", preprocessors=["separate"])
        other.err.subscribe(heard.append)

        def send() -> None:
            for p in (path, path + "2"):
                s = gsocket.socket(gsocket.AF_UNIX, gsocket.SOCK_STREAM)
                s.connect(p)
                s.sendall(b"not json\n" * (UNHEARD_LOGGED + 5))
                s.close()
            wait_for(lambda: len(heard) == UNHEARD_LOGGED + 5, what="the other server's errors")
            ctx.exit(0)

        ctx.spawn_later(0.05, send)

    runner.deploy(flow)
    assert runner.run() == 0
    text = buf.getvalue()
    assert text.count("error (decode): json: cannot decode") == UNHEARD_LOGGED, text
    assert "further error events are only counted" in text and "errors=25" in text.replace(" ", "")


def test_start_order_sinks_first_and_stop_in_reverse() -> None:
    log: list[str] = []
    runner, _ = quiet_runner()

    def flow(ctx: Flow) -> None:
        ctx.add(Recorder("source", log), order=SOURCE)
        ctx.add(Recorder("server", log))
        ctx.add(Recorder("sink", log), order=SINK)
        ctx.spawn_later(0.01, ctx.exit, 4)

    runner.deploy(flow)
    assert runner.run() == 4
    assert log == ["start sink", "start server", "start source", "stop source", "stop server", "stop sink"]
    assert all(e.connector.state == "stopped" for e in runner.entries)


def test_exit_from_a_callback_and_summary() -> None:
    log: list[str] = []
    runner, buf = quiet_runner()

    def flow(ctx: Flow) -> None:
        sink = ctx.add(Recorder("sink", log), order=SINK)
        ex = ctx.exit_connector()
        out, exit_port = out_or_exit(sink.out)  # sink.out never emits; just wiring
        exit_port.subscribe(ex.in_)
        ctx.spawn_later(0.01, ex.in_.on_next, Event({"exit": 7}))

    runner.deploy(flow, name="quitter")
    assert runner.run() == 7
    text = buf.getvalue()
    assert "stopping: flow 'quitter': exit connector, status 7" in text
    assert "quitter/exit: in=1" in text


def test_a_connector_that_cannot_start_gives_status_1_and_stops_the_others() -> None:
    log: list[str] = []
    runner, buf = quiet_runner()

    def flow(ctx: Flow) -> None:
        ctx.add(Recorder("sink", log), order=SINK)
        ctx.add(Recorder("server", log, fail=True))
        ctx.add(Recorder("source", log), order=SOURCE)

    runner.deploy(flow)
    assert runner.run() == 1
    assert log == ["start sink", "stop sink"]
    assert "server cannot start" in buf.getvalue()


def test_a_connector_that_never_stops_does_not_hang_the_run() -> None:
    log: list[str] = []

    class Stuck(Recorder):
        def _stop(self, timeout: float | None) -> None:
            gevent.sleep(3600)  # ignores its timeout

    runner, buf = quiet_runner(drain_timeout=0.05)
    runner.stop_grace = 0.1

    def flow(ctx: Flow) -> None:
        ctx.add(Recorder("sink", log), order=SINK)
        ctx.add(Stuck("stuck", log))
        ctx.spawn_later(0.01, ctx.exit, 0)

    runner.deploy(flow)
    assert runner.run() == 1  # a failed stop is a failure
    assert "did not stop within" in buf.getvalue()
    assert log == ["start sink", "start stuck", "stop sink"]  # the others still stop


def test_the_run_ends_when_every_connector_stopped_by_itself(short_tmp: str) -> None:
    path = os.path.join(short_tmp, "in.jsonl")
    with open(path, "w") as fh:
        fh.write("1\n2\n")
    runner, _ = quiet_runner()
    got: list[Any] = []

    def flow(ctx: Flow) -> None:
        ctx.read_file(path).out.subscribe(lambda e: got.append(e.value))

    runner.deploy(flow)
    assert runner.run() == 0
    assert got == [1, 2] and runner.reason == "every connector has stopped"


def test_file_to_file_flow_drains_into_the_sink(short_tmp: str) -> None:
    src, dst = os.path.join(short_tmp, "in.jsonl"), os.path.join(short_tmp, "out.log")
    with open(src, "w") as fh:
        fh.writelines(f'{{"i": {i}, "b": -{i + 1}}}\n' for i in range(1000))
    runner, _ = quiet_runner()

    def flow(ctx: Flow) -> None:
        source = ctx.read_file(src)
        sink = ctx.write_file(dst)
        source.out.subscribe(sink.in_)
        source.out.subscribe(on_completed=lambda: ctx.exit(0, "input done"))

    runner.deploy(flow)
    assert runner.run() == 0
    with open(dst) as fh:
        assert fh.read().splitlines() == [f'{{"b":-{i + 1},"i":{i}}}' for i in range(1000)]


def test_build_errors_propagate_from_deploy() -> None:
    runner, _ = quiet_runner()
    with pytest.raises(Exception, match="mode"):
        runner.deploy(lambda ctx: ctx.write_file("x.log", mode="sideways"))


def test_params_and_paths() -> None:
    runner, _ = quiet_runner(params={"dir": "/tmp/logs", "socket": "/tmp/s.sock"})
    seen: dict[str, Any] = {}

    def flow(ctx: Flow) -> None:
        seen.update(socket=ctx.param("socket"), missing=ctx.param("nope", "d"), log=ctx.path("a.log"))
        ctx.exit(0)

    runner.deploy(flow)
    assert runner.run() == 0
    assert seen == {"socket": "/tmp/s.sock", "missing": "d", "log": "/tmp/logs/a.log"}


def sigterm_run(connector: Connector) -> tuple[Runner, int]:
    """A run (signal handlers installed) of ``connector`` that a SIGTERM ends: the runner and its status."""
    runner = Runner(log=io.StringIO())

    def flow(ctx: Flow) -> None:
        ctx.add(connector)
        ctx.spawn_later(0.05, os.kill, os.getpid(), signal.SIGTERM)

    runner.deploy(flow)
    return runner, runner.run()


def test_sigterm_stops_the_run_with_status_0() -> None:
    log: list[str] = []
    previous = signal.getsignal(signal.SIGTERM)
    runner, status = sigterm_run(Recorder("server", log))
    assert status == 0
    assert runner.reason == "SIGTERM received" and log == ["start server", "stop server"]
    gevent.sleep(0)
    assert signal.getsignal(signal.SIGTERM) == previous


class SignalsInItsStop(Recorder):
    """Receives another SIGTERM while the runner drains it."""

    def _stop(self, timeout: float | None) -> None:
        from rxunix.app.signals import SAME_SIGNAL_S

        gevent.sleep(SAME_SIGNAL_S + 0.05)  # (sooner, it is the first one delivered twice)
        os.kill(os.getpid(), signal.SIGTERM)
        gevent.sleep(0.1)  # the handler runs on the hub
        super()._stop(timeout)


def test_another_signal_during_the_drain_exits_at_once_after_it_changes_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import rxunix.app.signals as signals_module

    exits: list[int] = []
    monkeypatch.setattr(signals_module.os, "_exit", exits.append)  # (the real one ends the process)
    runner, status = sigterm_run(SignalsInItsStop("server", []))
    assert status == 0
    assert exits == [128 + signal.SIGTERM]  # the second SIGTERM, during the drain
    runner._on_signal(signal.SIGTERM)  # a third, once the drain is over (before the handlers go)
    assert exits == [128 + signal.SIGTERM] and runner.status == 0


def test_out_or_exit_only_the_string_exit() -> None:
    from reactivex.subject import Subject

    s: Subject[Event] = Subject()
    out, ex = out_or_exit(s)
    outs: list[Any] = []
    exits: list[Any] = []
    out.subscribe(lambda e: outs.append(e.value))
    ex.subscribe(lambda e: exits.append(e.value))
    for v in ["a", "exit", ["exit"], {"exit": 1}, "Exit"]:
        s.on_next(Event(v))
    assert exits == ["exit"] and outs == ["a", ["exit"], {"exit": 1}, "Exit"]


# ---- flow files ------------------------------------------------------------------


def write(path: str, text: str) -> str:
    with open(path, "w") as fh:
        fh.write(textwrap.dedent(text))
    return path


def test_load_flow_file_flows_list_flow_function_and_names(short_tmp: str) -> None:
    write(os.path.join(short_tmp, "helper_mod.py"), "def shared(ctx):\n    ctx.exit(5)\n")
    listed = write(os.path.join(short_tmp, "listed.py"), """
        from helper_mod import shared   # neighbours can be imported
        def other(ctx):
            ctx.exit(6)
        flows = [shared]
    """)
    single = write(os.path.join(short_tmp, "single.py"), "def flow(ctx):\n    ctx.exit(2)\n")
    empty = write(os.path.join(short_tmp, "empty.py"), "x = 1\n")
    assert [f.__name__ for f in load_flow_file(listed)] == ["shared"]
    assert [f.__name__ for f in load_flow_file(listed, ["other"])] == ["other"]
    assert [f.__name__ for f in load_flow_file(single)] == ["flow"]
    with pytest.raises(FlowFileError, match="neither"):
        load_flow_file(empty)
    with pytest.raises(FlowFileError, match="no flow function named 'nope'"):
        load_flow_file(listed, ["nope"])
    with pytest.raises(FlowFileError, match="no such file"):
        load_flow_file(os.path.join(short_tmp, "missing.py"))
    runner, _ = quiet_runner()
    for fn in load_flow_file(listed):
        runner.deploy(fn)
    assert runner.run() == 5


def test_example_files_define_their_flows() -> None:
    here = os.path.join(os.path.dirname(__file__), "..", "examples")
    assert [f.__name__ for f in load_flow_file(os.path.join(here, "echo_server.py"))] == ["server"]
    assert [f.__name__ for f in load_flow_file(os.path.join(here, "echo_client.py"))] == ["client"]
    assert [f.__name__ for f in load_flow_file(os.path.join(here, "echo.py"))] == ["server", "client"]


def test_a_file_feeding_a_client_that_gives_up_still_ends_the_run(short_tmp: str) -> None:
    """The client cannot connect and gives up while its queue is full (not ready, so its
    link pauses the file): the file must still be read to its end and the run end, every
    event counted as written or reported."""
    path = os.path.join(short_tmp, "in.jsonl")
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(f'{{"n": {i}}}\n' for i in range(3000))
    runner, log = quiet_runner()
    made: dict[str, Any] = {}

    def flow(ctx: Flow) -> None:
        src = ctx.read_file(path)
        client = made["client"] = ctx.client(
            postprocessors=["separate"],
            reconnect={"retry": {"interval_ms": 20, "growth_rate": 1, "max_retries": 3}},
            config={"path": os.path.join(short_tmp, "nobody.sock"), "queue_size": 10},
        )
        src.out.subscribe(client.in_)

    runner.deploy(flow)
    assert runner.run() in (0, 1), log.getvalue()  # ends (pytest-timeout would end a hang)
    client = made["client"]
    assert client.pushed == 3000 and client.written + client.reported == client.pushed


def test_a_run_with_nothing_to_run_is_an_error_or_said(short_tmp: str) -> None:
    empty_list = write(os.path.join(short_tmp, "empty_list.py"), "flows = []\n")
    with pytest.raises(FlowFileError, match="'flows' is empty"):
        load_flow_file(empty_list)
    runner, log = quiet_runner()
    runner.deploy(lambda ctx: gevent.spawn_later(0.05, runner.exit, 4))  # no connector: its own greenlet
    with gevent.Timeout(10):
        assert runner.run() == 4
    assert "warning: the flows made no connectors" in log.getvalue()
    twice = write(os.path.join(short_tmp, "twice.py"), "def a(ctx):\n    ctx.exit(0)\n")
    assert [f.__name__ for f in load_flow_file(twice, ["a", "a"])] == ["a"]  # --flow a --flow a: once


def test_a_spawn_later_callback_that_raises_is_logged_and_the_run_goes_on() -> None:
    runner, log = quiet_runner()

    def flow(ctx: Flow) -> None:
        ctx.spawn_later(0.01, lambda: 1 / 0)
        ctx.spawn_later(0.05, ctx.exit, 3)

    runner.deploy(flow, name="timers")
    with gevent.Timeout(10):
        assert runner.run() == 3  # the later timer still ran
    assert "timers/spawn_later(<lambda>) failed: ZeroDivisionError: division by zero" in log.getvalue()
    assert "Traceback" in log.getvalue()
