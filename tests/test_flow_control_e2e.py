"""Flow control with real processes: a relay and a file client whose downstream is down for 2 s.

Nothing is reported or lost, everything arrives in per-sender order once the
downstream server is up, and while it is down the relay stops reading: the
senders' writes block (each sender measures its longest ``sendall``).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import gevent
from gevent import subprocess as gsubprocess

from rxunix.core.metrics import increments

from .helpers import wait_for

ROOT = Path(__file__).resolve().parent.parent
SENDER = str(ROOT / "tests" / "peers" / "numbered_sender.py")
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
# How long the downstream server stays down once the flow has paused (the scenario, not a wait
# for a condition: that the paused side stays paused has no event to wait for).
OUTAGE_S = 2.0
SENDERS, PER_SENDER, PAD = 4, 2500, 200
RETRY = '{"retry": {"interval_ms": 50, "growth_rate": 1, "max_retries": 2000}}'

RELAY = f"""
def relay(ctx):
    srv = ctx.server(preprocessors=["separate"], config={{"path": ctx.param("listen")}})
    cli = ctx.client(postprocessors=["separate"], reconnect={RETRY},
                     config={{"path": ctx.param("downstream"), "queue_size": 200}})
    errors = ctx.write_file(ctx.path("errors.log"))
    srv.out.subscribe(cli.in_)  # flow control: srv pauses while cli holds its limit
    srv.err.subscribe(errors.in_)
    cli.err.subscribe(errors.in_)

flows = [relay]
"""

FILE_CLIENT = f"""
from rxunix.flow import out_or_exit

def client(ctx):
    client = ctx.client(postprocessors=["separate"], preprocessors=["separate"], codec="json",
                        config={{"path": ctx.param("socket"), "buf_size": 1024, "queue_size": 100}},
                        reconnect={RETRY})
    in_ = ctx.read_file(ctx.param("input"))
    client_out = ctx.write_file(ctx.path("client_out.log"))
    errors = ctx.write_file(ctx.path("errors.log"))
    exit_ = ctx.exit_connector()
    in_.out.subscribe(client.in_.on_next)  # the source document's wiring: now paused by the client
    out, exit_port = out_or_exit(client.out)
    out.subscribe(client_out.in_)
    exit_port.subscribe(exit_.in_)
    in_.err.subscribe(errors.in_)
    client.err.subscribe(errors.in_)

