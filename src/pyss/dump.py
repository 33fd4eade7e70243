"""Run the dumps a Query needs, in ss's order, and stream the records that pass its filter.

ss lists netlink, packet, unix, raw, udp and then tcp sockets; for each inet
table it dumps IPv4 then IPv6 (starting with IPv6 only when that is the
family asked for last). pyss keeps that order so that outputs compare
line for line.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from itertools import chain
from typing import NamedTuple

from pyss.netlink import requests, transport
from pyss.netlink.constants import (
    AF_INET,
    AF_INET6,
    AF_NETLINK,
    AF_PACKET,
    AF_UNIX,
    IPPROTO_RAW,
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
    TCP_CLOSE,
    UDIAG_SHOW_NAME,
    UDIAG_SHOW_PEER,
    UDIAG_SHOW_RQLEN,
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
from pyss.procnet import read_proc_inet
from pyss.query import Query
from pyss.records import InetSocket, NetlinkSocket, PacketSocket, SocketRecord, UnixSocket

_INET_TABLES = (("raw", IPPROTO_RAW), ("udp", IPPROTO_UDP), ("tcp", IPPROTO_TCP))
_UNIX_TYPES = {SOCK_STREAM: "unix_stream", SOCK_DGRAM: "unix_dgram", SOCK_SEQPACKET: "unix_seqpacket"}


class Extensions(NamedTuple):
    """Extra per-socket information to ask the kernel for (chosen by the detail flags)."""

    inet: int = 0
    unix: int = 0
    packet: int = 0
    netlink: int = 0


class UnsupportedTable(Exception):
    """The kernel (or pyss) cannot list this socket table; the dump of the others goes on."""

    def __init__(self, table: str, reason: str) -> None:
        super().__init__(f"{table}: {reason}")
        self.table = table


Warn = Callable[[str], None]


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
    query: Query, extensions: Extensions | None = None, warn: Warn | None = None
) -> Iterator[tuple[type[SocketRecord], Iterator[SocketRecord]]]:
    """(record type, records) for each table dump in ss's order, the query's filter applied.

    Each dump starts when its pair is produced, so output streams table by
    table. The records iterator is the decoder's own generator behind C-level
    chain/filter, no Python layer per record: a consumer maps one row function
    over it and catches DumpInterrupted (raised after the last record) itself.
    """
    keep = query.filter
    for kind, open_dump in _table_dumps(query, extensions or Extensions()):
        try:
            records = open_dump()
        except UnsupportedTable as missing:
            if warn is not None:
                warn(str(missing))
            continue
        yield kind, records if keep is None else filter(keep, records)


TableDump = Callable[[], Iterator[SocketRecord]]


def _table_dumps(query: Query, extensions: Extensions) -> Iterator[tuple[type[SocketRecord], TableDump]]:
    if query.has("netlink") and query.has_family(AF_NETLINK) and query.states & (1 << TCP_CLOSE):
        yield NetlinkSocket, lambda: _netlink(extensions)
    if (query.has("packet_raw") or query.has("packet_dgram")) and query.has_family(AF_PACKET) \
            and query.states & (1 << TCP_CLOSE):
        yield PacketSocket, lambda: _packet(extensions)
    if any(query.has(t) for t in _UNIX_TYPES.values()) and query.has_family(AF_UNIX):
        yield UnixSocket, lambda: _unix(query, extensions)
    if query.has_family(AF_INET) or query.has_family(AF_INET6):
        for table, protocol in _INET_TABLES:
            if query.has(table):
                for family in _inet_families(query):
                    yield InetSocket, _inet_dump(query, extensions, family, protocol)
    # Tables pyss has no dumper for (sctp, dccp, mptcp, vsock, tipc, xdp) are skipped here; the CLI
    # says so when the user named one (see cli.ss.unsupported_tables).


def _inet_families(query: Query) -> list[int]:
    """ss starts with IPv4 unless IPv6 was the family named last, and stops there if IPv4 was."""
    if query.preferred_family == AF_INET6:
        families = [AF_INET6]
    elif query.preferred_family == AF_INET:
        families = [AF_INET]
    else:
        families = [AF_INET, AF_INET6]
    return [family for family in families if query.has_family(family)]


def _inet_dump(query: Query, extensions: Extensions, family: int, protocol: int) -> Callable[[], Iterator[SocketRecord]]:
    def open_dump() -> Iterator[SocketRecord]:
        bytecode = query.filter.bytecode(family, protocol) if query.filter is not None else None
        decode = inet_decoder(protocol)
        table = _table_name(protocol)
        try:
            return _open(requests.inet_request(family, protocol, query.states, extensions.inet, bytecode), decode, table)
        except DumpError as error:
            if bytecode is None or error.errno not in _REFUSED_PROGRAM:
                raise
            # The kernel refused the filter program: the Python predicate, applied to every
            # record anyway, judges the whole dump instead, as ss does.
            return _open(requests.inet_request(family, protocol, query.states, extensions.inet), decode, table)
        except UnsupportedTable:
            # No *_diag module for this protocol (raw_diag is often missing): read /proc, as ss does.
            return read_proc_inet(family, protocol, query.states)

    return open_dump


# EINVAL: the verifier rejected the program; EPERM: a mark condition without CAP_NET_ADMIN.
_REFUSED_PROGRAM = (errno.EINVAL, errno.EPERM)


def _table_name(protocol: int) -> str:
    return {IPPROTO_TCP: "tcp", IPPROTO_UDP: "udp", IPPROTO_RAW: "raw"}[protocol]


def _unix(query: Query, extensions: Extensions) -> Iterator[SocketRecord]:
    show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN | extensions.unix
    wanted = {kind for kind, table in _UNIX_TYPES.items() if query.has(table)}
    records = _open(requests.unix_request(query.states, show), decode_unix, "unix")

    def wanted_type(record: SocketRecord) -> bool:
        return isinstance(record, UnixSocket) and record.type in wanted

    return filter(wanted_type, records)


def _packet(extensions: Extensions) -> Iterator[SocketRecord]:
    show = PACKET_SHOW_INFO | PACKET_SHOW_MEMINFO | PACKET_SHOW_FILTER | PACKET_SHOW_RING_CFG | PACKET_SHOW_FANOUT
    return _open(requests.packet_request(show | extensions.packet), decode_packet, "packet")


def _netlink(extensions: Extensions) -> Iterator[SocketRecord]:
    show = NDIAG_SHOW_GROUPS | NDIAG_SHOW_MEMINFO | extensions.netlink
    return _open(requests.netlink_request(show), decode_netlink, "netlink")


def _open(message: bytes, decode: Callable[[bytes, int, int], SocketRecord], table: str) -> Iterator[SocketRecord]:
    """Start a dump and read its first record: a kernel that cannot answer says so before any record."""
    records = walk(transport.dump(message), decode)
    try:
        first = next(records)
    except StopIteration:
        return iter(())
    except DumpError as error:
        if is_missing_module(error):
            raise UnsupportedTable(table, f"the kernel cannot list these sockets ({error.strerror})") from error
        raise
    return chain((first,), records)
