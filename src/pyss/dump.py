"""Run the dumps a Query needs, in ss's order, and stream the records that pass its filter.

ss lists netlink, packet, unix, raw, udp and then tcp sockets; for each inet
table it dumps IPv4 then IPv6 (starting with IPv6 only when that is the
family asked for last). pyss keeps that order so that outputs compare
line for line.
"""

from __future__ import annotations

import errno
from itertools import chain

from pyss.columnar import RecordBatch, column_fixed, inet_batches, inet_runs
from pyss.lite_typing import TYPE_CHECKING, NamedTuple
from pyss.netlink import requests, transport
from pyss.netlink.constants import (
    AF_INET,
    AF_INET6,
    AF_NETLINK,
    AF_PACKET,
    AF_UNIX,
    AF_VSOCK,
    AF_XDP,
    IPPROTO_DCCP,
    IPPROTO_MPTCP,
    IPPROTO_RAW,
    IPPROTO_SCTP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    NDIAG_SHOW_GROUPS,
    NDIAG_SHOW_MEMINFO,
    PACKET_SHOW_FANOUT,
    PACKET_SHOW_FILTER,
    PACKET_SHOW_INFO,
    PACKET_SHOW_MEMINFO,
    PACKET_SHOW_RING_CFG,
    SOCK_DGRAM,
    SOCK_SEQPACKET,
    SOCK_STREAM,
    TCP_BOUND_INACTIVE,
    TCP_CLOSE,
    TCP_CLOSE_WAIT,
    TCP_CLOSING,
    TCP_ESTABLISHED,
    TCP_FIN_WAIT1,
    TCP_FIN_WAIT2,
    TCP_LAST_ACK,
    TCP_LISTEN,
    TCP_SYN_RECV,
    TCP_SYN_SENT,
    TCPDIAG_GETSOCK,
    UDIAG_SHOW_NAME,
    UDIAG_SHOW_PEER,
    UDIAG_SHOW_RQLEN,
    XDP_SHOW_INFO,
    XDP_SHOW_MEMINFO,
    XDP_SHOW_RING_CFG,
    XDP_SHOW_STATS,
    XDP_SHOW_UMEM,
)
from pyss.netlink.decode import (
    DumpError,
    DumpInterrupted,
    decode_netlink,
    decode_packet,
    decode_unix,
    inet_decoder,
    is_missing_module,
    walk,
)
from pyss.query import TABLE_BIT, Extensions, Query
from pyss.records import InetSocket, NetlinkSocket, PacketSocket, SocketRecord, UnixSocket

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any, Never, TypeVar

    from pyss.columnar import Batch, RunBatch

    Item = TypeVar("Item")
    Warn = Callable[[str], None]

# ss's order of the inet tables it lists before vsock, tipc and xdp (mptcp comes after those).
_INET_TABLES = (("raw", IPPROTO_RAW), ("udp", IPPROTO_UDP), ("tcp", IPPROTO_TCP), ("dccp", IPPROTO_DCCP),
                ("sctp", IPPROTO_SCTP))
_COLUMN_PROTOCOLS = (IPPROTO_TCP, IPPROTO_UDP)  # the tables a plain listing reads as columns
_UNIX_TYPES = {SOCK_STREAM: "unix_stream", SOCK_DGRAM: "unix_dgram", SOCK_SEQPACKET: "unix_seqpacket"}


class UnsupportedTable(Exception):
    """The kernel (or pyss) cannot list this socket table; the dump of the others goes on."""

    def __init__(self, table: str, reason: str) -> None:
        super().__init__(f"{table}: {reason}")
        self.table = table



INTERRUPTED = "the kernel reported that sockets changed during the dump: this list may be inconsistent"


def sockets(query: Query, extensions: Extensions | None = None, warn: Warn | None = None) -> Iterator[SocketRecord]:
    """Yield every socket the query selects, as the kernel reports it, in ss's order.

    Tables the kernel cannot dump (a missing *_diag module) are reported
    through ``warn`` and skipped, as ss skips them; so is a dump the kernel
    flags as interrupted, after its records.
    """
    for _kind, records in table_streams(query, extensions, warn):
        try:
            yield from records
        except DumpInterrupted:
            if warn is not None:
                warn(INTERRUPTED)


