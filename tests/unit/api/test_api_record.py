"""Socket records: friendly fields from the decoder's records, and the State names."""

from __future__ import annotations

import socket

import pytest

from pyss.api.record import (
    PSUTIL_STATUS,
    Addr,
    Process,
    Socket,
    State,
    check_details,
    columns_converter,
    converter,
    state_of,
)
from pyss.netlink.constants import IPPROTO_TCP, IPPROTO_UDP, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM
from pyss.records import InetSocket, NetlinkSocket, PacketSocket, UnixSocket
from pyss.render.ss import STATE_NAMES

# psutil's CONN_* values (psutil/_common.py), written out: pyss must not import psutil.
PSUTIL_CONN = {"ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT",
               "LAST_ACK", "LISTEN", "CLOSING", "NONE"}


def inet(**fields: object) -> InetSocket:
    base = dict(family=socket.AF_INET, state=1, timer=0, retrans=0, sport=22, dport=40000,
                src=socket.inet_pton(socket.AF_INET, "10.0.0.1"), dst=socket.inet_pton(socket.AF_INET, "10.0.0.2"),
                ifindex=0, cookie=7, expires=0, rqueue=1, wqueue=2, uid=1000, inode=99, protocol=IPPROTO_TCP,
                attrs=b"")
    base.update(fields)
    return InetSocket(**base)  # type: ignore[arg-type]


def names(index: int) -> str | None:
    return {3: "eth0"}.get(index)


def test_state_names_and_text_are_ss_s() -> None:
    assert [state.ss for state in State][: len(STATE_NAMES)] == list(STATE_NAMES)
    assert str(State.SYN_SENT) == "SYN-SENT"
    assert State.ESTAB == 1 and State.LISTEN == 10  # the kernel's numbers


def test_every_state_maps_to_a_psutil_status() -> None:
    assert set(PSUTIL_STATUS) == set(State)
    assert set(PSUTIL_STATUS.values()) <= PSUTIL_CONN
    assert State.ESTAB.psutil == "ESTABLISHED" and State.UNCONN.psutil == "CLOSE"
    assert State.FIN_WAIT_1.psutil == "FIN_WAIT1" and State.NEW_SYN_RECV.psutil == "SYN_RECV"
    assert state_of(200) is State.UNKNOWN


def test_an_inet_record_becomes_friendly_fields() -> None:
    record = inet(ifindex=3)
    result = converter(names)(record)
    assert result == Socket("tcp", socket.AF_INET, socket.SOCK_STREAM, State.ESTAB, Addr("10.0.0.1", 22),
                            Addr("10.0.0.2", 40000), 1, 2, 99, 1000, "eth0", 7)
    assert type(result.family) is socket.AddressFamily and type(result.type) is socket.SocketKind
    assert type(result.state) is State


def test_ipv6_udp_and_raw_records() -> None:
    v6 = socket.inet_pton(socket.AF_INET6, "2001:db8::1")
    result = converter(names)(inet(family=socket.AF_INET6, src=v6, dst=bytes(16), protocol=IPPROTO_UDP, state=7))
    assert result.kind == "udp" and result.type is socket.SOCK_DGRAM and result.family is socket.AF_INET6
    assert result.laddr == ("2001:db8::1", 22) and result.raddr == ("::", 40000) and result.state is State.UNCONN


def test_holders_fill_processes() -> None:
    held = (Process(10, 4, "sshd"),)
    result = converter(names, lambda inode: held if inode == 99 else ())(inet())
    assert result.processes == held


def test_unix_packet_and_netlink_records() -> None:
    convert = converter(names)
    unix = convert(UnixSocket(SOCK_DGRAM, 7, 5, 6, "/run/x.sock", 0, 0, 0, b""))
    assert (unix.kind, unix.family, unix.type, unix.laddr, unix.raddr) == (
        "u_dgr", socket.AF_UNIX, socket.SOCK_DGRAM, "/run/x.sock", "")
    unbound = convert(UnixSocket(SOCK_STREAM, 1, 5, 6, None, 8, 0, 0, b""))
    assert unbound.laddr == "" and unbound.state is State.ESTAB
    packet = convert(PacketSocket(SOCK_RAW, 0x0003, 11, 12, 3, 0, 0, b""))
    assert (packet.kind, packet.laddr, packet.interface, packet.uid) == ("p_raw", Addr("", 3), "eth0", 0)
    netlink = convert(NetlinkSocket(0, 7, 1234, 0, 0, 13, 14, 0, 0, 0, b""))
    assert (netlink.kind, netlink.family, netlink.laddr) == ("nl", socket.AF_NETLINK, Addr("", 1234))


