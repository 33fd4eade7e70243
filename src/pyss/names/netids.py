"""ss's Netid column: the short name of the socket table a record came from (tcp, u_str, p_raw, nl ...)."""

from __future__ import annotations

from pyss.lite_typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Final

from pyss.netlink.constants import (
    IPPROTO_DCCP,
    IPPROTO_MPTCP,
    IPPROTO_RAW,
    IPPROTO_SCTP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    SOCK_DGRAM,
    SOCK_RAW,
    SOCK_RDM,
    SOCK_SEQPACKET,
    SOCK_STREAM,
)
from pyss.records import InetSocket, NetlinkSocket, PacketSocket, SocketRecord, UnixSocket

# An inet table's name by its protocol.
INET_NETIDS: Final = {IPPROTO_TCP: "tcp", IPPROTO_UDP: "udp", IPPROTO_RAW: "raw", IPPROTO_DCCP: "dccp",
                      IPPROTO_SCTP: "sctp", IPPROTO_MPTCP: "mptcp"}
UNIX_NETIDS: Final = {SOCK_STREAM: "u_str", SOCK_DGRAM: "u_dgr", SOCK_SEQPACKET: "u_seq"}
# ss 6.1 names no other VSOCK type (a SOCK_SEQPACKET vsock shows as "???")
VSOCK_NETIDS: Final = {SOCK_STREAM: "v_str", SOCK_DGRAM: "v_dgr"}
TIPC_NETIDS: Final = {SOCK_STREAM: "ti_st", SOCK_DGRAM: "ti_dg", SOCK_RDM: "ti_rd", SOCK_SEQPACKET: "ti_sq"}


def netid(record: SocketRecord) -> str:
    """The Netid ss prints for a record."""
    if type(record) is InetSocket:
        return INET_NETIDS.get(record.protocol, "???")
    if type(record) is UnixSocket:
        return UNIX_NETIDS.get(record.type, "u_dgr")
    if type(record) is PacketSocket:
        return "p_raw" if record.type == SOCK_RAW else "p_dgr"
    if type(record) is NetlinkSocket:
        return "nl"
    return _rare_netid(record)


def _rare_netid(record: SocketRecord) -> str:
    from pyss.records import TipcSocket, VsockSocket  # built only where such sockets are listed

    if type(record) is VsockSocket:
        return VSOCK_NETIDS.get(record.type, "???")
    if type(record) is TipcSocket:
        return TIPC_NETIDS.get(record.type, "???")
    return "xdp"
