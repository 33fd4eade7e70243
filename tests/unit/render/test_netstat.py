"""netstat's socket rows, byte for byte, from hand-made records (net-tools 2.10 layouts)."""

from __future__ import annotations

import socket
import sys

import pytest

from pyss.names.netstat import format_host
from pyss.netlink.constants import (
    AF_INET,
    AF_INET6,
    IPPROTO_RAW,
    IPPROTO_TCP,
    IPPROTO_UDP,
    SOCK_DGRAM,
    SOCK_SEQPACKET,
    SOCK_STREAM,
    TCP_CLOSE,
    TCP_ESTABLISHED,
    TCP_LISTEN,
    TCP_NEW_SYN_RECV,
    TCP_TIME_WAIT,
)
from pyss.records import InetSocket, UnixSocket
from pyss.render import netstat as render


class FakeNames:
    """Numeric names, except a few fixed ones."""

    def host(self, family: int, packed: bytes) -> str:
        return {b"\x7f\0\0\x01": "localhost"}.get(packed) or format_host(family, packed)

    def service(self, port: int, proto: str) -> str:
        return "*" if port == 0 else {(22, "tcp"): "ssh", (1, "raw"): "icmp"}.get((port, proto), str(port))

    def user(self, uid: int) -> str:
        return {0: "root"}.get(uid, str(uid))

    def program(self, inode: int) -> str:
        return {4242: "77/sshd"}.get(inode, "-")


NAMES = FakeNames()


def inet(src: str, sport: int, dst: str, dport: int, state: int = TCP_ESTABLISHED, protocol: int = IPPROTO_TCP,
         **fields: int) -> InetSocket:
    family = AF_INET6 if ":" in src else AF_INET
    values = {"timer": 0, "retrans": 0, "ifindex": 0, "cookie": 1, "expires": 0, "rqueue": 0, "wqueue": 0,
              "uid": 0, "inode": 4242}
    values.update(fields)
    return InetSocket(family=family, state=state, sport=sport, dport=dport, src=socket.inet_pton(family, src),
                      dst=socket.inet_pton(family, dst), protocol=protocol, attrs=b"", **values)


def test_headers() -> None:
    assert render.inet_header(render.SocketView(all=True)) == (
        "Active Internet connections (servers and established)\n"
        "Proto Recv-Q Send-Q Local Address           Foreign Address         State      \n")
    view = render.SocketView(listening=True, extend=2, programs=True, timers=True)
    assert render.inet_header(view).splitlines() == [
        "Active Internet connections (only servers)",
        # as net-tools 2.10 prints it for -ltpeo
        "Proto Recv-Q Send-Q Local Address           Foreign Address         State       User       Inode      "
        "PID/Program name     Timer",
    ]
    assert render.unix_header(render.SocketView()) == (
        "Active UNIX domain sockets (w/o servers)\n"
        "Proto RefCnt Flags       Type       State         I-Node   Path\n")


def test_tcp_rows() -> None:
    view = render.SocketView(all=True)
    listener = inet("0.0.0.0", 22, "0.0.0.0", 0, TCP_LISTEN, rqueue=1, wqueue=128)
    assert render.tcp_row(listener, view, NAMES) == (
        "tcp        1      0 0.0.0.0:ssh             0.0.0.0:*               LISTEN     \n")  # Send-Q 0, not 128
    established = inet("127.0.0.1", 40001, "127.0.0.1", 22, rqueue=10, wqueue=3)
    assert render.tcp_row(established, view, NAMES) == (
        "tcp       10      3 localhost:40001         localhost:ssh           ESTABLISHED\n")
    six = inet("::", 22, "::", 0, TCP_LISTEN)
    assert render.tcp_row(six, view, NAMES).startswith("tcp6       0      0 :::ssh                  :::*      ")
    request = inet("127.0.0.1", 22, "127.0.0.1", 5000, TCP_NEW_SYN_RECV)
    assert "SYN_RECV   \n" in render.tcp_row(request, view, NAMES)


def test_extended_program_and_timer_columns() -> None:
    view = render.SocketView(all=True, extend=2, programs=True, timers=True)
    row = inet("127.0.0.1", 40001, "127.0.0.1", 22, timer=2, expires=7_176_479)
    assert render.tcp_row(row, view, NAMES, 0, 0) == (
        "tcp        0      0 localhost:40001         localhost:ssh           ESTABLISHED root       4242      "
        " 77/sshd              keepalive (7176.47/0/0)\n")
    waiting = inet("127.0.0.1", 40009, "127.0.0.1", 80, TCP_TIME_WAIT, timer=3, expires=59_999, inode=0)
    assert render.tcp_row(waiting, view, NAMES).endswith(" 0          -                    timewait (59.99/0/0)\n")


