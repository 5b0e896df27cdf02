"""Windows across workers: one window over the events of every worker (``rxunix run --workers``).

Under ``--workers N`` each connection lives in one worker, so an ordinary
window only sees the events of its own worker. Wrapping a window in
:func:`across_workers` makes it global for the run, as if there were one
process::

    from rxunix.app.across import across_workers
    from rxunix.rx.windows import tumbling_count

    def flow(ctx):
        server = ctx.server(codec="json", preprocessors=["separate"], postprocessors=["separate"],
                            path=ctx.param("socket"))
        server.out.pipe(across_workers(tumbling_count(40))).subscribe(server.in_)

Without workers (or in code without a supervisor) ``across_workers(window)``
is ``window`` itself. With workers:

* the supervisor starts one more process, the *aggregator*, with a
  ``unix_socket_server`` on an internal socket (bound by the supervisor, mode
  ``0600``, in a private temporary directory) that runs each global window;
* each worker has a ``unix_socket_client`` link to it (``separate`` + ``json``,
  reconnecting). Every event reaching the wrapped window is sent over the link
  as ``{"g": window, "t": token, "v": value}``; ``token`` names the event's
  connection inside its worker (a list of tokens for an event whose metadata
  merges several connections: one per connection, never one per event); the
  worker keeps token -> metadata until the connection closes, then tells the
  aggregator to forget the token (``{"f": token}``);
* the aggregator feeds the values to the window, with one origin record per
  ``(worker, token)``; each aggregate goes back once to every worker that
  contributed, with the tokens of that worker: ``{"g", "t": [tokens], "v":
  aggregate}``;
* the worker emits the aggregate with the merged metadata of those
  connections, so ``subscribe(server.in_)`` replies to each contributing
  connection exactly once, across workers.

Values must be JSON (they cross a socket). Key functions and reducers see the
values (not the connection metadata: per-connection windows stay local, do not
wrap them). A window's time runs in the aggregator. Limits: there is no flow
control across the link (a worker's link holds what the aggregator has not
taken yet); if the aggregator dies, its open windows are lost (it is restarted
like a worker); at stop, workers and aggregator drain independently, so a
window still open then reaches nobody. An aggregate's share for a link that
has closed since (its worker reconnected) is a ``route`` error of the
aggregator's server, carrying the value (logged by ``rxunix run``).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import reactivex as rx
from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable
from reactivex.subject import Subject

from ..core.event import Event
from ..core.origin import SERVER, FrozenRecord, merge_origins, origin_records

__all__ = ["across_workers", "WorkerLink", "Aggregator", "aggregator_flow", "reset", "take_registered"]

Operator = Callable[[Observable[Event]], Observable[Event]]
_FRAMING: dict[str, Any] = {"codec": "json", "preprocessors": ["separate"], "postprocessors": ["separate"]}


class _Registry:
    """This process's build: the wrapped windows in call order, and the worker's link (if any)."""

    def __init__(self) -> None:
        self.windows: list[Operator] = []
        self.link: WorkerLink | None = None


_STATE = _Registry()


def across_workers(window: Operator) -> Operator:
    """``window`` cut over the events of all workers (see the module docs); ``window`` itself without workers.

    Call it once per global window while building the flow (flow functions must
    build the same windows in the same order in every process)::

        server.out.pipe(across_workers(tumbling_count(40, reduce=reducers.count()))).subscribe(server.in_)
    """
    if not callable(window):
        raise TypeError(f"across_workers needs a window operator, got {window!r}")
    index = len(_STATE.windows)
    _STATE.windows.append(window)
    link = _STATE.link
    return window if link is None else link.operator(index)


def reset(link: WorkerLink | None = None) -> None:
    """Start a new build in this process (a worker passes its link)."""
    _STATE.windows = []
    _STATE.link = link


def take_registered() -> list[Operator]:
    """The windows registered by the builds so far (the supervisor's), forgetting them."""
    windows, _STATE.windows = _STATE.windows, []
    return windows


#: Closed connections a worker link remembers (an event of one after its close is not kept).
CLOSED_KEPT = 4096


class WorkerLink:
    """A worker's side: ships events to the aggregator, emits the aggregates that come back."""

    def __init__(self, path: str, runtime: Any = None) -> None:
        from ..edge.client import unix_socket_client

        retry = {"retry": {"interval_ms": 20, "growth_rate": 1.5, "max_interval_ms": 1000}}
        self.client = unix_socket_client(path=path, reconnect=retry, runtime=runtime, **_FRAMING)
        self.outputs: dict[int, Subject[Event]] = {}
        self._tokens: dict[int, int] = {}  # id(origin record) -> token
        self._metas: dict[int, Mapping[str, Any]] = {}  # token -> metadata of that connection
        # the records of the connections closed last (id -> record, kept alive so the id is theirs):
        # an event of one that comes after its close gets a token forgotten right after it
        self._closed: OrderedDict[int, object] = OrderedDict()
        self._next = itertools.count(1)
        self.client.out.subscribe(self._aggregate)

    def operator(self, index: int) -> Operator:
        """The worker's stand-in for global window ``index``."""
        out: Subject[Event] = self.outputs.setdefault(index, Subject())

        def op(source: Observable[Event]) -> Observable[Event]:
            def subscribe(observer: abc.ObserverBase[Event], scheduler: abc.SchedulerBase | None = None) -> Any:
                return CompositeDisposable(out.subscribe(observer),
                                           source.subscribe(lambda e: self._ship(index, e), scheduler=scheduler))

            return rx.create(subscribe)

        return op

    def forget(self, closed: Event) -> None:
        """A connection closed (``server.closed``): its token is not needed any more, here
        or in the aggregator."""
        origin = _origin(closed.meta)
        self._closed[id(origin)] = origin
        if len(self._closed) > CLOSED_KEPT:
            self._closed.popitem(last=False)
        token = self._tokens.pop(id(origin), None)
        if token is not None:
            self._metas.pop(token, None)
            self.client.in_.on_next(Event({"f": token}))

    def _ship(self, index: int, event: Event) -> None:
        late: list[int] = []
        recs = event.meta.get(SERVER)
        if recs.__class__ is list:  # merged upstream (e.g. a per-connection window): a token per connection
            tokens: int | list[int] = [self._token(rec, MappingProxyType({SERVER: rec}), late) for rec in recs]
        else:
            tokens = self._token(_origin(event.meta), event.meta, late)
        self.client.in_.on_next(Event({"g": index, "t": tokens, "v": event.value}))
        for token in late:  # (after the close of its connection: nothing can be routed back to it)
            self.client.in_.on_next(Event({"f": token}))

    def _token(self, origin: object, meta: Mapping[str, Any], late: list[int]) -> int:
        token = self._tokens.get(id(origin))
        if token is None:
            token = next(self._next)
            if self._closed.get(id(origin)) is origin:
                late.append(token)
            else:
                self._tokens[id(origin)] = token
                self._metas[token] = meta
        return token

    def _aggregate(self, event: Event) -> None:
        msg = event.value
        metas = [self._metas[t] for t in msg["t"] if t in self._metas]
        out = self.outputs.get(msg["g"])
        if metas and out is not None:
            out.on_next(Event(msg["v"], merge_origins(metas)))


def _origin(meta: Mapping[str, Any]) -> object:
    """What identifies an event's connection: its server record (one object per connection), else the metadata."""
    rec = meta.get(SERVER)
    return rec if rec is not None else meta


class Aggregator:
    """The aggregator's side: runs each global window over the events of all worker links."""

    def __init__(self, server: Any, windows: list[Operator]) -> None:
        self.server = server
        self.inputs: list[Subject[Event]] = [Subject() for _ in windows]
        self._records: dict[tuple[int, int], FrozenRecord] = {}
        self._links: dict[int, Mapping[str, Any]] = {}  # link peer -> its metadata (to route back)
        self._gone: dict[int, Mapping[str, Any]] = {}  # links closed since: a reply to one is a route error
        server.out.subscribe(self._event)
        server.closed.subscribe(self._closed)
        for index, (window, inp) in enumerate(zip(windows, self.inputs, strict=True)):
            inp.pipe(window).subscribe(self._sink(index))

    def _event(self, event: Event) -> None:
        link = event.meta[SERVER]["peer"]
        self._links[link] = event.meta
        msg = event.value
        if "f" in msg:  # the worker's connection closed: its token comes no more
            self._records.pop((link, msg["f"]), None)
            return
        tokens = msg["t"]
        recs: FrozenRecord | list[FrozenRecord] = (
            [self._record(link, t) for t in tokens] if tokens.__class__ is list else self._record(link, tokens))
        self.inputs[msg["g"]].on_next(Event(msg["v"], {SERVER: recs}))

    def _record(self, link: int, token: int) -> FrozenRecord:
        """One record per (worker link, connection token): merged once per window."""
        rec = self._records.get((link, token))
        if rec is None:
            rec = self._records[(link, token)] = FrozenRecord(path=f"link:{link}", peer=token, link=link)
        return rec

    def _sink(self, index: int) -> Callable[[Event], None]:
        return lambda agg: self._aggregate(index, agg)

    def _aggregate(self, index: int, agg: Event) -> None:
        tokens: dict[int, list[int]] = {}
        for rec in origin_records(agg.meta, SERVER):
            tokens.setdefault(rec["link"], []).append(rec["peer"])
        for link, ts in tokens.items():
            meta = self._links.get(link) or self._gone.get(link)
            if meta is not None:  # (a closed link's share is one route error on the server, with the value)
                self.server.in_.on_next(Event({"g": index, "t": ts, "v": agg.value}, meta))

    def _closed(self, closed: Event) -> None:
        link = closed.meta[SERVER]["peer"]
        meta = self._links.pop(link, None)
        if meta is not None:
            self._gone[link] = meta
        for key in [k for k in self._records if k[0] == link]:
            del self._records[key]


def aggregator_flow(path: str, windows: list[Operator]) -> Callable[[Any], None]:
    """The aggregator process's flow function: a server on ``path`` feeding ``windows``."""

    def aggregator(ctx: Any) -> None:
        server = ctx.server(name="link", path=path, **_FRAMING)
        Aggregator(server, windows)

    return aggregator