def table_streams(
    query: Query, extensions: Extensions | None = None, warn: Warn | None = None, read_ahead: bool = False
) -> Iterator[tuple[type[SocketRecord], Iterator[SocketRecord]]]:
    """(record type, records) for each table dump in ss's order, the query's filter applied.

    Each dump starts when its pair is produced, so output streams table by
    table. The records iterator is the decoder's own generator behind C-level
    chain/filter, no Python layer per record: a consumer maps one row function
    over it and catches DumpInterrupted (raised after the last record) itself.
    ``read_ahead`` lets large inet dumps be received by a child process
    while this one works (see :mod:`pyss.netlink.transport`).
    """
    keep = query.filter
    for table in _opened(_table_dumps(query, extensions or Extensions(), read_ahead, warn), warn, columns=False,
                         quiet_tables=query.quiet_tables):
        records = table.records
        yield table.kind, records if keep is None else filter(keep, records)


def batch_streams(
    query: Query, extensions: Extensions | None = None, warn: Warn | None = None, read_ahead: bool = False,
    *, columns: bool = True,
) -> Iterator[tuple[type[SocketRecord], Iterator[Batch]]]:
    """:func:`table_streams` as batches for a listing writer (a :class:`pyss.columnar.BatchSink`).

    With ``columns`` (a listing of ss's plain rows: no details, which need
    records) the TCP and UDP tables of an unfiltered query come a receive
    buffer at a time as columns; every other table is one RecordBatch of its
    streamed records.
    """
    keep = query.filter
    dumps = _table_dumps(query, extensions or Extensions(), read_ahead, warn)
    for table in _opened(dumps, warn, columns and keep is None, query.quiet_tables):
        if table.batches is not None:
            yield table.kind, table.batches
        else:
            records = table.records if keep is None else filter(keep, table.records)
            yield table.kind, iter((RecordBatch(table.kind, records),))


def run_streams(
    query: Query, warn: Warn | None = None, read_ahead: bool = False, split: bool = True, states_only: bool = False,
) -> Iterator[tuple[type[SocketRecord], Iterator[RunBatch]]]:
    """:func:`table_streams` for a count (a :class:`pyss.columnar.RunSink`), which needs no order.

    Without a filter the TCP and UDP tables come a receive buffer at a time as
    :class:`pyss.columnar.InetRuns`, and TCP's two families in one dump: the kernel then walks its
    TCP hash tables once, not once per family (see :func:`pyss.netlink.requests.tcpdiag_request`).
    Every other table is one RecordBatch of its streamed records.

    ``split``: TCP's dump may be split over the CPUs (:func:`_tcp_runs`), for a consumer whose Python
    work per buffer is small (a count). One with more (a --watch interval) asks for one dump: a part's
    thread decodes its buffers under the GIL, so the consumer's own work would hold up that part's walk.

    ``states_only``: the consumer reads each socket's state and table and nothing else (a count by
    state): TCP's established sockets then come as one :class:`pyss.columnar.StateCount`, counted by
    the kernel rather than listed (see :func:`_tcp_counted_runs`).
    """
    keep = query.filter
    dumps = _table_dumps(query, Extensions(), read_ahead, warn, runs=keep is None, split=split,
                         states_only=states_only)
    for table in _opened(dumps, warn, keep is None, query.quiet_tables):
        if table.batches is not None:
            yield table.kind, table.batches  # runs, as _table_dumps was asked
        else:
            records = table.records if keep is None else filter(keep, table.records)
            yield table.kind, iter((RecordBatch(table.kind, records),))


class _TableDump(NamedTuple):
    """How to start one table's dump: as records, and for TCP/UDP also as batches of columns."""

    kind: type[SocketRecord]
    open_records: Callable[[], Iterator[SocketRecord]]
    open_batches: Callable[[], Iterator[Any]] | None = None  # Batch, or RunBatch (a count's)


class _OpenTable(NamedTuple):
    kind: type[SocketRecord]
    records: Iterator[SocketRecord]
    batches: Iterator[Any] | None


def _opened(dumps: Iterator[_TableDump], warn: Warn | None, columns: bool, quiet_tables: int = 0) \
        -> Iterator[_OpenTable]:
    """Start each dump in turn (as batches when ``columns`` and the table has them); skip, and report
    through ``warn`` (unless among ``quiet_tables``), the tables the kernel cannot list."""
    missing_tables: set[str] = set()
    for dump in dumps:
        try:
            if columns and dump.open_batches is not None:
                table = _OpenTable(dump.kind, iter(()), dump.open_batches())
            else:
                table = _OpenTable(dump.kind, dump.open_records(), None)
        except UnsupportedTable as missing:
            # Said once per table, though each table is asked for in IPv4 and in IPv6.
            bits = _REPORTED_TABLE_BITS.get(missing.table) or TABLE_BIT.get(missing.table, 0)
            quiet = bits and quiet_tables & bits == bits
            if warn is not None and missing.table not in missing_tables and not quiet:
                warn(str(missing))
            missing_tables.add(missing.table)
            continue
        yield table


