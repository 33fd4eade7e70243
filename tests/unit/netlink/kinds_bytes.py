"""sock_diag replies of VSOCK, TIPC and XDP sockets, built to the kernel's uapi layouts.

The formats are written out here from the headers (linux/vm_sockets_diag.h,
linux/xdp_diag.h, linux/tipc_netlink.h), not taken from pyss's own layouts,
so that a wrong layout in pyss shows up as a failing decode. Used by the
decoder unit tests and by tests/integration/test_kinds_built.py, which has
ss 6.1 read the same bytes.
"""

from __future__ import annotations

import struct

from pyss.netlink import constants as C  # noqa: N812  # reads like the kernel headers
from pyss.netlink.requests import attribute

_NLMSGHDR = struct.Struct("=IHHII")
# struct vsock_diag_msg: family, type, state, shutdown, src_cid, src_port, dst_cid, dst_port, ino, cookie[2]
VSOCK_MSG = struct.Struct("=BBBBIIIIIII")
# struct xdp_diag_msg: family, type, pad, ino, cookie[2]
XDP_MSG = struct.Struct("=BBHIII")
XDP_INFO = struct.Struct("=II")  # ifindex, queue_id
XDP_UMEM = struct.Struct("=QIIIIIIII")  # size, id, num_pages, chunk_size, headroom, ifindex, queue_id, flags, refs
XDP_STATS = struct.Struct("=6Q")
U32 = struct.Struct("=I")
U64 = struct.Struct("=Q")
ANY = 0xFFFFFFFF


def done() -> bytes:
    """The NLMSG_DONE that ends a dump (the shim adds its own)."""
    return _NLMSGHDR.pack(20, C.NLMSG_DONE, C.NLM_F_MULTI, 0, 0) + bytes(4)


def message(payload: bytes) -> bytes:
    """One SOCK_DIAG_BY_FAMILY message of a dump (the fake_diag shim stamps sequence and port)."""
    return _NLMSGHDR.pack(16 + len(payload), C.SOCK_DIAG_BY_FAMILY, C.NLM_F_MULTI, 0, 0) + payload


def vsock(kind: int, state: int, src: tuple[int, int], dst: tuple[int, int], inode: int, cookie: int,
          shutdown: int = 0) -> bytes:
    return message(VSOCK_MSG.pack(C.AF_VSOCK, kind, state, shutdown, *src, *dst, inode, cookie & ANY, cookie >> 32))


def skmem(*values: int) -> bytes:
    return struct.pack(f"={len(values)}I", *values)


def xdp(inode: int, cookie: int, *, info: tuple[int, int] | None = None, uid: int | None = None,
        rings: dict[int, int] | None = None, umem: tuple[int, ...] | None = None, meminfo: bytes | None = None,
        stats: tuple[int, ...] | None = None, kind: int = C.SOCK_RAW) -> bytes:
    """An xdp_diag_msg with the attributes given; ``rings`` maps XDP_DIAG_*_RING to its entries."""
    attrs = b""
    if info is not None:
        attrs += attribute(C.XDP_DIAG_INFO, XDP_INFO.pack(*info))
    if uid is not None:
        attrs += attribute(C.XDP_DIAG_UID, U32.pack(uid))
    for ring in (C.XDP_DIAG_RX_RING, C.XDP_DIAG_TX_RING):
        if rings and ring in rings:
            attrs += attribute(ring, U32.pack(rings[ring]))
    if umem is not None:
        attrs += attribute(C.XDP_DIAG_UMEM, XDP_UMEM.pack(*umem))
    for ring in (C.XDP_DIAG_UMEM_FILL_RING, C.XDP_DIAG_UMEM_COMPLETION_RING):
        if rings and ring in rings:
            attrs += attribute(ring, U32.pack(rings[ring]))
    if meminfo is not None:
        attrs += attribute(C.XDP_DIAG_MEMINFO, meminfo)
    if stats is not None:
        attrs += attribute(C.XDP_DIAG_STATS, XDP_STATS.pack(*stats))
    return message(XDP_MSG.pack(C.AF_XDP, kind, 0, inode, cookie & ANY, cookie >> 32) + attrs)


