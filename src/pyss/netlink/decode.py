"""Decode sock_diag replies into records, straight from the receive buffers.

Every layout is a precompiled struct.Struct and every record is built with
``tuple.__new__``: this loop runs once per socket, so each call it avoids is
time saved on hosts with 100k sockets. Malformed input raises
:class:`MalformedMessage` naming what was wrong; nothing is skipped silently.
"""

from __future__ import annotations

import errno as _errno
import os
import struct
import sys
from _operator import add  # operator's C core: operator.py itself is an import to spare
from itertools import accumulate, chain, repeat

from pyss.lite_typing import TYPE_CHECKING, NamedTuple
from pyss.netlink.constants import (
    AF_INET,
    AF_INET6,
    NETLINK_DIAG_GROUPS,
    NETLINK_DIAG_MEMINFO,
    NLM_F_DUMP_INTR,
    NLM_F_MULTI,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSG_HDRLEN,
    NLMSG_NOOP,
    PACKET_DIAG_INFO,
    PACKET_DIAG_MEMINFO,
    PACKET_DIAG_UID,
    SOCK_DIAG_BY_FAMILY,
    UNIX_DIAG_NAME,
    UNIX_DIAG_PEER,
    UNIX_DIAG_RQLEN,
)
from pyss.netlink.layout import Layout
from pyss.netlink.transport import Worked
from pyss.records import InetSocket, NetlinkSocket, PacketSocket, UnixSocket

# struct nlmsghdr
NLMSGHDR: Final = Layout("nlmsghdr", (("len", "I"), ("type", "H"), ("flags", "H"), ("seq", "I"), ("pid", "I")),
                         NLMSG_HDRLEN)
_NLMSGHDR: Final = NLMSGHDR.prefix("flags")  # length, type, flags: the sequence and port are not checked
_NLMSGERR: Final = struct.Struct("=i")
_NLATTR: Final = struct.Struct("=HH")
_U32: Final = struct.Struct("=I")
_U32X2: Final = struct.Struct("=II")
_KIND_WORD: Final = struct.Struct("=HH")  # nlmsg_type, nlmsg_flags: the second word of a netlink header

# struct inet_diag_msg with its struct inet_diag_sockid. Ports are big-endian in the kernel
# struct; they are read native and swapped, which is cheaper than a second unpack call per socket.
INET_DIAG_MSG: Final = Layout("inet_diag_msg", (
    ("family", "B"), ("state", "B"), ("timer", "B"), ("retrans", "B"),
    ("sport", "H"), ("dport", "H"), ("src", "16s"), ("dst", "16s"), ("ifindex", "I"), ("cookie", "2I"),
    ("expires", "I"), ("rqueue", "I"), ("wqueue", "I"), ("uid", "I"), ("inode", "I"),
), 72)
INET_DIAG_MSG_SIZE: Final = INET_DIAG_MSG.size
_INET6: Final = INET_DIAG_MSG.struct
_INET4: Final = INET_DIAG_MSG.variant({"src": "4s12x", "dst": "4s12x"}).struct  # an IPv4 address fills 4 of 16
_UNIX: Final = struct.Struct("=BBBxIII")  # unix_diag_msg: family, type, state, ino, cookie[2]
UNIX_DIAG_MSG_SIZE: Final = 16
_PACKET: Final = struct.Struct("=BBHIII")  # packet_diag_msg: family, type, num, ino, cookie[2]
PACKET_DIAG_MSG_SIZE: Final = 16
_NETLINK: Final = struct.Struct("=BBBBIIIIII")  # netlink_diag_msg
NETLINK_DIAG_MSG_SIZE: Final = 28
_SK_MEMINFO: Final = struct.Struct("=9I")

_new = tuple.__new__
_little = struct.pack("=H", 1) == b"\x01\x00"
_DATA_TYPE: Final = struct.pack("=H", SOCK_DIAG_BY_FAMILY)
# nlmsg_len's least significant byte; nlmsg_type and nlmsg_flags as 16-bit words
_LENGTH_LOW_BYTE: Final = NLMSGHDR.offset("len") + (0 if sys.byteorder == "little" else 3)
_TYPE_HALFWORD: Final = NLMSGHDR.offset("type") // 2
_FLAGS_HALFWORD: Final = NLMSGHDR.offset("flags") // 2
_LOW_TWO_BITS: Final = bytes(range(4)) * 64  # byte value -> its two low bits


