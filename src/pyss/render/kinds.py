"""ss's rows for VSOCK, TIPC and XDP sockets (misc/ss.c's vsock_stats_print, tipc_show_sock,
xdp_stats_print); imported only by listings that ask for one of these kinds."""

from __future__ import annotations

from collections.abc import Callable

from pyss.lite_typing import TYPE_CHECKING
from pyss.names.netids import netid
from pyss.names.ss import interface_name
from pyss.netlink.constants import TCP_CLOSE, VMADDR_CID_ANY, VMADDR_PORT_ANY, XDP_DIAG_MEMINFO, XDP_DU_F_ZEROCOPY
from pyss.netlink.decode import attributes, signed32
from pyss.records import SocketRecord, TipcSocket, VsockSocket, XdpSocket

if TYPE_CHECKING:
    from pyss.render.ss import Row

Fields = Callable[[str, int, int, int, "tuple[str, ...]", SocketRecord], "Row"]


def _vsock_number(value: int, wildcard: int) -> str:
    return "*" if value == wildcard else str(value)


def vsock_row(fields: Fields) -> Callable[[VsockSocket], Row]:
    """CID:port on both sides, "*" for the wildcard CID or port; the kernel reports no queues."""
    def row(record: VsockSocket) -> Row:
        rest = (_vsock_number(record.src_cid, VMADDR_CID_ANY) + ":", _vsock_number(record.src_port, VMADDR_PORT_ANY),
                _vsock_number(record.dst_cid, VMADDR_CID_ANY) + ":", _vsock_number(record.dst_port, VMADDR_PORT_ANY))
        return fields(netid(record), record.state, 0, 0, rest, record)

    return row


def tipc_row(fields: Fields) -> Callable[[TipcSocket], Row]:
    """node:port of the socket, and of its peer when connected ("-" when not)."""
    def row(record: TipcSocket) -> Row:
        peer = ("-", "") if record.peer_node is None else (f"{record.peer_node}:", str(record.peer_ref))
        rest = (f"{record.node}:", str(record.ref), *peer)
        return fields(netid(record), record.state, record.rqueue, record.wqueue, rest, record)

    return row


def xdp_row(fields: Fields) -> Callable[[XdpSocket], Row]:
    """The bound device and "q" + queue id ("*" when unbound); the peer is always "*"."""
    def row(record: XdpSocket) -> Row:
        local = (f"{interface_name(record.ifindex)}:", f"q{signed32(record.queue_id)}") if record.ifindex \
            else ("*", "")
        return fields(netid(record), TCP_CLOSE, record.rqueue, 0, (*local, "*", ""), record)

    return row


ROWS: dict[type, Callable[[Fields], Callable[[SocketRecord], Row]]] = {
    VsockSocket: vsock_row,  # type: ignore[dict-item]
    TipcSocket: tipc_row,  # type: ignore[dict-item]
    XdpSocket: xdp_row,  # type: ignore[dict-item]
}


# --- the Process column ----------------------------------------------------------------------

_SOCKET_TYPES = ("UNKNOWN", "STREAM", "DGRAM", "RAW", "RDM", "SEQPACKET")  # ss's names, by SOCK_* number


def _extended(uid: int, inode: int, cookie: int) -> str:
    """ss's sock_details_print: the uid when not root's, the inode and the cookie in hex."""
    return f"{f' uid:{uid}' if uid else ''} ino:{inode} sk:{cookie:x}"


def vsock_details(record: VsockSocket, users: str | None) -> str:
    """ss prints only the users of a VSOCK socket: no -e, -m or -o text."""
    del record
    return f" users:({users})" if users else ""


def tipc_details(record: TipcSocket, users: str | None, extended: bool, tipcinfo: bool, oneline: bool) -> str:
    """-e's part, then the users (in this order for TIPC only), then --tipcinfo's line."""
    text = _extended(record.uid, record.inode, record.cookie) if extended else ""
    if users:
        text += f" users:({users})"
    if tipcinfo:
        from pyss.netlink.tipc import decode_tipc_info

        info = decode_tipc_info(record)
        kind = _SOCKET_TYPES[record.type] if record.type < len(_SOCKET_TYPES) else _SOCKET_TYPES[0]
        congestion = "link" if info.link_congested else "conn" if info.conn_congested else "none"
        text += f"{' ' if oneline else chr(10) + ' '}type:{kind} cong:{congestion}  drop:{signed32(info.drops)} "
        if info.has_publications:
            text += " publ"
        if info.connected_name is not None:
            text += " via {%d,%d} " % info.connected_name  # noqa: UP031  # ss's braces, kept literal
    return text


def xdp_details(record: XdpSocket, users: str | None, extended: bool, memory: bool, oneline: bool) -> str:
    """The users, then under -e the ids, rings, umem and statistics, then -m's skmem."""
    text = f" users:({users})" if users else ""
    if extended:
        text += _extended(record.uid, record.inode, record.cookie) + _xdp_extended(record, oneline)
    if memory:
        from pyss.render.details import skmem_text

        raw = attributes(record.attrs, 0, len(record.attrs)).get(XDP_DIAG_MEMINFO)
        if raw is not None:
            text += skmem_text(raw)
    return text


def _xdp_extended(record: XdpSocket, oneline: bool) -> str:
    from pyss.netlink.xdp import decode_xdp_details

    details = decode_xdp_details(record)
    sep = " " if oneline else "\n\t"
    text = ""
    for name, entries in (("rx", details.rx), ("tx", details.tx)):
        if entries is not None:
            text += f"{sep}{name}(entries:{entries})"
    umem = details.umem
    if umem is not None:
        # ss 6.1 writes "tumem(" on one line (-O) and "umem(" on its own line; pyss keeps both words.
        text += (f"{' tumem(' if oneline else sep + 'umem('}id:{umem.id},size:{umem.size},num_pages:{umem.num_pages},"
                 f"chunk_size:{umem.chunk_size},headroom:{umem.headroom},ifindex:{umem.ifindex},"
                 f"qid:{umem.queue_id},zc:{umem.flags & XDP_DU_F_ZEROCOPY},refs:{umem.refs})")
        for name, entries in (("fr", details.fill), ("cr", details.completion)):
            if entries is not None:
                text += f"{sep}{name}(entries:{entries})"
    stats = details.stats
    if stats is not None:
        text += (f"{sep}stats(rx dropped:{stats.rx_dropped},rx invalid:{stats.rx_invalid},"
                 f"rx queue full:{stats.rx_full},rx fill ring empty:{stats.fill_ring_empty},"
                 f"tx invalid:{stats.tx_invalid},tx ring empty:{stats.tx_ring_empty})")
    return text
