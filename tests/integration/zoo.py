"""Open and hold a fixed zoo of real sockets, for comparing pyss with ss and netstat.

Run inside a private network namespace whose ``lo`` is up::

    ip netns exec NS python zoo.py [UNIX_DIR]

It opens every kind of socket the tools list (TCP in each state that can be held
still, UDP, RAW, UNIX, PACKET, NETLINK), prints one line ``READY <json>``
describing them, then holds them until stdin closes or SIGTERM arrives.

The layout is the same every run: fixed ports (well-known ones so service-name
resolution is exercised, plus unknown and ephemeral-range ones), fixed UNIX
names under UNIX_DIR (default: a fresh temporary directory), and fixed netlink
port ids, so two dumps of the zoo differ only where the kernel itself moves.
Only the standard library is used: the script runs under any Python 3.11.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import select
import shutil
import signal
import socket
import struct
import sys
import tempfile
import termios
import time
from typing import Any

# The holder's command name: netlink rows show it as "<proto>:<comm>/<pid>". It is
# longer than any tool's own row ("tcpdiag:pyss/<pid>"), so dropping the tools'
# rows from a comparison never narrows a column of what remains.
COMM = "pyss-zoo-holder"

# A netlink port id that is no process id (pid_max is at most 2**22), so tools
# print it as a bare number.
NL_FIXED_PORTID = 2_000_000_001

# Kernel constants the socket module lacks.
SO_ATTACH_FILTER = 26
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33
ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_LLDP = 0x88CC  # named by an alias at the end of ss's table ("LLDP")
NETLINK_ROUTE = 0
NETLINK_SOCK_DIAG = 4
NETLINK_AUDIT = 9
NETLINK_KOBJECT_UEVENT = 15
NETLINK_GENERIC = 16
RTMGRP_LINK = 0x1
RTMGRP_IPV4_IFADDR = 0x10
BPF_RET_K = 0x06
UNIX_PATH_MAX = 108

# TCP ports. 57000 is named in /etc/services (dircproxy) but lies in the
# ephemeral range, which ss prints numerically; 7777 is named nowhere.
SSH, HTTP, HTTPS, DOMAIN, NTP, MDNS, HTTP_ALT = 22, 80, 443, 53, 123, 5353, 8080
UNKNOWN, EPHEMERAL_NAMED = 7777, 57000
PENDING, FULL, STUFFED, STUFFED_BIG, BOUND_DEV = 47001, 47003, 47002, 47004, 47010


class Zoo:
    """The held sockets and their description."""

    def __init__(self, unix_dir: str) -> None:
        self.unix_dir = unix_dir
        self.held: list[socket.socket] = []
        self.info: dict[str, Any] = {"pid": os.getpid(), "comm": COMM, "unix_dir": unix_dir}

    def hold(self, sock: socket.socket) -> socket.socket:
        self.held.append(sock)
        return sock

    def close(self) -> None:
        for sock in self.held:
            sock.close()
        self.held.clear()


def set_comm(name: str) -> None:
    with open("/proc/self/comm", "w") as comm:
        comm.write(name)


def drop_all_filter(sock: socket.socket) -> None:
    """Attach a classic BPF program that accepts nothing, then drain the queue.

    Packet and raw sockets see loopback traffic (zero-window probes, SYN retries)
    and their Recv-Q would move between two dumps; with this filter it stays 0.
    """
    insn = ctypes.create_string_buffer(struct.pack("HBBI", BPF_RET_K, 0, 0, 0))
    prog = struct.pack("HL", 1, ctypes.addressof(insn))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, prog)
    sock.setblocking(False)
    while True:
        try:
            sock.recv(65536)
        except BlockingIOError:
            return


def tcp(zoo: Zoo, family: int = socket.AF_INET, *, v6only: bool | None = None) -> socket.socket:
    sock = zoo.hold(socket.socket(family, socket.SOCK_STREAM))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if v6only is not None:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
    return sock


def listener(zoo: Zoo, addr: str, port: int, backlog: int, *, v6only: bool | None = None) -> socket.socket:
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    sock = tcp(zoo, family, v6only=v6only)
    sock.bind((addr, port))
    sock.listen(backlog)
    return sock


def connect_pair(
    zoo: Zoo, server: socket.socket, client_addr: str, client_port: int, server_addr: str
) -> tuple[socket.socket, socket.socket]:
    """A client on a fixed port connected to ``server``; returns (client, accepted)."""
    family = socket.AF_INET6 if ":" in client_addr else socket.AF_INET
    client = tcp(zoo, family)
    client.bind((client_addr, client_port))
    client.connect((server_addr, server.getsockname()[1]))
    accepted, _ = server.accept()
    return client, zoo.hold(accepted)


def tcp_listeners(zoo: Zoo) -> dict[str, socket.socket]:
    lsn = {
        "ssh4": listener(zoo, "0.0.0.0", SSH, 128),
        "ssh6only": listener(zoo, "::", SSH, 128, v6only=True),
        "http_lo4": listener(zoo, "127.0.0.1", HTTP, 5),
        "https_lo6": listener(zoo, "::1", HTTPS, 16),
        "http_alt_dual": listener(zoo, "::", HTTP_ALT, 32, v6only=False),
        "unknown4": listener(zoo, "0.0.0.0", UNKNOWN, 7),
        "ephemeral_named6": listener(zoo, "::", EPHEMERAL_NAMED, 9, v6only=True),
        "pending4": listener(zoo, "127.0.0.1", PENDING, 4),
    }
    dev = tcp(zoo)
    dev.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
    dev.bind(("0.0.0.0", BOUND_DEV))
    dev.listen(3)
    lsn["bound_to_lo"] = dev
    dev6 = tcp(zoo, socket.AF_INET6, v6only=True)
    dev6.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
    dev6.bind(("::", BOUND_DEV))
    dev6.listen(3)
    lsn["bound_to_lo6"] = dev6
    zoo.info["tcp_listen"] = {name: list(sock.getsockname()[:2]) for name, sock in lsn.items()}
    return lsn


def tcp_established(zoo: Zoo, lsn: dict[str, socket.socket]) -> None:
    client4, _ = connect_pair(zoo, lsn["http_lo4"], "127.0.0.1", 40001, "127.0.0.1")
    client4.sendall(b"x" * 10)  # left unread: Recv-Q 10 on the server side
    _, server6 = connect_pair(zoo, lsn["https_lo6"], "::1", 40002, "::1")
    server6.sendall(b"y" * 20)  # left unread: Recv-Q 20 on the client side
    connect_pair(zoo, lsn["http_alt_dual"], "127.0.0.1", 40003, "127.0.0.1")  # v4-mapped on the server
    connect_pair(zoo, lsn["ssh6only"], "::1", 40004, "::1")
    # In the accept queue, never accepted: the listener shows Recv-Q 1.
    queued = tcp(zoo)
    queued.bind(("127.0.0.1", 40005))
    queued.connect(("127.0.0.1", PENDING))
    zoo.info["tcp_established"] = [40001, 40002, 40003, 40004, 40005]


def tcp_send_queue(zoo: Zoo) -> None:
    """Pairs whose receiver reads nothing until both queues are full: Send-Q > 0.

    Buffer sizes are fixed (SO_*BUFFORCE ignores the sysctl caps) so the kernel
    does not autotune them and the queues stop moving once full. The big pair's
    queues run to 7 digits, wider than the "Recv-Q"/"Send-Q" headers.
    """
    for client_port, server_port, size in ((40006, STUFFED, 4096), (40013, STUFFED_BIG, 1 << 20)):
        server = tcp(zoo)
        server.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
        server.bind(("127.0.0.1", server_port))
        server.listen(1)
        client = tcp(zoo)
        client.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, size)
        client.bind(("127.0.0.1", client_port))
        client.connect(("127.0.0.1", server_port))
        zoo.hold(server.accept()[0])
        fill_until_still(client)
    zoo.info["tcp_send_queue"] = [[40006, STUFFED], [40013, STUFFED_BIG]]


def fill_until_still(sock: socket.socket, settle: float = 0.3, limit: float = 5.0) -> None:
    """Write until the kernel takes no more and the send queue has not moved for ``settle`` seconds."""
    sock.setblocking(False)
    deadline = time.monotonic() + limit
    last, still_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        with contextlib.suppress(BlockingIOError):
            while True:
                sock.send(b"z" * 65536)
        time.sleep(0.02)
        queued = struct.unpack("i", fcntl.ioctl(sock, termios.TIOCOUTQ, b"\0" * 4))[0]
        if queued != last:
            last, still_since = queued, time.monotonic()
        elif time.monotonic() - still_since >= settle:
            return


def tcp_half_closed(zoo: Zoo, lsn: dict[str, socket.socket]) -> None:
    """The client shuts its write side: client FIN-WAIT-2, server CLOSE-WAIT (held forever)."""
    for client_addr, port, name in (("127.0.0.1", 40007, "ssh4"), ("::1", 40008, "ssh6only")):
        client, server = connect_pair(zoo, lsn[name], client_addr, port, client_addr)
        client.shutdown(socket.SHUT_WR)
        wait_for_eof(server)
    zoo.info["tcp_half_closed"] = [40007, 40008]


def wait_for_eof(sock: socket.socket) -> None:
    sock.settimeout(5)
    if sock.recv(1) != b"":
        raise RuntimeError("expected end of stream")


def tcp_time_wait(zoo: Zoo, lsn: dict[str, socket.socket]) -> None:
    """The client closes first, then the server: the client's 4-tuple sits in TIME-WAIT for 60 s."""
    for client_addr, port, name in (("127.0.0.1", 40009, "http_lo4"), ("::1", 40010, "https_lo6")):
        client, server = connect_pair(zoo, lsn[name], client_addr, port, client_addr)
        client.close()
        wait_for_eof(server)
        server.close()
    zoo.info["tcp_time_wait"] = [40009, 40010]
    zoo.info["time_wait_since"] = time.time()


