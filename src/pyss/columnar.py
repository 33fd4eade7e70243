"""The columnar fast path: plain TCP and UDP listings read a receive buffer at a time, field by field.

A record and a row per socket cost ~2.5 us of Python; a listing without
details or filter needs neither. Here each buffer of an inet_diag dump
becomes one :class:`InetColumns`: the fixed bytes of every message are
gathered into one string (the only per-message Python loop, in
:func:`pyss.netlink.decode.walk_batches`), and each field of the whole buffer
is read at once through a strided memoryview. The offsets come from the
``inet_diag_msg`` field table (:data:`pyss.netlink.decode.INET_DIAG_MSG`),
the same table the record decoder unpacks with; they are derived, and
checked, when this module is imported.

The seam between the dump and the writers is typed: a listing's dump yields
:class:`Batch` items, and each item sends itself to a :class:`BatchSink`,
which the ss and netstat writers implement: ``add_columns`` for a buffer read
as columns, ``add_records`` for records (a table that has no columnar path, or
a buffer whose text needs per-socket attributes: an IPv6 wildcard reads ``*``
or ``[::]`` depending on v6only, and an interface scope is printed).
"""

from __future__ import annotations

import struct
import sys
from itertools import compress, repeat

from pyss.lite_typing import TYPE_CHECKING, NamedTuple
from pyss.netlink.constants import AF_INET, AF_INET6, NLMSG_HDRLEN, SOCK_DIAG_BY_FAMILY
from pyss.netlink.decode import (
    INET_DIAG_MSG,
    MalformedMessage,
    MessageBatch,
    MessageRuns,
    batch_records,
    inet_decoder,
    plain_batch,
    walk_batches,
    walk_runs,
)
from pyss.netlink.layout import LayoutError
from pyss.records import InetSocket

if TYPE_CHECKING:  # the plain-listing path does not import typing (see pyss.lite_typing)
    from collections.abc import Iterable, Iterator, Sequence
    from typing import Final, Protocol

    from pyss.records import SocketRecord

    class RecordSink(Protocol):
        """What every sink takes: records of one table (see BatchSink, RunSink)."""

        def add_records(self, kind: type[SocketRecord], records: Iterable[SocketRecord]) -> None: ...

    class BatchSink(RecordSink, Protocol):
        """What a listing writes to: records of one table, or one buffer's inet sockets as columns."""

        def add_columns(self, columns: InetColumns) -> None: ...

    class Batch(Protocol):
        """One item of a listing's dump; it knows which of the sink's two doors it goes through."""

        def send(self, sink: BatchSink) -> None: ...

    class RunSink(RecordSink, Protocol):
        """What a count writes to: records of one table, or one buffer's inet sockets as runs (InetRuns)."""

        def add_runs(self, runs: InetRuns) -> None: ...

    class RunBatch(Protocol):
        """One item of a count's dump (:func:`pyss.dump.run_streams`)."""

        def send(self, sink: RunSink) -> None: ...


class InetColumns(NamedTuple):
    """The inet sockets of one receive buffer, one list per field.

    Addresses are dictionary keys rather than packed bytes: for AF_INET the
    four address bytes read as one native-order int, for AF_INET6 the 16
    packed bytes (:func:`packed_address` turns a key back).
    """

    family: int  # every socket of a batch has the same
    protocol: int
    states: list[int]
    sports: list[int]
    dports: list[int]
    srcs: Sequence[int | bytes]
    dsts: Sequence[int | bytes]
    ifindexes: list[int]
    rqueues: list[int]
    wqueues: list[int]
    inodes: Sequence[int] = ()  # read for -p's users column; () where a caller builds columns without them
    fixed: bytes = b""  # the batch's fixed bytes, for readers of further fields (see :func:`more_columns`)

    def send(self, sink: BatchSink) -> None:
        sink.add_columns(self)


class RecordBatch:
    """Records of one kind: a whole table's stream, or one buffer that could not go as columns.

    A plain slotted class: making a NamedTuple class costs ~0.3 ms of start-up, and nothing here needs one.
    """

    __slots__ = ("kind", "records")

    def __init__(self, kind: type[SocketRecord], records: Iterable[SocketRecord]) -> None:
        self.kind = kind
        self.records = records

    def send(self, sink: RecordSink) -> None:
        sink.add_records(self.kind, self.records)


