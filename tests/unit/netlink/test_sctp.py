"""SCTP payloads built to linux/sctp.h's layouts (this kernel has no sctp_diag), decoded and printed.

ss 6.1 is the oracle for the same bytes in tests/integration/test_kinds.py; these pin the layouts.
"""

from __future__ import annotations

import socket
import struct

from pyss.netlink import constants as C  # noqa: N812  # reads like the kernel headers
from pyss.netlink.requests import attribute
from pyss.netlink.sctp import SCTP_INFO_STRUCT, SOCKADDR_STORAGE_SIZE, decode_addresses, decode_sctp_info
from pyss.render.sctp import association_state, sctp_info_text, sctp_timer_text

# sctpi_tag .. sctpi_peer_sack, the 14 u64 statistics, the primary transport, the socket settings
HEAD = (0xDEADBEEF, 3, 106496, 1, 2, 10, 11, 1452, 3, 4, 5, 4, 1452, 65536, 0xCAFE, 1, 2, 0)
STATS = tuple(range(100, 114))
PRIMARY = (b"\x02" + bytes(127), 2, 4380, 200, 3000, 30000, 5, 200, 2, 0x7FFFFFFF, 0, 0, 0, 0)
SETTINGS = (7, 8, 9, 1, 1, 1, 1, 1, 0)


def sctp_info() -> bytes:
    return SCTP_INFO_STRUCT.pack(*HEAD, *STATS, *PRIMARY, *SETTINGS)


def sockaddr(family: int, address: str, port: int = 2905) -> bytes:
    packed = socket.inet_pton(family, address)
    if family == socket.AF_INET:
        raw = struct.pack("=H", family) + struct.pack(">H", port) + packed
    else:
        raw = struct.pack("=H", family) + struct.pack(">HI", port, 0) + packed + struct.pack("=I", 0)
    return raw.ljust(SOCKADDR_STORAGE_SIZE, b"\0")


def test_sctp_info_layout() -> None:
    assert SCTP_INFO_STRUCT.size == 368  # sizeof(struct sctp_info)
    info = decode_sctp_info(sctp_info())
    assert (info.tag, info.state, info.rwnd, info.unackdata, info.outstrms) == (0xDEADBEEF, 3, 106496, 1, 11)
    assert (info.inqueue, info.maxseg, info.peer_tag, info.peer_capable, info.peer_sack) == (3, 1452, 0xCAFE, 1, 2)
    assert (info.autoclose, info.adaptation_ind, info.pd_point, info.frag_interleave) == (7, 8, 9, 1)


def test_short_sctp_info_reads_zeros() -> None:
    info = decode_sctp_info(sctp_info()[:52])
    assert info.peer_tag == 0xCAFE and info.peer_capable == info.autoclose == info.nodelay == 0


def test_addresses_of_both_families() -> None:
    raw = sockaddr(socket.AF_INET, "127.0.0.1") + sockaddr(socket.AF_INET6, "fe80::1") + bytes(128)
    assert decode_addresses(raw) == [(C.AF_INET, socket.inet_aton("127.0.0.1")),
                                     (C.AF_INET6, socket.inet_pton(socket.AF_INET6, "fe80::1")), (0, b"")]


def test_info_text_in_ss_61_order() -> None:
    attrs = {C.INET_DIAG_LOCALS: sockaddr(socket.AF_INET, "127.0.0.1") + sockaddr(socket.AF_INET6, "::1"),
             C.INET_DIAG_PEERS: sockaddr(socket.AF_INET, "127.0.0.2"), C.INET_DIAG_INFO: sctp_info()}
    assert sctp_info_text(attrs) == (
        " locals:127.0.0.1,::1 peers:127.0.0.2 tag:deadbeef state:ESTAB rwnd:106496 unackdata:1 penddata:2"
        " instrms:10 outstrms:11 inqueue:3 outqueue:4 overerr:5 maxburst:4 maxseg:1452 prwnd:65536 ptag:cafe"
        " pcapable:1 psack:2 autoclose:7 adapind:8 pdpoint:9 nodelay:1 nofrag:1 v4mapped:1 fraginl:1")
    assert sctp_info_text({}) == ""
    assert attribute(C.INET_DIAG_INFO, sctp_info())[4:] == sctp_info()


def test_association_state_and_timer() -> None:
    assert association_state(3) == "`- ESTAB"
    assert association_state(7) == "`- ACK_SENT"
    assert sctp_timer_text(1, "200ms", 2) == " timer:(T3_RTX,200ms,2)"
    assert sctp_timer_text(0, "", 0) == ""
