"""transport's read-ahead against the real kernel: the same dump, received by a child process.

Runs unprivileged on the host: sock_diag lists a user's own sockets, and only
the sockets this test opens are compared.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator

import pytest

from pyss.netlink.constants import AF_INET, IPPROTO_UDP
from pyss.netlink.decode import inet_decoder, walk
from pyss.netlink.requests import inet_request
from pyss.netlink.transport import dump
from pyss.query import STATES_ALL

SOCKETS = 600  # ~60 kB of replies: the dump spans several buffers, so a child reads most of it


@pytest.fixture(scope="module")
def udp_ports() -> Iterator[set[int]]:
    sockets = []
    try:
        for _ in range(SOCKETS):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        yield {sock.getsockname()[1] for sock in sockets}
    finally:
        for sock in sockets:
            sock.close()


def our_sockets(read_ahead: bool, ports: set[int]) -> list[tuple[int, int]]:
    buffers = dump(inet_request(AF_INET, IPPROTO_UDP, STATES_ALL), read_ahead)
    return [(record.sport, record.inode) for record in walk(buffers, inet_decoder(IPPROTO_UDP))
            if record.sport in ports]


def test_a_read_ahead_dump_lists_what_a_direct_one_does(udp_ports: set[int]) -> None:
    direct = our_sockets(False, udp_ports)
    assert {port for port, _inode in direct} == udp_ports
    assert our_sockets(True, udp_ports) == direct


def children() -> set[str]:
    """This process's children, zombies included, as the kernel lists them."""
    found: set[str] = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as listed:
            found.update(listed.read().split())
    return found


def test_an_abandoned_read_ahead_leaves_no_child_behind(udp_ports: set[int]) -> None:
    before = children()
    buffers = dump(inet_request(AF_INET, IPPROTO_UDP, STATES_ALL), True)
    next(buffers)
    next(buffers)  # the child is reading by now
    assert children() - before, "no child was started"
    started = time.monotonic()
    buffers.close()
    assert time.monotonic() - started < 5
    assert children() - before == set()  # reaped


def test_a_receive_error_in_the_child_reaches_the_decoder() -> None:
    import errno

    from pyss.netlink.decode import DumpError
    from pyss.netlink.transport import _read_ahead

    class FailingSocket:
        def recv(self, size: int) -> bytes:
            raise OSError(errno.ENOBUFS, "No buffer space available")

    def give_up(signum: int, frame: object) -> None:
        raise TimeoutError("the child kept reading after the error")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(10)
    try:
        buffers = list(_read_ahead(FailingSocket()))  # type: ignore[arg-type]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert len(buffers) == 1
    with pytest.raises(DumpError) as raised:
        list(walk(buffers, inet_decoder(IPPROTO_UDP)))
    assert raised.value.errno == errno.ENOBUFS


# --- a dump started ahead (StartedDump): a child sends the request too --------------------------

def test_a_started_dump_lists_what_a_direct_one_does(udp_ports: set[int]) -> None:
    from pyss.netlink.transport import StartedDump

    started = StartedDump(inet_request(AF_INET, IPPROTO_UDP, STATES_ALL))
    records = [(record.sport, record.inode) for record in walk(started, inet_decoder(IPPROTO_UDP))
               if record.sport in udp_ports]
    assert records == our_sockets(False, udp_ports)


@pytest.mark.parametrize("read", [0, 1])
def test_a_started_dump_dropped_or_closed_leaves_no_child_behind(udp_ports: set[int], read: int) -> None:
    from pyss.netlink.transport import StartedDump

    before = children()
    started = StartedDump(inet_request(AF_INET, IPPROTO_UDP, STATES_ALL))
    assert children() - before, "no child was started"
    for _ in range(read):
        next(started)
    begun = time.monotonic()
    if read:
        started.close()
    else:
        del started  # dropped unread
    assert time.monotonic() - begun < 5
    assert children() - before == set()  # reaped


def test_a_refused_request_of_a_started_dump_reaches_the_decoder() -> None:
    import errno

    from pyss.netlink.decode import DumpError
    from pyss.netlink.transport import StartedDump

    bad = bytearray(inet_request(AF_INET, IPPROTO_UDP, STATES_ALL))
    bad[16] = 250  # sdiag_family: no such family, so the kernel refuses the dump
    with pytest.raises(DumpError) as raised:
        list(walk(StartedDump(bytes(bad)), inet_decoder(IPPROTO_UDP)))
    assert raised.value.errno in (errno.EINVAL, errno.ENOENT, errno.EAFNOSUPPORT)
