"""Pack SOCK_DIAG_BY_FAMILY dump requests (pure: bytes out, no I/O)."""

from __future__ import annotations

import struct

from pyss.netlink.constants import (
    AF_NETLINK,
    AF_PACKET,
    AF_TIPC,
    AF_UNIX,
    AF_VSOCK,
    AF_XDP,
    INET_DIAG_REQ_BYTECODE,
    INET_DIAG_REQ_PROTOCOL,
    NDIAG_PROTO_ALL,
    NLM_F_ACK,
    NLM_F_DUMP,
    NLM_F_REQUEST,
    NLMSG_HDRLEN,
    SOCK_DESTROY,
    SOCK_DIAG_BY_FAMILY,
    TCPDIAG_GETSOCK,
)

NLMSGHDR = struct.Struct("=IHHII")
# inet_diag_req_v2: family, protocol, ext, pad(raw protocol), states, then an all-zero sockid (48 bytes)
_INET_REQ = struct.Struct("=BBBBI48x")
# unix_diag_req / packet_diag_req / netlink_diag_req share one shape:
# family, protocol, pad16, states-or-ino, ino-or-show, show-or-cookie...
_UNIX_REQ = struct.Struct("=BBHIII8x")  # family, protocol, pad, states, ino, show, cookie
_PACKET_REQ = struct.Struct("=BBHII8x")  # family, protocol, pad, ino, show, cookie
_NETLINK_REQ = struct.Struct("=BBHII8x")
_VSOCK_REQ = struct.Struct("=BBHIII8x")  # vsock_diag_req: family, protocol, pad, states, ino, show, cookie
_TIPC_REQ = struct.Struct("=BBHI")  # tipc_sock_diag_req: family, protocol, pad, states
_XDP_REQ = struct.Struct("=BBHII8x")  # xdp_diag_req: family, protocol, pad, ino, show, cookie
_NLATTR = struct.Struct("=HH")
# struct inet_diag_bc_op {u8 code; u8 yes; u16 no}: one step of an INET_DIAG_REQ_BYTECODE program
INET_DIAG_BC_OP = struct.Struct("=BBH")
_U32 = struct.Struct("=I")

DUMP_SEQ = 0x5053  # an arbitrary sequence number, checked on replies


def _message(payload: bytes, flags: int = NLM_F_REQUEST | NLM_F_DUMP, kind: int = SOCK_DIAG_BY_FAMILY) -> bytes:
    return NLMSGHDR.pack(NLMSG_HDRLEN + len(payload), kind, flags, DUMP_SEQ, 0) + payload


def attribute(kind: int, value: bytes) -> bytes:
    """One netlink attribute, padded to 4 bytes."""
    length = 4 + len(value)
    return _NLATTR.pack(length, kind) + value + b"\0" * (-length % 4)


def inet_request(
    family: int,
    protocol: int,
    states: int,
    extensions: int = 0,
    bytecode: bytes | None = None,
    raw_protocol: int = 0,
) -> bytes:
    """inet_diag_req_v2 for one family and protocol, with optional filter bytecode.

    A protocol above 255 (IPPROTO_MPTCP) does not fit sdiag_protocol: it goes
    in an INET_DIAG_REQ_PROTOCOL attribute, which the kernel reads instead;
    the byte keeps the low 8 bits, as ss's truncating assignment leaves them.
    """
    payload = _INET_REQ.pack(family, protocol & 0xFF, extensions, raw_protocol, states)
    if bytecode:
        payload += attribute(INET_DIAG_REQ_BYTECODE, bytecode)
    if protocol > 0xFF:
        payload += attribute(INET_DIAG_REQ_PROTOCOL, _U32.pack(protocol))
    return _message(payload)


# inet_diag_req (the request before v2): family, src_len, dst_len, ext, an all-zero sockid (48 bytes), states, dbs
_TCPDIAG_REQ = struct.Struct("=BBBB48xII")


def tcpdiag_request(states: int, bytecode: bytes | None = None, extensions: int = 0) -> bytes:
    """A TCPDIAG_GETSOCK dump of the TCP sockets in ``states``, IPv4 and IPv6 alike, in the kernel's hash order.

    The kernel answers it with one walk of the TCP hash tables for both families (this request's family
    is AF_UNSPEC to it), where SOCK_DIAG_BY_FAMILY walks them once per family: for a caller that needs
    no order (counting), it halves the kernel's walking. The replies are inet_diag_msg as usual, with
    TCPDIAG_GETSOCK as their message type. The kernel runs a ``bytecode`` program here as for the
    newer request; ``extensions`` is idiag_ext, as in :func:`inet_request`.
    """
    payload = _TCPDIAG_REQ.pack(0, 0, 0, extensions, states, 0)
    if bytecode:
        payload += attribute(INET_DIAG_REQ_BYTECODE, bytecode)
    return _message(payload, kind=TCPDIAG_GETSOCK)


# inet_diag_req_v2 naming one socket: family, protocol, ext, raw protocol, states, then inet_diag_sockid:
# ports (big-endian, given as bytes), addresses (16 bytes each, IPv4 in the first 4), interface, cookie
_INET_SOCKET_REQ = struct.Struct("=BBBBI2s2s16s16sIII")


def inet_destroy_request(
    family: int, protocol: int, sport: int, dport: int, src: bytes, dst: bytes, ifindex: int, cookie: int,
    raw_protocol: int = 0,
) -> bytes:
    """SOCK_DESTROY for one inet socket, identified as a dump reported it (cookie included)."""
    payload = _INET_SOCKET_REQ.pack(family, protocol, 0, raw_protocol, 0, sport.to_bytes(2, "big"),
                                    dport.to_bytes(2, "big"), src, dst, ifindex, cookie & 0xFFFFFFFF, cookie >> 32)
    return NLMSGHDR.pack(NLMSG_HDRLEN + len(payload), SOCK_DESTROY, NLM_F_REQUEST | NLM_F_ACK, DUMP_SEQ, 0) + payload


def unix_request(states: int, show: int) -> bytes:
    return _message(_UNIX_REQ.pack(AF_UNIX, 0, 0, states, 0, show))


def packet_request(show: int) -> bytes:
    return _message(_PACKET_REQ.pack(AF_PACKET, 0, 0, 0, show))


def netlink_request(show: int) -> bytes:
    return _message(_NETLINK_REQ.pack(AF_NETLINK, NDIAG_PROTO_ALL, 0, 0, show))


def vsock_request(states: int) -> bytes:
    """vsock_diag_req: every VSOCK socket in one of ``states`` (the kernel filters by state)."""
    return _message(_VSOCK_REQ.pack(AF_VSOCK, 0, 0, states, 0, 0))


def tipc_request(states: int) -> bytes:
    """tipc_sock_diag_req: every TIPC socket in one of ``states``."""
    return _message(_TIPC_REQ.pack(AF_TIPC, 0, 0, states))


def xdp_request(show: int) -> bytes:
    """xdp_diag_req: every XDP socket, with the XDP_SHOW_* parts in ``show``."""
    return _message(_XDP_REQ.pack(AF_XDP, 0, 0, 0, show))
