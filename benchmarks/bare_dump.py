"""The floor of `pyss -tan`: a Python process that starts, sends the one TCP dump request pyss sends
(TCPDIAG_GETSOCK: IPv4 and IPv6 in one walk of the kernel's hash) and receives every reply buffer,
decoding and printing nothing.

    python benchmarks/bare_dump.py          # inside the namespace to measure; prints the bytes received

Timed beside `ss -tan` and `pyss -tan` (interleaved, the same interpreter as pyss's), it shows how much
of a run is interpreter start-up plus the kernel's own dump work, which no formatting can win back.
"""

from __future__ import annotations

import _socket
import struct

AF_NETLINK, NETLINK_SOCK_DIAG, TCPDIAG_GETSOCK = 16, 4, 18
NLM_F_REQUEST, NLM_F_DUMP = 1, 0x300
NLMSG_DONE, NLMSG_ERROR = 3, 2
ALL_STATES = 0xFFF
# nlmsghdr, then inet_diag_req: family (0: both), src_len, dst_len, ext, a zero sockid, states, dbs
_REQUEST = struct.Struct("=IHHII BBBB48xII")


def request() -> bytes:
    return _REQUEST.pack(_REQUEST.size, TCPDIAG_GETSOCK, NLM_F_REQUEST | NLM_F_DUMP, 1, 0, 0, 0, 0, 0, ALL_STATES, 0)


def ends_dump(data: bytes) -> bool:
    """The dump's last buffer ends in NLMSG_DONE (20 bytes); a refused request is a lone NLMSG_ERROR."""
    if len(data) < 20:
        return True
    length, kind = struct.unpack_from("=IH", data, len(data) - 20)
    return (length, kind) == (20, NLMSG_DONE) or struct.unpack_from("=H", data, 4)[0] == NLMSG_ERROR


def main() -> int:
    received = 0
    sock = _socket.socket(AF_NETLINK, _socket.SOCK_RAW, NETLINK_SOCK_DIAG)
    sock.sendto(request(), (0, 0))
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