flows = [client]
"""


def _rxunix(*args: str, cwd: str, stdout: Any = gsubprocess.DEVNULL) -> gsubprocess.Popen:
    return gsubprocess.Popen([sys.executable, "-m", "rxunix", *args], cwd=cwd, env=ENV,
                             stdout=stdout, stderr=gsubprocess.PIPE)


def _flow_file(tmp: str, name: str, text: str) -> str:
    path = os.path.join(tmp, name)
    with open(path, "w") as fh:
        fh.write(textwrap.dedent(text))
    return path


def _ended(proc: gsubprocess.Popen, timeout: float = 30) -> str:
    wait_for(lambda: proc.poll() is not None, timeout, "the process to end")
    return str(proc.stderr.read().decode())


def _terminate(proc: gsubprocess.Popen) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return _ended(proc)


def _metric_total(path: str, connector_suffix: str, measurement: str, **tags: str) -> float:
    lines = [json.loads(line) for line in open(path)]
    mine = [v for v in lines if v["tags"]["connector"].endswith(connector_suffix)]
    return sum(next(iter(e["fields"].values())) for e in increments(mine) if e["measurement"] == measurement
               and all(e["tags"].get(k) == t for k, t in tags.items()))


def _paused_s(path: str, connector_suffix: str) -> float:
    """Seconds ``connector_suffix`` has been paused by flow control, in the metrics written so far."""
    if not os.path.exists(path):
        return 0.0
    try:
        return _metric_total(path, connector_suffix, "connector_paused")
    except (json.JSONDecodeError, KeyError):  # a line being written
        return 0.0


def test_relay_pauses_its_server_while_the_downstream_is_down(short_tmp: str) -> None:
    listen, down = os.path.join(short_tmp, "in.sock"), os.path.join(short_tmp, "down.sock")
    metrics = os.path.join(short_tmp, "metrics.jsonl")
    relay = _rxunix("run", _flow_file(short_tmp, "relay.py", RELAY), "--set", f"listen={listen}",
                    "--set", f"downstream={down}", "--set", f"dir={short_tmp}", "--metrics", metrics,
                    "--metrics-interval", "0.2", "--quiet", cwd=short_tmp)
    downstream = None
    senders: list[gsubprocess.Popen] = []
    try:
        wait_for(lambda: os.path.exists(listen) or relay.poll() is not None, 15, "the relay's socket")
        assert relay.poll() is None
        senders = [gsubprocess.Popen([sys.executable, SENDER, listen, str(k), str(PER_SENDER), str(PAD)],
                                     stdout=gsubprocess.PIPE) for k in range(SENDERS)]
        wait_for(lambda: _paused_s(metrics, "unix_socket_server") > 0, 30, "the relay to pause its server")
        gevent.sleep(OUTAGE_S)
        # ~2.5 MB that the relay could read in a blink: the senders are still blocked in send()
        assert all(p.poll() is None for p in senders), "senders finished while the downstream was down"
        downstream = _rxunix("server", down, stdout=gsubprocess.PIPE, cwd=short_tmp)
        got: list[dict[str, Any]] = []

        def read_all() -> None:
            while len(got) < SENDERS * PER_SENDER:
                line = downstream.stdout.readline()
                if not line:
                    return
                got.append(json.loads(line))

        reader = gevent.spawn(read_all)
        reader.join(timeout=60)
        assert len(got) == SENDERS * PER_SENDER, f"only {len(got)} events arrived"
        reports = []
        for p in senders:
            wait_for(lambda p=p: p.poll() is not None, 30, "a sender to finish")
            reports.append(json.loads(p.stdout.read()))
            assert p.returncode == 0
        for k in range(SENDERS):  # all there, once, in each sender's order
            assert [e["n"] for e in got if e["s"] == k] == list(range(PER_SENDER))
        assert all(r["max_send_s"] > OUTAGE_S / 2 for r in reports), reports  # writes blocked while paused
    finally:
        for p in senders:
            if p.poll() is None:
                p.kill()
            p.wait()
        err = _terminate(relay)
        if downstream is not None:
            _terminate(downstream)
    assert relay.returncode == 0, err
    assert os.path.getsize(os.path.join(short_tmp, "errors.log")) == 0  # nothing reported
    assert "reported=0" in err and f"pushed={SENDERS * PER_SENDER}" in err, err
    assert _metric_total(metrics, "unix_socket_server", "connector_paused") > OUTAGE_S / 2
    assert _metric_total(metrics, "unix_socket_client", "connector_events", port="in") == SENDERS * PER_SENDER


def test_file_client_pauses_its_reader_while_the_server_is_down(short_tmp: str) -> None:
    sock = os.path.join(short_tmp, "echo.sock")
    metrics = os.path.join(short_tmp, "metrics.jsonl")
    total = 10_000
    source = os.path.join(short_tmp, "in.jsonl")
    with open(source, "w") as fh:
        fh.writelines(json.dumps({"n": n, "pad": "y" * 50}) + "\n" for n in range(total))
        fh.write('"exit"\n')
    began = time.monotonic()
    client = _rxunix("run", _flow_file(short_tmp, "client.py", FILE_CLIENT), "--set", f"socket={sock}",
                     "--set", f"input={source}", "--set", f"dir={short_tmp}", "--metrics", metrics,
                     "--metrics-interval", "0.2", "--quiet", cwd=short_tmp)
    wait_for(lambda: _paused_s(metrics, "read_file") > 0 or client.poll() is not None, 30, "the reader to pause")
    gevent.sleep(OUTAGE_S)
    assert client.poll() is None
    server = _rxunix("server", sock, "--echo", cwd=short_tmp)
    try:
        err = _ended(client, 60)
    finally:
        if client.poll() is None:
            client.kill()
        _terminate(server)
    assert client.returncode == 0, err
    assert time.monotonic() - began > OUTAGE_S
    with open(os.path.join(short_tmp, "client_out.log")) as fh:
        assert [json.loads(line)["n"] for line in fh] == list(range(total))
    assert os.path.getsize(os.path.join(short_tmp, "errors.log")) == 0
    assert "reported=0" in err, err
    assert _metric_total(metrics, "read_file", "connector_paused") > OUTAGE_S / 2
    assert _metric_total(metrics, "read_file", "connector_events", port="out") == total + 1