def tcp_syn_sent(zoo: Zoo) -> None:
    """A listener whose accept queue is full drops further SYNs: the caller stays SYN-SENT (~2 min)."""
    listener(zoo, "127.0.0.1", FULL, 0)
    first = tcp(zoo)
    first.bind(("127.0.0.1", 40011))
    first.connect(("127.0.0.1", FULL))
    waiting = tcp(zoo)
    waiting.bind(("127.0.0.1", 40012))
    waiting.setblocking(False)
    err = waiting.connect_ex(("127.0.0.1", FULL))
    if err != errno.EINPROGRESS:
        raise RuntimeError(f"SYN-SENT connect: {os.strerror(err)}")
    zoo.info["tcp_syn_sent"] = [40012, FULL]


def udp(zoo: Zoo, addr: str, port: int, *, v6only: bool | None = None) -> socket.socket:
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    sock = zoo.hold(socket.socket(family, socket.SOCK_DGRAM))
    if v6only is not None:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
    sock.bind((addr, port))
    return sock


def udp_sockets(zoo: Zoo) -> None:
    udp(zoo, "0.0.0.0", DOMAIN)
    udp(zoo, "127.0.0.1", NTP)
    udp(zoo, "::", MDNS, v6only=False)
    udp(zoo, "::1", HTTPS)
    udp(zoo, "0.0.0.0", UNKNOWN)
    dev = zoo.hold(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    dev.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
    dev.bind(("0.0.0.0", BOUND_DEV))
    dual_dev = zoo.hold(socket.socket(socket.AF_INET6, socket.SOCK_DGRAM))
    dual_dev.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    dual_dev.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"lo")
    dual_dev.bind(("::", BOUND_DEV + 1))
    conn4 = udp(zoo, "127.0.0.1", 40020)
    conn4.connect(("127.0.0.1", DOMAIN))
    conn4.send(b"question")  # left unread: Recv-Q > 0 on the 0.0.0.0:53 row
    conn6 = udp(zoo, "::1", 40021)
    conn6.connect(("::1", MDNS))
    zoo.info["udp"] = {
        "bound": [DOMAIN, NTP, MDNS, HTTPS, UNKNOWN, BOUND_DEV, BOUND_DEV + 1],
        "connected": [40020, 40021],
    }


