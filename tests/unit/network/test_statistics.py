"""netstat -s wording and net-tools' lookup quirks, from sample /proc texts."""

from __future__ import annotations

from pyss.network import statistics

SNMP = """\
Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes OutTransmits
Ip: 2 64 15 0 0 0 0 0 15 15 0 46 15
Icmp: InMsgs InErrors InCsumErrors InDestUnreachs OutMsgs OutErrors OutDestUnreachs
Icmp: 1 0 0 1 0 0 0
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens CurrEstab InCsumErrors
Tcp: 1 200 120000 -1 6 6 10 3
Udp: InDatagrams NoPorts
Udp: 0 0
UdpLite: InDatagrams
UdpLite: 0
"""
NETSTAT = """\
TcpExt: SyncookiesSent TW DelayedACKs TCPHPHits TCPOrigDataSent
TcpExt: 0 1 0 0 2
IpExt: InOctets
IpExt: 844
"""


def test_full_listing() -> None:
    text = statistics.render_inet(SNMP, NETSTAT, frozenset({"tcp", "udp", "raw", "sctp"}))
    assert text == """\
Ip:
    Forwarding: 2
    15 total packets received
    0 forwarded
    0 incoming packets discarded
    15 incoming packets delivered
    15 requests sent out
    46 dropped because of missing route
    OutTransmits: 15
Icmp:
    1 ICMP messages received
    0 input ICMP message failed
    ICMP input histogram:
        destination unreachable: 1
    0 ICMP messages sent
    0 ICMP messages failed
    ICMP output histogram:
Tcp:
    6 active connection openings
    6 passive connection openings
    10 connections established
    InCsumErrors: 3
Udp:
    0 packets received
    0 packets to unknown port received
UdpLite:
TcpExt:
    1 TCP sockets finished time wait in fast timer
    0 packet headers predicted
    TCPOrigDataSent: 2
IpExt:
    InOctets: 844
"""


def test_protocol_selection_keeps_unknown_sections() -> None:
    text = statistics.render_inet(SNMP, NETSTAT, frozenset({"udp"}))
    assert text.splitlines() == ["Udp:", "    0 packets received", "    0 packets to unknown port received",
                                 "UdpLite:", "IpExt:", "    InOctets: 844"]


def test_lookup_is_a_binary_search_over_net_tools_order() -> None:
    # "Forwarding" sorts after "ForwDatagrams" in C, so the search cannot find it: netstat prints it raw.
    assert statistics.find(statistics.IP, "Forwarding") is None
    assert statistics.find(statistics.IP, "InReceives") is not None
    assert statistics.find(statistics.ICMP6, "Icmp6OutRouterAdvertisements") is None


def test_inet6_sections_and_histogram_indent() -> None:
    snmp6 = "Ip6InReceives 29\nIp6OutRequests 29\nIcmp6InMsgs 0\nIcmp6OutMsgs 23\nIcmp6InEchos 0\n" \
            "Icmp6OutRouterSolicits 13\nIcmp6OutType133 13\nUdp6InDatagrams 0\nUdpLite6InDatagrams 0\n"
    text = statistics.render_inet6(snmp6, SNMP, frozenset({"tcp", "udp", "raw"}))
    assert text == """\
Ip6:
    29 total packets received
    29 requests sent out
Icmp6:
    0 ICMP messages received
    23 ICMP messages sent
    ICMP input histogram:
        ICMP output histogram:
        router solicits: 13
        Icmp6OutType133: 13
Udp6:
    0 packets received
UdpLite6:
Tcp:
    6 active connection openings
    6 passive connection openings
    10 connections established
    InCsumErrors: 3
"""


def test_negative_counters_wrap_like_strtoull() -> None:
    assert statistics.parse_pairs("Tcp: MaxConn\nTcp: -1\n") == [("Tcp", [("MaxConn", 2**64 - 1)])]