class MalformedMessage(Exception):
    """The kernel's reply did not have the shape its headers promised."""


class DumpError(OSError):
    """The kernel answered a dump request with an error (NLMSG_ERROR)."""


class DumpInterrupted(Exception):
    """The kernel flagged the dump NLM_F_DUMP_INTR: sockets changed while it ran."""


if TYPE_CHECKING:  # typing stays unimported on the plain-listing path (see pyss.lite_typing)
    from collections.abc import Callable, Iterable, Iterator
    from typing import Final, TypeVar

    Record = TypeVar("Record")
    Item = TypeVar("Item")
    Decoder = Callable[[bytes, int, int], Record]


class MessageBatch(NamedTuple):
    """The SOCK_DIAG_BY_FAMILY messages of one receive buffer.

    ``fixed`` holds each message's netlink header and the start of its
    payload, ``fixed_size`` bytes a message, back to back: a consumer reads a
    field of every message at once through a strided memoryview instead of
    unpacking message by message.
    """

    buffer: bytes
    offsets: list[int]  # where each message starts in ``buffer``
    fixed: bytes
    fixed_size: int


def walk(buffers: Iterable[bytes], decode: Decoder[Record]) -> Iterator[Record]:
    """Yield ``decode(buf, start, end)`` for each SOCK_DIAG_BY_FAMILY message until NLMSG_DONE.

    Raises DumpError for NLMSG_ERROR, MalformedMessage for bad framing, and
    DumpInterrupted after the last record if the kernel flagged the dump as
    inconsistent (records are still delivered: the caller decides).
    """
    def records(buf: bytes, starts: list[int], ends: list[int]) -> Iterator[Record]:
        return map(decode, repeat(buf), starts, ends)

    # One lazy map per buffer: chain pulls the next buffer (and so raises what ends the dump)
    # only once the previous buffer's records are all out.
    return chain.from_iterable(_per_buffer(buffers, records))


