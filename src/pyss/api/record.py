"""The public socket record and the conversion of pyss's kernel-shaped records into it.

:class:`Socket` carries friendly fields (``socket.AddressFamily`` and
``socket.SocketKind`` members, a :class:`State`, addresses as ``(ip, port)``
with ``ip`` a string) built from the decoder's records, which keep what the
kernel sent. A conversion runs once per socket, so each converter binds its
tables to locals, builds tuples with ``tuple.__new__`` and keeps address
texts in a per-call cache (a dump of 50k sockets has far fewer distinct
addresses). Pure: interface names and process holders come from callables
the caller passes in.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator, Sequence
from itertools import repeat
from typing import TYPE_CHECKING, NamedTuple

# State lives in pyss.api.state (a count by state imports no more); it and its helpers are re-exported from
# here, where they were defined before: `X as X` is how mypy --strict is told a re-export is meant.
from pyss.api.state import PSUTIL_STATUS as PSUTIL_STATUS  # noqa: PLC0414
from pyss.api.state import STATES
from pyss.api.state import State as State  # noqa: PLC0414
from pyss.api.state import state_of as state_of  # noqa: PLC0414
from pyss.names.netids import INET_NETIDS, netid
from pyss.netlink.constants import (
    AF_INET,
    AF_INET6,
    AF_NETLINK,
    AF_PACKET,
    AF_UNIX,
    AF_XDP,
    IPPROTO_DCCP,
    IPPROTO_MPTCP,
    IPPROTO_RAW,
    IPPROTO_SCTP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    SOCK_RAW,
)
from pyss.records import InetSocket, NetlinkSocket, PacketSocket, SocketRecord, UnixSocket

if TYPE_CHECKING:
    from pyss.columnar import InetColumns
    from pyss.netlink.tcpinfo import TcpInfo


class Addr(NamedTuple):
    """An inet address and port (psutil's ``addr`` shape). For packet sockets ``ip`` is empty and ``port``
    the ethertype; for netlink sockets ``port`` is the port id."""

    ip: str
    port: int


class Process(NamedTuple):
    """One file descriptor of one process that holds the socket."""

    pid: int
    fd: int
    name: str  # the command name (/proc/PID/stat's comm)


class Timer(NamedTuple):
    """The socket's running timer (ss -o): ``name`` is one of on, keepalive, timewait, persist, unknown."""

    name: str
    expires_ms: int
    retransmits: int


class Memory(NamedTuple):
    """SK_MEMINFO (ss -m's skmem): bytes queued and allocated, as the kernel counts them."""

    rmem_alloc: int
    rcvbuf: int
    wmem_alloc: int
    sndbuf: int
    fwd_alloc: int
    wmem_queued: int
    optmem: int
    backlog: int
    drops: int


class Extended(NamedTuple):
    """ss -e's extra fields of an inet socket (None where the kernel sent none)."""

    cgroup_id: int | None
    v6only: bool | None
    shutdown: int | None  # bit 0: no more receptions, bit 1: no more sends


Address = Addr | str


class Socket(NamedTuple):
    """One socket, with friendly fields. Detail fields are None unless asked for with ``details=``."""

    kind: str  # ss's Netid: tcp, udp, raw, u_str, u_dgr, u_seq, p_raw, p_dgr, nl
    family: socket.AddressFamily
    type: socket.SocketKind
    state: State
    laddr: Address  # Addr, or the path (abstract names start with "@"; "" unbound) of a UNIX socket
    raddr: Address  # Addr, or "" for a UNIX socket (its peer is known by inode only)
    recv_q: int
    send_q: int
    inode: int
    uid: int | None  # None where the kernel does not say (UNIX, netlink)
    interface: str | None  # the bound device's name, None when bound to none
    cookie: int
    processes: tuple[Process, ...] = ()  # filled in with processes=True
    info: TcpInfo | None = None  # with details=("info",), TCP sockets only
    memory: Memory | None = None  # with details=("memory",)
    timer: Timer | None = None  # with details=("timers",); None also when no timer runs
    extended: Extended | None = None  # with details=("extended",)


DETAILS = ("info", "memory", "timers", "extended")
"""The detail names ``details=`` accepts."""

_TIMER_NAMES = ("off", "on", "keepalive", "timewait", "persist", "unknown")

FAMILIES: dict[int, socket.AddressFamily] = {
    AF_INET: socket.AF_INET, AF_INET6: socket.AF_INET6, AF_UNIX: socket.AF_UNIX,
    AF_PACKET: socket.AddressFamily(AF_PACKET), AF_NETLINK: socket.AF_NETLINK,
}
# Every inet table the command line lists (its --count-by builds Sockets of MPTCP, SCTP and DCCP rows too).
# SCTP's dump does not say which of its two styles a socket has: the one-to-many (SOCK_SEQPACKET) is
# assumed; DCCP sockets are all SOCK_DCCP (6), which Python's SocketKind does not name.
_INET_TYPES: dict[int, socket.SocketKind | int] = {
    IPPROTO_TCP: socket.SOCK_STREAM, IPPROTO_UDP: socket.SOCK_DGRAM, IPPROTO_RAW: socket.SOCK_RAW,
    IPPROTO_MPTCP: socket.SOCK_STREAM, IPPROTO_SCTP: socket.SOCK_SEQPACKET, IPPROTO_DCCP: 6}
_INET_KINDS = INET_NETIDS
_NO_PROCESSES: tuple[Process, ...] = ()

InterfaceName = Callable[[int], "str | None"]
Holders = Callable[[int], "tuple[Process, ...]"]
Converter = Callable[[SocketRecord], Socket]


def _no_holders(_inode: int) -> tuple[Process, ...]:
    return _NO_PROCESSES


def converter(interface: InterfaceName, holders: Holders | None = None, details: Sequence[str] = ()) -> Converter:
    """A function turning any decoder record into a Socket.

    ``interface`` maps an interface index (never 0) to its name; ``holders``
    maps an inode to the processes holding it (None: processes were not
    asked for); ``details`` names the detail fields to decode.
    """
    inet = inet_converter(interface, holders, details)
    others = _other_converter(interface, holders or _no_holders)

    def convert(record: SocketRecord) -> Socket:
        if type(record) is InetSocket:
            return inet(record)
        return others(record)

    return convert


def inet_converter(interface: InterfaceName, holders: Holders | None, details: Sequence[str]) -> Callable[
        [InetSocket], Socket]:
    """The Socket converter for inet records (the hot path: 50k sockets are 50k calls)."""
    new = tuple.__new__
    texts: dict[bytes, str] = {}
    ntop = socket.inet_ntop
    families, kinds, types, states = FAMILIES, _INET_KINDS, _INET_TYPES, STATES
    names: dict[int, str | None] = {}
    addr = Addr
    decorate = _details_function(details)

    def text(family: int, packed: bytes) -> str:
        found = ntop(family, packed)
        texts[packed] = found
        return found

    def convert(record: InetSocket) -> Socket:
        (family, state, _timer, _retrans, sport, dport, src, dst, ifindex, cookie, _expires, rqueue, wqueue, uid,
         inode, protocol, _attrs) = record
        local = texts.get(src) or text(family, src)
        peer = texts.get(dst) or text(family, dst)
        name = None
        if ifindex:  # bound to a device: rare, so looked up only then
            name = names.get(ifindex, _MISSING)
            if name is _MISSING:
                name = names[ifindex] = interface(ifindex)
        result: Socket = new(Socket, (
            kinds[protocol], families[family], types[protocol], states[state] if state < 13 else State.UNKNOWN,
            new(addr, (local, sport)), new(addr, (peer, dport)), rqueue, wqueue, inode, uid, name, cookie,
            _NO_PROCESSES if holders is None else holders(inode), None, None, None, None,
        ))
        return result if decorate is None else decorate(result, record)

    return convert


_MISSING = "\0missing"


def address_texts(family: int) -> dict[int | bytes, str]:
    """InetColumns address key -> its text for one family, each text made once on first use."""
    return _AddressTexts(family)


class _AddressTexts(dict[int | bytes, str]):
    """An InetColumns address key -> its text, made on first use (a dump has few distinct addresses)."""

    def __init__(self, family: int) -> None:
        super().__init__()
        self.family = family

    def __missing__(self, key: int | bytes) -> str:
        from pyss.columnar import packed_address

        text = self[key] = socket.inet_ntop(self.family, packed_address(key))
        return text


def columns_converter(interface: InterfaceName, holders: Holders | None) -> Callable[
        [InetColumns], Iterator[Socket]]:
    """The Sockets of one receive buffer read as columns (:mod:`pyss.columnar`), built in bulk.

    No per-socket Python code runs: each field is a column, a constant or a
    C-level map over one (address texts through a per-call cache, states by
    table), zipped and made into Socket tuples by ``map``. No details (a
    listing asking for them goes by records).
    """
    from pyss.columnar import more_columns

    new = tuple.__new__
    texts = {AF_INET: _AddressTexts(AF_INET), AF_INET6: _AddressTexts(AF_INET6)}
    states = STATES + (State.UNKNOWN,) * (256 - len(STATES))  # every u8 a kernel state can be
    names: dict[int, str | None] = {0: None}

    def name(index: int) -> str | None:
        if index not in names:
            names[index] = interface(index)
        return names[index]

    def convert(columns: InetColumns) -> Iterator[Socket]:
        more = more_columns(columns)
        text = texts[columns.family].__getitem__
        protocol, inodes = columns.protocol, more.inodes
        laddrs = map(new, repeat(Addr), zip(map(text, columns.srcs), columns.sports, strict=True))
        raddrs = map(new, repeat(Addr), zip(map(text, columns.dsts), columns.dports, strict=True))
        interfaces = map(name, columns.ifindexes) if any(columns.ifindexes) else repeat(None)
        processes = repeat(_NO_PROCESSES) if holders is None else map(holders, inodes)
        nothing = repeat(None)
        fields = zip(repeat(_INET_KINDS[protocol]), repeat(FAMILIES[columns.family]), repeat(_INET_TYPES[protocol]),
                     map(states.__getitem__, columns.states), laddrs, raddrs, columns.rqueues, columns.wqueues,
                     inodes, more.uids, interfaces, more.cookies, processes, nothing, nothing, nothing, nothing)
        sockets: Iterator[Socket] = map(new, repeat(Socket), fields)
        return sockets

    return convert


def _other_converter(interface: InterfaceName, holders: Holders) -> Callable[[SocketRecord], Socket]:
    names: dict[int, str | None] = {0: None}

    def interface_name(index: int) -> str | None:
        if index not in names:
            names[index] = interface(index)
        return names[index]

    def convert(record: SocketRecord) -> Socket:
        if type(record) is UnixSocket:
            return Socket(netid(record), socket.AF_UNIX, socket.SocketKind(record.type), state_of(record.state),
                          record.name or "", "", record.rqueue, record.wqueue, record.inode, None, None,
                          record.cookie, holders(record.inode))
        if type(record) is PacketSocket:
            return Socket(netid(record), FAMILIES[AF_PACKET], socket.SocketKind(record.type), State.UNCONN,
                          Addr("", record.protocol), Addr("", 0), record.rqueue, 0, record.inode, record.uid,
                          interface_name(record.ifindex), record.cookie, holders(record.inode))
        if type(record) is NetlinkSocket:
            return Socket(netid(record), socket.AF_NETLINK, socket.SocketKind(SOCK_RAW), state_of(record.state),
                          Addr("", record.portid), Addr("", record.dst_portid), record.rqueue, record.wqueue,
                          record.inode, None, None, record.cookie, holders(record.inode))
        return _other_kind(record, interface_name, holders)

    return convert


def _socket_kind(number: int) -> socket.SocketKind | int:
    try:
        return socket.SocketKind(number)
    except ValueError:
        return number


def _address_family(number: int) -> socket.AddressFamily | int:
    """The AddressFamily member, or the number where Python has none (AF_XDP)."""
    try:
        return socket.AddressFamily(number)
    except ValueError:
        return number


def _other_kind(record: SocketRecord, interface_name: Callable[[int], str | None],
                holders: Holders) -> Socket:
    """A VSOCK, TIPC or XDP socket (--count-by and --watch meet these): the CID, TIPC node or
    device as the address's ip text, the port, TIPC port or queue id as its port."""
    from pyss.records import TipcSocket, VsockSocket, XdpSocket

    if type(record) is VsockSocket:
        return Socket(netid(record), socket.AF_VSOCK, _socket_kind(record.type), state_of(record.state),  # type: ignore[arg-type]
                      Addr(str(record.src_cid), record.src_port), Addr(str(record.dst_cid), record.dst_port), 0, 0,
                      record.inode, None, None, record.cookie, holders(record.inode))
    if type(record) is TipcSocket:
        peer = Addr(str(record.peer_node), record.peer_ref or 0) if record.peer_node is not None else Addr("", 0)
        return Socket(netid(record), socket.AF_TIPC, _socket_kind(record.type), state_of(record.state),  # type: ignore[arg-type]
                      Addr(str(record.node), record.ref), peer, record.rqueue, record.wqueue, record.inode,
                      record.uid, None, record.cookie, holders(record.inode))
    assert type(record) is XdpSocket
    return Socket(netid(record), _address_family(AF_XDP), _socket_kind(record.type), State.UNCONN,  # type: ignore[arg-type]
                  Addr("", record.queue_id), Addr("", 0), record.rqueue, 0, record.inode, record.uid,
                  interface_name(record.ifindex), record.cookie, holders(record.inode))


def _details_function(details: Sequence[str]) -> Callable[[Socket, InetSocket], Socket] | None:
    """Decode the asked-for detail fields of an inet record into its Socket (None: none asked for)."""
    wanted = frozenset(details)
    if not wanted:
        return None
    from pyss.netlink.constants import (
        INET_DIAG_CGROUP_ID,
        INET_DIAG_INFO,
        INET_DIAG_SHUTDOWN,
        INET_DIAG_SKMEMINFO,
        INET_DIAG_SKV6ONLY,
    )
    from pyss.netlink.decode import inet_attributes
    from pyss.netlink.tcpinfo import decode_sk_meminfo, decode_tcp_info, decode_u8, decode_u64

    def decorate(result: Socket, record: InetSocket) -> Socket:
        attrs = inet_attributes(record)
        info = memory = timer = extended = None
        if "info" in wanted and (raw := attrs.get(INET_DIAG_INFO)) is not None and record.protocol == IPPROTO_TCP:
            info = decode_tcp_info(raw)
        if "memory" in wanted and (raw := attrs.get(INET_DIAG_SKMEMINFO)) is not None:
            memory = Memory(*(decode_sk_meminfo(raw) + (0,) * 9)[:9])
        if "timers" in wanted and record.timer:
            timer = Timer(_TIMER_NAMES[min(record.timer, 5)], record.expires, record.retrans)
        if "extended" in wanted:
            cgroup, v6only, shutdown = (attrs.get(INET_DIAG_CGROUP_ID), attrs.get(INET_DIAG_SKV6ONLY),
                                        attrs.get(INET_DIAG_SHUTDOWN))
            extended = Extended(
                decode_u64(cgroup) if cgroup is not None else None,
                bool(decode_u8(v6only)) if v6only is not None else None,
                decode_u8(shutdown) if shutdown is not None else None,
            )
        return result._replace(info=info, memory=memory, timer=timer, extended=extended)

    return decorate


def check_details(details: Sequence[str]) -> tuple[str, ...]:
    """``details`` as a tuple; ValueError naming the known ones for an unknown name."""
    from pyss.api.request import given_names

    names = given_names(details, "details")
    for name in names:
        if name not in DETAILS:
            raise ValueError(f"unknown detail {name!r}; known details: {', '.join(DETAILS)}")
    return names