def _table_dumps(query: Query, extensions: Extensions, read_ahead: bool, warn: Warn | None, runs: bool = False,
                 split: bool = True, states_only: bool = False) \
        -> Iterator[_TableDump]:
    if query.has("netlink") and query.has_family(AF_NETLINK) and query.states & (1 << TCP_CLOSE):
        if query.proc_netlink is not None:
            from pyss.system.proc_net import read_proc_netlink  # the /proc readers load only when asked for

            yield _TableDump(NetlinkSocket, _proc_file_dump(query.proc_netlink, "netlink", read_proc_netlink, warn))
        else:
            yield _TableDump(NetlinkSocket, _netlink)
    if (query.has("packet_raw") or query.has("packet_dgram")) and query.has_family(AF_PACKET) \
            and query.states & (1 << TCP_CLOSE):
        if query.proc_packet is not None:
            from pyss.system.proc_net import read_proc_packet

            yield _TableDump(PacketSocket, _proc_file_dump(query.proc_packet, "packet", read_proc_packet, warn))
        else:
            yield _TableDump(PacketSocket, _packet)
    if any(query.has(t) for t in _UNIX_TYPES.values()) and query.has_family(AF_UNIX):
        if query.proc_unix is not None:
            from pyss.system.proc_net import read_proc_unix

            types = frozenset(kind for kind, table in _UNIX_TYPES.items() if query.has(table))
            yield _TableDump(UnixSocket, _proc_file_dump(
                query.proc_unix, "unix", lambda path: read_proc_unix(path, query.states, types), warn))
        else:
            yield _TableDump(UnixSocket, lambda: _unix(query, extensions))
    yield from _inet_table_dumps(query, extensions, _INET_TABLES, read_ahead, warn, runs, split, states_only)
    if query.tables & _RARE_TABLES:
        yield from _rare_table_dumps(query)
    # ss lists MPTCP last, after the vsock, tipc and xdp tables.
    yield from _inet_table_dumps(query, extensions, (("mptcp", IPPROTO_MPTCP),), read_ahead, warn)


def _inet_table_dumps(
    query: Query, extensions: Extensions, tables: tuple[tuple[str, int], ...], read_ahead: bool, warn: Warn | None,
    runs: bool = False, split: bool = True, states_only: bool = False,
) -> Iterator[_TableDump]:
    """``runs``: TCP and UDP's batches are a count's (InetRuns), TCP's two families in one dump."""
    if not (query.has_family(AF_INET) or query.has_family(AF_INET6)):
        return
    for table, protocol in tables:
        proc_table = next((found for found in query.proc_tables if found[0] == protocol), None)
        if query.has(table) and query.unlisted_tables & TABLE_BIT[table]:
            yield _TableDump(InetSocket, _unlisted(table))
        elif query.has(table) and protocol == IPPROTO_TCP and query.tcp_file is not None:
            yield _TableDump(InetSocket, _tcp_file_dump(query.tcp_file, warn))
        elif query.has(table) and proc_table is not None:
            yield _TableDump(InetSocket, _proc_files_dump(query, *proc_table, warn))
        elif query.has(table) and runs and protocol == IPPROTO_TCP and _inet_families(query) == [AF_INET, AF_INET6]:
            yield _TableDump(InetSocket, lambda: _both_families(query, read_ahead),
                             _tcp_runs_dump(query, read_ahead, split, states_only))
        elif query.has(table) and protocol == IPPROTO_TCP and query.filter is None \
                and _inet_families(query) == [AF_INET, AF_INET6]:
            yield from _tcp_family_dumps(query, extensions, read_ahead)
        elif query.has(table):
            families = _inet_families(query)
            early = _EarlyFamilies(query, extensions, protocol, families) if read_ahead and len(families) > 1 else None
            for family in families:
                batches = (_inet_runs_dump(query, extensions, family, protocol, read_ahead) if runs
                           else _inet_batches_dump(query, extensions, family, protocol, read_ahead, early)) \
                    if protocol in _COLUMN_PROTOCOLS else None
                yield _TableDump(InetSocket, _inet_dump(query, extensions, family, protocol, read_ahead, early), batches)


