"""The floor under ``pyss.net_connections("tcp")``: the system calls any Python program answering it must make,
and nothing else.

psutil's answer names, for every TCP socket, its addresses and state (here: the TCP dump, received and not
decoded) and the fd and pid holding it, which only a ``readlink()`` of every fd of every process tells
(docs/design.md measures the alternatives; it is the cheapest). The fds are read as pyss reads them, after
``fchdir()`` to each process's fd directory with ``map(os.readlink, names)``, on two CPUs: a forked child
and this process take chunks of about equal fd counts from a pipe, one byte each, and this process dumps
first. Nothing is kept: no text is parsed, no inode joined, no tuple made.

    python benchmarks/libbench.py floor-connections     # inside the namespace to measure

Timed beside psutil.net_connections (the ``lib-conn`` rows of docs/benchmarks.md), it shows how far below
psutil's time any implementation can get on this machine before it builds a single sconn.
"""

from __future__ import annotations

import _socket
import gc
import os
import socket
from collections import namedtuple
from itertools import repeat

from bare_dump import ends_dump, request
from pyss.system.processes import _ALL_FDS as _ALL
from pyss.system.processes import Share as Chunk
from pyss.system.processes import plan_shares

_CHUNKS = 48  # as many as pyss hands out to two scanners (planned as pyss plans them: plan_shares)
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC

Addr = namedtuple("Addr", ["ip", "port"])  # psutil's shapes
Sconn = namedtuple("Sconn", ["fd", "family", "type", "laddr", "raddr", "status", "pid"])


def read_links(chunk: Chunk) -> int:
    """readlink() of every fd the chunk names; how many were read."""
    read = 0
    for pid, first, end in chunk:
        try:
            directory = os.open(f"/proc/{pid}/fd", _DIRECTORY)
        except OSError:
            continue
        try:
            names = os.listdir(directory) if end == _ALL else [str(fd) for fd in range(first, end)]
            if end == _ALL and first:
                names = [name for name in names if int(name) >= first]
            os.fchdir(directory)
            at = 0
            while at < len(names):
                links: list[str] = []
                try:
                    links.extend(map(os.readlink, names[at:]))
                except PermissionError:  # not ours to read (as pyss, the rest of the process is passed)
                    break
                except OSError:  # closed meanwhile, or a free number: on past it
                    at += 1
                at += len(links)
                read += len(links)
        finally:
            os.close(directory)
    return read


def scan_chunks(planned: list[Chunk], tokens: int) -> int:
    read = 0
    while token := os.read(tokens, 1):
        read += read_links(planned[token[0]])
    return read


def receive_dump() -> int:
    received = 0
    sock = _socket.socket(_socket.AF_NETLINK, _socket.SOCK_RAW, 4)  # NETLINK_SOCK_DIAG
    try:
        sock.sendto(request(), (0, 0))
        while True:
            data = sock.recv(65536)
            received += len(data)
            if ends_dump(data):
                return received
    finally:
        sock.close()


def floor() -> int:
    """The dump received and every fd read, on two CPUs; the fds read."""
    return _scanned()[0]


def floor_with_answer() -> list[tuple[object, ...]]:
    """:func:`floor`, then the objects psutil's answer is made of, one sconn and two addrs for each fd read
    (fields of the right types from nothing: no text parsed, nothing looked up), built the way pyss builds
    them (C-level maps, the cyclic collector paused and then its one pass over them); the caller drops them,
    as the benchmark drops the answer."""
    new = tuple.__new__
    read, pid = _scanned()
    gc.disable()
    try:
        laddrs = list(map(new, repeat(Addr), zip(repeat("127.0.0.1"), range(32768, 32768 + read))))
        raddrs = list(map(new, repeat(Addr), zip(repeat("127.0.0.2"), range(32768, 32768 + read))))
        answer = list(map(new, repeat(Sconn), zip(range(3, 3 + read), repeat(socket.AF_INET),
                                                  repeat(socket.SOCK_STREAM), laddrs, raddrs,
                                                  repeat("ESTABLISHED"), repeat(pid))))
        del laddrs, raddrs
    finally:
        gc.enable()
    gc.collect(0)  # the pass the collector makes at the next allocation
    return answer


def _scanned() -> tuple[int, int]:
    """:func:`floor`'s work: the fds read (by both processes), and this process's pid."""
    planned = plan_shares(_CHUNKS)
    counted, counted_in = os.pipe()
    tokens, tokens_in = os.pipe()
    os.write(tokens_in, bytes(range(len(planned))))
    os.close(tokens_in)
    home = os.open(".", _DIRECTORY)
    child = os.fork()
    if child == 0:  # pragma: no cover
        try:
            os.write(counted_in, str(scan_chunks(planned, tokens)).encode())
        finally:
            os._exit(0)
    os.close(counted_in)
    try:
        receive_dump()
        read = scan_chunks(planned, tokens)
    finally:
        os.waitpid(child, 0)
        os.close(tokens)
        os.fchdir(home)  # (the scan left this process in a fd directory)
        os.close(home)
    with os.fdopen(counted, "rb") as pipe:
        read += int(pipe.read() or b"0")
    return read, os.getpid()


if __name__ == "__main__":
    print(floor())
