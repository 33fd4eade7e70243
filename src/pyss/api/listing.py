"""``pyss.sockets`` and ``pyss.count``: dumps streamed into Socket records or group counts.

Arguments are checked and the namespace opened when the function is called,
so a bad kind, detail, filter or namespace raises there, not at the first
``next()``. The dump itself starts at the first ``next()`` and streams: no
list of sockets is held. A library must not surprise its host program, so
the helpers the command line forks (a read-ahead receiver, /proc scanners)
run only while the program has a single thread; otherwise the same work
runs in-process.
"""

from __future__ import annotations

import os
from _socket import if_indextoname
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from itertools import chain, repeat

from pyss.api.request import (
    SHORTCUT_FIELDS,
    api_queries,
    compile_api_filter,
    compile_request_filter,
    selection,
    shortcut_words,
)
from pyss.lite_typing import TYPE_CHECKING, NamedTuple
from pyss.query import Details, Extensions, Query, extensions
from pyss.records import InetSocket

if TYPE_CHECKING:
    # The records module (the socket module's enums, typing) is imported where Sockets are made:
    # a count by state or table makes none.
    from typing import Any

    from pyss.api.record import Process, Socket
    from pyss.columnar import InetColumns, InetRuns
    from pyss.filter.compiled import CompiledFilter
    from pyss.records import SocketRecord
    from pyss.system.netns import Namespace
    from pyss.system.processes import Links, UserScan

    Streams = Iterator[tuple[type, Iterator[Any]]]  # records, or with columns pyss.columnar batches

NamespaceArgument = str | int | os.PathLike[str] | None


class Shortcuts(NamedTuple):
    """The keyword shortcuts of sockets() and count(): ``state=``, ``src=``, ``dst=``, ``sport=``, ``dport=``."""

    state: str | Sequence[str] | None = None
    src: str | None = None
    dst: str | None = None
    sport: int | str | None = None
    dport: int | str | None = None

    def given(self) -> bool:
        return any(value is not None for value in self)

    def words(self, filter: str | None) -> list[str]:
        conditions = [(field, getattr(self, field)) for field in SHORTCUT_FIELDS]
        return shortcut_words(filter, self.state, conditions)


def _warn(message: str) -> None:
    import warnings  # imported when there is something to say: a count or listing needs none

    warnings.warn(message, RuntimeWarning, stacklevel=4)


def warn_interrupted() -> None:
    """Say that a dump was flagged as interrupted (its records may be inconsistent)."""
    from pyss.dump import INTERRUPTED

    _warn(INTERRUPTED)


class Plan(NamedTuple):
    """A checked request: the query, the namespace to open its dumps in (or None) and what each socket needs."""

    queries: tuple[Query, ...]  # dumped one after the other (see api_queries); none: the filter leaves nothing
    extensions: Extensions
    namespace: Namespace | None
    processes: bool
    details: tuple[str, ...]


def plan(kind: str | Sequence[str], filter: str | None, processes: bool, details: Sequence[str],
         netns: NamespaceArgument, shortcuts: Shortcuts | None = None) -> Plan:
    """Check every argument and open the namespace; raises ValueError, FilterError, OSError."""
    names: tuple[str, ...] = ()
    if not (isinstance(details, tuple) and not details):
        from pyss.api.record import check_details

        names = check_details(details)
    tables, _families = selection(kind)
    if filter is not None and not isinstance(filter, str):
        raise TypeError(f"filter must be a string, not {type(filter).__name__}")
    compiled: CompiledFilter | None
    if shortcuts is not None and shortcuts.given():
        compiled = compile_request_filter(shortcuts.words(filter), tables)
    else:
        compiled = compile_api_filter(filter, tables) if filter and filter.strip() else None
    for warning in compiled.warnings if compiled is not None else ():
        import warnings

        warnings.warn(warning, UserWarning, stacklevel=3)
    flags = Details(info="info" in names, memory="memory" in names, options="timers" in names,
                    extended=int("extended" in names), processes=processes)
    queries = api_queries(kind, compiled, flags)
    namespace = None
    if netns is not None:
        from pyss.api.namespace import find_namespace

        namespace = find_namespace(netns)
    return Plan(queries, extensions(flags), namespace, processes, names)


