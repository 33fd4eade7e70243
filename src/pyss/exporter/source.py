"""Where the exporter's sockets come from: one dump of every table per namespace (the exporter's only I/O).

:func:`scrape` is the one function the collector calls. A namespace other
than the exporter's own is entered by the dumping thread alone (setns(2)
changes only the calling thread), only while its sockets are opened and read,
so that the HTTP server and other scrapes stay where they are.

Everything that goes wrong is reported as a :class:`Problem` with a reason
from a fixed set (the ``reason`` label of ``pyss_exporter_dump_errors_total``),
never raised: one bad namespace or table costs its own series, not the scrape.
A namespace whose dump failed part-way contributes no series at all rather
than partial counts.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from pyss.columnar import InetColumns
from pyss.dump import batch_streams, table_streams
from pyss.exporter.tally import NamespaceTally
from pyss.names.netids import INET_NETIDS, netid
from pyss.netlink.constants import AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_UNIX, INET_DIAG_INFO, TCP_ESTABLISHED
from pyss.netlink.decode import DumpInterrupted, MalformedMessage, inet_attributes
from pyss.netlink.tcpinfo import decode_tcp_info
from pyss.netlink.transport import read_ahead_helps
from pyss.query import STATES_ALL, TABLE_BIT, Details, Query, extensions
from pyss.records import InetSocket, SocketRecord
from pyss.system.netns import NETNS_RUN_DIR, Namespace, NamespaceError, all_namespaces, inside

OWN = ""  # the netns label of the exporter's own namespace

# Every table pyss can dump, every state: what `ss -a` lists.
EXPORTED_TABLES = ("tcp", "udp", "raw", "unix_stream", "unix_dgram", "unix_seqpacket", "packet_raw", "packet_dgram",
                   "netlink")
QUERY = Query(
    tables=sum(TABLE_BIT[table] for table in EXPORTED_TABLES),
    families=(1 << AF_INET) | (1 << AF_INET6) | (1 << AF_UNIX) | (1 << AF_PACKET) | (1 << AF_NETLINK),
    states=STATES_ALL,
)

# A large dump is received by a child process while this one counts what came before (see
# pyss.netlink.transport): the kernel's share of a scrape runs on a second CPU.
READ_AHEAD = read_ahead_helps()

# The reason label's values.
INTERRUPTED = "interrupted"  # the kernel flagged a dump as inconsistent (sockets changed during it)
UNSUPPORTED = "unsupported"  # the kernel cannot list a table (no *_diag module)
VANISHED = "vanished"  # the namespace is gone (its /run/netns entry no longer exists)
REFUSED = "refused"  # not allowed to enter the namespace or to dump (EPERM, EACCES)
FAILED = "failed"  # anything else: a dump error, a malformed reply
REASONS = (INTERRUPTED, UNSUPPORTED, VANISHED, REFUSED, FAILED)


class Problem(NamedTuple):
    netns: str
    reason: str
    message: str
    table: str = ""  # the table concerned (UNSUPPORTED, INTERRUPTED), or ENUMERATION


ENUMERATION = "namespaces"  # a Problem's table when --all-netns could not inspect some namespace


class Scrape(NamedTuple):
    tallies: list[NamespaceTally]
    problems: list[Problem]
    seconds: float


class Options(NamedTuple):
    """What a scrape covers."""

    namespaces: Sequence[str] | None = None  # named namespaces (/run/netns); None: the exporter's own
    all_namespaces: bool = False  # the own namespace and every other one (named or held by a process), at each scrape
    processes: bool = False
    tcp_info: bool = False


def scrape(options: Options) -> Scrape:
    """Tally every selected namespace; never raises for a namespace's or a table's failure."""
    started = time.perf_counter()
    tallies: list[NamespaceTally] = []
    problems: list[Problem] = []
    users = _process_names() if options.processes else None
    for label, namespace in _namespaces(options, problems):
        tally = tally_namespace(label, namespace, options, problems, users)
        if tally is not None:
            tallies.append(tally)
    return Scrape(tallies, problems, time.perf_counter() - started)


Target = tuple[str, Namespace | None]  # (netns label, namespace to enter; None: stay in the own one)


def _namespaces(options: Options, problems: list[Problem]) -> list[Target]:
    if options.all_namespaces:
        return _every_namespace(problems)
    if options.namespaces:
        targets: list[Target] = []
        for name in dict.fromkeys(options.namespaces):
            namespace = named_namespace(name)
            if namespace is None:
                problems.append(Problem(name, VANISHED, f'no network namespace "{name}" in {NETNS_RUN_DIR}'))
            else:
                targets.append((name, namespace))
        return targets
    return [(OWN, None)]


def _every_namespace(problems: list[Problem]) -> list[Target]:
    """The own namespace (label "") and every other one, named or held only by processes ("pid:N")."""
    own = _identity("/proc/thread-self/ns/net")
    enumeration = all_namespaces()
    problems.extend(Problem("", REFUSED, line, ENUMERATION) for line in enumeration.refused)
    others: list[Target] = [(namespace.name, namespace) for namespace in enumeration.namespaces
                            if (namespace.device, namespace.inode) != own]
    return [(OWN, None), *others]


def named_namespace(name: str) -> Namespace | None:
    """/run/netns/NAME as a Namespace, or None when there is no such namespace."""
    if "/" in name or name in ("", ".", ".."):
        return None
    path = f"{NETNS_RUN_DIR}/{name}"
    identity = _identity(path)
    return None if identity is None else Namespace(name, identity[0], identity[1], path)


def _identity(path: str) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def tally_namespace(
    label: str, namespace: Namespace | None, options: Options, problems: list[Problem],
    users: dict[int, list[str]] | None = None,
) -> NamespaceTally | None:
    """One namespace's tally, or None (with the reason in ``problems``) when it could not be read whole."""
    tally = NamespaceTally(label, tcp_info=options.tcp_info)
    try:
        if namespace is None:
            _tally(tally, options, problems, users)
        else:
            with inside(namespace):
                _tally(tally, options, problems, users)
    except NamespaceError as error:
        gone = namespace is not None and _identity(namespace.path) != (namespace.device, namespace.inode)
        problems.append(Problem(label, VANISHED if gone else REFUSED, str(error)))
        return None
    except OSError as error:  # DumpError included
        reason = REFUSED if error.errno in (errno.EPERM, errno.EACCES) else FAILED
        problems.append(Problem(label, reason, f"dump failed: {error.strerror or error}"))
        return None
    except MalformedMessage as error:
        problems.append(Problem(label, FAILED, f"malformed netlink reply: {error}"))
        return None
    return tally


