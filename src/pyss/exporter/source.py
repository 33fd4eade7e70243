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

import contextlib
import errno
import os
import time
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from pyss.dump import Extensions, listing_streams, table_streams
from pyss.exporter.tally import NamespaceTally
from pyss.netlink.constants import AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_UNIX, INET_DIAG_INFO, TCP_ESTABLISHED
from pyss.netlink.decode import DumpError, DumpInterrupted, MalformedMessage, inet_attributes
from pyss.netlink.tcpinfo import decode_tcp_info
from pyss.netns import CLONE_NEWNET, NETNS_RUN_DIR
from pyss.query import STATES_ALL, TABLE_BIT, Details, Query
from pyss.records import INET_NETIDS, InetColumns, InetSocket
from pyss.render.details import inet_extensions

OWN = ""  # the netns label of the exporter's own namespace

# Every table pyss can dump, every state: what `ss -a` lists.
EXPORTED_TABLES = ("tcp", "udp", "raw", "unix_stream", "unix_dgram", "unix_seqpacket", "packet_raw", "packet_dgram",
                   "netlink")
QUERY = Query(
    tables=sum(TABLE_BIT[table] for table in EXPORTED_TABLES),
    families=(1 << AF_INET) | (1 << AF_INET6) | (1 << AF_UNIX) | (1 << AF_PACKET) | (1 << AF_NETLINK),
    states=STATES_ALL,
)

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
    table: str = ""  # the table concerned, for UNSUPPORTED


class Scrape(NamedTuple):
    tallies: list[NamespaceTally]
    problems: list[Problem]
    seconds: float


class Options(NamedTuple):
    """What a scrape covers."""

    namespaces: Sequence[str] | None = None  # named namespaces (/run/netns); None: the exporter's own
    all_namespaces: bool = False  # the own namespace and every named one, enumerated at each scrape
    processes: bool = False
    tcp_info: bool = False


def scrape(options: Options) -> Scrape:
    """Tally every selected namespace; never raises for a namespace's or a table's failure."""
    started = time.perf_counter()
    tallies: list[NamespaceTally] = []
    problems: list[Problem] = []
    users = _process_names() if options.processes else None
    for name in _namespaces(options):
        tally = tally_namespace(name, options, problems, users)
        if tally is not None:
            tallies.append(tally)
    return Scrape(tallies, problems, time.perf_counter() - started)


def _namespaces(options: Options) -> list[str]:
    if options.all_namespaces:
        return [OWN, *named_namespaces()]
    if options.namespaces:
        return list(dict.fromkeys(options.namespaces))
    return [OWN]


def named_namespaces() -> list[str]:
    """The names under /run/netns (``ip netns add``), sorted; none when the directory does not exist."""
    try:
        return sorted(entry for entry in os.listdir(NETNS_RUN_DIR) if not entry.startswith("."))
    except OSError:
        return []


def tally_namespace(
    name: str, options: Options, problems: list[Problem], users: dict[int, list[str]] | None = None
) -> NamespaceTally | None:
    """One namespace's tally, or None (with the reason in ``problems``) when it could not be read whole."""
    tally = NamespaceTally(name, tcp_info=options.tcp_info)
    try:
        with entered(name):
            if options.processes or options.tcp_info:
                _tally_records(tally, options, problems, users)
            else:
                _tally_columns(tally, problems)
    except NamespaceProblem as problem:
        problems.append(Problem(name, problem.reason, str(problem)))
        return None
    except (DumpError, OSError) as error:
        reason = REFUSED if error.errno in (errno.EPERM, errno.EACCES) else FAILED
        problems.append(Problem(name, reason, f"dump failed: {error.strerror or error}"))
        return None
    except MalformedMessage as error:
        problems.append(Problem(name, FAILED, f"malformed netlink reply: {error}"))
        return None
    return tally


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


def _tally_columns(tally: NamespaceTally, problems: list[Problem]) -> None:
    warnings = _Warnings(tally.netns, problems)
    for _kind, items in listing_streams(QUERY, warn=warnings):
        table = ""
        try:
            for item in items:
                if isinstance(item, InetColumns):
                    table = INET_NETIDS[item.protocol]
                    tally.add_columns(table, item)
                elif isinstance(item, list):
                    for record in item:
                        tally.add_record(record)
                else:
                    table = item.netid
                    tally.add_record(item)
        except DumpInterrupted:
            warnings.interrupted(table)


def _tally_records(
    tally: NamespaceTally, options: Options, problems: list[Problem], users: dict[int, list[str]] | None
) -> None:
    warnings = _Warnings(tally.netns, problems)
    extensions = Extensions(inet=inet_extensions(Details(info=True))) if options.tcp_info else None
    no_users: list[str] = []
    for _kind, records in table_streams(QUERY, extensions, warn=warnings):
        table = ""
        try:
            for record in records:
                table = record.netid
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
    from pyss.procs import scan_users

    return {inode: [user.comm for user in holders] for inode, holders in scan_users().items()}


class NamespaceProblem(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@contextlib.contextmanager
def entered(name: str) -> Iterator[None]:
    """This thread inside network namespace /run/netns/NAME (OWN: stay), back in its own afterwards."""
    if name == OWN:
        yield
        return
    from pyss.netns import _libc

    libc = _libc()
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _join(libc, name)
        try:
            yield
        finally:
            if libc.setns(home, CLONE_NEWNET) < 0:  # pragma: no cover - would need the kernel to refuse our own
                raise RuntimeError("cannot return to the exporter's own network namespace")
    finally:
        os.close(home)


def _join(libc: object, name: str) -> None:
    import ctypes

    path = f"{NETNS_RUN_DIR}/{name}"
    if "/" in name or name in (".", ".."):
        raise NamespaceProblem(VANISHED, f'no network namespace "{name}": not a name under {NETNS_RUN_DIR}')
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as error:
        reason = VANISHED if error.errno == errno.ENOENT else REFUSED if error.errno in (errno.EPERM, errno.EACCES) \
            else FAILED
        raise NamespaceProblem(reason, f'cannot open network namespace "{name}": {error.strerror}') from None
    try:
        if libc.setns(fd, CLONE_NEWNET) < 0:  # type: ignore[attr-defined]
            code = ctypes.get_errno()
            reason = REFUSED if code in (errno.EPERM, errno.EACCES) else FAILED
            raise NamespaceProblem(reason, f'cannot enter network namespace "{name}": {os.strerror(code)}')
    finally:
        os.close(fd)