def batch_records(batch: MessageBatch, decode: Decoder[Record]) -> list[Record]:
    """Every message of a batch decoded into its record."""
    offsets = batch.offsets
    lengths = memoryview(batch.fixed).cast("I")[:: batch.fixed_size // 4]
    return list(map(decode, repeat(batch.buffer), map(add, offsets, repeat(NLMSG_HDRLEN)), map(add, offsets, lengths)))


def walk_batches(buffers: Iterable[bytes], fixed_size: int = NLMSG_HDRLEN, name: str = "message") -> Iterator[MessageBatch]:
    """One MessageBatch per buffer of a dump, until NLMSG_DONE; errors as in :func:`walk`.

    ``fixed_size`` (a multiple of 4, header included) is how much of each
    message goes into the batch's ``fixed`` bytes; a shorter message is
    malformed, reported by the payload's ``name``.
    """
    def batch(buf: bytes, starts: list[int], _ends: list[int]) -> MessageBatch:
        return _batch(buf, [start - NLMSG_HDRLEN for start in starts], fixed_size, name)

    return _per_buffer(buffers, batch, lambda buf: plain_batch(buf, fixed_size))


def _per_buffer(
    buffers: Iterable[bytes],
    framed: Callable[[bytes, list[int], list[int]], Item],
    plain: Callable[[bytes], Item | None] | None = None,
    data_type: int = SOCK_DIAG_BY_FAMILY,
) -> Iterator[Item]:
    """One item per buffer of a dump, until NLMSG_DONE: ``plain(buf)`` when it gives one, else
    ``framed(buf, payload starts, message ends)`` after :func:`_scan` has checked the buffer.

    This is where a dump ends: NLMSG_DONE stops it (DumpInterrupted then, if
    any message was flagged), and running out of buffers before it is an error.
    """
    interrupted = False
    for buf in buffers:
        item = plain(buf) if plain is not None else None
        if item is not None:
            yield item
            continue
        starts, ends, flags, done = _scan(buf, data_type)
        interrupted = interrupted or bool(flags & NLM_F_DUMP_INTR)
        if starts:
            yield framed(buf, starts, ends)
        if done:
            if interrupted:
                raise DumpInterrupted()
            return
    raise MalformedMessage("dump ended without NLMSG_DONE")


def plain_batch(buf: bytes, fixed_size: int) -> MessageBatch | None:
    """The batch of a buffer holding only well-formed data messages, in bulk; None for anything else.

    A :class:`pyss.netlink.transport.Worked` item is such a batch's ``fixed``
    bytes already, gathered by a read-ahead child: its batch has no buffer.

    The one loop here runs per message; every check after it runs in C over
    all messages at once. A buffer that fails any check (NLMSG_DONE, an
    error, a flag, odd framing) goes to :func:`_scan`, which says why.
    """
    if type(buf) is Worked:  # a read-ahead child's plain_batch(buf).fixed (see pyss.columnar.column_fixed)
        return MessageBatch(b"", [], buf, fixed_size) if buf and not len(buf) % fixed_size else None
    size = len(buf)
    parts: list[bytes] = []
    keep = parts.append
    unpack = _U32.unpack_from
    offset = 0
    try:
        for _ in range(size // NLMSG_HDRLEN):
            keep(buf[offset : offset + fixed_size])
            offset += unpack(buf, offset)[0]
            if offset >= size:
                break
    except struct.error:  # a length pointing into the last 3 bytes: _scan says what is wrong
        return None
    count = len(parts)
    fixed = b"".join(parts)
    if not count or offset != size or len(fixed) != count * fixed_size:
        return None
    view = memoryview(fixed)
    halfwords = view.cast("H")
    lengths = view.cast("I")[:: fixed_size // 4].tolist()
    if (halfwords[_TYPE_HALFWORD :: fixed_size // 2].tobytes() != _DATA_TYPE * count
            or any(flag & NLM_F_DUMP_INTR for flag in set(halfwords[_FLAGS_HALFWORD :: fixed_size // 2].tolist()))
            or min(lengths) < fixed_size
            or view[_LENGTH_LOW_BYTE::fixed_size].tobytes().translate(_LOW_TWO_BITS).count(0) != count):
        return None
    offsets = list(accumulate(lengths, initial=0))
    offsets.pop()
    return MessageBatch(buf, offsets, fixed, fixed_size)


class MessageRuns(NamedTuple):
    """The data messages of one receive buffer, as runs of messages of one length.

    Each run is (start, stop, stride): messages begin at start, start + stride, ... before stop,
    so a field at offset F of every message of a run is ``buffer[start + F : stop : stride]``, one C-level
    slice. A dump without requested attributes sends messages of one or two lengths (full sockets, and
    TIME-WAIT or SYN-RECV ones without attributes), so a buffer of ~300 messages is a handful of runs.
    """

    buffer: bytes
    runs: list[tuple[int, int, int]]


def walk_runs(buffers: Iterable[bytes], fixed_size: int, name: str,
              data_type: int = SOCK_DIAG_BY_FAMILY) -> Iterator[MessageRuns]:
    """One MessageRuns per buffer of a dump of ``data_type`` messages, until NLMSG_DONE; errors as in
    :func:`walk`. A message shorter than ``fixed_size`` (header included) is malformed, reported by ``name``."""
    def runs(buf: bytes, starts: list[int], ends: list[int]) -> MessageRuns:
        spans = []
        for start, end in zip(starts, ends, strict=True):
            if end - start < fixed_size - NLMSG_HDRLEN:
                raise MalformedMessage(f"{name} of {end - start} bytes, expected {fixed_size - NLMSG_HDRLEN}")
            stride = (end - start + NLMSG_HDRLEN + 3) & ~3
            spans.append((start - NLMSG_HDRLEN, start - NLMSG_HDRLEN + stride, stride))
        return MessageRuns(buf, spans)

    return _per_buffer(buffers, runs, lambda buf: _plain_runs(buf, fixed_size, data_type), data_type)


def _plain_runs(buf: bytes, fixed_size: int, data_type: int) -> MessageRuns | None:
    """The runs of a buffer holding only well-formed ``data_type`` messages (flags: NLM_F_MULTI alone),
    found run by run rather than message by message; None for anything else (:func:`_scan` then says why).

    From a message of length L, the length's low byte of the messages at stride L is read at once (a
    stepped bytes slice, in C): the first that differs ends the run, and the run's length words and
    type-and-flags words (stepped word slices) must be what data messages of length L have.
    """
    if type(buf) is Worked:  # a read-ahead child's plain_batch(buf).fixed: one run of fixed_size records
        return MessageRuns(buf, [(0, len(buf), fixed_size)]) if buf and not len(buf) % fixed_size else None
    size = len(buf)
    kind = _KIND_WORD.pack(data_type, NLM_F_MULTI)  # header bytes 4..7 of every data message
    unpack = _U32.unpack_from
    words = memoryview(buf)[: size & ~3].cast("I")  # a message starts on a word: its header is whole words
    runs: list[tuple[int, int, int]] = []
    at = 0
    while at < size:
        if size - at < NLMSG_HDRLEN:
            return None
        length = unpack(buf, at)[0]
        stride = (length + 3) & ~3
        if not fixed_size <= length <= size - at:
            return None
        lows = buf[at : size - (size - at) % stride : stride]
        count = len(lows) - len(lows.lstrip(lows[:1]))
        if not count:  # the last message's padding would run past the buffer
            return None
        stop = at + count * stride
        # the run's first two header words: its length, then type and flags (a word slice each, in C)
        first, end, step = at >> 2, stop >> 2, stride >> 2
        if (words[first:end:step].tobytes() != _U32.pack(length) * count
                or words[first + 1 : end : step].tobytes() != kind * count):
            return None
        runs.append((at, stop, stride))
        at = stop
    return MessageRuns(buf, runs)


def _scan(buf: bytes, data_type: int = SOCK_DIAG_BY_FAMILY) -> tuple[list[int], list[int], int, bool]:
    """(payload starts, message ends, flags or-ed, whether NLMSG_DONE ended the dump) of one
    buffer's data messages (of ``data_type``).

    Raises DumpError for NLMSG_ERROR and MalformedMessage for bad framing.
    """
    starts: list[int] = []
    ends: list[int] = []
    all_flags = 0
    size = len(buf)
    offset = 0
    unpack_header = _NLMSGHDR.unpack_from
    while offset < size:
        if size - offset < NLMSG_HDRLEN:
            raise MalformedMessage(f"truncated netlink header: {size - offset} bytes left of {NLMSG_HDRLEN}")
        length, kind, flags = unpack_header(buf, offset)
        end = offset + length
        if length < NLMSG_HDRLEN or end > size:
            raise MalformedMessage(f"netlink message length {length} does not fit its buffer ({size - offset} bytes)")
        all_flags |= flags
        if kind == data_type:
            starts.append(offset + NLMSG_HDRLEN)
            ends.append(end)
        elif kind == NLMSG_DONE:
            _raise_done_error(buf, offset + NLMSG_HDRLEN, end)
            return starts, ends, all_flags, True
        elif kind == NLMSG_ERROR:
            _raise_error(buf, offset + NLMSG_HDRLEN, end)
        elif kind != NLMSG_NOOP:
            raise MalformedMessage(f"unexpected netlink message type {kind}")
        offset += (length + 3) & ~3
    return starts, ends, all_flags, False


def message_spans(buf: bytes) -> list[tuple[int, int]]:
    """(payload start, message end) of each SOCK_DIAG_BY_FAMILY message of a buffer that is no
    dump (the multicast reports of destroyed sockets). Errors as in :func:`walk`."""
    starts, ends, _flags, _done = _scan(buf)
    return list(zip(starts, ends, strict=True))


def acknowledgement(buf: bytes) -> int:
    """The errno an NLMSG_ERROR acknowledgement carries (0: the request was carried out)."""
    if len(buf) < NLMSG_HDRLEN + 4:
        raise MalformedMessage(f"acknowledgement of {len(buf)} bytes")
    length, kind, _flags = _NLMSGHDR.unpack_from(buf)
    if kind != NLMSG_ERROR or not NLMSG_HDRLEN + 4 <= length <= len(buf):
        raise MalformedMessage(f"netlink message type {kind} of {length} bytes where an acknowledgement belongs")
    code: int = _NLMSGERR.unpack_from(buf, NLMSG_HDRLEN)[0]
    return -code


def _batch(buf: bytes, offsets: list[int], fixed_size: int, name: str) -> MessageBatch:
    unpack = _U32.unpack_from
    for offset in offsets:
        length = unpack(buf, offset)[0]
        if length < fixed_size:
            raise MalformedMessage(f"{name} of {length - NLMSG_HDRLEN} bytes, expected {fixed_size - NLMSG_HDRLEN}")
    fixed = b"".join([buf[offset : offset + fixed_size] for offset in offsets])
    return MessageBatch(buf, offsets, fixed, fixed_size)


def _raise_error(buf: bytes, start: int, end: int) -> None:
    if end - start < 4:
        raise MalformedMessage("truncated NLMSG_ERROR")
    (code,) = _NLMSGERR.unpack_from(buf, start)
    if code == 0:  # an acknowledgement, not an error
        return
    raise _dump_error(code)


def _raise_done_error(buf: bytes, start: int, end: int) -> None:
    # NLMSG_DONE carries an int: negative means the dump itself failed.
    if end - start >= 4:
        (code,) = _NLMSGERR.unpack_from(buf, start)
        if code < 0:
            raise _dump_error(code)


_MAX_ERRNO = 4095  # the kernel's errors are -1 .. -MAX_ERRNO


def _dump_error(code: int) -> Exception:
    """The DumpError of a kernel error code; a code no kernel sends is a malformed reply
    (os.strerror would overflow on -2**31, found by the netlink fuzz)."""
    if not 0 < -code <= _MAX_ERRNO:
        return MalformedMessage(f"netlink error code {code} is not an errno")
    return DumpError(-code, os.strerror(-code))


def attributes(buf: bytes, start: int, end: int) -> dict[int, bytes]:
    """Parse a run of netlink attributes into {type: payload} (nested flag bits dropped)."""
    found: dict[int, bytes] = {}
    unpack = _NLATTR.unpack_from
    while end - start >= 4:
        length, kind = unpack(buf, start)
        if length < 4 or start + length > end:
            raise MalformedMessage(f"attribute {kind & 0x3FFF} has length {length}, {end - start} bytes left")
        found[kind & 0x3FFF] = bytes(buf[start + 4 : start + length])
        start += (length + 3) & ~3
    return found


def inet_decoder(protocol: int) -> Decoder[InetSocket]:
    """A decoder of inet_diag_msg for one dump table (the protocol is not in the message)."""
    unpack4 = _INET4.unpack_from
    unpack6 = _INET6.unpack_from
    swap = _little

    def decode(buf: bytes, start: int, end: int) -> InetSocket:
        if end - start < INET_DIAG_MSG_SIZE:
            raise MalformedMessage(f"inet_diag_msg of {end - start} bytes, expected {INET_DIAG_MSG_SIZE}")
        family = buf[start]
        if family == AF_INET:
            fields = unpack4(buf, start)
        elif family == AF_INET6:
            fields = unpack6(buf, start)
        else:
            raise MalformedMessage(f"inet_diag_msg with address family {family}")
        (fam, state, timer, retrans, sport, dport, src, dst, ifindex,
         cookie0, cookie1, expires, rqueue, wqueue, uid, inode) = fields
        if swap:
            sport = ((sport & 0xFF) << 8) | (sport >> 8)
            dport = ((dport & 0xFF) << 8) | (dport >> 8)
        return _new(InetSocket, (
            fam, state, timer, retrans, sport, dport, src, dst, ifindex,
            cookie0 | cookie1 << 32, expires, rqueue, wqueue, uid, inode,
            protocol, buf[start + INET_DIAG_MSG_SIZE : end],
        ))

    return decode


def signed32(value: int) -> int:
    """A u32 the kernel means as a C int (a netlink port id, a route priority) as that int."""
    return value - (1 << 32) if value >= 1 << 31 else value


def decode_unix(buf: bytes, start: int, end: int) -> UnixSocket:
    if end - start < UNIX_DIAG_MSG_SIZE:
        raise MalformedMessage(f"unix_diag_msg of {end - start} bytes, expected {UNIX_DIAG_MSG_SIZE}")
    _family, kind, state, inode, cookie0, cookie1 = _UNIX.unpack_from(buf, start)
    attrs_start = start + UNIX_DIAG_MSG_SIZE
    attrs = attributes(buf, attrs_start, end)
    name = None
    raw_name = attrs.get(UNIX_DIAG_NAME)
    if raw_name is not None:
        # Abstract names start with NUL and may hold more: ss shows each as "@". A path ends at its NUL.
        raw_name = raw_name.replace(b"\0", b"@") if raw_name[:1] == b"\0" else raw_name.split(b"\0", 1)[0]
        name = raw_name.decode("utf-8", "surrogateescape")
    peer = _u32(attrs, UNIX_DIAG_PEER)
    rqueue = wqueue = 0
    queues = attrs.get(UNIX_DIAG_RQLEN)
    if queues is not None:
        if len(queues) < 8:
            raise MalformedMessage("UNIX_DIAG_RQLEN shorter than 8 bytes")
        rqueue, wqueue = _U32X2.unpack_from(queues)
    return _new(UnixSocket, (kind, state, inode, cookie0 | cookie1 << 32, name, peer, rqueue, wqueue,
                             bytes(buf[attrs_start:end])))


def decode_packet(buf: bytes, start: int, end: int) -> PacketSocket:
    if end - start < PACKET_DIAG_MSG_SIZE:
        raise MalformedMessage(f"packet_diag_msg of {end - start} bytes, expected {PACKET_DIAG_MSG_SIZE}")
    _family, kind, num, inode, cookie0, cookie1 = _PACKET.unpack_from(buf, start)
    attrs_start = start + PACKET_DIAG_MSG_SIZE
    attrs = attributes(buf, attrs_start, end)
    ifindex = _u32(attrs, PACKET_DIAG_INFO)
    rqueue = _meminfo(attrs, PACKET_DIAG_MEMINFO)[0]
    uid = _u32(attrs, PACKET_DIAG_UID)
    return _new(PacketSocket, (kind, num, inode, cookie0 | cookie1 << 32,
                               ifindex, rqueue, uid, bytes(buf[attrs_start:end])))


def decode_netlink(buf: bytes, start: int, end: int) -> NetlinkSocket:
    if end - start < NETLINK_DIAG_MSG_SIZE:
        raise MalformedMessage(f"netlink_diag_msg of {end - start} bytes, expected {NETLINK_DIAG_MSG_SIZE}")
    (_family, _kind, protocol, state, portid, dst_portid, dst_group, inode,
     cookie0, cookie1) = _NETLINK.unpack_from(buf, start)
    attrs_start = start + NETLINK_DIAG_MSG_SIZE
    attrs = attributes(buf, attrs_start, end)
    groups_raw = attrs.get(NETLINK_DIAG_GROUPS, b"")
    # ss reads one unsigned long of the group bitmap: the first 64 (or 32) groups.
    groups = int.from_bytes(groups_raw[:8], "little" if _little else "big") if groups_raw else 0
    meminfo = _meminfo(attrs, NETLINK_DIAG_MEMINFO)
    return _new(NetlinkSocket, (protocol, state, portid, dst_portid, dst_group, inode, cookie0 | cookie1 << 32,
                                groups, meminfo[0], meminfo[2], bytes(buf[attrs_start:end]), 0, 0))


def _u32(attrs: dict[int, bytes], kind: int) -> int:
    raw = attrs.get(kind)
    if raw is None:
        return 0
    if len(raw) < 4:
        raise MalformedMessage(f"attribute {kind} shorter than 4 bytes")
    return int(_U32.unpack_from(raw)[0])


def _meminfo(attrs: dict[int, bytes], kind: int) -> tuple[int, ...]:
    """SK_MEMINFO_* array; older kernels send fewer entries, missing ones read as 0."""
    raw = attrs.get(kind)
    if raw is None:
        return (0,) * 9
    raw = raw[:36].ljust(36, b"\0")
    return tuple(_SK_MEMINFO.unpack(raw))


def inet_attributes(record: InetSocket) -> dict[int, bytes]:
    """The INET_DIAG_* attributes of a record, parsed (on demand: the default output needs none)."""
    return attributes(record.attrs, 0, len(record.attrs))


def is_missing_module(error: DumpError) -> bool:
    """True when the error means the kernel has no diag handler for what was asked."""
    return error.errno in (_errno.ENOENT, _errno.EOPNOTSUPP, _errno.EPROTONOSUPPORT)