# --- where each field sits in a message's fixed bytes (netlink header, then inet_diag_msg) -----------

FIXED_SIZE: Final = NLMSG_HDRLEN + INET_DIAG_MSG.size


def _at(field: str) -> int:
    return NLMSG_HDRLEN + INET_DIAG_MSG.offset(field)


_FAMILY: Final = _at("family")
_STATE: Final = _at("state")
_SRC: Final = _at("src")
_DST: Final = _at("dst")
_ADDRESS_SIZE: Final = _DST - _SRC
_SPORT_HALFWORD: Final = _at("sport") // 2
_DPORT_HALFWORD: Final = _at("dport") // 2
_SRC_WORD: Final = _SRC // 4
_DST_WORD: Final = _DST // 4
_IFINDEX_WORD: Final = _at("ifindex") // 4
_RQUEUE_WORD: Final = _at("rqueue") // 4
_WQUEUE_WORD: Final = _at("wqueue") // 4
_INODE_WORD: Final = _at("inode") // 4
_WORDS: Final = FIXED_SIZE // 4  # the stride of a 32-bit view
_TIMER: Final = _at("timer")
_RETRANS: Final = _at("retrans")
_COOKIE_WORD: Final = _at("cookie") // 4
_EXPIRES_WORD: Final = _at("expires") // 4
_UID_WORD: Final = _at("uid") // 4

if FIXED_SIZE % 4 or _ADDRESS_SIZE != 16 or _at("sport") % 2 or _SRC % 4 or _DST % 4:
    raise LayoutError("inet_diag_msg: the columnar views need whole-word strides and 16-byte, word-aligned addresses")


def message_batches(buffers: Iterable[bytes]) -> Iterator[MessageBatch]:
    """The batches of an inet_diag dump, each holding every message's whole inet_diag_msg."""
    return walk_batches(buffers, FIXED_SIZE, "inet_diag_msg")


def inet_batches(buffers: Iterable[bytes], protocol: int) -> Iterator[Batch]:
    """A TCP or UDP dump as batches: columns where the text needs no per-socket attribute, else records."""
    return map(_inet_batch, message_batches(buffers), repeat(protocol))


def _inet_batch(batch: MessageBatch, protocol: int) -> Batch:
    columns = _plain_columns(batch, protocol)
    if columns is not None:
        return columns
    if not batch.buffer:  # a read-ahead child's batch, which column_fixed vouched for
        raise MalformedMessage("a batch read ahead as columns does not read as columns")
    return RecordBatch(InetSocket, batch_records(batch, inet_decoder(protocol)))


def _plain_columns(batch: MessageBatch, protocol: int) -> InetColumns | None:
    """The batch as columns, unless its text needs a per-socket attribute (see the module's docstring)."""
    columns = inet_columns(batch, protocol)
    if columns is None or any(columns.ifindexes) or (
            columns.family == AF_INET6 and (_V6_ANY in columns.srcs or _V6_ANY in columns.dsts)):
        return None
    return columns


def column_fixed(buf: bytes, protocol: int) -> bytes | None:
    """A read-ahead child's work on a buffer of an inet dump (see :func:`pyss.netlink.transport.dump`):
    the fixed bytes of its messages when the buffer reads as columns, else None (it goes on whole).

    Walking the messages is this path's one per-message Python loop; done in
    the child, it runs beside this process's formatting of earlier buffers.
    """
    batch = plain_batch(buf, FIXED_SIZE)
    if batch is None or _plain_columns(batch, protocol) is None:
        return None
    return batch.fixed


_V6_ANY = bytes(16)  # shown as "*" or "[::]" depending on the socket's v6only attribute


