"""Where the exporter's sockets come from: one dump of every table per namespace (the exporter's only I/O).

A :class:`Scraper` is what the collector calls for each dump. A namespace
other than the exporter's own is entered by the dumping thread alone (setns(2)
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
import time
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from pyss.api.record import converter
from pyss.columnar import InetRuns
from pyss.dump import INTERRUPTED as DUMP_INTERRUPTED
from pyss.dump import run_streams
from pyss.exporter.tally import NamespaceTally
from pyss.names.netids import INET_NETIDS, netid
from pyss.netlink.constants import AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_UNIX
from pyss.netlink.decode import DumpInterrupted, MalformedMessage
from pyss.netlink.transport import read_ahead_helps
from pyss.query import STATES_ALL, TABLE_BIT, Query
from pyss.records import SocketRecord
from pyss.system.netns import (
    NETNS_RUN_DIR,
    Namespace,
    NamespaceError,
    all_namespaces,
    file_identity,
    inside,
    named_namespace,
    own_identity,
)

OWN = ""  # the netns label of the exporter's own namespace

# Every table pyss can dump, every state: what `ss -a` lists.
EXPORTED_TABLES = ("tcp", "udp", "raw", "unix_stream", "unix_dgram", "unix_seqpacket", "packet_raw", "packet_dgram",
                   "netlink")
QUERY = Query(
    tables=sum(TABLE_BIT[table] for table in EXPORTED_TABLES),
    families=(1 << AF_INET) | (1 << AF_INET6) | (1 << AF_UNIX) | (1 << AF_PACKET) | (1 << AF_NETLINK),
    states=STATES_ALL,
)

# A large dump is received by a forked child while this process counts what came before (see
# pyss.netlink.transport): the kernel's share of a scrape runs on a second CPU. Forking costs a few
# milliseconds, so only a namespace whose last scrape saw this many sockets gets it. The child only
# receives and forwards buffers, then _exits: the exporter's other threads cannot leave it a held lock
# it would need (glibc's malloc is made fork-safe by glibc itself; the GIL is the forking thread's).
READ_AHEAD_FROM = 20_000
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


class Scraper:
    """Scrapes for one set of options; remembers each namespace's socket count to plan the next scrape."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.sizes: dict[str, int] = {}  # netns label -> sockets seen by the last scrape

    def __call__(self) -> Scrape:
        """Tally every selected namespace; never raises for a namespace's or a table's failure."""
        started = time.perf_counter()
        tallies: list[NamespaceTally] = []
        problems: list[Problem] = []
        for label, namespace in _namespaces(self.options, problems):
            read_ahead = READ_AHEAD and self.sizes.get(label, 0) >= READ_AHEAD_FROM
            tally = tally_namespace(label, namespace, self.options, problems, read_ahead)
            if tally is not None:
                tallies.append(tally)
        self.sizes = {tally.netns: tally.seen for tally in tallies}
        return Scrape(tallies, problems, time.perf_counter() - started)


def scrape(options: Options) -> Scrape:
    """One scrape with nothing known beforehand."""
    return Scraper(options)()


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
    own = own_identity()
    enumeration = all_namespaces()
    problems.extend(Problem("", REFUSED, line, ENUMERATION) for line in enumeration.refused)
    others: list[Target] = [(namespace.name, namespace) for namespace in enumeration.namespaces
                            if (namespace.device, namespace.inode) != own]
    return [(OWN, None), *others]


def tally_namespace(
    label: str, namespace: Namespace | None, options: Options, problems: list[Problem], read_ahead: bool = False
) -> NamespaceTally | None:
    """One namespace's tally, or None (with the reason in ``problems``) when it could not be read whole."""
    tally = NamespaceTally(label, tcp_info=options.tcp_info)
    try:
        if namespace is None:
            _tally(tally, options, problems, read_ahead)
        else:
            with inside(namespace):
                _tally(tally, options, problems, read_ahead)
    except NamespaceError as error:
        gone = namespace is not None and file_identity(namespace.path) != (namespace.device, namespace.inode)
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


def _tally(tally: NamespaceTally, options: Options, problems: list[Problem], read_ahead: bool) -> None:
    if options.processes or options.tcp_info:
        _tally_sockets(tally, options, problems)
    else:
        _tally_columns(tally, problems, read_ahead)


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
    """Feeds a count's batches to a tally (a :class:`pyss.columnar.RunSink`), noting the table it is in.

    Runs are counted as they are; records (tables without a run path, odd buffers) become the
    public API's Socket records first.
    """

    def __init__(self, tally: NamespaceTally) -> None:
        self.tally = tally
        self.table = ""
        self.convert = converter(_no_interface)

    def add_records(self, kind: type[SocketRecord], records: Iterable[SocketRecord]) -> None:
        add, convert = self.tally.add_socket, self.convert
        for record in records:
            self.table = netid(record)
            add(convert(record))

    def add_runs(self, runs: InetRuns) -> None:
        self.table = INET_NETIDS[runs.protocol]
        self.tally.add_runs(self.table, runs)


def _tally_columns(tally: NamespaceTally, problems: list[Problem], read_ahead: bool) -> None:
    """The default path: TCP and UDP as runs (TCP's two families in one dump), the other tables as records."""
    warnings = _Warnings(tally.netns, problems)
    for _kind, batches in run_streams(QUERY, warn=warnings, read_ahead=read_ahead):
        sink = _TallySink(tally)
        try:
            for batch in batches:
                batch.send(sink)
        except DumpInterrupted:
            warnings.interrupted(sink.table)


def _no_interface(_index: int) -> None:
    return None  # no series carries the interface: skip the lookups


def _tally_sockets(tally: NamespaceTally, options: Options, problems: list[Problem]) -> None:
    """--processes / --tcp-info: every socket through the public API (pyss.sockets), in this thread's namespace.

    The API reports a table it cannot list and an interrupted dump as RuntimeWarnings; they become Problems.
    Scrapes never overlap (see the collector), so catching warnings here races with no other scrape.
    """
    import warnings

    from pyss.api.listing import sockets

    details = ("info",) if options.tcp_info else ()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        for sock in sockets("all", processes=options.processes, details=details):
            tally.add_socket(sock)
    for warning in caught:
        message = str(warning.message)
        if message == DUMP_INTERRUPTED:
            problems.append(Problem(tally.netns, INTERRUPTED, message))
        else:
            problems.append(Problem(tally.netns, UNSUPPORTED, message, message.split(":", 1)[0]))