def _tcp_family_dumps(query: Query, extensions: Extensions, read_ahead: bool) -> Iterator[_TableDump]:
    """TCP's IPv4 and IPv6 dumps of an unfiltered listing, in ss's order, both out of one TCPDIAG_GETSOCK
    dump: one walk of the kernel's hash where ss makes two (see :mod:`pyss.netlink.tcpdiag`). Should
    the kernel refuse that request, each family has a dump of its own."""
    opened: list[transport.SplitStreams] = []  # the IPv4 opener leaves the dump here for the IPv6 one
    early = _EarlyFamilies(query, extensions, IPPROTO_TCP, [AF_INET, AF_INET6]) if read_ahead else None
    decode = inet_decoder(IPPROTO_TCP)

    def split_dump(work: Callable[[bytes], bytes | None] | None) -> transport.SplitStreams:
        from pyss.netlink.tcpdiag import split_families  # a listing's (imported already by the launcher)

        message = requests.tcpdiag_request(query.states, extensions=extensions.inet)
        return transport.SplitStreams(transport.dump(message, read_ahead, None, work, split_families))

    def open_ipv4_batches() -> Iterator[Batch]:
        streams = split_dump(_column_work(IPPROTO_TCP))
        try:
            batches = _first_read(inet_batches(streams.first(), IPPROTO_TCP), "tcp")
        except (DumpError, UnsupportedTable):
            streams.close()
            return _inet_batches_dump(query, extensions, AF_INET, IPPROTO_TCP, read_ahead, early)()
        opened.append(streams)
        return batches

    def open_ipv6_batches() -> Iterator[Batch]:
        if not opened:
            return _inet_batches_dump(query, extensions, AF_INET6, IPPROTO_TCP, read_ahead, early)()
        return _first_read(inet_batches(opened.pop().second(), IPPROTO_TCP), "tcp")

    def open_ipv4_records() -> Iterator[SocketRecord]:
        streams = split_dump(None)
        try:
            records = _open(b"", decode, "tcp", buffers=streams.first())
        except (DumpError, UnsupportedTable):
            streams.close()
            return _inet_dump(query, extensions, AF_INET, IPPROTO_TCP, read_ahead, early)()
        opened.append(streams)
        return records

    def open_ipv6_records() -> Iterator[SocketRecord]:
        if not opened:
            return _inet_dump(query, extensions, AF_INET6, IPPROTO_TCP, read_ahead, early)()
        return _open(b"", decode, "tcp", buffers=opened.pop().second())

    yield _TableDump(InetSocket, open_ipv4_records, open_ipv4_batches)
    yield _TableDump(InetSocket, open_ipv6_records, open_ipv6_batches)


def _column_work(protocol: int) -> Callable[[bytes], bytes | None]:
    """What a read-ahead child does to each buffer of an inet dump read as columns (see column_fixed)."""
    def work(buf: bytes) -> bytes | None:
        return column_fixed(buf, protocol)

    return work


class _EarlyFamilies:
    """A table's later families (IPv6 after IPv4), each dumped by a child process started early
    (:class:`pyss.netlink.transport.EarlyDump`) while this process reads the first family's dump.

    The kernel walks the table's whole hash for each family's dump; ss walks
    it once per family, one after the other. Started early, the later walks
    run on another CPU, and the replies are still read in ss's order. With a
    filter they start with the first family's dump: a filter leaves little to
    send, so the walk is all inside send(). Without one, when the first
    family's dump proves large (its read-ahead child starts): a small table
    is not worth a fork. The dumps' sockets are opened as the first family's
    dump starts, while the caller may be inside another network namespace.
    """

    __slots__ = ("_dumps", "_extensions", "_later", "_protocol", "_query")

    def __init__(self, query: Query, extensions: Extensions, protocol: int, families: list[int]) -> None:
        self._query, self._extensions, self._protocol = query, extensions, protocol
        self._later = families[1:]
        self._dumps: dict[int, transport.EarlyDump] = {}

    def first_dump_starts(self, family: int, work: Callable[[bytes], bytes | None] | None) \
            -> transport.EarlyDump | None:
        """Open the later families' dumps as the first family's starts (a later family's call does
        nothing); with a filter they start now, else the next one is returned, to start when the first
        family's dump is read ahead (transport.dump's ``following``). ``work``: their children's."""
        if not self._later or family in self._later:
            return None
        for other in self._later:
            message = _inet_message(self._query, self._extensions, other, self._protocol)
            self._dumps[other] = transport.EarlyDump(message, work)
        self._later = []
        if self._query.filter is None:
            return next(iter(self._dumps.values()))
        for dump in self._dumps.values():
            dump.start()
        return None

    def take(self, family: int, message: bytes, read_ahead: bool) -> Iterator[bytes] | None:
        """The replies of a later family's early dump of ``message`` (None: none, dump it here)."""
        dump = self._dumps.pop(family, None)
        if dump is None:
            return None
        if dump.message != message:
            dump.close()
            return None
        return dump.buffers(read_ahead)


