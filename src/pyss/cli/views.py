"""The pyss views ss has no flag for: --json, --json-lines with details, --all-netns (and their sources).

Each view consumes the same streams the ss table does, one table dump at a
time, and holds nothing it does not print: the JSON array is written element
by element, and --all-netns dumps one namespace after the other, entering each
on this thread only while its sockets are read (see :func:`pyss.system.netns.inside`).
Imported only when one of these flags is given: `pyss -tan` never loads it.
"""

from __future__ import annotations

import sys

from pyss.dump import batch_streams, run_streams, table_streams
from pyss.lite_typing import TYPE_CHECKING, NamedTuple
from pyss.query import Details, Extensions, Query, wants_details
from pyss.records import SocketRecord
from pyss.render.columns import LEFT, Column

if TYPE_CHECKING:  # --count-by and --watch go through here: typing stays unimported (see pyss.lite_typing)
    from collections.abc import Callable, Iterator  # (collections too: ~7M instructions)
    from typing import Any

    Warn = Callable[[str], None]


class Views(NamedTuple):
    """What the view flags asked for."""

    json: bool = False  # --json: one array
    json_lines: bool = False
    all_netns: bool = False


class NamespaceStreams:
    """The query's table streams as (record type, records): from this namespace, or (--all-netns) from each
    of the host's in turn, with ``current`` naming the namespace of the stream last produced (None: ours).

    Under --all-netns each namespace's streams are produced, and must be consumed, while this thread is
    inside that namespace: a consumer that reads each stream before asking for the next one (as every
    writer does) sees the interface names and sockets of the right namespace.
    """

    def __init__(self, query: Query, extensions: Extensions | None, warn: Warn, all_netns: bool,
                 read_ahead: bool = False, columns: bool = False, runs: bool = False, split: bool = True,
                 states_only: bool = False, refused: set[str] | None = None) -> None:
        self.query, self.extensions, self.warn = query, extensions, warn
        # the namespaces named as not listed, each said once: a --watch shares one set over its intervals
        self.refused = set() if refused is None else refused
        self.all_netns, self.read_ahead, self.split, self.states_only = all_netns, read_ahead, split, states_only
        # columns: each stream is of batches (pyss.columnar): unfiltered TCP/UDP dumps come as columns;
        # runs: of a count's batches (pyss.dump.run_streams), in no particular order; split: TCP's dump
        # may be split over the CPUs (a count's; not a --watch interval's, see run_streams); states_only: the
        # consumer of the runs reads each socket's state and table alone (a count by them, see run_streams)
        self.dump: Callable[..., Iterator[tuple[type, Iterator[Any]]]] = \
            self._run_streams if runs else batch_streams if columns else table_streams
        self.batches = columns or runs
        self.current: str | None = None

    def __iter__(self) -> Iterator[tuple[type, Iterator[Any]]]:
        if not self.all_netns:
            return self.dump(self.query, self.extensions, self.warn, self.read_ahead)
        return self._every_namespace()

    def _run_streams(self, query: Query, _extensions: Extensions | None, warn: Warn, read_ahead: bool = False) \
            -> Iterator[tuple[type, Iterator[Any]]]:
        return run_streams(query, warn, read_ahead, self.split, self.states_only)

    def _every_namespace(self) -> Iterator[tuple[type, Iterator[Any]]]:
        from pyss.names.ss import forget_interface_names
        from pyss.system.netns import NamespaceError, all_namespaces, inside

        enumeration = all_namespaces()
        for refusal in enumeration.refused:
            self._not_listed(str(refusal))
        for namespace in enumeration.namespaces:
            self.current = namespace.name
            try:
                with inside(namespace):
                    forget_interface_names()  # interface indexes are per namespace
                    yield from self.dump(self.query, self.extensions, self.warn)
            except NamespaceError as error:
                self._not_listed(str(error))
        forget_interface_names()

    def _not_listed(self, why: str) -> None:
        from pyss.system.netns import DENIED_PROCESSES

        # The processes pyss may not look at are one line, whose pids change as processes come and go.
        key = DENIED_PROCESSES if why.startswith(DENIED_PROCESSES) else why
        if key not in self.refused:
            self.refused.add(key)
            self.warn(f"{why}: not listed")


def json_extra(details: Details) \
        -> tuple[Callable[[SocketRecord, dict[str, object]], None] | None, Callable[[], None]]:
    """(the detail flags' keys for JSON objects, or None when no detail flag is on; what stops -p's /proc
    scan should nothing have asked for it, to be called once the objects are written)."""
    if not wants_details(details):
        return None, _nothing
    from pyss.render.jsondetails import detail_fields
    from pyss.system.cgroups import cgroup_path

    if not details.processes:
        return detail_fields(details, None, cgroup_path), _nothing
    if details.threads:  # each thread that holds a socket, as ss -T names them
        from pyss.system.processes import ThreadLookup

        return detail_fields(details, ThreadLookup().holders, cgroup_path), _nothing
    from pyss.api.listing import Holders

    scan = Holders(caller_share=False)  # starts the /proc scan now, so it overlaps the dump

    def holders(inode: int) -> list[tuple[str, int, int, int | None]]:
        # The scan finds holders oldest first; ss prints them newest first, and so does JSON.
        return [(found.name, found.pid, found.fd, None) for found in reversed(scan(inode))]

    return detail_fields(details, holders, cgroup_path), scan.close


def _nothing() -> None:
    pass


def json_writer(streams: NamespaceStreams, details: Details, array: bool) \
        -> tuple[Callable[[type, Iterator[Any]], None], Callable[[], None]]:
    """(write one table's stream, finish) for --json (one array) or --json-lines (one object a line).

    A stream of batches (NamespaceStreams(columns=True): no details, no filter) is written a buffer
    at a time, TCP and UDP buffers formatted column by column.
    """
    from pyss.render.jsonl import JsonLinesSink, JsonWriter, json_lines

    extra, stop_scan = json_extra(details)
    writer = JsonWriter(sys.stdout, array)

    def write(kind: type, items: Iterator[Any]) -> None:
        if not streams.batches:
            writer.write(json_lines(kind, items, extra, streams.current))
            return
        sink = JsonLinesSink(extra, streams.current)
        for batch in items:
            batch.send(sink)
            writer.write(sink.take())

    def finish() -> None:
        try:
            writer.close()
        finally:
            stop_scan()  # -p's scanners, when no object asked for them: not left until the process ends

    return write, finish


def netns_columns(columns: tuple[Column, ...]) -> tuple[Column, ...]:
    """ss's columns behind a leading Netns column (--all-netns)."""
    first, *rest = columns
    return (Column(LEFT, "Netns", ""), first._replace(delimiter=" "), *rest)