def test_details_are_checked() -> None:
    assert check_details(("info", "timers")) == ("info", "timers")
    with pytest.raises(ValueError, match="known details: info, memory, timers, extended"):
        check_details(("tcpinfo",))


def test_timers_detail() -> None:
    result = converter(names, None, ("timers",))(inet(timer=2, expires=1500, retrans=3))
    assert result.timer == ("keepalive", 1500, 3)
    assert converter(names, None, ("timers",))(inet()).timer is None


def test_psutil_statuses_are_psutil_s_own_words_for_each_proc_state() -> None:
    # psutil names the states /proc/net/tcp reports (01..0B); State.psutil must give the same words.
    from psutil import _pslinux

    for hex_state, status in _pslinux.TCP_STATUSES.items():
        assert state_of(int(hex_state, 16)).psutil == status
    assert State.UNKNOWN.psutil == "NONE"


def _columns_and_records(buffers: list[bytes], protocol: int) -> tuple[list[Socket], list[Socket]]:
    from pyss.columnar import inet_columns, message_batches
    from pyss.netlink.decode import inet_decoder, walk

    held = {777: (Process(10, 4, "sshd"),)}
    holders = held.get
    by_columns = columns_converter(names, lambda inode: holders(inode, ()))
    built: list[Socket] = []
    for batch in message_batches(buffers):
        columns = inet_columns(batch, protocol)
        assert columns is not None
        built += by_columns(columns)
    by_records = converter(names, lambda inode: holders(inode, ()))
    return built, [by_records(record) for record in walk(buffers, inet_decoder(protocol))]


def test_sockets_built_from_columns_equal_those_converted_from_records() -> None:
    from tests.unit.netlink.test_decode import DONE, SHUTDOWN, inet_diag_msg, mixed_v4_buffer, nlmsg

    from pyss.netlink.constants import AF_INET6, SOCK_DIAG_BY_FAMILY

    built, converted = _columns_and_records([mixed_v4_buffer(), DONE], IPPROTO_TCP)
    assert built == converted and len(built) == 3
    assert built[0].processes == (Process(10, 4, "sshd"),) and built[0].state is State.LISTEN
    assert built[1].laddr == Addr("127.0.0.1", 40001) and built[1].raddr == Addr("10.1.2.3", 22)
    assert [type(field) for field in built[1][:4]] == [str, socket.AddressFamily, socket.SocketKind, State]
    odd = nlmsg(SOCK_DIAG_BY_FAMILY, inet_diag_msg(AF_INET6, state=200, src="2001:db8::1", dst="::1", ifindex=3,
                                                   inode=5) + SHUTDOWN)
    built, converted = _columns_and_records([odd, DONE], IPPROTO_UDP)
    assert built == converted
    assert (built[0].state, built[0].interface, built[0].laddr.ip) == (State.UNKNOWN, "eth0", "2001:db8::1")


def test_psutil_entries_built_from_columns_equal_those_built_from_records() -> None:
    from tests.unit.netlink.test_decode import DONE, mixed_v4_buffer

    from pyss.api.psutil_rows import ColumnConnections, connections
    from pyss.columnar import inet_columns, message_batches
    from pyss.netlink.decode import inet_decoder, walk

    buffers = [mixed_v4_buffer(), DONE]
    holders = ({777: (4, 10)}, {})
    built = []
    build = ColumnConnections()
    for batch in message_batches(buffers):
        columns = inet_columns(batch, IPPROTO_TCP)
        assert columns is not None
        built += build(columns, holders)
    assert built == list(connections(walk(buffers, inet_decoder(IPPROTO_TCP)), holders))
    assert built[0].raddr == () and built[0].status == "LISTEN" and (built[0].fd, built[0].pid) == (4, 10)
    assert built[1].laddr == ("127.0.0.1", 40001) and type(built[1].family) is socket.AddressFamily