def _tcp_file_dump(path: str, warn: Warn | None) -> Callable[[], Iterator[SocketRecord]]:
    def open_dump() -> Iterator[SocketRecord]:
        from pyss.netlink.dumpfile import replay_tcp

        return replay_tcp(path, warn or _ignore)

    return open_dump


def _proc_files_dump(query: Query, protocol: int, ipv4_path: str, ipv6_path: str, warn: Warn | None) \
        -> Callable[[], Iterator[SocketRecord]]:
    """A table ss's environment sends to /proc-format files: IPv4's then IPv6's, whatever family was
    named last. An IPv4 file that cannot be read ends the table (ss then lists none of it); a
    missing IPv6 file is skipped, as ss skips it."""
    def open_dump() -> Iterator[SocketRecord]:
        from pyss.system.proc_net import read_proc_file

        if query.has_family(AF_INET):
            records = read_proc_file(ipv4_path, AF_INET, protocol, query.states)
            if records is None:
                (warn or _ignore)(f"cannot read {ipv4_path} (a regular file in /proc/net's format): "
                                  f"no {_table_name(protocol)} sockets are listed")
                return
            yield from records
        if query.has_family(AF_INET6):
            yield from read_proc_file(ipv6_path, AF_INET6, protocol, query.states) or ()

    return open_dump


def _proc_file_dump(path: str, table: str, read: Callable[[str], Iterable[SocketRecord] | None],
                    warn: Warn | None) -> Callable[[], Iterator[SocketRecord]]:
    """A table ss's environment sends to a /proc/net/<table>-format file. One that cannot be read
    lists none of the table, as in ss, and says so (ss does not)."""
    def open_dump() -> Iterator[SocketRecord]:
        records = read(path)
        if records is None:
            (warn or _ignore)(f"cannot read {path} (a regular file in /proc/net/{table}'s format): "
                              f"no {table} sockets are listed")
            return iter(())
        return iter(records)

    return open_dump


def _unlisted(table: str) -> Callable[[], Iterator[SocketRecord]]:
    def refuse() -> Iterator[SocketRecord]:
        raise UnsupportedTable(table, "not listed while PROC_ROOT (or PROC_NET_"
                                      f"{table.upper()}) is set: /proc has no file of them, and ss lists none")

    return refuse


def _ignore(message: str) -> None:
    del message


def _inet_families(query: Query) -> list[int]:
    """ss starts with IPv4 unless IPv6 was the family named last, and stops there if IPv4 was."""
    if query.preferred_family == AF_INET6:
        families = [AF_INET6]
    elif query.preferred_family == AF_INET:
        families = [AF_INET]
    else:
        families = [AF_INET, AF_INET6]
    return [family for family in families if query.has_family(family)]


def _proc_fallback(query: Query, family: int, protocol: int) -> list[InetSocket]:
    """The /proc rows that stand in for ``family``'s dump of a table the kernel cannot list. Where ss dumps
    one family of two selected (-4 -6: the one named last), a failed dump makes it read /proc for both,
    IPv4's file first; otherwise each family's dump stands for its own file."""
    from pyss.system.proc_net import read_proc_inet

    dumped = _inet_families(query)
    families = [family] if len(dumped) > 1 else [each for each in (AF_INET, AF_INET6) if query.has_family(each)]
    return [record for each in families for record in read_proc_inet(each, protocol, query.states)]


def _inet_dump(
    query: Query, extensions: Extensions, family: int, protocol: int, read_ahead: bool,
    early: _EarlyFamilies | None = None,
) -> Callable[[], Iterator[SocketRecord]]:
    def open_dump() -> Iterator[SocketRecord]:
        decode = inet_decoder(protocol)
        table = _table_name(protocol)
        message = _inet_message(query, extensions, family, protocol)
        following = buffers = None
        if early is not None:
            following = early.first_dump_starts(family, None)
            buffers = early.take(family, message, read_ahead)
        try:
            return _open(message, decode, table, read_ahead, buffers, following)
        except DumpError as error:
            sent_program = query.filter is not None and query.filter.bytecode(family, protocol) is not None
            if not sent_program or error.errno not in _REFUSED_PROGRAM:
                raise
            # The kernel refused the filter program: the Python predicate, applied to every
            # record anyway, judges the whole dump instead, as ss does.
            return _open(requests.inet_request(family, protocol, query.states, extensions.inet), decode, table,
                         read_ahead)
        except UnsupportedTable:
            from pyss.system.proc_net import PROC_PROTOCOLS

            if protocol not in PROC_PROTOCOLS:
                raise  # ss has no /proc fallback for dccp, sctp or mptcp
            # No *_diag module for this protocol (raw_diag is often missing): read /proc, as ss does. The
            # file is read now, while the opener may be inside another namespace (the API's netns=, the
            # exporter), not at the first next(): /proc/thread-self/net is the namespace of that moment.
            return iter(_proc_fallback(query, family, protocol))

    return open_dump


