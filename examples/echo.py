"""The source document's ``deploy flow server; deploy flow client;``: both flows in one process.

    rxunix run examples/echo.py --set dir=logs       # socket: see private_socket.py

The server logs every event to ``server_out.log`` and echoes it; the client
sends the input, logs the replies to ``client_out.log`` and the run exits with
status 0 when ``"exit"`` comes back (``rxunix demo`` does the same, with a
summary).
"""

from echo_client import client
from echo_server import server

flows = [server, client]