@pytest.mark.parametrize(("timer", "expires", "counts", "text"), [
    (0, 0, (0, 0), "off (0.00/0/0)"),
    (1, 201, (2, 0), "on (0.20/2/0)"),
    (4, 1500, (0, 3), "probe (1.50/0/3)"),
    (9, 10, (0, 0), "unkn-9 (0.01/0/0)"),
])
def test_timer_wording(timer: int, expires: int, counts: tuple[int, int], text: str) -> None:
    record = inet("127.0.0.1", 1, "127.0.0.1", 2, timer=timer, expires=expires)
    assert render.tcp_timer(record, *counts) == text


def test_long_addresses_are_cut_like_netstat() -> None:
    assert render.endpoint("2001:db8:1:ffff:1234:5678:9abc:def0", "65001", wide=False) == "2001:db8:1:ffff:1:65001"
    assert render.endpoint("2001:db8:1:ffff:1234:5678:9abc:def0", "65001", wide=True) == \
        "2001:db8:1:ffff:1234:5678:9abc:def0:65001"
    # a long service name keeps at most 18 characters and the host keeps at least 4
    assert render.endpoint("198.51.100.123", "a-very-long-service-name", wide=False) == "198.:a-very-long-servic"
    assert len(render.endpoint("198.51.100.123", "x" * 30, wide=False)) == 23
    assert render.endpoint("192.0.2.1", "ssh", wide=False) == "192.0.2.1:ssh"


def test_wide_rows_keep_their_width() -> None:
    long = inet("2001:db8:1:ffff:1234:5678:9abc:def0", 65001, "::", 0, TCP_LISTEN)
    row = render.tcp_row(long, render.SocketView(all=True, wide=True), NAMES)
    assert row == ("tcp6       0      0 2001:db8:1:ffff:1234:5678:9abc:def0:65001 :::*                    "
                   "LISTEN     \n")


def test_udp_and_raw_rows() -> None:
    view = render.SocketView(all=True)
    bound = inet("0.0.0.0", 53, "0.0.0.0", 0, TCP_CLOSE, IPPROTO_UDP)
    assert render.udp_row(bound, view, NAMES) == (
        "udp        0      0 0.0.0.0:53              0.0.0.0:*                          \n")
    connected = inet("2001:db8::1", 547, "2001:db8:1::1", 53, TCP_ESTABLISHED, IPPROTO_UDP)
    assert render.udp_row(connected, view, NAMES).startswith("udp6       0      0 2001:db8::1:547 ")
    raw = inet("0.0.0.0", 1, "0.0.0.0", 0, TCP_CLOSE, IPPROTO_RAW)
    assert render.raw_row(raw, view, NAMES) == (
        "raw        0      0 0.0.0.0:icmp            0.0.0.0:*               7          \n")


def test_server_or_client_is_decided_by_remote_end() -> None:
    listening, default, everything = (render.SocketView(listening=True), render.SocketView(),
                                      render.SocketView(all=True))
    server = inet("0.0.0.0", 22, "0.0.0.0", 0, TCP_LISTEN)
    client = inet("127.0.0.1", 4000, "127.0.0.1", 22)
    assert [render.shows_tcp(r, listening) for r in (server, client)] == [True, False]
    assert [render.shows_tcp(r, default) for r in (server, client)] == [False, True]
    assert [render.shows_tcp(r, everything) for r in (server, client)] == [True, True]
    unconnected = inet("0.0.0.0", 53, "0.0.0.0", 0, TCP_CLOSE, IPPROTO_UDP)
    assert render.shows_datagram(unconnected, listening)
    assert not render.shows_datagram(unconnected, default)


def test_plain_rows_equal_the_general_formatter() -> None:
    view = render.SocketView(all=True)
    records = [inet("127.0.0.1", 40001 + i, "127.0.0.1", 22, rqueue=i) for i in range(5)]
    records.append(inet("::ffff:192.0.2.1", 443, "::ffff:198.51.100.1", 50001))
    formatter = render.RowFormatter("tcp", view, NAMES)
    assert render.plain_tcp_rows(records, formatter, None) == "".join(render.tcp_row(r, view, NAMES) for r in records)
    only_first = render.plain_tcp_rows(records, formatter, lambda r: r.sport == 40001)
    assert only_first.count("\n") == 1


def unix(kind: int, state: int, inode: int, name: str | None = None, peer: int = 0) -> UnixSocket:
    return UnixSocket(type=kind, state=state, inode=inode, cookie=0, name=name, peer=peer, rqueue=0, wqueue=0,
                      attrs=b"")