def _inet_message(query: Query, extensions: Extensions, family: int, protocol: int) -> bytes:
    """The dump request of one inet table and family, with the filter's program for the kernel."""
    bytecode = query.filter.bytecode(family, protocol) if query.filter is not None else None
    return requests.inet_request(family, protocol, query.states, extensions.inet, bytecode)


def _inet_batches_dump(
    query: Query, extensions: Extensions, family: int, protocol: int, read_ahead: bool,
    early: _EarlyFamilies | None = None,
) -> Callable[[], Iterator[Batch]]:
    """The opener of one family's dump as batches; ``early``: the table's later families' dumps start
    early (see :class:`_EarlyFamilies`)."""
    def open_dump() -> Iterator[Batch]:
        message = requests.inet_request(family, protocol, query.states, extensions.inet)
        work = _column_work(protocol)
        following = buffers = None
        if early is not None:
            following = early.first_dump_starts(family, work)
            buffers = early.take(family, message, read_ahead)
        if buffers is None:
            buffers = transport.dump(message, read_ahead, following, work)
        try:
            return _first_read(inet_batches(buffers, protocol), _table_name(protocol))
        except UnsupportedTable:
            return iter((RecordBatch(InetSocket, _proc_fallback(query, family, protocol)),))

    return open_dump


def _inet_runs_dump(
    query: Query, extensions: Extensions, family: int, protocol: int, read_ahead: bool
) -> Callable[[], Iterator[RunBatch]]:
    def open_dump() -> Iterator[RunBatch]:
        message = requests.inet_request(family, protocol, query.states, extensions.inet)
        try:
            return _first_read(inet_runs(transport.dump(message, read_ahead), protocol), _table_name(protocol))
        except UnsupportedTable:
            return iter((RecordBatch(InetSocket, _proc_fallback(query, family, protocol)),))

    return open_dump


def _tcp_runs_dump(query: Query, read_ahead: bool, split: bool = True, states_only: bool = False) \
        -> Callable[[], Iterator[RunBatch]]:
    """TCP of both families in one TCPDIAG_GETSOCK dump (``states_only``: the established sockets counted,
    see :func:`_tcp_counted_runs`); should the kernel refuse that request, one dump per family as usual
    (which also reads /proc when the kernel cannot list TCP at all)."""
    def open_dump() -> Iterator[RunBatch]:
        try:
            counted = _tcp_counted_runs(query.states, split) if states_only else None
            if counted is not None:
                return _first_read(counted, "tcp")
            return _first_read(_tcp_runs(query.states, read_ahead, split), "tcp")
        except (DumpError, UnsupportedTable):
            openers = [_inet_runs_dump(query, Extensions(), family, IPPROTO_TCP, read_ahead)
                       for family in (AF_INET, AF_INET6)]
            return chain.from_iterable(opener() for opener in openers)

    return open_dump


def _tcp_runs(states: int, read_ahead: bool, split_over_cpus: bool = True) -> Iterator[RunBatch]:
    """TCP's runs from one TCPDIAG_GETSOCK dump or, with more than one CPU and more sockets than the
    dump's first buffer holds, from parts dumped side by side (:mod:`pyss.netlink.split`), cut in the
    ephemeral port range. A kernel that refuses the parts' programs gets the one dump."""
    message = requests.tcpdiag_request(states)
    if not split_over_cpus:
        return inet_runs(transport.dump(message, read_ahead), IPPROTO_TCP, TCPDIAG_GETSOCK)
    from pyss.netlink import split  # a count's, off the listings' start-up (and a counted count's, mostly)
    from pyss.system.procfs import ephemeral_port_range

    parts = split.part_count()
    if parts < 2:
        return inet_runs(transport.dump(message, read_ahead), IPPROTO_TCP, TCPDIAG_GETSOCK)
    with transport.DiagSocket() as diag:
        first = next(diag.request(message), b"")
    if split.ends_in(first):  # a small table, or an error (which the decoder reports)
        return inet_runs(iter((first,)), IPPROTO_TCP, TCPDIAG_GETSOCK)
    bounds = split.range_bounds(*ephemeral_port_range(), parts)
    if not bounds:
        return inet_runs(transport.dump(message, read_ahead), IPPROTO_TCP, TCPDIAG_GETSOCK)
    messages = [requests.tcpdiag_request(states, program) for program in split.part_programs(bounds)]
    runs = split.dump_parts(messages, lambda part: inet_runs(part, IPPROTO_TCP, TCPDIAG_GETSOCK))
    try:
        head = next(runs)
    except StopIteration:
        return iter(())
    except DumpError as error:
        if error.errno not in _REFUSED_PROGRAM:
            raise
        return inet_runs(transport.dump(message, read_ahead), IPPROTO_TCP, TCPDIAG_GETSOCK)
    return chain((head,), runs)


