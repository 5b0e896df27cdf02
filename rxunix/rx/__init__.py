"""The Rx layer: operators over event streams, built on reactivex and the pure modules.

Modules here import ``reactivex`` and pure rxunix modules only (never gevent or
sockets); the default scheduler of time-based operators is supplied by the
runtime through :func:`rxunix.rx.scheduling.set_default_scheduler`.
"""