def inet_columns(batch: MessageBatch, protocol: int) -> InetColumns | None:
    """The fields of an inet batch as columns; None unless every message is of one family.

    (The records of such a batch say what is wrong with it when decoded.)
    """
    view = memoryview(batch.fixed)
    count = len(batch.fixed) // FIXED_SIZE
    family = view[_FAMILY]
    if family not in (AF_INET, AF_INET6) or view[_FAMILY::FIXED_SIZE].tobytes() != bytes((family,)) * count:
        return None
    words = view.cast("I")
    if family == AF_INET:
        srcs: Sequence[int | bytes] = words[_SRC_WORD::_WORDS].tolist()
        dsts: Sequence[int | bytes] = words[_DST_WORD::_WORDS].tolist()
    else:
        fixed = batch.fixed
        end = count * FIXED_SIZE
        srcs = list(map(fixed.__getitem__, map(slice, range(_SRC, end, FIXED_SIZE),
                                               range(_SRC + _ADDRESS_SIZE, end + _ADDRESS_SIZE, FIXED_SIZE))))
        dsts = list(map(fixed.__getitem__, map(slice, range(_DST, end, FIXED_SIZE),
                                               range(_DST + _ADDRESS_SIZE, end + _ADDRESS_SIZE, FIXED_SIZE))))
    halfwords = view.cast("H")
    ports = f">{count}H"  # ports are big-endian in the kernel struct
    return InetColumns(
        family, protocol, view[_STATE::FIXED_SIZE].tolist(),
        list(struct.unpack(ports, halfwords[_SPORT_HALFWORD :: _WORDS * 2].tobytes())),
        list(struct.unpack(ports, halfwords[_DPORT_HALFWORD :: _WORDS * 2].tobytes())),
        srcs, dsts, words[_IFINDEX_WORD::_WORDS].tolist(), words[_RQUEUE_WORD::_WORDS].tolist(),
        words[_WQUEUE_WORD::_WORDS].tolist(), words[_INODE_WORD::_WORDS].tolist(), batch.fixed,
    )


class MoreColumns(NamedTuple):
    """The inet_diag_msg fields a plain listing does not read (JSON Lines shows them)."""

    timers: list[int]
    retrans: list[int]
    cookies: list[int]
    expires: list[int]
    uids: list[int]
    inodes: list[int]


def more_columns(columns: InetColumns) -> MoreColumns:
    """timer, retrans, cookie, expires, uid and inode of each socket of a batch, column by column."""
    view = memoryview(columns.fixed)
    words = view.cast("I")
    low, high = words[_COOKIE_WORD::_WORDS].tolist(), words[_COOKIE_WORD + 1::_WORDS].tolist()
    return MoreColumns(
        view[_TIMER::FIXED_SIZE].tolist(), view[_RETRANS::FIXED_SIZE].tolist(),
        [lo | hi << 32 for lo, hi in zip(low, high, strict=True)] if any(high) else low,
        words[_EXPIRES_WORD::_WORDS].tolist(), words[_UID_WORD::_WORDS].tolist(),
        words[_INODE_WORD::_WORDS].tolist(),
    )


def packed_address(key: int | bytes) -> bytes:
    """The packed address behind an InetColumns address key."""
    return key.to_bytes(4, sys.byteorder) if isinstance(key, int) else key


# --- counting: a field or two of every socket, read from the receive buffer itself ---------------------


