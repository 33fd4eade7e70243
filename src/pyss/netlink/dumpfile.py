"""ss's raw TCP dump files: write one (``-D FILE``) and list the TCP table from one (``TCPDIAG_FILE``).

The file is what ss writes: the kernel's replies to its TCP dump requests,
netlink header and all, one dump per address family (IPv4, then IPv6), each
ending in NLMSG_DONE. A reader stops at the first NLMSG_DONE, so ss (and
pyss) replay the first family's dump only. Neither the sequence number nor the
port id in the headers is read back, so files written by ss and by pyss
replay alike in both tools.

A dump file comes from elsewhere and is untrusted: it is read one message
at a time (memory stays bounded however large the file), a message longer
than any the kernel sends ends the replay, and a FIFO without a writer
reads as empty rather than blocking the open.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

from pyss.netlink import requests, transport
from pyss.netlink.constants import AF_INET, AF_INET6, IPPROTO_TCP, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN
from pyss.netlink.decode import DumpError, MalformedMessage, inet_decoder, walk
from pyss.records import InetSocket

# The kernel builds each sock_diag message in one dump skb (at most 32 KiB); ss reads a
# message into 16 KiB. Anything longer is not a dump.
MAX_MESSAGE = 1 << 16
# Whole messages are passed on in buffers of about this size: the decoder's loop is per buffer.
_BUFFER = 1 << 16
_HEADER = struct.Struct("=IH")  # nlmsg_len, nlmsg_type

Warn = Callable[[str], None]


class DumpFileError(Exception):
    """A dump file that ends early or holds something no kernel sends."""


def dump_families(preferred_family: int) -> list[int]:
    """The families ss dumps for -D, in its order: IPv4 then IPv6, or only the one named last by -4/-6."""
    if preferred_family == AF_INET6:
        return [AF_INET6]
    if preferred_family == AF_INET:
        return [AF_INET]
    return [AF_INET, AF_INET6]


def record_tcp_dump(out: BinaryIO, families: Iterable[int], states: int, extensions: int) -> None:
    """Write the kernel's replies to a TCP dump request per family to ``out``, as ss -D does.

    Raises DumpError when the kernel refuses a request, MalformedMessage for
    a reply without NLMSG_DONE, OSError when ``out`` cannot be written.
    """
    for family in families:
        message = requests.inet_request(family, IPPROTO_TCP, states, extensions)
        for _ in walk(_written(transport.dump(message), out), _nothing):
            pass


def _written(buffers: Iterable[bytes], out: BinaryIO) -> Iterator[bytes]:
    for buffer in buffers:
        out.write(buffer)
        yield buffer


def _nothing(buf: bytes, start: int, end: int) -> None:
    """The records of a dump being saved are not decoded: ``walk`` checks the framing and the end."""


def replay_tcp(path: str, warn: Warn) -> Iterator[InetSocket]:
    """The TCP sockets recorded in a dump file, as ss lists them from $TCPDIAG_FILE.

    ss judges them by the filter expression only: neither the state nor the
    family selection applies (the caller filters). A file that cannot be
    read, ends early or is malformed ends the replay after the sockets read
    so far, with one line through ``warn`` (ss then carries on with exit 0).
    """
    try:
        yield from walk(message_buffers(path), inet_decoder(IPPROTO_TCP))
    except OSError as error:
        if isinstance(error, DumpError):
            warn(f"TCPDIAG_FILE {path}: the recorded dump ended in an error: {error.strerror}")
        else:
            warn(f"cannot read TCPDIAG_FILE {path}: {error.strerror or error}")
    except (DumpFileError, MalformedMessage) as error:
        warn(f"TCPDIAG_FILE {path}: {error}")


def message_buffers(path: str) -> Iterator[bytes]:
    """Buffers of whole netlink messages from a dump file, up to and including the first NLMSG_DONE
    (or NLMSG_ERROR). Raises DumpFileError, after the messages before it, for a file that ends
    before that or holds a message of an impossible length."""
    with _open_untrusted(path) as source:
        pending = bytearray()
        offset = 0
        while True:
            header = source.read(NLMSG_HDRLEN)
            if len(header) < NLMSG_HDRLEN:
                yield bytes(pending)
                where = "before the end of the dump (NLMSG_DONE)" if not header else "inside a message header"
                raise DumpFileError(f"the file ends {where}, at byte {offset + len(header)}")
            length, kind = _HEADER.unpack_from(header)
            if not NLMSG_HDRLEN <= length <= MAX_MESSAGE:
                yield bytes(pending)
                raise DumpFileError(f"no dump: the message at byte {offset} claims a length of {length} bytes")
            body_size = ((length + 3) & ~3) - NLMSG_HDRLEN
            body = source.read(body_size)
            if len(body) < body_size:
                yield bytes(pending)
                raise DumpFileError(f"the file ends inside the message at byte {offset}")
            pending += header
            pending += body
            offset += NLMSG_HDRLEN + body_size
            if kind in (NLMSG_DONE, NLMSG_ERROR):
                yield bytes(pending)
                return
            if len(pending) >= _BUFFER:
                yield bytes(pending)
                pending.clear()


def _open_untrusted(path: str) -> BinaryIO:
    """Open for reading without blocking on a FIFO that has no writer (it then reads as empty)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
