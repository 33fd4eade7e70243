"""ss -E: follow socket destruction events (the sock_diag multicast groups).

The kernel sends one SOCK_DIAG_BY_FAMILY message to each subscribed group
as a TCP or UDP socket of IPv4 or IPv6 is destroyed; no other kind has such
a group. The message says which protocol the socket was (INET_DIAG_PROTOCOL),
and its queue fields are C ints that ss prints signed (a destroyed UDP
socket's Send-Q reads -1).
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator

from pyss.netlink.constants import (
    AF_INET,
    AF_INET6,
    INET_DIAG_PROTOCOL,
    IPPROTO_TCP,
    IPPROTO_UDP,
    SKNLGRP_INET6_TCP_DESTROY,
    SKNLGRP_INET6_UDP_DESTROY,
    SKNLGRP_INET_TCP_DESTROY,
    SKNLGRP_INET_UDP_DESTROY,
)
from pyss.netlink.decode import attributes, inet_decoder, message_spans, signed32
from pyss.netlink.transport import DiagSocket
from pyss.records import InetSocket

_GROUPS = (
    (AF_INET, "tcp", SKNLGRP_INET_TCP_DESTROY), (AF_INET, "udp", SKNLGRP_INET_UDP_DESTROY),
    (AF_INET6, "tcp", SKNLGRP_INET6_TCP_DESTROY), (AF_INET6, "udp", SKNLGRP_INET6_UDP_DESTROY),
)


def destruction_groups(families: int, tcp: bool, udp: bool) -> int:
    """The multicast group mask that reports the selected tables' sockets of the families in the
    ``families`` mask (0: nothing -E can follow)."""
    mask = 0
    for family, table, group in _GROUPS:
        if families >> family & 1 and (tcp if table == "tcp" else udp):
            mask |= 1 << (group - 1)
    return mask


def destroyed_sockets(groups: int, on_loss: Callable[[], None]) -> Iterator[InetSocket]:
    """Each destroyed socket as the kernel reports it, until the caller stops. ``on_loss`` is called
    when the kernel dropped events because they were not read fast enough (ENOBUFS)."""
    decode = inet_decoder(0)
    with DiagSocket() as diag:
        diag.subscribe(groups)
        while True:
            try:
                buffer = diag.receive()
            except OSError as error:
                if error.errno != errno.ENOBUFS:
                    raise
                on_loss()
                continue
            for start, end in message_spans(buffer):
                record = decode(buffer, start, end)
                protocol = attributes(record.attrs, 0, len(record.attrs)).get(INET_DIAG_PROTOCOL)
                if not protocol or protocol[0] not in (IPPROTO_TCP, IPPROTO_UDP):
                    continue  # only TCP and UDP have these groups; anything else is not ours to show
                yield record._replace(protocol=protocol[0], rqueue=signed32(record.rqueue),
                                      wqueue=signed32(record.wqueue))