def raw_sockets(zoo: Zoo) -> None:
    specs = (
        (socket.AF_INET, socket.IPPROTO_ICMP, "127.0.0.1"),
        (socket.AF_INET6, socket.IPPROTO_ICMPV6, None),
        (socket.AF_INET, socket.IPPROTO_RAW, None),
    )
    for family, proto, addr in specs:
        sock = zoo.hold(socket.socket(family, socket.SOCK_RAW, proto))
        if addr is not None:
            sock.bind((addr, 0))
        drop_all_filter(sock)
    zoo.info["raw"] = ["icmp", "ipv6-icmp", "raw"]


def unix_sockets(zoo: Zoo) -> None:
    path = os.path.join
    names: dict[str, str] = {}

    def bound(kind: int, name: str) -> socket.socket:
        sock = zoo.hold(socket.socket(socket.AF_UNIX, kind))
        sock.bind(name)
        names[name] = "@" + name[1:] if name.startswith("\0") else name
        return sock

    stream = bound(socket.SOCK_STREAM, path(zoo.unix_dir, "stream.sock"))
    stream.listen(8)
    unix_connect(zoo, stream, socket.SOCK_STREAM, accept=True)
    unix_connect(zoo, stream, socket.SOCK_STREAM, accept=False)  # queued: listener Recv-Q 1

    seq = bound(socket.SOCK_SEQPACKET, path(zoo.unix_dir, "seqpacket.sock"))
    seq.listen(4)
    unix_connect(zoo, seq, socket.SOCK_SEQPACKET, accept=True)

    dgram = bound(socket.SOCK_DGRAM, path(zoo.unix_dir, "dgram.sock"))
    sender = zoo.hold(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))  # unbound, connected
    sender.connect(dgram.getsockname())
    sender.send(b"unread datagram")
    zoo.hold(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))  # unbound, unconnected

    bound(socket.SOCK_STREAM, path(zoo.unix_dir, "with space.sock")).listen(1)
    gone = bound(socket.SOCK_DGRAM, path(zoo.unix_dir, "deleted.sock"))
    os.unlink(gone.getsockname())  # the kernel still reports the name
    # sun_path holds 108 bytes with the terminating NUL: the longest path is 107 bytes.
    stem = path(zoo.unix_dir, "long-")
    bound(socket.SOCK_STREAM, stem + "x" * (UNIX_PATH_MAX - 1 - len(stem) - len(".sock")) + ".sock").listen(1)
    bound(socket.SOCK_DGRAM, "\0pyss-zoo\0embedded-nul")

    abstract = bound(socket.SOCK_STREAM, "\0pyss-zoo-abstract-stream")
    abstract.listen(2)
    unix_connect(zoo, abstract, socket.SOCK_STREAM, accept=True)
    bound(socket.SOCK_DGRAM, "\0pyss-zoo-abstract-dgram")

    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_SEQPACKET):
        for end in socket.socketpair(socket.AF_UNIX, kind):
            zoo.hold(end)
    zoo.info["unix"] = sorted(names.values())


