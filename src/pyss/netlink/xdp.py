"""AF_XDP's sock_diag reply (linux/xdp_diag.h): struct xdp_diag_msg and its XDP_DIAG_* attributes.

Pure decoding; imported only when a listing asks for XDP sockets. The
record keeps the attributes undecoded: only -e and -m read the rings, the
umem and the statistics (see :func:`decode_xdp_details`).
"""

from __future__ import annotations

from pyss.lite_typing import TYPE_CHECKING, NamedTuple
from pyss.netlink.constants import (
    SK_MEMINFO_RMEM_ALLOC,
    XDP_DIAG_INFO,
    XDP_DIAG_MEMINFO,
    XDP_DIAG_RX_RING,
    XDP_DIAG_STATS,
    XDP_DIAG_TX_RING,
    XDP_DIAG_UID,
    XDP_DIAG_UMEM,
    XDP_DIAG_UMEM_COMPLETION_RING,
    XDP_DIAG_UMEM_FILL_RING,
)
from pyss.netlink.decode import MalformedMessage, attributes
from pyss.netlink.layout import Layout
from pyss.records import XdpSocket

if TYPE_CHECKING:
    from typing import Final

XDP_DIAG_MSG: Final = Layout("xdp_diag_msg", (
    ("family", "B"), ("type", "B"), ("pad", "H"), ("inode", "I"), ("cookie", "2I"),
), 16)
XDP_DIAG_INFO_LAYOUT: Final = Layout("xdp_diag_info", (("ifindex", "I"), ("queue_id", "I")), 8)
XDP_DIAG_RING_LAYOUT: Final = Layout("xdp_diag_ring", (("entries", "I"),), 4)
XDP_DIAG_UMEM_LAYOUT: Final = Layout("xdp_diag_umem", (
    ("size", "Q"), ("id", "I"), ("num_pages", "I"), ("chunk_size", "I"), ("headroom", "I"), ("ifindex", "I"),
    ("queue_id", "I"), ("flags", "I"), ("refs", "I"),
), 40)
XDP_DIAG_STATS_LAYOUT: Final = Layout("xdp_diag_stats", (
    ("n_rx_dropped", "Q"), ("n_rx_invalid", "Q"), ("n_rx_full", "Q"), ("n_fill_ring_empty", "Q"),
    ("n_tx_invalid", "Q"), ("n_tx_ring_empty", "Q"),
), 48)
_U32_SIZE: Final = 4


class XdpUmem(NamedTuple):
    """struct xdp_diag_umem."""

    size: int
    id: int
    num_pages: int
    chunk_size: int
    headroom: int
    ifindex: int
    queue_id: int
    flags: int
    refs: int


class XdpStats(NamedTuple):
    """struct xdp_diag_stats."""

    rx_dropped: int
    rx_invalid: int
    rx_full: int
    fill_ring_empty: int
    tx_invalid: int
    tx_ring_empty: int


class XdpDetails(NamedTuple):
    """What -e shows of an XDP socket: ring sizes (None: no such ring), its umem, its statistics."""

    rx: int | None
    tx: int | None
    umem: XdpUmem | None
    fill: int | None
    completion: int | None
    stats: XdpStats | None


def _fixed(attrs: dict[int, bytes], kind: int, layout: Layout, name: str) -> tuple[int, ...] | None:
    raw = attrs.get(kind)
    if raw is None:
        return None
    if len(raw) < layout.size:
        raise MalformedMessage(f"{name} of {len(raw)} bytes, expected {layout.size}")
    return tuple(layout.struct.unpack_from(raw))


def decode_xdp(buf: bytes, start: int, end: int) -> XdpSocket:
    if end - start < XDP_DIAG_MSG.size:
        raise MalformedMessage(f"xdp_diag_msg of {end - start} bytes, expected {XDP_DIAG_MSG.size}")
    _family, kind, _pad, inode, cookie0, cookie1 = XDP_DIAG_MSG.struct.unpack_from(buf, start)
    attrs_start = start + XDP_DIAG_MSG.size
    attrs = attributes(buf, attrs_start, end)
    ifindex, queue_id = _fixed(attrs, XDP_DIAG_INFO, XDP_DIAG_INFO_LAYOUT, "xdp_diag_info") or (0, 0)
    uid = (_fixed(attrs, XDP_DIAG_UID, XDP_DIAG_RING_LAYOUT, "XDP_DIAG_UID") or (0,))[0]
    meminfo = attrs.get(XDP_DIAG_MEMINFO)
    rqueue = 0
    if meminfo is not None:
        if len(meminfo) < (SK_MEMINFO_RMEM_ALLOC + 1) * _U32_SIZE:
            raise MalformedMessage(f"XDP_DIAG_MEMINFO of {len(meminfo)} bytes")
        rqueue = XDP_DIAG_RING_LAYOUT.struct.unpack_from(meminfo, SK_MEMINFO_RMEM_ALLOC * _U32_SIZE)[0]
    return XdpSocket(kind, inode, cookie0 | cookie1 << 32, ifindex, queue_id, uid, rqueue,
                     bytes(buf[attrs_start:end]))


def _ring(attrs: dict[int, bytes], kind: int) -> int | None:
    entries = _fixed(attrs, kind, XDP_DIAG_RING_LAYOUT, "xdp_diag_ring")
    return None if entries is None else entries[0]


def decode_xdp_details(record: XdpSocket) -> XdpDetails:
    """The rings, umem and statistics of an XDP record's attributes."""
    attrs = attributes(record.attrs, 0, len(record.attrs))
    umem = _fixed(attrs, XDP_DIAG_UMEM, XDP_DIAG_UMEM_LAYOUT, "xdp_diag_umem")
    stats = _fixed(attrs, XDP_DIAG_STATS, XDP_DIAG_STATS_LAYOUT, "xdp_diag_stats")
    return XdpDetails(
        _ring(attrs, XDP_DIAG_RX_RING), _ring(attrs, XDP_DIAG_TX_RING),
        XdpUmem(*umem) if umem is not None else None,
        _ring(attrs, XDP_DIAG_UMEM_FILL_RING), _ring(attrs, XDP_DIAG_UMEM_COMPLETION_RING),
        XdpStats(*stats) if stats is not None else None,
    )
