"""ss -K: close the sockets a listing selects, through SOCK_DESTROY.

ss closes each socket from inside its dump; pyss reads each inet table
whole first and closes its selected sockets afterwards: closing sockets
while the kernel walks the table it is dumping can make the walk skip
others, and -K must close exactly what the filter selects. Only inet
sockets read from the kernel can be closed (ss, too, lists the others, and
sockets read from /proc or from a TCPDIAG_FILE, without closing them). A
socket the kernel reports already gone (ENOENT) is left out of the output,
as ss leaves it out; one it refuses to close (EPERM without CAP_NET_ADMIN,
EOPNOTSUPP where a kind or the kernel cannot) is left out too and counted,
and the caller reports the counts, which ss does not.
"""

from __future__ import annotations

import errno
import os
from collections import Counter
from collections.abc import Iterable, Iterator

from pyss.netlink.constants import INET_DIAG_PROTOCOL, IPPROTO_RAW, IPPROTO_TCP
from pyss.netlink.decode import DumpInterrupted, acknowledgement, inet_attributes
from pyss.netlink.requests import inet_destroy_request
from pyss.netlink.transport import DiagSocket
from pyss.records import InetSocket


class SocketCloser:
    """Closes inet sockets one SOCK_DESTROY request at a time, on a netlink socket of its own."""

    def __init__(self, replayed_tcp: bool = False) -> None:
        self._diag = DiagSocket()
        self._replayed_tcp = replayed_tcp  # TCP records come from a dump file: they are listed, not closed
        self.refused: Counter[int] = Counter()  # errno -> sockets the kernel would not close

    def close(self) -> None:
        self._diag.close()

    def closed(self, records: Iterable[InetSocket]) -> Iterator[InetSocket]:
        """Of one table's records, read whole first, those to list: the ones closed now, and the kinds
        -K leaves alone. A dump the kernel flagged as interrupted is still flagged, after them."""
        read: list[InetSocket] = []
        interrupted = False
        try:
            read.extend(records)
        except DumpInterrupted:
            interrupted = True
        yield from filter(self.shut, read)
        if interrupted:
            raise DumpInterrupted()

    def shut(self, record: InetSocket) -> bool:
        """Close one socket; True when it is to be listed (closed, or not the kind -K closes)."""
        if not (record.cookie or record.attrs):  # read from /proc/net: the kernel has no id for it here
            return True
        if self._replayed_tcp and record.protocol == IPPROTO_TCP:
            return True
        raw_protocol = 0
        if record.protocol == IPPROTO_RAW:
            value = inet_attributes(record).get(INET_DIAG_PROTOCOL)
            raw_protocol = value[0] if value else 0
        code = acknowledgement(self._diag.acknowledge(inet_destroy_request(
            record.family, record.protocol, record.sport, record.dport, record.src, record.dst, record.ifindex,
            record.cookie, raw_protocol)))
        if code == 0:
            return True
        if code != errno.ENOENT:  # already gone: nothing to report
            self.refused[code] += 1
        return False

    def failures(self) -> list[str]:
        """One line per reason the kernel gave for sockets it did not close."""
        return [f"{count} socket{'s' if count > 1 else ''} not closed: {os.strerror(code)}"
                for code, count in sorted(self.refused.items())]
