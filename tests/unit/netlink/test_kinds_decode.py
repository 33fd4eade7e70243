"""VSOCK, TIPC and XDP replies built to the uapi layouts (kinds_bytes.py), decoded.

ss 6.1 reads the same bytes in tests/integration/test_kinds_built.py; these pin the layouts and
what pyss does with malformed messages (one clear error, never a wrong record).
"""

from __future__ import annotations

import pytest
from tests.unit.netlink import kinds_bytes as built

from pyss.netlink import constants as C  # noqa: N812  # reads like the kernel headers
from pyss.netlink.decode import MalformedMessage, walk
from pyss.netlink.requests import attribute, tipc_request, vsock_request, xdp_request
from pyss.netlink.tipc import decode_tipc, decode_tipc_info
from pyss.netlink.vsock import VSOCK_DIAG_MSG, decode_vsock
from pyss.netlink.xdp import XDP_DIAG_MSG, XDP_DIAG_UMEM_LAYOUT, decode_xdp, decode_xdp_details
from pyss.records import TipcSocket, VsockSocket, XdpSocket


def decoded(messages: tuple[bytes, ...], decode: object) -> list[object]:
    return list(walk([b"".join(messages) + built.done()], decode))  # type: ignore[arg-type]


def test_struct_sizes_are_the_kernels() -> None:
    assert (VSOCK_DIAG_MSG.size, XDP_DIAG_MSG.size, XDP_DIAG_UMEM_LAYOUT.size) == (32, 16, 40)


def test_requests_are_the_uapi_structs() -> None:
    vsock, tipc, xdp = vsock_request(0xFFF), tipc_request(0x482), xdp_request(0x1F)
    assert (len(vsock), len(tipc), len(xdp)) == (16 + 24, 16 + 8, 16 + 20)
    assert (vsock[16], tipc[16], xdp[16]) == (C.AF_VSOCK, C.AF_TIPC, C.AF_XDP)
    assert built.U32.unpack_from(vsock, 20)[0] == 0xFFF and built.U32.unpack_from(tipc, 20)[0] == 0x482
    assert built.U32.unpack_from(xdp, 24)[0] == 0x1F  # xdiag_show follows xdiag_ino


def test_vsock_fields() -> None:
    records = decoded(built.VSOCK_ZOO, decode_vsock)
    assert records[1] == VsockSocket(C.SOCK_STREAM, C.TCP_ESTABLISHED, 0, 3, 1234, 2, 40001, 5002, 0x1002)
    assert records[5].cookie == 0xFFFFFFFF00000001 and records[5].type == C.SOCK_SEQPACKET  # type: ignore[attr-defined]
    assert records[6].shutdown == 3  # type: ignore[attr-defined]


def test_a_short_vsock_message_is_malformed() -> None:
    with pytest.raises(MalformedMessage, match="vsock_diag_msg of 28 bytes"):
        decoded((built.message(built.VSOCK_MSG.pack(C.AF_VSOCK, 1, 1, 0, 1, 2, 3, 4, 5, 6, 7)[:28]),), decode_vsock)


def test_xdp_fields_and_details() -> None:
    first, second, unbound, _other = decoded(built.XDP_ZOO, decode_xdp)
    assert isinstance(first, XdpSocket) and isinstance(second, XdpSocket) and isinstance(unbound, XdpSocket)
    assert (first.ifindex, first.queue_id, first.uid, first.rqueue, first.inode, first.cookie) == (1, 0, 0, 0, 6001,
                                                                                                     0x2001)
    assert (second.queue_id, second.uid, second.rqueue) == (40000, 1000, 4096)
    assert (unbound.ifindex, unbound.queue_id) == (0, 0)
    details = decode_xdp_details(first)
    assert (details.rx, details.tx, details.fill, details.completion) == (2048, 2048, 4096, 1024)
    assert details.umem is not None and (details.umem.size, details.umem.id, details.umem.flags) == (16777216, 7, 1)
    assert details.stats is not None and details.stats.tx_ring_empty == 6
    assert decode_xdp_details(unbound) == (None, None, None, None, None, None)


def test_a_short_xdp_attribute_is_malformed() -> None:
    message = built.message(built.XDP_MSG.pack(C.AF_XDP, 3, 0, 1, 2, 3) + attribute(C.XDP_DIAG_INFO, b"\1\0\0\0"))
    with pytest.raises(MalformedMessage, match="xdp_diag_info of 4 bytes"):
        decoded((message,), decode_xdp)
    umem = built.message(built.XDP_MSG.pack(C.AF_XDP, 3, 0, 1, 2, 3) + attribute(C.XDP_DIAG_UMEM, bytes(12)))
    (record,) = decoded((umem,), decode_xdp)
    with pytest.raises(MalformedMessage, match="xdp_diag_umem of 12 bytes"):
        decode_xdp_details(record)  # type: ignore[arg-type]


def test_tipc_fields() -> None:
    records = decoded(built.TIPC_ZOO, decode_tipc)
    listener, connected = records[0], records[1]
    assert isinstance(listener, TipcSocket) and isinstance(connected, TipcSocket)
    assert (listener.type, listener.state, listener.node, listener.ref, listener.peer_node) == (
        C.SOCK_STREAM, C.TCP_LISTEN, 16781313, 1001, None)
    assert (connected.peer_node, connected.peer_ref, connected.uid, connected.rqueue, connected.wqueue,
            connected.cookie) == (16781314, 2002, 1000, 10, 20, 0x3002)
    assert decode_tipc_info(connected) == (False, False, 0, False, (18888, 17))
    assert decode_tipc_info(listener).has_publications
    assert decode_tipc_info(records[3]).link_congested and decode_tipc_info(records[2]).conn_congested  # type: ignore[arg-type]


def test_a_tipc_message_without_a_socket_is_skipped_and_one_without_stat_is_malformed() -> None:
    assert decoded((built.message(b""),), decode_tipc) == [None]
    nest = attribute(C.TIPC_NLA_SOCK, attribute(C.TIPC_NLA_SOCK_TYPE, built.U32.pack(1)))
    with pytest.raises(MalformedMessage, match="TIPC_NLA_SOCK_STAT"):
        decoded((built.message(nest),), decode_tipc)
