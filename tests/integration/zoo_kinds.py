"""Hold the socket kinds beyond the main zoo (MPTCP today) still, for comparing pyss with ss,
and a TCP connection whose tcp_info the holder reads itself (for what newer ss prints).

Run like zoo.py, inside a private network namespace whose ``lo`` is up::

    ip netns exec NS python zoo_kinds.py [DIR]

Kept apart from zoo.py so that the main zoo's listings, which every other test
compares, do not change with the kinds a kernel happens to have. Prints
``READY <json>`` (which kinds it could open) and holds until stdin closes.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import time

from zoo import Zoo, hold_until_told, set_comm

IPPROTO_MPTCP = 262
COMM = "pyss-kinds-zoo"

# 5555 is "rplay" in /etc/services for UDP only: ss names an MPTCP port by any protocol's
# service unless a tcp/udp/raw listing ran first. 22 is ssh for both.
RPLAY, SSH, FALLBACK_PORT, V6_ANY_PORT, V6_ONLY_PORT = 5555, 22, 47100, 47101, 47102
TCP_INFO_PORT = 47200
BOUND_PORTS = (47300, 47301)  # TCP sockets bound, neither listening nor connected (ss -B)
# struct tcp_info: tcpi_options is byte 5; tcpi_rcv_wnd and tcpi_rehash follow tcpi_snd_wnd (Linux 6.2).
TCPI_OPTIONS_AT, TCPI_RCV_WND_AT = 5, 232


def mptcp(zoo: Zoo, family: int = socket.AF_INET) -> socket.socket:
    return zoo.hold(socket.socket(family, socket.SOCK_STREAM, IPPROTO_MPTCP))


def listener(zoo: Zoo, family: int, addr: str, port: int, *, v6only: bool | None = None) -> socket.socket:
    sock = mptcp(zoo, family)
    if v6only is not None:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
    sock.bind((addr, port))
    sock.listen(16)
    return sock


def mptcp_sockets(zoo: Zoo) -> None:
    """Listeners of both families, a connection with unread data, and one that fell back to TCP."""
    server = listener(zoo, socket.AF_INET, "127.0.0.1", RPLAY)
    listener(zoo, socket.AF_INET, "127.0.0.1", SSH)
    listener(zoo, socket.AF_INET6, "::", V6_ANY_PORT, v6only=False)
    listener(zoo, socket.AF_INET6, "::", V6_ONLY_PORT, v6only=True)
    client = mptcp(zoo)
    client.connect(("127.0.0.1", RPLAY))
    accepted = zoo.hold(server.accept()[0])
    client.sendall(b"m" * 1000)  # left unread: the accepted side's Recv-Q stays 1000
    accepted.sendall(b"n" * 10)
    client.recv(10)  # both sides' sequence numbers move once, then hold still
    plain = zoo.hold(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    plain.bind(("127.0.0.1", FALLBACK_PORT))
    plain.listen(4)
    fallback = mptcp(zoo)
    fallback.connect(("127.0.0.1", FALLBACK_PORT))  # a plain TCP peer: the MPTCP socket falls back
    zoo.hold(plain.accept()[0])


def tcp_info_pair(zoo: Zoo) -> dict[str, int]:
    """A plain TCP connection that has carried a little data, and what its ends' tcp_info says
    (read as the kernel gives it to the socket's owner) of the fields newer ss prints."""
    server = zoo.hold(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    server.bind(("127.0.0.1", TCP_INFO_PORT))
    server.listen(4)
    client = zoo.hold(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    client.connect(("127.0.0.1", TCP_INFO_PORT))
    accepted = zoo.hold(server.accept()[0])
    client.sendall(b"q" * 100)
    accepted.recv(100)
    accepted.sendall(b"a" * 10)
    client.recv(10)
    time.sleep(0.5)  # delayed acks go out: the windows hold still from here on
    found: dict[str, int] = {}
    for end, sock in (("client", client), ("server", accepted)):
        raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 512)
        found[f"{end}_size"] = len(raw)
        found[f"{end}_options"] = raw[TCPI_OPTIONS_AT]
        if len(raw) >= TCPI_RCV_WND_AT + 8:
            found[f"{end}_rcv_wnd"], found[f"{end}_rehash"] = struct.unpack_from("=II", raw, TCPI_RCV_WND_AT)
    return found


def bound_inactive(zoo: Zoo) -> list[str]:
    """TCP sockets that are bound and nothing more; returns their local addresses as ss -n shows them."""
    shown = []
    for family, addr, port in ((socket.AF_INET, "127.0.0.1", BOUND_PORTS[0]), (socket.AF_INET6, "::1", BOUND_PORTS[1])):
        sock = zoo.hold(socket.socket(family, socket.SOCK_STREAM))
        sock.bind((addr, port))
        shown.append(f"{addr}:{port}" if family == socket.AF_INET else f"[{addr}]:{port}")
    return shown


# linux/in.h and tcp.h option numbers the socket module may lack
IP_RECVERR, IP_FREEBIND, IP_TRANSPARENT, IP_BIND_ADDRESS_NO_PORT, IP_RECVERR_RFC4884 = 11, 15, 19, 24, 26
IP_MULTICAST_LOOP, IP_MULTICAST_ALL, TCP_FASTOPEN_CONNECT = 34, 49, 30
SOCKOPT_UDP_PORT, SOCKOPT_TCP_PORT = 47400, 47401


def inet_sockopt_sockets(zoo: Zoo) -> None:
    """Sockets with the inet socket options --inet-sockopt names set, each other way round."""
    udp = zoo.hold(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    for option in (IP_RECVERR, IP_FREEBIND, IP_TRANSPARENT, IP_RECVERR_RFC4884):
        udp.setsockopt(socket.IPPROTO_IP, option, 1)
    for option in (IP_MULTICAST_LOOP, IP_MULTICAST_ALL):
        udp.setsockopt(socket.IPPROTO_IP, option, 0)
    udp.bind(("127.0.0.1", SOCKOPT_UDP_PORT))
    tcp = zoo.hold(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    tcp.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
    tcp.bind(("127.0.0.1", SOCKOPT_TCP_PORT))
    tcp.listen(1)
    # A Fast Open client connects only at its first write: until then the kernel defers the SYN
    # (with no cookie cached, only where the namespace's tcp_fastopen allows going without: 0x4).
    with open("/proc/sys/net/ipv4/tcp_fastopen", "w") as sysctl:
        sysctl.write("5")
    deferred = zoo.hold(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    deferred.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN_CONNECT, 1)
    deferred.connect(("127.0.0.1", SOCKOPT_TCP_PORT))


def main(argv: list[str]) -> int:
    set_comm(COMM)
    zoo = Zoo(argv[1] if len(argv) > 1 else "")
    try:
        try:
            mptcp_sockets(zoo)
            zoo.info["mptcp"] = True
        except OSError as error:  # a kernel without MPTCP (or with it disabled)
            zoo.info["mptcp"] = f"{error.strerror}"
        zoo.info["tcp_info"] = tcp_info_pair(zoo)
        zoo.info["bound_inactive"] = bound_inactive(zoo)
        inet_sockopt_sockets(zoo)
        print("READY " + json.dumps(zoo.info, sort_keys=True), flush=True)
        hold_until_told()
    finally:
        zoo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
