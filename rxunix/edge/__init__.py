"""The gevent and socket edge: the only layer that touches sockets and the hub.

Runtimes (which thread runs the hub), reader turns, socket path handling, and
the connectors as thin accept/read/write loops around the pure cores of
:mod:`rxunix.core`.
"""
