"""SCTP's diag payloads (linux/sctp.h, linux/inet_diag.h): struct sctp_info (INET_DIAG_INFO of
an SCTP socket) and the address lists INET_DIAG_LOCALS / INET_DIAG_PEERS carry.

Pure decoding: bytes in, typed tuples out. A short (older kernel) sctp_info
reads its missing fields as 0, as ss pads it.
"""

from __future__ import annotations

import struct
from _socket import inet_ntop  # socket's C core: the socket module imports enum, selectors and typing

from pyss.lite_typing import TYPE_CHECKING, NamedTuple
from pyss.netlink.constants import AF_INET, AF_INET6

if TYPE_CHECKING:
    from typing import Final

# struct sctp_info: the association's counters, 14 u64 of statistics, the primary
# transport (a sockaddr_storage and its u32s), then the socket's settings. 368 bytes.
SCTP_INFO_STRUCT: Final = struct.Struct("=3I4H8I2BH14Q128s11IHH3I4BII")
SOCKADDR_STORAGE_SIZE: Final = 128
_SA_FAMILY: Final = struct.Struct("=H")


class SctpInfo(NamedTuple):
    """The fields of struct sctp_info that ss prints, in its order."""

    tag: int
    state: int
    rwnd: int
    unackdata: int
    penddata: int
    instrms: int
    outstrms: int
    inqueue: int
    outqueue: int
    overall_error: int
    max_burst: int
    maxseg: int
    peer_rwnd: int
    peer_tag: int
    peer_capable: int
    peer_sack: int
    autoclose: int
    adaptation_ind: int
    pd_point: int
    nodelay: int
    disable_fragments: int
    v4mapped: int
    frag_interleave: int


def decode_sctp_info(raw: bytes) -> SctpInfo:
    size = SCTP_INFO_STRUCT.size
    (tag, state, rwnd, unackdata, penddata, instrms, outstrms, _frag_point, inqueue, outqueue, overall_error,
     max_burst, maxseg, peer_rwnd, peer_tag, peer_capable, peer_sack, _reserved1, *rest) = \
        SCTP_INFO_STRUCT.unpack(raw[:size].ljust(size, b"\0"))
    (autoclose, adaptation_ind, pd_point, nodelay, disable_fragments, v4mapped, frag_interleave,
     _type, _reserved3) = rest[-9:]
    return SctpInfo(tag, state, rwnd, unackdata, penddata, instrms, outstrms, inqueue, outqueue, overall_error,
                    max_burst, maxseg, peer_rwnd, peer_tag, peer_capable, peer_sack, autoclose, adaptation_ind,
                    pd_point, nodelay, disable_fragments, v4mapped, frag_interleave)


def decode_addresses(raw: bytes) -> list[tuple[int, bytes]]:
    """INET_DIAG_LOCALS / INET_DIAG_PEERS: an array of sockaddr_storage, as (family, packed address);
    a family other than AF_INET/AF_INET6 comes with empty bytes (ss prints nothing for it)."""
    found = []
    for start in range(0, len(raw) - SOCKADDR_STORAGE_SIZE + 1, SOCKADDR_STORAGE_SIZE):
        (family,) = _SA_FAMILY.unpack_from(raw, start)
        if family == AF_INET:
            found.append((family, raw[start + 4 : start + 8]))  # sockaddr_in.sin_addr
        elif family == AF_INET6:
            found.append((family, raw[start + 8 : start + 24]))  # sockaddr_in6.sin6_addr
        else:
            found.append((family, b""))
    return found


def address_text(family: int, packed: bytes) -> str:
    """An address as ss's format_host_sa prints it numerically (no brackets, even for IPv6)."""
    return inet_ntop(family, packed) if packed else ""
