"""Hold the socket kinds beyond the main zoo (MPTCP today) still, for comparing pyss with ss.

Run like zoo.py, inside a private network namespace whose ``lo`` is up::

    ip netns exec NS python zoo_kinds.py [DIR]

Kept apart from zoo.py so that the main zoo's listings, which every other test
compares, do not change with the kinds a kernel happens to have. Prints
``READY <json>`` (which kinds it could open) and holds until stdin closes.
"""

from __future__ import annotations

import json
import socket
import sys

from zoo import Zoo, hold_until_told, set_comm

IPPROTO_MPTCP = 262
COMM = "pyss-kinds-zoo"

# 5555 is "rplay" in /etc/services for UDP only: ss names an MPTCP port by any protocol's
# service unless a tcp/udp/raw listing ran first. 22 is ssh for both.
RPLAY, SSH, FALLBACK_PORT, V6_ANY_PORT, V6_ONLY_PORT = 5555, 22, 47100, 47101, 47102


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


def main(argv: list[str]) -> int:
    set_comm(COMM)
    zoo = Zoo(argv[1] if len(argv) > 1 else "")
    try:
        try:
            mptcp_sockets(zoo)
            zoo.info["mptcp"] = True
        except OSError as error:  # a kernel without MPTCP (or with it disabled)
            zoo.info["mptcp"] = f"{error.strerror}"
        print("READY " + json.dumps(zoo.info, sort_keys=True), flush=True)
        hold_until_told()
    finally:
        zoo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
