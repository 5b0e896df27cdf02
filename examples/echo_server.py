"""The source document's ``define flow server``: a unix socket echo server.

Every event is logged to ``server_out.log`` (sorted, minified JSON lines;
``server_out-N.log`` for worker N under ``--workers``) and echoed back to the
connection it came from; errors go to stdout as JSON lines.
The socket is in a private per-user directory by default (see
``private_socket.py``; the client example uses the same path).

    rxunix run examples/echo_server.py                       # $TMPDIR/rxunix-UID/unix-socket.sock
    rxunix run examples/echo_server.py --set socket=/run/user/1000/s.sock --set dir=logs | jq

Stop it with Ctrl-C or SIGTERM: pending replies are written, the log is
flushed and the socket file removed.
"""

from private_socket import default_socket


def server(ctx):
    # Encapsulate a UNIX socket based server
    server = ctx.server(
        # Server produces/consumes line delimited JSON data
        preprocessors=["separate"],
        postprocessors=["separate"],
        codec="json",
        # UNIX socket specific configuration
        config={
            # Path to socket file for this server
            "path": ctx.param("socket") or default_socket(),
            # Permissions are read/write for the user running the server only
            "permissions": "=600",
            # Use a 1K buffer - this should be tuned based on data value space requirements
            "buf_size": 1024,
        },
    )
    # Log to file (under --workers one file per worker, appended to: a restarted
    # worker keeps what it logged before)
    if ctx.runner.worker is None:
        server_out = ctx.write_file(ctx.path("server_out.log"))
    else:
        server_out = ctx.write_file(ctx.path(f"server_out-{ctx.runner.worker}.log"), mode="append")
    stdio = ctx.console()
    ctx.log(f"listening on {server.path}")

    # Flow from the server to the file (pipeline server_side is a passthrough)
    server.out.subscribe(server_out.in_)
    # Echo it back
    server.out.subscribe(server.in_)
    # Debugging
    server.err.subscribe(stdio.in_)
    server_out.err.subscribe(stdio.in_)


flows = [server]
