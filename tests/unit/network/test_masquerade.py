"""netstat -M rows from conntrack entries."""

from __future__ import annotations

import socket

from pyss.network import masquerade

CONNTRACK = """\
ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.0.5 dst=192.0.2.80 sport=40000 dport=80 src=192.0.2.80 dst=198.51.100.1 sport=80 dport=61000 [ASSURED] mark=0 zone=0 use=2
ipv4     2 udp      17 29 src=10.0.0.6 dst=192.0.2.53 sport=5000 dport=53 packets=1 bytes=60 src=192.0.2.53 dst=10.0.0.6 sport=53 dport=5000 packets=1 bytes=90 mark=0 zone=0 use=2
ipv4     2 icmp     1 29 src=10.0.0.7 dst=192.0.2.1 type=8 code=0 id=7 src=192.0.2.1 dst=198.51.100.1 type=0 code=0 id=7 mark=0 zone=0 use=2
ipv6     10 tcp      6 100 ESTABLISHED src=2001:db8::5 dst=2001:db8::80 sport=1 dport=80 src=2001:db8::80 dst=2001:db8::1 sport=80 dport=1 use=1
"""


def test_only_source_nat_entries() -> None:
    rows = masquerade.parse(CONNTRACK)
    assert [(r.proto, r.sport, r.dport, r.mport) for r in rows] == [("tcp", 40000, 80, 61000), ("icmp", 0, 0, 0)]
    assert rows[0].src == socket.inet_aton("10.0.0.5")


def test_layout() -> None:
    rows = masquerade.parse(CONNTRACK)[:1]

    def service(port: int, proto: str) -> str:
        return {80: "http"}.get(port, str(port))

    assert masquerade.lines(rows, socket.inet_ntoa, service, 1) == (
        "IP masquerading entries\n"
        "prot   expire source               destination          ports\n"
        "tcp 7199:59.00 10.0.0.5             192.0.2.80           40000 -> http (61000)\n")
    assert masquerade.lines([], socket.inet_ntoa, service, 1) == ""
    assert "     0     0     - 10.0.0.5" in masquerade.lines(rows, socket.inet_ntoa, service, 2)