def table_streams(plan: Plan, columns: bool = False, runs: bool = False, read_ahead: bool = True,
                  states_only: bool = False) -> Streams:
    """Each table's record stream, every dump socket opened inside the plan's namespace.

    ``columns``: every table comes as :mod:`pyss.columnar` batches (TCP and UDP a buffer at a time,
    as columns where they can), as :func:`pyss.dump.batch_streams` gives them; ``runs``: as a count's
    batches, in no particular order (:func:`pyss.dump.run_streams`, ``states_only`` as there).
    ``read_ahead=False``: no read-ahead child even where one could run (a caller whose other CPUs are
    busy already).
    """
    from pyss import dump
    from pyss.netlink.transport import read_ahead_helps

    if not plan.queries:
        return iter(())
    if read_ahead and read_ahead_helps():
        from pyss.system.processes import may_fork_helpers

        read_ahead = may_fork_helpers()
    else:
        read_ahead = False

    def query_streams(query: Query) -> Streams:
        return dump.run_streams(query, _warn, read_ahead, states_only=states_only) if runs \
            else dump.batch_streams(query, plan.extensions, _warn, read_ahead) if columns \
            else dump.table_streams(query, plan.extensions, _warn, read_ahead)

    streams = query_streams(plan.queries[0]) if len(plan.queries) == 1 \
        else chain.from_iterable(map(query_streams, plan.queries))
    return streams if plan.namespace is None else _opened_inside(streams, plan.namespace)


def _opened_inside(streams: Streams, namespace: Namespace) -> Streams:
    """Open each dump (its socket and first read) with the thread in the namespace; read it from anywhere."""
    from pyss.api.namespace import entered

    while True:
        with entered(namespace):
            opened = next(streams, None)
        if opened is None:
            return
        yield opened


def records(plan: Plan) -> Iterator[SocketRecord]:
    """Every record the plan selects; a dump the kernel flags as interrupted warns after its records."""
    from pyss.dump import INTERRUPTED
    from pyss.netlink.decode import DumpInterrupted

    for _kind, items in table_streams(plan):
        try:
            yield from items
        except DumpInterrupted:
            _warn(INTERRUPTED)


class Holders:
    """inode -> the processes holding it, from one /proc scan started at creation (forked when allowed).

    ``caller_share=False``: the caller has work to do until it asks (at least
    one child then scans; the caller scans what is left when it asks).
    """

    def __init__(self, caller_share: bool = True) -> None:
        from pyss.netlink.transport import read_ahead_helps
        from pyss.system.processes import UserScan, may_fork_helpers, scan_workers

        workers = 0
        if read_ahead_helps() and may_fork_helpers():
            workers = scan_workers() if caller_share else max(1, scan_workers())
        self._scan: UserScan | None = UserScan(workers) if workers else None
        self._links: Links | None = None
        self._comms: dict[str, str] = {}
        from pyss.api.record import Process

        self._process = Process

    def links(self) -> Links:
        if self._links is None:
            from pyss.system.processes import socket_links

            scan, self._scan = self._scan, None
            self._links, self._comms = scan.links() if scan is not None else socket_links()
        return self._links

    def __call__(self, inode: int) -> tuple[Process, ...]:
        holders = self.links().get(f"socket:[{inode}]") if inode else None
        if not holders:
            return ()
        comms, process = self._comms, self._process
        return tuple([process(int(pid), int(fd), comms[pid]) for pid, fd in holders])

    def close(self) -> None:
        """Stop the scanners if the scan was never asked for (the caller stopped early)."""
        if self._scan is not None:
            self._scan._abandon()
            self._scan = None


def interface_names(plan: Plan) -> Callable[[int], str | None]:
    """ifindex -> name, looked up in the plan's namespace (indexes are per namespace)."""

    def name(index: int) -> str | None:
        try:
            if plan.namespace is None:
                return if_indextoname(index)
            from pyss.api.namespace import entered

            with entered(plan.namespace):
                return if_indextoname(index)
        except OSError:
            return f"if{index}"  # gone since the dump (ss prints the same)

    return name