# The states of every full socket the kernel hashes (and so counts in sockstat's inuse): all but TIME-WAIT
# (a TIME-WAIT socket is not a full socket), CLOSE (never hashed) and the request-socket bit.
_HASHED_STATES = sum(1 << state for state in (TCP_ESTABLISHED, TCP_SYN_SENT, TCP_SYN_RECV, TCP_FIN_WAIT1,
                                              TCP_FIN_WAIT2, TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_LISTEN, TCP_CLOSING))
# Fewer TIME-WAIT sockets than this: the dump of the sockets other than established ones is not split
# over the CPUs (splitting halves a dump's filling, but each part walks the whole hash again).
_SPLIT_TIMEWAIT = 8192


def _tcp_counted_runs(states: int, split_over_cpus: bool) -> Iterator[RunBatch] | None:
    """TCP's runs for a consumer that reads states alone: every socket but the established ones dumped,
    and the established ones as one StateCount, counted by the kernel. None when that cannot be known
    here (sockstat unread, ``states`` leaves out a hashed state or asks for bound-inactive sockets): the
    caller dumps every socket.

    The kernel counts each full TCP socket while it is hashed (sockstat's inuse, per namespace); every
    hashed socket that is not established is in a dump asking for every state but ESTABLISHED, which
    tells full sockets from TIME-WAIT and request sockets by their attributes. So established = inuse
    - the full sockets dumped. Filling a message costs the kernel ~3/4 of a dump's time at 50k sockets
    (docs/design.md): left out, the dump is about one walk of the hash. The counter is read as the
    walk starts; sockets that change state during the walk move between the two figures as they
    would between the rows of a dump, and the figure is never below 0.
    """
    if states & _HASHED_STATES != _HASHED_STATES or states & (1 << TCP_BOUND_INACTIVE):
        return None  # bound-inactive sockets: full sockets (reported as CLOSE) that are not hashed
    from pyss.system.sockstat import tcp_counters_here

    counters = tcp_counters_here()
    if counters is None:
        return None
    hashed, timewait = counters
    others = _tcp_runs(states & ~(1 << TCP_ESTABLISHED), False, split_over_cpus and timewait >= _SPLIT_TIMEWAIT)
    return _established_last(others, hashed)


def _established_last(others: Iterator[RunBatch], hashed: int) -> Iterator[RunBatch]:
    """``others``' batches, then the established sockets' StateCount: ``hashed`` less the full sockets
    among ``others`` (also when the kernel flagged the dump as interrupted, which is raised after it)."""
    from pyss.columnar import InetRuns, StateCount, full_records

    full = 0
    interrupted = None
    try:
        for batch in others:
            if isinstance(batch, RecordBatch):
                records = list(batch.records)
                full += full_records(records)  # type: ignore[arg-type]  # a TCP dump's records are InetSockets
                yield RecordBatch(batch.kind, records)
                continue
            if isinstance(batch, InetRuns):
                full += batch.full_sockets()
            yield batch
    except DumpInterrupted as flagged:
        interrupted = flagged
    yield StateCount(IPPROTO_TCP, TCP_ESTABLISHED, max(hashed - full, 0))
    if interrupted is not None:
        raise interrupted


def _both_families(query: Query, read_ahead: bool) -> Iterator[SocketRecord]:
    return chain.from_iterable(_inet_dump(query, Extensions(), family, IPPROTO_TCP, read_ahead)()
                               for family in (AF_INET, AF_INET6))


# EINVAL: the verifier rejected the program; EPERM: a mark condition without CAP_NET_ADMIN.
_REFUSED_PROGRAM = (errno.EINVAL, errno.EPERM)


def _table_name(protocol: int) -> str:
    from pyss.names.netids import INET_NETIDS  # where a table is named: pyss.count("tcp") names none

    return INET_NETIDS[protocol]


def _unix(query: Query, extensions: Extensions) -> Iterator[SocketRecord]:
    show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | extensions.unix
    wanted = {kind for kind, table in _UNIX_TYPES.items() if query.has(table)}
    records = _open(requests.unix_request(query.states, show), decode_unix, "unix")

    def wanted_type(record: SocketRecord) -> bool:
        return isinstance(record, UnixSocket) and record.type in wanted

    return filter(wanted_type, records)