class InetRuns:
    """The inet sockets of one receive buffer as runs of equal-length messages (a count's batch).

    A count needs one or two fields of each socket (its state; the exporter adds the local port of
    established ones): each is read from the buffer itself, a stepped slice per run
    (:class:`pyss.netlink.decode.MessageRuns`), with no per-socket Python and no copy of the rest.
    """

    __slots__ = ("buffer", "protocol", "runs")

    def __init__(self, runs: MessageRuns, protocol: int) -> None:
        self.buffer, self.runs, self.protocol = runs.buffer, runs.runs, protocol

    def send(self, sink: RunSink) -> None:
        sink.add_runs(self)

    def byte_field(self, offset: int) -> bytes:
        """The byte at ``offset`` (from the netlink header) of every message, in order."""
        buffer = self.buffer
        return b"".join([buffer[start + offset : stop : stride] for start, stop, stride in self.runs])

    def states(self) -> bytes:
        """Each socket's kernel state, one byte a socket."""
        return self.byte_field(_STATE)

    def state_counts(self) -> dict[int, int]:
        """{kernel state: sockets in it} of this buffer, counted by bytes.count (C), commonest states first."""
        states = self.states()
        counts: dict[int, int] = {}
        left = len(states)
        for state in _LIKELY_STATES:
            if not left:
                return counts
            number = states.count(state)
            if number:
                counts[state] = number
                left -= number
        return {state: states.count(state) for state in set(states)}  # a state no kernel sends yet

    def local_ports(self) -> tuple[int, ...]:
        """Each socket's local port."""
        ports = bytearray(2 * self.count())
        ports[0::2], ports[1::2] = self.byte_field(_SPORT), self.byte_field(_SPORT + 1)
        return struct.unpack(f">{len(ports) // 2}H", ports)  # big-endian in the kernel struct

    def count(self) -> int:
        """How many sockets the buffer holds."""
        return sum([(stop - start) // stride for start, stop, stride in self.runs])

    def identities(self) -> list[bytes]:
        """What tells each socket apart (--watch): 16 bytes of its message, the cookie, ports and inode.

        The cookie is the kernel's unique id of a socket; ports and inode are kept beside it so that a
        socket replaced by its TIME-WAIT twin (same cookie, no inode) counts as another. The bytes are
        gathered a byte position at a time and cut into one key per socket (a bytes object keeps its
        hash, so the set and dict work on them hashes each key once).
        """
        size = _IDENTITY_SIZE
        end = size * self.count()
        gathered = bytearray(end)
        for position, offset in enumerate(_IDENTITY_BYTES):
            gathered[position::size] = self.byte_field(offset)
        keys = bytes(gathered)
        return list(map(keys.__getitem__, map(slice, range(0, end, size), range(size, end + size, size))))

    def picked(self, wanted: Iterable[bool]) -> Batch:
        """The ``wanted`` sockets of this buffer as a listing's batch: columns, or records where the text
        needs more than the columns (see :func:`inet_batches`)."""
        buffer = self.buffer
        starts = [at for start, stop, stride in self.runs for at in range(start, stop, stride)]
        chosen = list(compress(starts, wanted))
        fixed = b"".join([buffer[at : at + FIXED_SIZE] for at in chosen])
        return _inet_batch(MessageBatch(buffer, chosen, fixed, FIXED_SIZE), self.protocol)

    def records(self, state: int | None = None) -> list[InetSocket]:
        """The records of the sockets (in ``state``): for the few sockets a count wants whole (listeners)."""
        decode = inet_decoder(self.protocol)
        buffer = self.buffer
        found: list[InetSocket] = []
        for start, stop, stride in self.runs:
            for at in range(start, stop, stride):
                if state is None or buffer[at + _STATE] == state:
                    length = int.from_bytes(buffer[at : at + 4], sys.byteorder)
                    found.append(decode(buffer, at + NLMSG_HDRLEN, at + length))
        return found


_SPORT: Final = _at("sport")
# The bytes of an identity (InetRuns.identities): the cookie, then source and destination port, then the inode.
_IDENTITY_BYTES: Final = (*range(_at("cookie"), _at("cookie") + 8), *range(_SPORT, _SPORT + 4),
                          *range(_at("inode"), _at("inode") + 4))
_IDENTITY_SIZE: Final = len(_IDENTITY_BYTES)
_INET_FAMILIES: Final = bytes((AF_INET, AF_INET6))
# The kernel's TCP states (1..12) in the order a busy host tends to hold them, then the UDP/RAW ones.
_LIKELY_STATES: Final = (1, 6, 10, 8, 5, 7, 2, 3, 4, 9, 11, 12)


def inet_runs(buffers: Iterable[bytes], protocol: int, data_type: int = SOCK_DIAG_BY_FAMILY) -> Iterator[RunBatch]:
    """An inet dump (of ``data_type`` replies) as a count's batches: runs, or records for a buffer whose
    messages are not all AF_INET or AF_INET6 (their decoder says what is wrong with them)."""
    for runs in walk_runs(buffers, FIXED_SIZE, "inet_diag_msg", data_type):
        batch = InetRuns(runs, protocol)
        if batch.byte_field(_FAMILY).strip(_INET_FAMILIES):
            yield RecordBatch(InetSocket, batch.records())
        else:
            yield batch
