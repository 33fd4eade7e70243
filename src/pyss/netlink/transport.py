"""The NETLINK_SOCK_DIAG socket: send one dump request, yield its reply buffers.

Thin on purpose: it moves bytes and turns netlink's end-of-dump and error
messages into Python control flow; :mod:`pyss.netlink.decode` reads the
records out of each buffer.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from types import TracebackType

from pyss.netlink.constants import AF_NETLINK, NETLINK_SOCK_DIAG

# The kernel fills at most ~32 KiB per dump read; a larger buffer only wastes allocation.
RECV_SIZE = 65536


class DiagSocket:
    """A NETLINK_SOCK_DIAG socket, optionally opened inside another network namespace's fd."""

    def __init__(self) -> None:
        self._sock = socket.socket(AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_SOCK_DIAG)

    def __enter__(self) -> DiagSocket:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    def request(self, message: bytes) -> Iterator[bytes]:
        """Send a dump request and yield each buffer of replies until NLMSG_DONE.

        The caller walks the messages (see decode.walk); this generator stops
        when the caller does, so an abandoned dump leaves the socket unusable:
        callers use one DiagSocket per request or drain it.
        """
        self._sock.sendto(message, (0, 0))
        recv = self._sock.recv
        while True:
            data = recv(RECV_SIZE)
            if not data:
                return
            yield data


def dump(message: bytes) -> Iterator[bytes]:
    """Run one dump on a socket of its own, closed when the dump is done or abandoned."""
    with DiagSocket() as diag:
        yield from diag.request(message)
