"""The README's "In code" example: an echo server and a client in one script.

    python examples/quickstart.py
"""

import os
import tempfile

import gevent

import rxunix

# a private directory for the socket (a world-writable one is warned about)
path = os.path.join(tempfile.mkdtemp(prefix="rx-"), "unix-socket.sock")

server = rxunix.unix_socket_server(
    preprocessors=["separate"], postprocessors=["separate"], codec="json",
    config={"path": path, "permissions": "=600", "buf_size": 1024},
)
server.out.subscribe(server.in_)  # echo: each reply goes back to the connection it came from
server.err.subscribe(print)  # failures while running are error events, not exceptions

client = rxunix.unix_socket_client(
    postprocessors=["separate"], preprocessors=["separate"], codec="json",
    config={"path": path, "buf_size": 1024},
    reconnect={"retry": {"interval_ms": 100, "growth_rate": 2, "max_retries": 3}},
)
replies = []
client.out.subscribe(replies.append)

with server, client:  # start() ... stop(); stop drains
    for i in range(3):
        client.in_.on_next(rxunix.Event({"hello": "world", "n": i}))
    with gevent.Timeout(10):  # let the gevent hub run until the echoes are back
        while len(replies) < 3:
            gevent.sleep(0.01)

for ev in replies:
    print(ev)
print("pushed", client.pushed, "written", client.written, "reported", client.reported)
os.rmdir(os.path.dirname(path))  # the server removed its socket file on stop
