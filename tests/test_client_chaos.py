"""The echo server is SIGKILLed and restarted twice while the client pushes 10,000 numbered
events through it (SPEC 4, issue 8): nothing vanishes, nothing comes back twice, echoes
come back in order, and the only numbers never echoed are ones written after the last
echo received from a server that was then killed (what sat in the dead server's socket
buffer: measured and printed)."""

from __future__ import annotations

from bisect import bisect_left

import gevent
import pytest
from rxunix.connectors.client import unix_socket_client
from rxunix.event import ErrorEvent, Event

from .helpers import wait_for
from .peers.spawn import kill, start_echo_server

N = 10_000
BURST = 400


@pytest.mark.parametrize("impl", ["plain", "rxunix"])
def test_sigkill_and_restart_twice_loses_nothing(sock_path: str, impl: str) -> None:
    client = unix_socket_client(
        config={"path": sock_path, "queue_size": N},
        reconnect={"retry": {"interval_ms": 10, "growth_rate": 1.5, "max_interval_ms": 100}},
        codec="json", preprocessors=["separate"], postprocessors=["separate"],
    )
    echoes: list[tuple[int, int]] = []  # (number, connection it came back on)
    errors: list[ErrorEvent] = []
    client.out.subscribe(lambda e: echoes.append((e.value["n"], client.stats["connects"])))
    client.err.subscribe(errors.append)

    servers = [start_echo_server(sock_path, impl)]
    restarts: list[gevent.Greenlet] = []
    killed: list[int] = []  # connection numbers whose server was killed

    def push() -> None:
        kill_at = {N * 3 // 10: 1, N * 65 // 100: 2}
        i = 0
        while i < N:
            server_no = kill_at.get(i)
            if server_no is not None:
                # a connection to the current server is up and echoing; then a burst is
                # handed to the socket and the server dies at once, with bytes in flight
                after = killed[-1] if killed else 0
                wait_for(lambda a=after: bool(echoes) and echoes[-1][1] > a, 15, f"echoes from server {server_no}")
                for j in range(i, i + BURST):
                    client.in_.on_next(Event({"n": j}))
                i += BURST
                gevent.sleep(0)  # the writer runs
                killed.append(client.stats["connects"])
                kill(servers[-1])  # SIGKILL: whatever sat in its socket buffers is gone
                restarts.append(gevent.spawn(lambda: servers.append(start_echo_server(sock_path, impl))))
                continue  # pushing goes on while the server is down
            client.in_.on_next(Event({"n": i}))
            i += 1
            if i % 20 == 0:
                gevent.sleep(0.002)

    try:
        client.start()
        wait_for(lambda: client.connected, 10, "first connect")
        pusher = gevent.spawn(push)
        pusher.join()
        assert pusher.successful(), pusher.exception
        gevent.joinall(restarts, raise_error=True)
        assert client.pushed == N

        # drained: every event written or reported; the live server echoes all it got
        wait_for(lambda: client.held == 0 and client.written + client.reported == N, 15, "drain")
        reported = {e.value["value"]["n"] for e in errors if "value" in e.value}
        last_written = max(set(range(N)) - reported)
        wait_for(lambda: bool(echoes) and echoes[-1][0] == last_written, 15, "the last echo")
        client.stop()
    finally:
        for proc in servers:
            kill(proc)
        client.stop()

    assert client.written + client.reported == client.pushed == N
    # a dying server may still accept for a moment: such extra connections end at once
    assert client.stats["connects"] >= 3 and len(killed) == 2
    numbers = [n for n, _ in echoes]
    # no number twice and in order: per connection, and (connections being sequential) overall
    assert numbers == sorted(set(numbers)), "echoes out of order or duplicated"
    for conn in sorted({c for _, c in echoes}):
        per = [n for n, c in echoes if c == conn]
        assert per == sorted(per), f"connection {conn}"
    assert {c for _, c in echoes} >= {killed[0], killed[1]}
    assert not reported & set(numbers), "a reported event was also delivered"

    missing = sorted(set(range(N)) - set(numbers) - reported)
    lost_per_kill = {k: 0 for k in killed}
    for m in missing:
        i = bisect_left(numbers, m)
        assert i < len(numbers), f"{m} written after the last echo of the live server, never echoed"
        before_conn = echoes[i - 1][1] if i > 0 else 0
        after_conn = echoes[i][1]
        # m sits in a gap at a connection boundary: after the last echo from a killed server
        assert before_conn < after_conn, f"{m} lost inside connection {after_conn}"
        assert before_conn in killed, f"{m} lost after connection {before_conn}, whose server was not killed"
        lost_per_kill[before_conn] += 1

    actions: dict[str, int] = {}
    for e in errors:
        actions[e.value["action"]] = actions.get(e.value["action"], 0) + 1
    print(
        f"\n[{impl}] pushed={client.pushed} written={client.written} reported={client.reported} "
        f"echoed={len(numbers)} never echoed (written into a killed server)={len(missing)} "
        f"per kill={lost_per_kill} error actions={actions} retries={client.stats['retries']}"
    )
    assert set(actions) <= {"write", "read", "decode"}, actions  # nothing overflowed (queue_size=N)


