"""Socket records: one small immutable tuple per kernel socket.

Records are NamedTuples because a dump builds one per socket and tuple
construction is the cheapest typed object CPython offers. Fields hold what the
kernel sent, undecorated (addresses as packed bytes, ports as ints); turning
them into text is the renderers' job. Optional extensions the kernel appends
(tcp_info, memory, timers, ...) stay as the raw attribute block in ``attrs``
and are decoded on demand by :mod:`pyss.netlink.decode`, because the default
output never needs them and decoding them costs time on every socket.
Records import nothing from pyss but lite_typing (and, on first use of a rare
kind, kind_records): every other layer may use them.
"""

from __future__ import annotations

from pyss.lite_typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # re-exported for type checkers; at run time __getattr__ below hands them out
    from pyss.kind_records import TipcSocket as TipcSocket  # noqa: PLC0414
    from pyss.kind_records import VsockSocket as VsockSocket  # noqa: PLC0414
    from pyss.kind_records import XdpSocket as XdpSocket  # noqa: PLC0414


class InetSocket(NamedTuple):
    """A TCP, UDP or RAW socket of AF_INET or AF_INET6 (struct inet_diag_msg)."""

    family: int
    state: int
    timer: int
    retrans: int
    sport: int
    dport: int
    src: bytes  # 4 bytes for AF_INET, 16 for AF_INET6, network order
    dst: bytes
    ifindex: int
    cookie: int
    expires: int  # milliseconds
    rqueue: int
    wqueue: int
    uid: int
    inode: int
    protocol: int  # the dump's table: IPPROTO_TCP, _UDP, _RAW, _DCCP, _SCTP or _MPTCP
    attrs: bytes  # the netlink attributes that followed the message, undecoded


# A pyss-private attribute type (inet_diag sends none this high) carried in ``attrs`` by a TCP record
# read from a /proc/net/tcp-format line: that line's rto, ato, quick-ack, cwnd and ssthresh columns,
# as five native ints. They are all the file says of tcp_info, and what ss prints from it under -i.
PROC_TCP_COLUMNS = 0x3FFF


class UnixSocket(NamedTuple):
    """An AF_UNIX socket (struct unix_diag_msg plus its name, peer and queues)."""

    type: int
    state: int
    inode: int
    cookie: int
    name: str | None  # path, or "@name" for the abstract namespace; None if unbound
    peer: int  # the peer's inode, 0 if none
    rqueue: int
    wqueue: int
    attrs: bytes


class PacketSocket(NamedTuple):
    """An AF_PACKET socket (struct packet_diag_msg plus info and memory)."""

    type: int
    protocol: int  # ethertype, host order
    inode: int
    cookie: int
    ifindex: int
    rqueue: int
    uid: int
    attrs: bytes


class NetlinkSocket(NamedTuple):
    """An AF_NETLINK socket (struct netlink_diag_msg plus groups and memory)."""

    protocol: int
    state: int
    portid: int
    dst_portid: int
    dst_group: int
    inode: int
    cookie: int
    groups: int
    rqueue: int
    wqueue: int
    attrs: bytes
    # Read from /proc/net/netlink only (the diag dump has neither; ss prints them as sk=/cb= under -e):
    address: int = 0  # the sock's kernel address as the file shows it (hashed, or 0 to the unprivileged)
    dumping: int = 0  # the file's Dump column: a dump callback is running on the socket


if TYPE_CHECKING:
    SocketRecord = InetSocket | UnixSocket | PacketSocket | NetlinkSocket | VsockSocket | TipcSocket | XdpSocket
else:  # an annotation's alias at run time: the rare kinds' classes are not built for it
    SocketRecord = InetSocket | UnixSocket | PacketSocket | NetlinkSocket

_RARE_KINDS = frozenset({"VsockSocket", "TipcSocket", "XdpSocket"})


def __getattr__(name: str) -> type:
    """VsockSocket, TipcSocket and XdpSocket, built when first asked for (see pyss.kind_records)."""
    if name not in _RARE_KINDS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from pyss import kind_records

    kind: type = getattr(kind_records, name)
    globals()[name] = kind
    return kind
