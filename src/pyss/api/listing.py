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
import socket
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

from pyss.api.keys import key_names, needs_processes, raw_inet_key, socket_key
from pyss.api.record import Process, Socket, check_details, converter
from pyss.api.request import api_query, compile_api_filter, selection
from pyss.query import Details, Extensions, Query, extensions
from pyss.records import InetSocket

if TYPE_CHECKING:
    from pyss.records import SocketRecord
    from pyss.system.netns import Namespace
    from pyss.system.processes import Links, UserScan

NamespaceArgument = str | int | os.PathLike[str] | None
Streams = Iterator[tuple[type, Iterator["SocketRecord"]]]


def may_fork() -> bool:
    """Forking helpers is safe while the program runs one thread (fork copies only the caller's)."""
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() == 1


def _warn(message: str) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=4)


class Plan(NamedTuple):
    """A checked request: the query, the namespace fd (or None) and what each socket needs."""

    query: Query | None  # None: the filter leaves nothing to dump
    extensions: Extensions
    namespace: Namespace | None
    processes: bool
    details: tuple[str, ...]


def plan(kind: str | Sequence[str], filter: str | None, processes: bool, details: Sequence[str],
         netns: NamespaceArgument) -> Plan:
    """Check every argument and open the namespace; raises ValueError, FilterError, OSError."""
    from pyss.api.namespace import find_namespace

    names = check_details(details)
    tables, _families = selection(kind)
    if filter is not None and not isinstance(filter, str):
        raise TypeError(f"filter must be a string, not {type(filter).__name__}")
    compiled = compile_api_filter(filter, tables) if filter and filter.strip() else None
    flags = Details(info="info" in names, memory="memory" in names, options="timers" in names,
                    extended=int("extended" in names), processes=processes)
    query = api_query(kind, compiled, flags)
    namespace = find_namespace(netns) if netns is not None else None
    return Plan(query, extensions(flags), namespace, processes, names)


def table_streams(plan: Plan) -> Streams:
    """Each table's record stream, every dump socket opened inside the plan's namespace."""
    from pyss import dump
    from pyss.netlink.transport import read_ahead_helps

    if plan.query is None:
        return iter(())
    streams = dump.table_streams(plan.query, plan.extensions, _warn, may_fork() and read_ahead_helps())
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
    """Every record the plan selects; a dump the kernel flags as interrupted warns after its records.

    """
    from pyss.dump import INTERRUPTED
    from pyss.netlink.decode import DumpInterrupted

    for _kind, items in table_streams(plan):
        try:
            yield from items
        except DumpInterrupted:
            _warn(INTERRUPTED)


class Holders:
    """inode -> the processes holding it, from one /proc scan started at creation (forked when allowed)."""

    def __init__(self) -> None:
        from pyss.netlink.transport import read_ahead_helps
        from pyss.system.processes import UserScan, idle_cores

        workers = idle_cores() if may_fork() and read_ahead_helps() else 0
        self._scan: UserScan | None = UserScan(workers) if workers else None
        self._links: Links | None = None
        self._comms: dict[str, str] = {}

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
        comms = self._comms
        return tuple([Process(int(pid), int(fd), comms[pid]) for pid, fd in holders])

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
                return socket.if_indextoname(index)
            from pyss.api.namespace import entered

            with entered(plan.namespace):
                return socket.if_indextoname(index)
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
) -> Iterator[Socket]:
    """Yield every socket of ``kind`` that passes ``filter``, as the kernel sends them (see docs/api.md)."""
    checked = plan(kind, filter, processes, details, netns)
    return _sockets(checked)


def _sockets(checked: Plan) -> Iterator[Socket]:
    holders = Holders() if checked.processes else None
    try:
        convert = converter(interface_names(checked), holders, checked.details)
        yield from map(convert, records(checked))
    finally:
        if holders is not None:
            holders.close()


def count(
    kind: str | Sequence[str] = "inet",
    filter: str | None = None,
    *,
    by: str | Sequence[str] = "state",
    processes: bool = False,
    netns: NamespaceArgument = None,
) -> dict[Hashable, int]:
    """How many sockets of ``kind`` pass ``filter``, grouped by ``by``, most common first (see docs/api.md)."""
    names = key_names(by)
    processes = processes or needs_processes(names)
    checked = plan(kind, filter, processes, (), netns)
    raw = raw_inet_key(names)
    key = socket_key(names)
    holders = Holders() if processes else None
    counts: Counter[Hashable] = Counter()
    raw_counts: Counter[Hashable] = Counter()
    try:
        convert = converter(interface_names(checked), holders)
        for kind_of, items in _interrupt_warned(table_streams(checked)):
            if raw is not None and kind_of is InetSocket:
                raw_counts.update(map(raw[0], items))  # type: ignore[arg-type]
            else:
                counts.update(map(key, map(convert, items)))
    finally:
        if holders is not None:
            holders.close()
    if raw is not None:
        translate = raw[1]
        for value, number in raw_counts.items():
            counts[translate(value)] += number
    return dict(counts.most_common())


def _interrupt_warned(streams: Streams) -> Streams:
    from pyss.dump import INTERRUPTED
    from pyss.netlink.decode import DumpInterrupted

    for kind, items in streams:
        yield kind, _warned(items, DumpInterrupted, INTERRUPTED)


def _warned(items: Iterator[SocketRecord], interrupted: type[Exception], message: str) -> Iterator[SocketRecord]:
    try:
        yield from items
    except interrupted:
        _warn(message)
