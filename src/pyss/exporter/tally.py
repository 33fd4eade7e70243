"""One network namespace's sockets, counted: what the exporter's series are made of (pure).

A tally keeps counts, never sockets, so its size is bounded by the number of
distinct label values (netids x states, listening sockets, ports, process
names), not by the number of sockets; :mod:`pyss.exporter.metrics` bounds
those further. It is fed the public API's :class:`pyss.Socket` records one
at a time or, on the default path, the columns of a whole receive buffer of
an inet dump, counted by C-level Counter calls (building a Socket per socket
would cost more than the whole scrape may; see docs/exporter.md).
"""

from __future__ import annotations

import socket
from collections import Counter
from itertools import compress, repeat
from operator import eq
from typing import NamedTuple

from pyss.api.record import Addr, Socket
from pyss.columnar import InetRuns
from pyss.netlink.constants import TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN

# Upper bounds (seconds) of the RTT histogram's buckets: from loopback (~10 us) to a congested
# intercontinental path (seconds). A fixed list, so the histogram's series count is fixed too.
RTT_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Listener(NamedTuple):
    """A listening TCP socket as ss shows it: Recv-Q is its accept queue, Send-Q the queue's limit."""

    address: str  # the local address as text ("0.0.0.0", "::", "127.0.0.1")
    port: int
    queue: int  # connections completed and waiting for accept()
    limit: int  # the backlog: past it the kernel drops or refuses new connections


class TcpInfoTally:
    """Sums over the established TCP sockets' tcp_info (--tcp-info)."""

    __slots__ = ("lost", "retransmits", "rtt_buckets", "rtt_count", "rtt_sum")

    def __init__(self) -> None:
        self.retransmits = 0  # tcpi_total_retrans: segments retransmitted over each socket's life
        self.lost = 0  # tcpi_lost: segments currently presumed lost
        self.rtt_buckets = [0] * len(RTT_BUCKETS)  # per bucket, not cumulative; above the last: rtt_count - sum
        self.rtt_count = 0
        self.rtt_sum = 0.0

    def add(self, retransmits: int, lost: int, rtt_us: int) -> None:
        self.retransmits += retransmits
        self.lost += lost
        rtt = rtt_us / 1e6
        self.rtt_count += 1
        self.rtt_sum += rtt
        for index, bound in enumerate(RTT_BUCKETS):
            if rtt <= bound:
                self.rtt_buckets[index] += 1
                break

    def cumulative(self) -> list[tuple[str, int]]:
        """(le, count at or below it) for each bucket, then "+Inf": the exposition's form."""
        running = 0
        buckets: list[tuple[str, int]] = []
        for bound, count in zip(RTT_BUCKETS, self.rtt_buckets, strict=True):
            running += count
            buckets.append((repr(bound), running))
        buckets.append(("+Inf", self.rtt_count))
        return buckets


class NamespaceTally:
    """The counts behind one namespace's series."""

    __slots__ = ("established_ports", "listeners", "netns", "processes", "sockets", "tcp")

    def __init__(self, netns: str, tcp_info: bool = False) -> None:
        self.netns = netns
        self.sockets: Counter[tuple[str, int]] = Counter()  # (netid, kernel state) -> sockets
        self.listeners: list[Listener] = []
        self.established_ports: Counter[int] = Counter()  # local port -> established TCP sockets on it
        self.processes: Counter[tuple[str, int]] = Counter()  # (command name, state) -> sockets
        self.tcp = TcpInfoTally() if tcp_info else None

    @property
    def seen(self) -> int:
        return sum(self.sockets.values())

    def listening_ports(self) -> Counter[int]:
        """Established TCP connections per listening port (the local port of the accepted side)."""
        return Counter({listener.port: self.established_ports[listener.port] for listener in self.listeners})

    def add_runs(self, netid: str, runs: InetRuns) -> None:
        """Count one receive buffer of an inet dump, read as runs: states, and for TCP the local ports of
        established sockets and the listeners whole (the few records decoded)."""
        sockets = self.sockets
        counts = runs.state_counts()
        for state, count in counts.items():
            sockets[netid, state] += count
        if netid != "tcp":
            return
        if TCP_ESTABLISHED in counts:
            ports = runs.local_ports()
            if counts[TCP_ESTABLISHED] == len(ports):
                self.established_ports.update(ports)
            else:
                self.established_ports.update(compress(ports, map(eq, runs.states(), repeat(TCP_ESTABLISHED))))
        if TCP_LISTEN in counts:
            for record in runs.records(TCP_LISTEN):
                self.listeners.append(Listener(address_text(record.family, record.src), record.sport,
                                               record.rqueue, record.wqueue))

    def add_socket(self, sock: Socket) -> None:
        """Count one socket of the public API (with its processes and tcp_info when they were asked for)."""
        # ss shows every netlink socket as UNCONN whatever its netlink state; the API keeps the kernel's number.
        state = TCP_CLOSE if sock.kind == "nl" else int(sock.state)
        self.sockets[sock.kind, state] += 1
        for name in {process.name for process in sock.processes}:
            self.processes[name, state] += 1
        if sock.kind != "tcp" or not isinstance(sock.laddr, Addr):
            return
        if state == TCP_ESTABLISHED:
            self.established_ports[sock.laddr.port] += 1
            if sock.info is not None and self.tcp is not None:
                self.tcp.add(sock.info.total_retrans, sock.info.lost, sock.info.rtt)
        elif state == TCP_LISTEN:
            self.listeners.append(Listener(sock.laddr.ip, sock.laddr.port, sock.recv_q, sock.send_q))


def address_text(family: int, packed: bytes) -> str:
    """A packed IPv4 or IPv6 address as text, unbracketed ("::1", not "[::1]")."""
    try:
        return socket.inet_ntop(family, packed)
    except (ValueError, OSError):  # a malformed length: say so rather than fail the scrape
        return "?"