def test_unix_rows() -> None:
    view = render.SocketView(all=True, programs=True)
    listener = unix(SOCK_STREAM, TCP_LISTEN, 10711, "/run/srv.sock\0")
    assert render.unix_row(listener, 2, view, NAMES) == (
        "unix  2      [ ACC ]     STREAM     LISTENING     10711    -                    /run/srv.sock\n")
    pending = unix(SOCK_STREAM, TCP_ESTABLISHED, 0, "/run/srv.sock\0")
    assert render.unix_row(pending, 3, render.SocketView(), NAMES) == (
        "unix  3      [ ]         STREAM     CONNECTING    0        /run/srv.sock\n")
    idle = unix(SOCK_DGRAM, TCP_CLOSE, 10722)
    assert render.unix_row(idle, 2, render.SocketView(), NAMES) == (
        "unix  2      [ ]         DGRAM                    10722    \n")
    seq = unix(SOCK_SEQPACKET, TCP_ESTABLISHED, 5, "@abstract")
    assert "SEQPACKET  CONNECTED     5        @abstract\n" in render.unix_row(seq, 3, render.SocketView(), NAMES)


def test_unix_paths_read_like_proc_through_netstat() -> None:
    assert render.unix_path("/tmp/a b.sock\0") == "/tmp/a"  # netstat's sscanf stops at the blank
    assert render.unix_path("@name\0with\0nuls") == "@name@with@nuls"
    assert render.unix_path(None) == ""


def test_unix_reference_counts_follow_peer_links() -> None:
    server = unix(SOCK_DGRAM, TCP_ESTABLISHED, 1, "@log")
    clients = [unix(SOCK_DGRAM, TCP_ESTABLISHED, 10 + i, peer=1) for i in range(3)]
    left, right = unix(SOCK_STREAM, TCP_ESTABLISHED, 20, peer=21), unix(SOCK_STREAM, TCP_ESTABLISHED, 21, peer=20)
    waiting_client = unix(SOCK_STREAM, TCP_ESTABLISHED, 30)
    counts = render.unix_refcounts([server, *clients, left, right, waiting_client], {30: 1})
    assert counts == {1: 5, 10: 2, 11: 2, 12: 2, 20: 3, 21: 3, 30: 3}


def test_unix_state_from_socket_presence() -> None:
    assert render.unix_socket_state(unix(SOCK_STREAM, TCP_ESTABLISHED, 7)) == render.SS_CONNECTED
    assert render.unix_socket_state(unix(SOCK_STREAM, TCP_CLOSE, 7)) == render.SS_UNCONNECTED
    assert render.unix_socket_state(unix(SOCK_STREAM, TCP_ESTABLISHED, 0)) == render.SS_CONNECTING
    assert render.unix_socket_state(unix(SOCK_STREAM, TCP_CLOSE, 0)) == render.SS_DISCONNECTING
    listening = render.SocketView(listening=True)
    assert render.shows_unix(unix(SOCK_STREAM, TCP_LISTEN, 1), listening)
    assert not render.shows_unix(unix(SOCK_STREAM, TCP_ESTABLISHED, 1), listening)


@pytest.mark.parametrize("view", [render.SocketView(all=True), render.SocketView(), render.SocketView(listening=True),
                                  render.SocketView(all=True, wide=True)])
def test_tcp_rows_from_columns_are_the_rows_from_records(view: render.SocketView) -> None:
    from pyss.columnar import InetColumns

    records = [
        inet("0.0.0.0", 22, "0.0.0.0", 0, TCP_LISTEN, rqueue=1, wqueue=128),
        inet("127.0.0.1", 40001, "127.0.0.1", 22, rqueue=10, wqueue=3),
        inet("127.0.0.1", 40002, "127.0.0.1", 22, state=6),  # TIME-WAIT
        inet("192.0.2.200", 65535, "198.51.100.250", 8080),
    ]
    batch = InetColumns(
        AF_INET, IPPROTO_TCP, [r.state for r in records], [r.sport for r in records], [r.dport for r in records],
        [int.from_bytes(r.src, sys.byteorder) for r in records], [int.from_bytes(r.dst, sys.byteorder) for r in records],
        [0] * len(records), [r.rqueue for r in records], [r.wqueue for r in records])
    keep = None if view.all else (lambda record: render.shows_tcp(record, view))
    expected = render.plain_tcp_rows(records, render.RowFormatter("tcp", view, NAMES), keep)
    assert render.tcp_column_rows(batch, render.RowFormatter("tcp", view, NAMES)) == expected
    assert expected.count("\n") == (4 if view.all else 1 if view.listening else 3)
