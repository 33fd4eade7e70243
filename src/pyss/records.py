"""Socket records: one small immutable tuple per kernel socket.

Records are NamedTuples because a dump builds one per socket and tuple
construction is the cheapest typed object CPython offers. Fields hold what the
kernel sent, undecorated (addresses as packed bytes, ports as ints); turning
them into text is the renderers' job. Optional extensions the kernel appends
(tcp_info, memory, timers, ...) stay as the raw attribute block in ``attrs``
and are decoded on demand by :mod:`pyss.netlink.decode`, because the default
output never needs them and decoding them costs time on every socket.
Records import nothing from pyss but lite_typing: every other layer may use them.
"""

from __future__ import annotations

from pyss.lite_typing import NamedTuple


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


class VsockSocket(NamedTuple):
    """An AF_VSOCK socket (struct vsock_diag_msg); the kernel reports no queues for these."""

    type: int
    state: int
    shutdown: int
    src_cid: int  # VMADDR_CID_ANY (ss's "*") when unbound
    src_port: int  # VMADDR_PORT_ANY (ss's "*") when unbound
    dst_cid: int
    dst_port: int
    inode: int
    cookie: int
    attrs: bytes = b""  # vsock_diag sends no attributes: always empty, kept so every record has them


class TipcSocket(NamedTuple):
    """An AF_TIPC socket (a TIPC_NLA_SOCK nest: TIPC's sock_diag sends attributes only)."""

    type: int
    state: int
    node: int  # TIPC_NLA_SOCK_ADDR: this node's address
    ref: int  # TIPC_NLA_SOCK_REF: the socket's port number
    peer_node: int | None  # TIPC_NLA_CON_NODE, None when not connected
    peer_ref: int | None  # TIPC_NLA_CON_SOCK
    inode: int
    uid: int
    cookie: int
    rqueue: int
    wqueue: int
    attrs: bytes  # the TIPC_NLA_SOCK nest, undecoded (--tipcinfo reads it)


class XdpSocket(NamedTuple):
    """An AF_XDP socket (struct xdp_diag_msg plus its info, uid and memory)."""

    type: int
    inode: int
    cookie: int
    ifindex: int  # XDP_DIAG_INFO: the device it is bound to, 0 if unbound
    queue_id: int
    uid: int
    rqueue: int  # SK_MEMINFO_RMEM_ALLOC of XDP_DIAG_MEMINFO, as ss shows it
    attrs: bytes


SocketRecord = InetSocket | UnixSocket | PacketSocket | NetlinkSocket | VsockSocket | TipcSocket | XdpSocket
