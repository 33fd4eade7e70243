"""AF_TIPC's sock_diag reply (linux/tipc_sockets_diag.h, linux/tipc_netlink.h).

TIPC sends no fixed struct: each message is a TIPC_NLA_SOCK nest of
attributes (address, port, type, state, inode, uid, cookie), a
TIPC_NLA_SOCK_STAT nest (queues, congestion, drops) and, for a connected
socket, a TIPC_NLA_SOCK_CON nest naming the peer. Pure decoding; imported
only when a listing asks for TIPC sockets.
"""

from __future__ import annotations

import struct
from typing import Final, NamedTuple

from pyss.netlink.constants import (
    TIPC_NLA_CON_FLAG,
    TIPC_NLA_CON_INST,
    TIPC_NLA_CON_NODE,
    TIPC_NLA_CON_SOCK,
    TIPC_NLA_CON_TYPE,
    TIPC_NLA_SOCK,
    TIPC_NLA_SOCK_ADDR,
    TIPC_NLA_SOCK_CON,
    TIPC_NLA_SOCK_COOKIE,
    TIPC_NLA_SOCK_HAS_PUBL,
    TIPC_NLA_SOCK_INO,
    TIPC_NLA_SOCK_REF,
    TIPC_NLA_SOCK_STAT,
    TIPC_NLA_SOCK_STAT_CONN_CONG,
    TIPC_NLA_SOCK_STAT_DROP,
    TIPC_NLA_SOCK_STAT_LINK_CONG,
    TIPC_NLA_SOCK_STAT_RCVQ,
    TIPC_NLA_SOCK_STAT_SENDQ,
    TIPC_NLA_SOCK_TIPC_STATE,
    TIPC_NLA_SOCK_TYPE,
    TIPC_NLA_SOCK_UID,
)
from pyss.netlink.decode import MalformedMessage, attributes
from pyss.records import TipcSocket

_U32: Final = struct.Struct("=I")
_U64: Final = struct.Struct("=Q")
_NAMES: Final = {
    TIPC_NLA_SOCK_ADDR: "TIPC_NLA_SOCK_ADDR", TIPC_NLA_SOCK_REF: "TIPC_NLA_SOCK_REF",
    TIPC_NLA_SOCK_TYPE: "TIPC_NLA_SOCK_TYPE", TIPC_NLA_SOCK_INO: "TIPC_NLA_SOCK_INO",
    TIPC_NLA_SOCK_UID: "TIPC_NLA_SOCK_UID", TIPC_NLA_SOCK_TIPC_STATE: "TIPC_NLA_SOCK_TIPC_STATE",
    TIPC_NLA_SOCK_COOKIE: "TIPC_NLA_SOCK_COOKIE", TIPC_NLA_SOCK_STAT: "TIPC_NLA_SOCK_STAT",
}


class TipcInfo(NamedTuple):
    """What --tipcinfo shows: congestion, drops, whether it publishes names, the connection's name."""

    link_congested: bool
    conn_congested: bool
    drops: int
    has_publications: bool
    connected_name: tuple[int, int] | None  # {type,instance} of a connection made to a service name


def _required(attrs: dict[int, bytes], kind: int, name: str, unpack: struct.Struct = _U32) -> int:
    raw = attrs.get(kind)
    if raw is None:
        raise MalformedMessage(f"TIPC socket without {name}")
    if len(raw) < unpack.size:
        raise MalformedMessage(f"{name} of {len(raw)} bytes, expected {unpack.size}")
    value: int = unpack.unpack_from(raw)[0]
    return value


def _u32(attrs: dict[int, bytes], kind: int, name: str) -> int:
    return _required(attrs, kind, name) if kind in attrs else 0


def decode_tipc(buf: bytes, start: int, end: int) -> TipcSocket | None:
    """The socket of one reply message; None for a message without a TIPC_NLA_SOCK nest (ss skips it)."""
    nest = attributes(buf, start, end).get(TIPC_NLA_SOCK)
    if nest is None:
        return None
    sock = attributes(nest, 0, len(nest))
    stat_raw = sock.get(TIPC_NLA_SOCK_STAT)
    if stat_raw is None:
        raise MalformedMessage("TIPC socket without TIPC_NLA_SOCK_STAT")
    stat = attributes(stat_raw, 0, len(stat_raw))
    peer_node = peer_ref = None
    con_raw = sock.get(TIPC_NLA_SOCK_CON)
    if con_raw is not None:
        con = attributes(con_raw, 0, len(con_raw))
        peer_node = _required(con, TIPC_NLA_CON_NODE, "TIPC_NLA_CON_NODE")
        peer_ref = _required(con, TIPC_NLA_CON_SOCK, "TIPC_NLA_CON_SOCK")
    kind, state, node, ref = (_required(sock, attr, _NAMES[attr]) for attr in (
        TIPC_NLA_SOCK_TYPE, TIPC_NLA_SOCK_TIPC_STATE, TIPC_NLA_SOCK_ADDR, TIPC_NLA_SOCK_REF))
    return TipcSocket(
        kind, state, node, ref, peer_node, peer_ref,
        _required(sock, TIPC_NLA_SOCK_INO, _NAMES[TIPC_NLA_SOCK_INO]),
        _required(sock, TIPC_NLA_SOCK_UID, _NAMES[TIPC_NLA_SOCK_UID]),
        _required(sock, TIPC_NLA_SOCK_COOKIE, _NAMES[TIPC_NLA_SOCK_COOKIE], _U64),
        _u32(stat, TIPC_NLA_SOCK_STAT_RCVQ, "TIPC_NLA_SOCK_STAT_RCVQ"),
        _u32(stat, TIPC_NLA_SOCK_STAT_SENDQ, "TIPC_NLA_SOCK_STAT_SENDQ"),
        nest,
    )


def decode_tipc_info(record: TipcSocket) -> TipcInfo:
    """--tipcinfo's fields, from the record's TIPC_NLA_SOCK nest."""
    sock = attributes(record.attrs, 0, len(record.attrs))
    stat_raw = sock.get(TIPC_NLA_SOCK_STAT, b"")
    stat = attributes(stat_raw, 0, len(stat_raw))
    con_raw = sock.get(TIPC_NLA_SOCK_CON)
    con = attributes(con_raw, 0, len(con_raw)) if con_raw is not None else {}
    name = None
    if TIPC_NLA_CON_FLAG in con:
        name = (_u32(con, TIPC_NLA_CON_TYPE, "TIPC_NLA_CON_TYPE"), _u32(con, TIPC_NLA_CON_INST, "TIPC_NLA_CON_INST"))
    return TipcInfo(TIPC_NLA_SOCK_STAT_LINK_CONG in stat, TIPC_NLA_SOCK_STAT_CONN_CONG in stat,
                    _u32(stat, TIPC_NLA_SOCK_STAT_DROP, "TIPC_NLA_SOCK_STAT_DROP"),
                    TIPC_NLA_SOCK_HAS_PUBL in sock, name)