def sockets(
    kind: str | Sequence[str] = "inet",
    filter: str | None = None,
    *,
    processes: bool = False,
    details: Sequence[str] = (),
    netns: NamespaceArgument = None,
    state: str | Sequence[str] | None = None,
    src: str | None = None,
    dst: str | None = None,
    sport: int | str | None = None,
    dport: int | str | None = None,
) -> Iterator[Socket]:
    """Yield every socket of ``kind`` that passes ``filter`` and the shortcuts, as the kernel sends them
    (see docs/api.md)."""
    checked = plan(kind, filter, processes, details, netns, Shortcuts(state, src, dst, sport, dport))
    return _sockets(checked)


def _sockets(checked: Plan) -> Iterator[Socket]:
    from pyss.api.record import columns_converter, converter, inet_converter
    from pyss.dump import INTERRUPTED
    from pyss.netlink.decode import DumpInterrupted

    holders = Holders() if checked.processes else None
    try:
        names = interface_names(checked)
        inet = inet_converter(names, holders, checked.details)
        others = converter(names, holders, checked.details)
        # Without details, TCP and UDP come a buffer at a time as columns and their Sockets are
        # built in bulk (~4x cheaper a socket than decoding a record and converting it).
        sink = None if checked.details else _SocketSink(inet, others, columns_converter(names, holders))
        for kind, items in table_streams(checked, columns=sink is not None):
            try:
                if sink is None:
                    yield from map(inet if kind is InetSocket else others, items)
                    continue
                for batch in items:
                    batch.send(sink)
                    yield from sink.take()
            except DumpInterrupted:
                _warn(INTERRUPTED)
    finally:
        if holders is not None:
            holders.close()


class _SocketSink:
    """Turns each batch of a dump into Sockets (a :class:`pyss.columnar.BatchSink`): :meth:`take` gives them."""

    def __init__(self, inet: Callable[[InetSocket], Socket], others: Callable[[SocketRecord], Socket],
                 columns: Callable[[InetColumns], Iterator[Socket]]) -> None:
        self.inet, self.others, self.columns = inet, others, columns
        self.pending: Iterator[Socket] = iter(())

    def add_records(self, kind: type[SocketRecord], records: Iterable[SocketRecord]) -> None:
        convert = self.inet if kind is InetSocket else self.others
        self.pending = map(convert, records)  # type: ignore[arg-type]  # InetSocket records when kind says so

    def add_columns(self, columns: InetColumns) -> None:
        self.pending = self.columns(columns)

    def take(self) -> Iterator[Socket]:
        pending, self.pending = self.pending, iter(())
        return pending


def count(
    kind: str | Sequence[str] = "inet",
    filter: str | None = None,
    *,
    by: str | Sequence[str] = "state",
    processes: bool = False,
    netns: NamespaceArgument = None,
    state: str | Sequence[str] | None = None,
    src: str | None = None,
    dst: str | None = None,
    sport: int | str | None = None,
    dport: int | str | None = None,
) -> dict[Hashable, int]:
    """How many sockets of ``kind`` pass ``filter`` and the shortcuts, grouped by ``by``, most common first
    (see docs/api.md)."""
    from pyss.api.keys import key_names, needs_processes, raw_inet_key, socket_key

    names = key_names(by)
    processes = processes or needs_processes(names)
    checked = plan(kind, filter, processes, (), netns, Shortcuts(state, src, dst, sport, dport))
    raw = raw_inet_key(names)
    key = socket_key(names)
    unfiltered = raw is not None and bool(checked.queries) and checked.queries[0].filter is None  # one filter for all
    column_reader = _column_reader(names) if unfiltered else None
    run_key = _run_key(names) if unfiltered else None
    holders = Holders() if processes else None
    counts: Counter[Hashable] = Counter()
    raw_counts: Counter[Hashable] = Counter()
    try:
        counting = _Counting(counts, key, _Converter(interface_names(checked), holders), raw_counts,
                             raw[0] if raw is not None else None, column_reader, run_key)
        batches = column_reader is not None or run_key is not None
        # A run key reads each socket's state and table alone: the established TCP sockets may come counted.
        for kind_of, items in table_streams(checked, columns=column_reader is not None, runs=run_key is not None,
                                            states_only=run_key is not None):
            _count_stream(counting, kind_of, items, batches)
    finally:
        if holders is not None:
            holders.close()
    if raw is not None:
        translate = raw[1]
        for value, number in raw_counts.items():
            counts[translate(value)] += number
    return dict(counts.most_common())