def _tally(tally: NamespaceTally, options: Options, problems: list[Problem], users: dict[int, list[str]] | None) -> None:
    if options.processes or options.tcp_info:
        _tally_records(tally, options, problems, users)
    else:
        _tally_columns(tally, problems)


class _Warnings:
    """The dump layer's warn callback: turns its messages into Problems."""

    def __init__(self, name: str, problems: list[Problem]) -> None:
        self.name = name
        self.problems = problems

    def __call__(self, message: str) -> None:
        table = message.split(":", 1)[0]
        self.problems.append(Problem(self.name, UNSUPPORTED, message, table))

    def interrupted(self, table: str) -> None:
        self.problems.append(Problem(self.name, INTERRUPTED, f"{table}: the kernel reported that sockets changed "
                                     "during the dump: counts may be off by the sockets that changed", table))


class _TallySink:
    """Feeds a listing's batches to a tally (a :class:`pyss.columnar.BatchSink`), noting the table it is in."""

    def __init__(self, tally: NamespaceTally) -> None:
        self.tally = tally
        self.table = ""

    def add_records(self, kind: type[SocketRecord], records: Iterable[SocketRecord]) -> None:
        for record in records:
            self.table = netid(record)
            self.tally.add_record(record)

    def add_columns(self, columns: InetColumns) -> None:
        self.table = INET_NETIDS[columns.protocol]
        self.tally.add_columns(self.table, columns)


def _tally_columns(tally: NamespaceTally, problems: list[Problem]) -> None:
    warnings = _Warnings(tally.netns, problems)
    for _kind, batches in batch_streams(QUERY, warn=warnings, read_ahead=READ_AHEAD):
        sink = _TallySink(tally)
        try:
            for batch in batches:
                batch.send(sink)
        except DumpInterrupted:
            warnings.interrupted(sink.table)


def _tally_records(
    tally: NamespaceTally, options: Options, problems: list[Problem], users: dict[int, list[str]] | None
) -> None:
    warnings = _Warnings(tally.netns, problems)
    wanted = extensions(Details(info=True)) if options.tcp_info else None
    no_users: list[str] = []
    for _kind, records in table_streams(QUERY, wanted, warn=warnings):
        table = ""
        try:
            for record in records:
                table = netid(record)
                tally.add_record(record, users.get(record.inode, no_users) if users is not None else no_users)
                if (options.tcp_info and isinstance(record, InetSocket) and record.state == TCP_ESTABLISHED
                        and table == "tcp"):
                    raw = inet_attributes(record).get(INET_DIAG_INFO)
                    if raw is not None:
                        info = decode_tcp_info(raw)
                        tally.add_tcp_info(info.total_retrans, info.lost, info.rtt)
        except DumpInterrupted:
            warnings.interrupted(table)


def _process_names() -> dict[int, list[str]]:
    """Socket inode -> the command names of the processes holding it (one pass over /proc/*/fd)."""
    from pyss.system.processes import scan_users

    return {inode: [user.comm for user in holders] for inode, holders in scan_users().items()}
