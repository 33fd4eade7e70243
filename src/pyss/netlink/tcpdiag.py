"""One TCPDIAG_GETSOCK dump read as the two SOCK_DIAG_BY_FAMILY dumps ss makes, IPv4's then IPv6's.

ss dumps TCP once per family, and the kernel walks its whole TCP hash for
each dump, even one that finds nothing (~0.2 us a socket: 20 ms at 100k
sockets for an IPv6 dump that lists none). A TCPDIAG_GETSOCK dump
(:func:`pyss.netlink.requests.tcpdiag_request`) lists both families in one
walk, in the same hash order each family's own dump has (the kernel skips the
other family's sockets in the same loop). :func:`split_families` takes each
of its reply buffers apart: the IPv4 messages, the IPv6 messages, and the
message that ends the dump, with the data messages retyped
SOCK_DIAG_BY_FAMILY, so that what follows reads them as the replies of the
two dumps ss makes (see :func:`pyss.netlink.transport.dump`'s ``split``).

Pure: bytes in, bytes out. Messages are found run by run (a run: messages of
one length back to back, the common case), each header byte and the family
byte read for a whole run at once through a stepped slice; only a run that
mixes the families is looked at message by message.
"""

from __future__ import annotations

import struct
import sys

from pyss.lite_typing import TYPE_CHECKING
from pyss.netlink.constants import (
    AF_INET,
    AF_INET6,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSG_HDRLEN,
    SOCK_DIAG_BY_FAMILY,
    TCPDIAG_GETSOCK,
)

if TYPE_CHECKING:
    from typing import Final

_HEADER: Final = struct.Struct("=IH")  # nlmsg_len, nlmsg_type
# nlmsg_len's low 16 bits and nlmsg_type: the header bytes every message of a run shares
_RUN_BYTES: Final = (0, 1, 4, 5) if sys.byteorder == "little" else (2, 3, 4, 5)
_TYPE_AT: Final = 4  # nlmsg_type's offset in the header
_FAMILY_AT: Final = NLMSG_HDRLEN  # inet_diag_msg's first byte, idiag_family
_BY_FAMILY: Final = struct.pack("=H", SOCK_DIAG_BY_FAMILY)
# The bytes of nlmsg_type that retyping changes, as (offset in the type, new byte): only the low byte of
# TCPDIAG_GETSOCK (18) and SOCK_DIAG_BY_FAMILY (20), so one stepped assignment a run instead of two.
_RETYPED_BYTES: Final = tuple((offset, _BY_FAMILY[offset : offset + 1])
                              for offset, (old, new) in enumerate(zip(struct.pack("=H", TCPDIAG_GETSOCK), _BY_FAMILY,
                                                                      strict=True))
                              if old != new)
_IPV4: Final = bytes((AF_INET,))
_IPV6: Final = bytes((AF_INET6,))


def split_families(buf: bytes) -> tuple[bytes, bytes, bytes]:
    """(IPv4 messages, IPv6 messages, the ending) of one reply buffer of a TCPDIAG_GETSOCK dump.

    The data messages come out retyped SOCK_DIAG_BY_FAMILY; the ending is
    the buffer's NLMSG_DONE or NLMSG_ERROR and what follows it (empty when the
    dump goes on). A buffer this cannot read (bad framing, another message
    type, a message too short to name its family) comes back whole as the
    first part, unchanged: the decoder then says what is wrong with it.
    """
    size = len(buf)
    runs: list[tuple[int, int, int]] = []  # (start, count, stride) of the data messages
    ipv4: list[tuple[int, int]] = []  # spans of the buffer, in order
    ipv6: list[tuple[int, int]] = []
    at = 0
    end = size
    while at < size:
        if size - at < NLMSG_HDRLEN:
            return buf, b"", b""
        length, kind = _HEADER.unpack_from(buf, at)
        if kind in (NLMSG_DONE, NLMSG_ERROR):
            end = at
            break
        if kind != TCPDIAG_GETSOCK or length <= _FAMILY_AT or length > size - at:
            return buf, b"", b""
        stride = (length + 3) & ~3
        count = _run_length(buf, at, length, stride)
        stop = min(at + count * stride, size)
        runs.append((at, count, stride))
        families = buf[at + _FAMILY_AT : stop : stride]
        if families.count(_IPV4) == count:
            _add_span(ipv4, at, stop)
        elif families.count(_IPV6) == count:
            _add_span(ipv6, at, stop)
        else:
            for index, family in enumerate(families):
                first = at + index * stride
                _add_span(ipv6 if family == AF_INET6 else ipv4, first, min(first + stride, size))
        at = stop
    retyped = bytearray(memoryview(buf)[:end])
    for start, count, stride in runs:
        last = start + (count - 1) * stride
        for byte, new in _RETYPED_BYTES:
            retyped[start + _TYPE_AT + byte : last + _TYPE_AT + byte + 1 : stride] = new * count
    return _joined(retyped, ipv4), _joined(retyped, ipv6), buf[end:]


def _run_length(buf: bytes, at: int, length: int, stride: int) -> int:
    """How many messages from ``at`` on share the first one's length and type (at least one).

    The header bytes that say where the next message starts and what it is
    are compared, a stepped slice each; the flags are left to the decoder. A
    later message whose length differs only above its low 16 bits would not
    fit in a receive buffer: the decoder, which reads every length, says so.
    """
    most = (len(buf) - at - length) // stride + 1
    count = most
    for offset in _RUN_BYTES:
        if count == 1:
            break
        column = buf[at + offset : at + (count - 1) * stride + offset + 1 : stride]
        count = len(column) - len(column.lstrip(column[:1]))
    return count


def _add_span(spans: list[tuple[int, int]], start: int, stop: int) -> None:
    if spans and spans[-1][1] == start:
        spans[-1] = (spans[-1][0], stop)
    else:
        spans.append((start, stop))


def _joined(data: bytearray, spans: list[tuple[int, int]]) -> bytes:
    view = memoryview(data)
    if len(spans) == 1:
        start, stop = spans[0]
        return bytes(view[start:stop])
    return b"".join([view[start:stop] for start, stop in spans])