class _Converter:
    """The records-to-Sockets converter of a count, made on first use: a count whose records are all
    inet ones counted by raw fields (or that reads runs) makes no Socket and imports no record module."""

    def __init__(self, interface: Callable[[int], str | None], holders: Holders | None) -> None:
        self.interface, self.holders = interface, holders
        self.convert: Callable[[SocketRecord], Socket] | None = None

    def __call__(self, records: Iterable[SocketRecord]) -> Iterator[Socket]:
        if self.convert is None:
            from pyss.api.record import converter

            self.convert = converter(self.interface, self.holders)
        return map(self.convert, records)


class _Counting:
    """Counts records, or inet buffers read as columns: a :class:`pyss.columnar.BatchSink`."""

    def __init__(self, counts: Counter[Hashable], key: Callable[[Socket], Hashable],
                 convert: _Converter, raw_counts: Counter[Hashable],
                 raw_key: Callable[[InetSocket], Hashable] | None,
                 column_reader: Callable[[InetColumns], Iterable[Hashable]] | None,
                 run_key: Callable[[int, int], Hashable] | None = None) -> None:
        self.counts, self.key, self.convert = counts, key, convert
        self.raw_counts, self.raw_key, self.column_reader = raw_counts, raw_key, column_reader
        self.run_key = run_key

    def add_records(self, kind: type[SocketRecord], records: Iterable[SocketRecord]) -> None:
        if kind is InetSocket and self.raw_key is not None:
            inet: Iterable[InetSocket] = records  # type: ignore[assignment]  # kind says so
            self.raw_counts.update(map(self.raw_key, inet))
        else:
            self.counts.update(map(self.key, self.convert(records)))

    def add_columns(self, columns: InetColumns) -> None:
        assert self.column_reader is not None  # columns are asked for only with a reader
        self.raw_counts.update(self.column_reader(columns))

    def add_runs(self, runs: InetRuns) -> None:
        assert self.run_key is not None  # runs are asked for only with a key
        raw_counts, key, protocol = self.raw_counts, self.run_key, runs.protocol
        for state, number in runs.state_counts().items():
            raw_counts[key(state, protocol)] += number


def _count_stream(counting: _Counting, kind: type[SocketRecord], items: Iterator[Any], batches: bool) -> None:
    """Count one table's stream (records, or batches when ``batches``); an interrupted dump warns after it."""
    from pyss.dump import INTERRUPTED
    from pyss.netlink.decode import DumpInterrupted

    try:
        if batches:
            for batch in items:
                batch.send(counting)
        else:
            counting.add_records(kind, items)
    except DumpInterrupted:
        _warn(INTERRUPTED)


_COLUMNS = {"state": "states", "local-port": "sports", "peer-port": "dports"}


def _column_reader(names: Sequence[str]) -> Callable[[InetColumns], Iterable[Hashable]] | None:
    """The raw keys of a buffer read as columns (the same values raw_inet_key reads from records), or None
    when a key is not among the columns. Counting a buffer's states this way builds no record at all."""
    if not all(name in _COLUMNS or name == "netid" for name in names):
        return None

    def read(columns: InetColumns) -> Iterable[Hashable]:
        values = [getattr(columns, _COLUMNS[name]) if name != "netid" else repeat(columns.protocol,
                                                                                   len(columns.states))
                  for name in names]
        return values[0] if len(values) == 1 else zip(*values, strict=True)

    return read


def _run_key(names: Sequence[str]) -> Callable[[int, int], Hashable] | None:
    """The raw key (as raw_inet_key reads it from a record) of a socket known by its state and protocol,
    or None when a key needs more: a count by state and table reads nothing else of each socket."""
    if not all(name in ("state", "netid") for name in names):
        return None
    if len(names) == 1:
        return (lambda state, _protocol: state) if names[0] == "state" else (lambda _state, protocol: protocol)
    return lambda state, protocol: tuple([state if name == "state" else protocol for name in names])
