"""NamespaceTally on records and on columns: the counts behind every series (pure)."""

from __future__ import annotations

import socket

from tests.unit.netlink.test_decode import DONE, inet_diag_msg, nlmsg

from pyss.api.record import Process, Socket, converter
from pyss.columnar import InetRuns, inet_runs
from pyss.exporter.tally import RTT_BUCKETS, Listener, NamespaceTally
from pyss.netlink import constants as C  # noqa: N812  # reads like the kernel headers
from pyss.netlink.constants import (
    AF_INET,
    AF_INET6,
    IPPROTO_TCP,
    IPPROTO_UDP,
    SOCK_STREAM,
    TCP_CLOSE,
    TCP_CLOSE_WAIT,
    TCP_ESTABLISHED,
    TCP_LISTEN,
    TCP_TIME_WAIT,
)
from pyss.netlink.tcpinfo import TCP_INFO_SIZE, decode_tcp_info
from pyss.records import InetSocket, NetlinkSocket, PacketSocket, UnixSocket


def inet(state: int, sport: int, src: str = "127.0.0.1", family: int = AF_INET, rqueue: int = 0, wqueue: int = 0,
         protocol: int = IPPROTO_TCP, inode: int = 0) -> InetSocket:
    return InetSocket(family, state, 0, 0, sport, 4000, socket.inet_pton(family, src),
                      bytes(4 if family == AF_INET else 16), 0, 0, 0, rqueue, wqueue, 0, inode, protocol, b"")


SOCKETS = [
    inet(TCP_LISTEN, 80, "0.0.0.0", rqueue=3, wqueue=128),
    inet(TCP_LISTEN, 443, "127.0.0.1", rqueue=0, wqueue=4096),
    inet(TCP_ESTABLISHED, 80),
    inet(TCP_ESTABLISHED, 80),
    inet(TCP_ESTABLISHED, 41000),  # the client side: its local port listens nowhere
    inet(TCP_CLOSE_WAIT, 80),
    inet(TCP_TIME_WAIT, 443),
]


def api(record: InetSocket | UnixSocket | PacketSocket | NetlinkSocket, *names: str) -> Socket:
    """The public API's record for a decoder record (as pyss.sockets yields it), held by processes ``names``."""
    sock = converter(lambda _index: None)(record)
    return sock._replace(processes=tuple(Process(100 + i, 3, name) for i, name in enumerate(names)))


def runs(records: list[InetSocket]) -> InetRuns:
    """The receive buffer of a dump of these records, as the count's batch (InetRuns) reads it."""
    messages = b"".join(
        nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg(r.family, r.state, r.sport, r.dport, socket.inet_ntop(r.family, r.src),
                                                   socket.inet_ntop(r.family, r.dst), rq=r.rqueue, wq=r.wqueue))
        for r in records)
    (batch,) = inet_runs([messages, DONE], records[0].protocol)
    assert isinstance(batch, InetRuns)
    return batch


def test_api_records_count_per_netid_and_state() -> None:
    tally = NamespaceTally("ns")
    for record in SOCKETS:
        tally.add_socket(api(record))
    assert tally.sockets == {("tcp", TCP_LISTEN): 2, ("tcp", TCP_ESTABLISHED): 3, ("tcp", TCP_CLOSE_WAIT): 1,
                             ("tcp", TCP_TIME_WAIT): 1}
    assert tally.seen == len(SOCKETS)
    assert tally.listeners == [Listener("0.0.0.0", 80, 3, 128), Listener("127.0.0.1", 443, 0, 4096)]
    # Established per listening port: 80 has two, 443 none; 41000 is no listener's.
    assert tally.listening_ports() == {80: 2, 443: 0}


def test_runs_count_as_records_do() -> None:
    by_records, by_columns = NamespaceTally("ns"), NamespaceTally("ns")
    for record in SOCKETS:
        by_records.add_socket(api(record))
    by_columns.add_runs("tcp", runs(SOCKETS))
    assert by_columns.sockets == by_records.sockets
    assert by_columns.listeners == by_records.listeners
    assert by_columns.listening_ports() == by_records.listening_ports()


