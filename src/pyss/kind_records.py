"""The records of the socket kinds few hosts have (VSOCK, TIPC, XDP): small immutable tuples, as in
:mod:`pyss.records`, which hands them out on first use so that listings of the common kinds
never build these classes (each NamedTuple class costs start-up time)."""

from __future__ import annotations

from pyss.lite_typing import NamedTuple


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