def unix_connect(zoo: Zoo, server: socket.socket, kind: int, *, accept: bool) -> None:
    client = zoo.hold(socket.socket(socket.AF_UNIX, kind))
    client.connect(server.getsockname())
    if accept:
        zoo.hold(server.accept()[0])


def packet_sockets(zoo: Zoo) -> None:
    specs = (
        (socket.SOCK_RAW, ETH_P_ALL, None),
        (socket.SOCK_DGRAM, ETH_P_IP, None),
        (socket.SOCK_RAW, ETH_P_ALL, "lo"),
        (socket.SOCK_DGRAM, ETH_P_IP, "lo"),
        (socket.SOCK_RAW, ETH_P_LLDP, None),
    )
    for kind, proto, dev in specs:
        sock = zoo.hold(socket.socket(socket.AF_PACKET, kind, socket.htons(proto)))
        if dev is not None:
            sock.bind((dev, proto))
        drop_all_filter(sock)
    zoo.info["packet"] = [[kind.name, proto, dev] for kind, proto, dev in specs]


def netlink_sockets(zoo: Zoo) -> None:
    """Port ids are fixed: the holder's pid, or a number no process can have."""
    pid = os.getpid()
    specs = (
        (NETLINK_ROUTE, pid, RTMGRP_LINK | RTMGRP_IPV4_IFADDR),
        (NETLINK_SOCK_DIAG, pid, 0),
        (NETLINK_KOBJECT_UEVENT, pid, 0),  # no groups: host uevents would move Recv-Q
        (NETLINK_AUDIT, NL_FIXED_PORTID, 0),
    )
    for proto, portid, groups in specs:
        sock = zoo.hold(socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, proto))
        sock.bind((portid, groups))
    connected = zoo.hold(socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC))
    connected.bind((pid, 0))
    connected.connect((0, 0))
    zoo.info["netlink"] = [[proto, portid, groups] for proto, portid, groups in specs]
    zoo.info["netlink"].append([NETLINK_GENERIC, pid, 0])


def build(zoo: Zoo) -> None:
    # Netlink first: the holder's pid must still be free as a port id in each protocol.
    netlink_sockets(zoo)
    lsn = tcp_listeners(zoo)
    tcp_established(zoo, lsn)
    tcp_half_closed(zoo, lsn)
    tcp_time_wait(zoo, lsn)
    tcp_syn_sent(zoo)
    tcp_send_queue(zoo)
    udp_sockets(zoo)
    raw_sockets(zoo)
    unix_sockets(zoo)
    packet_sockets(zoo)


def hold_until_told() -> None:
    """Block until stdin closes (the parent went away) or SIGTERM/SIGINT."""
    while True:
        ready, _, _ = select.select([sys.stdin], [], [])
        if ready and not os.read(sys.stdin.fileno(), 4096):
            return


def stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    set_comm(COMM)
    made_dir = len(argv) < 2
    unix_dir = tempfile.mkdtemp(prefix="pyss-zoo-") if made_dir else argv[1]
    os.makedirs(unix_dir, exist_ok=True)
    zoo = Zoo(unix_dir)
    try:
        build(zoo)
        print("READY " + json.dumps(zoo.info, sort_keys=True), flush=True)
        hold_until_told()
    finally:
        zoo.close()
        if made_dir:
            shutil.rmtree(unix_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