def test_ipv6_listener_address_and_udp_runs() -> None:
    tally = NamespaceTally("")
    tally.add_runs("tcp", runs([inet(TCP_LISTEN, 22, "::", family=AF_INET6, wqueue=128)]))
    udp = [inet(TCP_CLOSE, 53, protocol=IPPROTO_UDP), inet(TCP_ESTABLISHED, 53, protocol=IPPROTO_UDP)]
    tally.add_runs("udp", runs(udp))
    assert tally.listeners == [Listener("::", 22, 0, 128)]
    assert tally.sockets[("udp", TCP_CLOSE)] == 1
    assert tally.sockets[("udp", TCP_ESTABLISHED)] == 1
    assert not tally.established_ports  # UDP "ESTAB" is no accepted connection


def test_packet_and_netlink_sockets_are_unconn_as_ss_shows_them() -> None:
    packet = PacketSocket(3, 0x0800, 1, 0, 0, 0, 0, b"")
    connected_netlink = NetlinkSocket(0, 1, 1, 0, 0, 2, 0, 0, 0, 0, b"")  # netlink state 1: NETLINK_CONNECTED
    unix = UnixSocket(SOCK_STREAM, TCP_LISTEN, 3, 0, "/run/x", 0, 0, 5, b"")
    tally = NamespaceTally("")
    for record in (packet, connected_netlink, unix):
        tally.add_socket(api(record))
    assert tally.sockets == {("p_raw", TCP_CLOSE): 1, ("nl", TCP_CLOSE): 1, ("u_str", TCP_LISTEN): 1}
    assert tally.listeners == []  # only TCP listeners have address/port series


def test_processes_count_a_socket_once_per_name() -> None:
    tally = NamespaceTally("")
    tally.add_socket(api(inet(TCP_ESTABLISHED, 80), "nginx", "nginx", "sidecar"))  # forked workers share it
    tally.add_socket(api(inet(TCP_LISTEN, 80), "nginx"))
    tally.add_socket(api(inet(TCP_TIME_WAIT, 80)))  # held by no process
    assert tally.processes == {("nginx", TCP_ESTABLISHED): 1, ("sidecar", TCP_ESTABLISHED): 1,
                               ("nginx", TCP_LISTEN): 1}


def with_info(record: InetSocket, retransmits: int, lost: int, rtt_us: int) -> Socket:
    info = decode_tcp_info(bytes(TCP_INFO_SIZE))._replace(total_retrans=retransmits, lost=lost, rtt=rtt_us)
    return api(record)._replace(info=info)


def test_tcp_info_sums_and_rtt_buckets() -> None:
    tally = NamespaceTally("", tcp_info=True)
    tally.add_socket(with_info(inet(TCP_ESTABLISHED, 80), retransmits=3, lost=1, rtt_us=50))  # 50 us: first bucket
    tally.add_socket(with_info(inet(TCP_ESTABLISHED, 80), retransmits=2, lost=0, rtt_us=20_000))  # 20 ms
    tally.add_socket(with_info(inet(TCP_ESTABLISHED, 80), retransmits=0, lost=0, rtt_us=10_000_000))  # above all
    tally.add_socket(with_info(inet(TCP_LISTEN, 80), retransmits=9, lost=9, rtt_us=1))  # not established: not counted
    assert tally.tcp is not None
    assert (tally.tcp.retransmits, tally.tcp.lost, tally.tcp.rtt_count) == (5, 1, 3)
    assert abs(tally.tcp.rtt_sum - 10.02005) < 1e-9
    cumulative = dict(tally.tcp.cumulative())
    assert cumulative[repr(RTT_BUCKETS[0])] == 1
    assert cumulative["0.025"] == 2
    assert cumulative[repr(RTT_BUCKETS[-1])] == 2
    assert cumulative["+Inf"] == 3


def test_tcp_info_ignored_without_the_option() -> None:
    tally = NamespaceTally("")
    tally.add_socket(with_info(inet(TCP_ESTABLISHED, 80), 1, 1, 1))
    assert tally.tcp is None