def _packet() -> Iterator[SocketRecord]:
    show = PACKET_SHOW_INFO | PACKET_SHOW_MEMINFO | PACKET_SHOW_FILTER | PACKET_SHOW_RING_CFG | PACKET_SHOW_FANOUT
    return _open(requests.packet_request(show), decode_packet, "packet")


def _netlink() -> Iterator[SocketRecord]:
    show = NDIAG_SHOW_GROUPS | NDIAG_SHOW_MEMINFO
    return _open(requests.netlink_request(show), decode_netlink, "netlink")


# ss's VSOCK tables by socket type (a type of neither, such as SOCK_SEQPACKET, is listed with either)
_VSOCK_TABLES = {SOCK_STREAM: "vsock_stream", SOCK_DGRAM: "vsock_dgram"}
_RARE_TABLES = TABLE_BIT["vsock_stream"] | TABLE_BIT["vsock_dgram"] | TABLE_BIT["tipc"] | TABLE_BIT["xdp"]
# Tables whose missing diag module is reported under one name for all of them.
_REPORTED_TABLE_BITS = {"vsock": TABLE_BIT["vsock_stream"] | TABLE_BIT["vsock_dgram"]}


def _rare_table_dumps(query: Query) -> Iterator[_TableDump]:
    """VSOCK, TIPC and XDP, in ss's order (their record classes are built only for such listings)."""
    from pyss.records import TipcSocket, VsockSocket, XdpSocket

    if (query.has("vsock_stream") or query.has("vsock_dgram")) and query.has_family(AF_VSOCK):
        yield _TableDump(VsockSocket, lambda: _vsock(query))
    if query.has("tipc"):  # ss asks for TIPC sockets whatever the families (and judges none by the filter)
        yield _TableDump(TipcSocket, lambda: _tipc(query.states))
    if query.has("xdp") and query.has_family(AF_XDP) and query.states & (1 << TCP_CLOSE):
        yield _TableDump(XdpSocket, _xdp)


def _vsock(query: Query) -> Iterator[SocketRecord]:
    from pyss.netlink.vsock import decode_vsock  # only VSOCK listings load it

    records = _open(requests.vsock_request(query.states), decode_vsock, "vsock")
    skipped = {kind for kind, table in _VSOCK_TABLES.items() if not query.has(table)}
    if not skipped:
        return records
    return (record for record in records if record.type not in skipped)  # type: ignore[union-attr]


def _tipc(states: int) -> Iterator[SocketRecord]:
    from pyss.netlink.tipc import decode_tipc  # only TIPC listings load it

    messages = _first_read(walk(transport.dump(requests.tipc_request(states)), decode_tipc), "tipc")
    return (record for record in messages if record is not None)  # ss skips a message without a socket


def _xdp() -> Iterator[SocketRecord]:
    from pyss.netlink.xdp import decode_xdp  # only XDP listings load it

    show = XDP_SHOW_INFO | XDP_SHOW_RING_CFG | XDP_SHOW_UMEM | XDP_SHOW_MEMINFO | XDP_SHOW_STATS
    return _open(requests.xdp_request(show), decode_xdp, "xdp")


def _open(
    message: bytes, decode: Callable[[bytes, int, int], SocketRecord], table: str, read_ahead: bool = False,
    buffers: Iterator[bytes] | None = None, following: transport.EarlyDump | None = None,
) -> Iterator[SocketRecord]:
    """The records of a dump: of ``message``, or of ``buffers`` when that dump was started already;
    ``following``: the dump to start early should this one be read ahead (see transport.dump)."""
    if buffers is None:
        buffers = transport.dump(message, read_ahead, following)
    return _first_read(walk(buffers, decode), table)


def _interrupted() -> Iterator[Never]:
    """An empty dump that says, when read, that the kernel flagged it as interrupted."""
    raise DumpInterrupted
    yield  # a generator: nothing is raised before the consumer reads


def _first_read(items: Iterator[Item], table: str) -> Iterator[Item]:
    """Start a dump and read its first item: a kernel that cannot answer says so before any is shown."""
    try:
        first = next(items)
    except StopIteration:
        return iter(())
    except DumpInterrupted:
        # the dump ended in its first buffer with nothing to show, flagged: the consumer reports it
        return _interrupted()
    except DumpError as error:
        if is_missing_module(error):
            raise UnsupportedTable(table, f"the kernel cannot list these sockets ({error.strerror})") from error
        raise
    return chain((first,), items)