def tipc(kind: int, state: int, node: int, ref: int, inode: int, cookie: int, *, uid: int = 0,
         queues: tuple[int, int] = (0, 0), drops: int = 0, link_cong: bool = False, conn_cong: bool = False,
         peer: tuple[int, int] | None = None, via: tuple[int, int] | None = None, published: bool = False) -> bytes:
    """A TIPC_NLA_SOCK nest as net/tipc/socket.c fills it for sock_diag (unflagged nests, as the kernel's)."""
    sock = attribute(C.TIPC_NLA_SOCK_ADDR, U32.pack(node)) + attribute(C.TIPC_NLA_SOCK_REF, U32.pack(ref))
    if peer is not None:
        con = attribute(C.TIPC_NLA_CON_NODE, U32.pack(peer[0])) + attribute(C.TIPC_NLA_CON_SOCK, U32.pack(peer[1]))
        if via is not None:
            con += (attribute(C.TIPC_NLA_CON_FLAG, b"") + attribute(C.TIPC_NLA_CON_TYPE, U32.pack(via[0]))
                    + attribute(C.TIPC_NLA_CON_INST, U32.pack(via[1])))
        sock += attribute(C.TIPC_NLA_SOCK_CON, con)
    elif published:
        sock += attribute(C.TIPC_NLA_SOCK_HAS_PUBL, b"")
    sock += (attribute(C.TIPC_NLA_SOCK_TYPE, U32.pack(kind)) + attribute(C.TIPC_NLA_SOCK_INO, U32.pack(inode))
             + attribute(C.TIPC_NLA_SOCK_UID, U32.pack(uid)) + attribute(C.TIPC_NLA_SOCK_PAD, b"")
             + attribute(C.TIPC_NLA_SOCK_COOKIE, U64.pack(cookie))
             + attribute(C.TIPC_NLA_SOCK_TIPC_STATE, U32.pack(state)))
    stat = attribute(C.TIPC_NLA_SOCK_STAT_RCVQ, U32.pack(queues[0])) + attribute(C.TIPC_NLA_SOCK_STAT_SENDQ,
                                                                                   U32.pack(queues[1]))
    if link_cong:
        stat += attribute(C.TIPC_NLA_SOCK_STAT_LINK_CONG, b"")
    if conn_cong:
        stat += attribute(C.TIPC_NLA_SOCK_STAT_CONN_CONG, b"")
    stat += attribute(C.TIPC_NLA_SOCK_STAT_DROP, U32.pack(drops))
    sock += attribute(C.TIPC_NLA_SOCK_STAT, stat)
    return message(attribute(C.TIPC_NLA_SOCK, sock))


# A few sockets of each kind, in the shapes the kernel sends: listening, connected, unbound, odd types.
VSOCK_ZOO = (
    vsock(C.SOCK_STREAM, C.TCP_LISTEN, (3, 1234), (ANY, ANY), 5001, 0x1001),
    vsock(C.SOCK_STREAM, C.TCP_ESTABLISHED, (3, 1234), (2, 40001), 5002, 0x1002),
    vsock(C.SOCK_STREAM, C.TCP_SYN_SENT, (3, 50000), (2, 22), 5003, 0x1003),
    vsock(C.SOCK_DGRAM, C.TCP_CLOSE, (ANY, 99), (ANY, ANY), 5004, 0x1004),
    vsock(C.SOCK_STREAM, C.TCP_CLOSE, (ANY, ANY), (ANY, ANY), 5005, 0x1005),
    vsock(C.SOCK_SEQPACKET, C.TCP_ESTABLISHED, (4294967294, 4000), (2, 4001), 5006, 0xFFFFFFFF00000001),
    vsock(C.SOCK_STREAM, C.TCP_CLOSING, (1, 1024), (2, 1023), 5007, 0x1007, shutdown=3),
)
XDP_ZOO = (
    xdp(6001, 0x2001, info=(1, 0), uid=0, rings={C.XDP_DIAG_RX_RING: 2048, C.XDP_DIAG_TX_RING: 2048,
                                                 C.XDP_DIAG_UMEM_FILL_RING: 4096,
                                                 C.XDP_DIAG_UMEM_COMPLETION_RING: 1024},
        umem=(16777216, 7, 4096, 4096, 256, 1, 0, C.XDP_DU_F_ZEROCOPY, 1),
        meminfo=skmem(0, 212992, 0, 212992, 0, 0, 0, 0, 3), stats=(1, 2, 3, 4, 5, 6)),
    xdp(6002, 0x2002, info=(1, 40000), uid=1000, rings={C.XDP_DIAG_RX_RING: 512},
        meminfo=skmem(4096, 212992, 0, 212992, 0, 0, 0)),
    xdp(6003, 0x2003, uid=0),
    xdp(6004, 0x2004, info=(999, 3), uid=0, umem=(4096, 1, 1, 4096, 0, 999, 3, 0, 2),
        rings={C.XDP_DIAG_UMEM_COMPLETION_RING: 64}),
)
TIPC_ZOO = (
    tipc(C.SOCK_STREAM, C.TCP_LISTEN, 16781313, 1001, 7001, 0x3001, published=True),
    tipc(C.SOCK_STREAM, C.TCP_ESTABLISHED, 16781313, 1002, 7002, 0x3002, uid=1000, queues=(10, 20),
         peer=(16781314, 2002), via=(18888, 17)),
    tipc(C.SOCK_SEQPACKET, C.TCP_ESTABLISHED, 16781313, 1003, 7003, 0x3003, peer=(16781315, 3003), conn_cong=True,
         drops=5),
    tipc(C.SOCK_RDM, C.TCP_CLOSE, 16781313, 1004, 7004, 0x3004, link_cong=True, drops=4294967295),
    tipc(C.SOCK_DGRAM, C.TCP_CLOSE, 16781313, 1005, 7005, 0x3005),
)
