"""The source document's ``define flow client``: send a file, log the replies, exit on "exit".

Reads JSON lines (``--set input=FILE``, default: rxunix's built-in sample),
sends each event to the server, logs every reply to ``client_out.log`` and
prints it on stdout, except the string ``"exit"``: when that comes back the run
ends with status 0 (Tremor's ``out_or_exit`` pipeline and ``exit`` connector).

    rxunix run examples/echo_server.py &                     # first, or within ~0.7 s (reconnect)
    rxunix run examples/echo_client.py --set input=in.jsonl
"""

from private_socket import default_socket
from rxunix.demo import SAMPLE
from rxunix.flow import client_ready, out_or_exit


def client(ctx):
    # Encapsulate a UNIX socket based client
    client = ctx.client(
        postprocessors=["separate"],
        preprocessors=["separate"],
        codec="json",
        config={
            "path": ctx.param("socket") or default_socket(),
            "buf_size": 1024,
        },
        # Configure basic reconnection QoS for clients - max 3 retries starting with 100ms
        # reconnect attempt interval
        reconnect={
            "retry": {
                "interval_ms": 100,
                "growth_rate": 2,
                "max_retries": 3,
            }
        },
    )
    # create connector instances
    in_ = ctx.read_file(ctx.param("input", SAMPLE), ready=client_ready(client))  # backpressure
    client_out = ctx.write_file(ctx.path("client_out.log"))
    stdio = ctx.console()
    exit_ = ctx.exit_connector()

    # from file to unix domain client (pipeline request is a passthrough)
    in_.out.subscribe(client.in_.on_next)
    # send out any responses
    out, exit_port = out_or_exit(client.out)
    out.subscribe(client_out.in_)
    exit_port.subscribe(exit_.in_)
    out.subscribe(stdio.in_)
    # debugging
    in_.err.subscribe(stdio.in_)
    client.err.subscribe(stdio.in_)


flows = [client]
