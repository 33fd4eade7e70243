"""MPTCP's diag payloads: struct mptcp_info (INET_DIAG_INFO of an MPTCP socket) and the
subflow attributes a TCP subflow carries in INET_DIAG_ULP_INFO (linux/mptcp.h).

Pure decoding: bytes in, typed tuples out. A short (older kernel) mptcp_info
reads its missing fields as 0, as ss pads it.
"""

from __future__ import annotations

import struct

from pyss.lite_typing import TYPE_CHECKING, NamedTuple
from pyss.netlink.constants import (
    MPTCP_SUBFLOW_ATTR_FLAGS,
    MPTCP_SUBFLOW_ATTR_ID_LOC,
    MPTCP_SUBFLOW_ATTR_ID_REM,
    MPTCP_SUBFLOW_ATTR_MAP_DATALEN,
    MPTCP_SUBFLOW_ATTR_MAP_SEQ,
    MPTCP_SUBFLOW_ATTR_MAP_SFSEQ,
    MPTCP_SUBFLOW_ATTR_SSN_OFFSET,
    MPTCP_SUBFLOW_ATTR_TOKEN_LOC,
    MPTCP_SUBFLOW_ATTR_TOKEN_REM,
)
from pyss.netlink.decode import MalformedMessage, attributes

if TYPE_CHECKING:
    from typing import Final

# struct mptcp_info up to mptcpi_rcv_nxt (the part ss prints): six u8, a 16-bit hole, flags,
# token, then write_seq, snd_una and rcv_nxt as u64. Later kernels append more; it is ignored.
MPTCP_INFO_STRUCT: Final = struct.Struct("=6B2xIIQQQ")


class MptcpInfo(NamedTuple):
    subflows: int
    add_addr_signal: int
    add_addr_accepted: int
    subflows_max: int
    add_addr_signal_max: int
    add_addr_accepted_max: int
    flags: int
    token: int
    write_seq: int
    snd_una: int
    rcv_nxt: int


def decode_mptcp_info(raw: bytes) -> MptcpInfo:
    return MptcpInfo._make(MPTCP_INFO_STRUCT.unpack_from(raw[: MPTCP_INFO_STRUCT.size].ljust(MPTCP_INFO_STRUCT.size,
                                                                                               b"\0")))


class Subflow(NamedTuple):
    """The MPTCP_SUBFLOW_ATTR_* of a subflow; None for an attribute the kernel did not send."""

    flags: int | None
    token_rem: int | None
    token_loc: int | None
    id_rem: int | None
    id_loc: int | None
    map_seq: int | None
    map_sfseq: int | None
    ssn_offset: int | None
    map_datalen: int | None


# Each attribute's size as the kernel puts it (mptcp_diag_get_info: the data length is a u16).
_SIZES = {MPTCP_SUBFLOW_ATTR_FLAGS: 4, MPTCP_SUBFLOW_ATTR_TOKEN_REM: 4, MPTCP_SUBFLOW_ATTR_TOKEN_LOC: 4,
          MPTCP_SUBFLOW_ATTR_ID_REM: 1, MPTCP_SUBFLOW_ATTR_ID_LOC: 1, MPTCP_SUBFLOW_ATTR_MAP_SEQ: 8,
          MPTCP_SUBFLOW_ATTR_MAP_SFSEQ: 4, MPTCP_SUBFLOW_ATTR_SSN_OFFSET: 4, MPTCP_SUBFLOW_ATTR_MAP_DATALEN: 2}
_FORMATS = {1: "=B", 2: "=H", 4: "=I", 8: "=Q"}


def decode_subflow(raw: bytes) -> Subflow:
    """INET_ULP_INFO_MPTCP's nested attributes; one too short for its type is malformed."""
    found = attributes(raw, 0, len(raw))

    def value(kind: int) -> int | None:
        payload = found.get(kind)
        if payload is None:
            return None
        size = _SIZES[kind]
        if len(payload) < size:
            raise MalformedMessage(f"MPTCP subflow attribute {kind} of {len(payload)} bytes, expected {size}")
        return int(struct.unpack_from(_FORMATS[size], payload)[0])

    return Subflow(
        value(MPTCP_SUBFLOW_ATTR_FLAGS), value(MPTCP_SUBFLOW_ATTR_TOKEN_REM), value(MPTCP_SUBFLOW_ATTR_TOKEN_LOC),
        value(MPTCP_SUBFLOW_ATTR_ID_REM), value(MPTCP_SUBFLOW_ATTR_ID_LOC), value(MPTCP_SUBFLOW_ATTR_MAP_SEQ),
        value(MPTCP_SUBFLOW_ATTR_MAP_SFSEQ), value(MPTCP_SUBFLOW_ATTR_SSN_OFFSET),
        value(MPTCP_SUBFLOW_ATTR_MAP_DATALEN),
    )
