"""The floor of `pyss -tan`: a Python process that starts, sends the two TCP dump requests (IPv4, IPv6)
and receives every reply buffer, decoding and printing nothing.

    python benchmarks/bare_dump.py          # inside the namespace to measure; prints the bytes received

Timed beside `ss -tan` and `pyss -tan` (interleaved, the same interpreter as pyss's), it shows how much
of a run is interpreter start-up plus the kernel's own dump work, which no formatting can win back.
"""

from __future__ import annotations

import _socket
import struct

AF_NETLINK, NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY = 16, 4, 20
NLM_F_REQUEST, NLM_F_DUMP = 1, 0x300
NLMSG_DONE, NLMSG_ERROR = 3, 2
AF_INET, AF_INET6, IPPROTO_TCP, ALL_STATES = 2, 10, 6, 0xFFF
_REQUEST = struct.Struct("=IHHII BBBBI 2s2s16s16sIII")


def request(family: int) -> bytes:
    return _REQUEST.pack(_REQUEST.size, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0,
                         family, IPPROTO_TCP, 0, 0, ALL_STATES, b"", b"", b"", b"", 0, 0, 0)


def ends_dump(data: bytes) -> bool:
    """The dump's last buffer ends in NLMSG_DONE (20 bytes); a refused request is a lone NLMSG_ERROR."""
    if len(data) < 20:
        return True
    length, kind = struct.unpack_from("=IH", data, len(data) - 20)
    return (length, kind) == (20, NLMSG_DONE) or struct.unpack_from("=H", data, 4)[0] == NLMSG_ERROR


def main() -> int:
    received = 0
    for family in (AF_INET, AF_INET6):
        sock = _socket.socket(AF_NETLINK, _socket.SOCK_RAW, NETLINK_SOCK_DIAG)
        sock.sendto(request(family), (0, 0))
        while True:
            data = sock.recv(65536)
            received += len(data)
            if ends_dump(data):
                break
        sock.close()
    print(received)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
