"""The pure core of rxunix: no I/O, no clock, no gevent, no reactivex.

Events and origins, routing, errors, option parsing, the registry of Tremor's
names, framing chains, codecs, processors, the reconnect policy, permission
parsing and the sans-I/O connection cores (:mod:`rxunix.core.server_conn`,
:mod:`rxunix.core.outbox`). Everything here is tested without sockets.
"""
