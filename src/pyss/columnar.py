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
from pyss.netlink.constants import AF_INET, AF_INET6, INET_DIAG_SHUTDOWN, NLMSG_HDRLEN, SOCK_DIAG_BY_FAMILY
from pyss.netlink.decode import (
    INET_DIAG_MSG,
    MalformedMessage,
    MessageBatch,
    MessageRuns,
    inet_decoder,
    plain_batch,
    walk_batches,
    walk_runs,
)
from pyss.netlink.layout import LayoutError
from pyss.netlink.transport import Worked
from pyss.records import InetSocket

if TYPE_CHECKING:  # the plain-listing path does not import typing (see pyss.lite_typing)
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from typing import Any, Final, Protocol

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


class InetColumns:
    """The inet sockets of one receive buffer, one list per field, each read when first asked for.

    A buffer's messages are runs of equal-length messages (:class:`pyss.netlink.decode.MessageRuns`);
    a field of every socket is read run by run, a stepped slice each, with no per-socket Python.
    The raw readers (:meth:`byte_field`, :meth:`word_field`, :meth:`word_bytes`, :meth:`halfword_field`)
    serve writers that map a field's raw values to texts themselves. Columns can also be given whole
    (keywords named as the fields), as a test or a narrowed batch (:meth:`_replace`) gives them.

    Addresses are dictionary keys rather than packed bytes: for AF_INET the
    four address bytes read as one native-order int, for AF_INET6 the 16
    packed bytes (:func:`packed_address` turns a key back).
    """

    __slots__ = ("_buffer", "_known", "_runs", "_words", "family", "protocol")

    def __init__(self, family: int, protocol: int, states: list[int] | None = None, sports: list[int] | None = None,
                 dports: list[int] | None = None, srcs: Sequence[int | bytes] | None = None,
                 dsts: Sequence[int | bytes] | None = None, ifindexes: list[int] | None = None,
                 rqueues: list[int] | None = None, wqueues: list[int] | None = None, inodes: Sequence[int] = (),
                 fixed: bytes = b"", runs: MessageRuns | None = None) -> None:
        self.family = family  # every socket of a batch has the same
        self.protocol = protocol
        self._runs = runs.runs if runs is not None else []
        self._buffer = runs.buffer if runs is not None else b""
        self._words: memoryview | None = None
        given = {"states": states, "sports": sports, "dports": dports, "srcs": srcs, "dsts": dsts,
                 "ifindexes": ifindexes, "rqueues": rqueues, "wqueues": wqueues}
        self._known: dict[str, Any] = {name: value for name, value in given.items() if value is not None}
        if runs is None:
            self._known["inodes"] = inodes
            self._known["fixed"] = fixed

    def send(self, sink: BatchSink) -> None:
        sink.add_columns(self)

    @property
    def raw(self) -> bool:
        """Whether the columns are read from a buffer (the raw readers work), not given whole."""
        return bool(self._runs)

    def __len__(self) -> int:
        if not self._runs:
            return len(self.states)
        return sum([(stop - start) // stride for start, stop, stride in self._runs])

    # --- raw readers ----------------------------------------------------------------------------

    def byte_field(self, offset: int) -> bytes:
        """The byte at ``offset`` (from the netlink header) of every message, in order."""
        buffer = self._buffer
        return b"".join([buffer[start + offset : stop : stride] for start, stop, stride in self._runs])

    def _word_view(self) -> memoryview:
        words = self._words
        if words is None:
            buffer = memoryview(self._buffer)
            words = self._words = buffer[: len(buffer) & ~3].cast("I")
        return words

    def word_field(self, offset: int) -> list[int]:
        """The 32-bit word (native order) at ``offset`` (a multiple of 4) of every message."""
        words = self._word_view()
        runs = self._runs
        if len(runs) == 1:
            ((start, stop, stride),) = runs
            return words[(start + offset) >> 2 : stop >> 2 : stride >> 2].tolist()
        values: list[int] = []
        for start, stop, stride in runs:
            values += words[(start + offset) >> 2 : stop >> 2 : stride >> 2].tolist()
        return values

    def word_bytes(self, offset: int) -> bytes:
        """The 32-bit words at ``offset`` of every message, as they are in the messages, back to back."""
        words = self._word_view()
        return b"".join([words[(start + offset) >> 2 : stop >> 2 : stride >> 2].tobytes()
                         for start, stop, stride in self._runs])

    def halfword_field(self, offset: int) -> list[int]:
        """The 16-bit halfword at ``offset`` (a multiple of 2) of every message, read in native order."""
        halfwords = self._word_view().cast("B").cast("H")
        values: list[int] = []
        for start, stop, stride in self._runs:
            values += halfwords[(start + offset) >> 1 : stop >> 1 : stride >> 1].tolist()
        return values

    def _slices(self, offset: int, size: int) -> list[bytes]:
        """``size`` bytes at ``offset`` of every message, one bytes object each."""
        buffer = self._buffer
        found: list[bytes] = []
        for start, stop, stride in self._runs:
            at = start + offset
            found += map(buffer.__getitem__, map(slice, range(at, stop, stride), range(at + size, stop + size, stride)))
        return found

    # --- the columns ----------------------------------------------------------------------------

    def _column(self, name: str) -> Any:
        value = self._known.get(name)
        if value is None:
            value = self._known[name] = _READERS[name](self)
        return value

    @property
    def states(self) -> list[int]:
        return self._column("states")  # type: ignore[no-any-return]

    @property
    def sports(self) -> list[int]:
        return self._column("sports")  # type: ignore[no-any-return]

    @property
    def dports(self) -> list[int]:
        return self._column("dports")  # type: ignore[no-any-return]

    @property
    def srcs(self) -> Sequence[int | bytes]:
        return self._column("srcs")  # type: ignore[no-any-return]

    @property
    def dsts(self) -> Sequence[int | bytes]:
        return self._column("dsts")  # type: ignore[no-any-return]

    @property
    def ifindexes(self) -> list[int]:
        return self._column("ifindexes")  # type: ignore[no-any-return]

    @property
    def rqueues(self) -> list[int]:
        return self._column("rqueues")  # type: ignore[no-any-return]

    @property
    def wqueues(self) -> list[int]:
        return self._column("wqueues")  # type: ignore[no-any-return]

    @property
    def inodes(self) -> Sequence[int]:
        """Read for -p's users column; () where a caller gave the columns without them."""
        return self._column("inodes")  # type: ignore[no-any-return]

    @property
    def fixed(self) -> bytes:
        """The batch's fixed bytes (header and inet_diag_msg of each message), for readers of further
        fields (see :func:`more_columns`)."""
        return self._column("fixed")  # type: ignore[no-any-return]

    def _replace(self, **fields: Any) -> InetColumns:
        """These columns with some given anew (all of them given whole)."""
        every = {name: getattr(self, name) for name in _READERS}
        every.update(fields)
        return InetColumns(self.family, self.protocol, **every)

    def _ports(self, offset: int) -> list[int]:
        halfwords = self._word_view().cast("B").cast("H")
        raw = b"".join([halfwords[(start + offset) >> 1 : stop >> 1 : stride >> 1].tobytes()
                        for start, stop, stride in self._runs])
        return list(struct.unpack(f">{len(raw) // 2}H", raw))  # ports are big-endian in the kernel struct

    def _addresses(self, offset: int) -> Sequence[int | bytes]:
        if self.family == AF_INET:
            return self.word_field(offset)
        return self._slices(offset, _ADDRESS_SIZE)

    def _fixed(self) -> bytes:
        buffer = self._buffer
        return b"".join([buffer[at : at + FIXED_SIZE] for start, stop, stride in self._runs
                         for at in range(start, stop, stride)])




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
_SPORT: Final = _at("sport")
_DPORT: Final = _at("dport")
_SRC: Final = _at("src")
_DST: Final = _at("dst")
_ADDRESS_SIZE: Final = _DST - _SRC
_IFINDEX: Final = _at("ifindex")
_RQUEUE: Final = _at("rqueue")
_WQUEUE: Final = _at("wqueue")
_INODE: Final = _at("inode")
_WORDS: Final = FIXED_SIZE // 4  # the stride of a 32-bit view
_TIMER: Final = _at("timer")
_RETRANS: Final = _at("retrans")
_COOKIE_WORD: Final = _at("cookie") // 4
_EXPIRES_WORD: Final = _at("expires") // 4
_UID_WORD: Final = _at("uid") // 4
_INODE_WORD: Final = _INODE // 4
# The raw readers' offsets, for writers that read fields themselves (see InetColumns).
STATE: Final = _STATE
SPORT: Final = _SPORT
DPORT: Final = _DPORT
SRC: Final = _SRC
DST: Final = _DST
RQUEUE: Final = _RQUEUE
WQUEUE: Final = _WQUEUE

if (FIXED_SIZE % 4 or _ADDRESS_SIZE != 16 or _SPORT % 2 or _DPORT % 2
        or any(offset % 4 for offset in (_SRC, _DST, _IFINDEX, _RQUEUE, _WQUEUE, _INODE))):
    raise LayoutError("inet_diag_msg: the columnar views need whole-word strides and 16-byte, word-aligned addresses")

# How each column of InetColumns is read from a buffer.
_READERS: Final[dict[str, Callable[[InetColumns], Any]]] = {
    "states": lambda columns: list(columns.byte_field(_STATE)),
    "sports": lambda columns: columns._ports(_SPORT),
    "dports": lambda columns: columns._ports(_DPORT),
    "srcs": lambda columns: columns._addresses(_SRC),
    "dsts": lambda columns: columns._addresses(_DST),
    "ifindexes": lambda columns: columns.word_field(_IFINDEX),
    "rqueues": lambda columns: columns.word_field(_RQUEUE),
    "wqueues": lambda columns: columns.word_field(_WQUEUE),
    "inodes": lambda columns: columns.word_field(_INODE),
    "fixed": lambda columns: columns._fixed(),
}



def message_batches(buffers: Iterable[bytes]) -> Iterator[MessageBatch]:
    """The batches of an inet_diag dump, each holding every message's whole inet_diag_msg."""
    return walk_batches(buffers, FIXED_SIZE, "inet_diag_msg")


def inet_batches(buffers: Iterable[bytes], protocol: int) -> Iterator[Batch]:
    """A TCP or UDP dump as batches: columns where the text needs no per-socket attribute, else records."""
    return map(_inet_batch, filter(_has_messages, walk_runs(buffers, FIXED_SIZE, "inet_diag_msg")), repeat(protocol))


def _has_messages(runs: MessageRuns) -> bool:
    return bool(runs.runs)  # an empty buffer reads as no runs


def _inet_batch(runs: MessageRuns, protocol: int) -> Batch:
    columns = _plain_columns(runs, protocol)
    if columns is not None:
        return columns
    if type(runs.buffer) is Worked:  # a read-ahead child's batch, which column_fixed vouched for
        raise MalformedMessage("a batch read ahead as columns does not read as columns")
    return RecordBatch(InetSocket, InetRuns(runs, protocol).records())


def _plain_columns(runs: MessageRuns, protocol: int) -> InetColumns | None:
    """The batch as columns, unless its messages are not all of one family or its text needs a
    per-socket attribute (see the module's docstring)."""
    families = InetRuns(runs, protocol).byte_field(_FAMILY)
    family = families[0]
    if family not in (AF_INET, AF_INET6) or families.count(family) != len(families):
        return None
    columns = InetColumns(family, protocol, runs=runs)
    if columns.word_bytes(_IFINDEX).strip(b"\0"):
        return None
    if family == AF_INET6 and (_V6_ANY in columns.srcs or _V6_ANY in columns.dsts):
        return None
    return columns


def column_fixed(buf: bytes, protocol: int) -> bytes | None:
    """A read-ahead child's work on a buffer of an inet dump (see :func:`pyss.netlink.transport.dump`):
    the fixed bytes of its messages when the buffer reads as columns, else None (it goes on whole).

    Walking the messages is this path's one per-message Python loop; done in
    the child, it runs beside this process's formatting of earlier buffers.
    """
    batch = plain_batch(buf, FIXED_SIZE)
    if batch is None or _plain_columns(_fixed_runs(batch.fixed), protocol) is None:
        return None
    return batch.fixed


def _fixed_runs(fixed: bytes) -> MessageRuns:
    return MessageRuns(fixed, [(0, len(fixed), FIXED_SIZE)])


_V6_ANY = bytes(16)  # shown as "*" or "[::]" depending on the socket's v6only attribute


def inet_columns(batch: MessageBatch, protocol: int) -> InetColumns | None:
    """The fields of an inet batch as columns; None unless every message is of one family.

    (The records of such a batch say what is wrong with it when decoded.)
    """
    families = batch.fixed[_FAMILY::FIXED_SIZE]
    family = families[0]
    if family not in (AF_INET, AF_INET6) or families.count(family) != len(families):
        return None
    return InetColumns(family, protocol, runs=_fixed_runs(batch.fixed))


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

    def full_sockets(self) -> int:
        """How many of the buffer's sockets are full sockets, the ones sockstat counts as in use (hashed):
        not TIME-WAIT and request (SYN-RECV) sockets, whatever state they report.

        The kernel starts every full socket's attributes with INET_DIAG_SHUTDOWN and gives the others
        none (TIME-WAIT) or INET_DIAG_MARK alone (a request socket, to a privileged reader): each run's
        first attribute type is one stepped slice of its low byte and one of its high byte.
        """
        buffer, found = self.buffer, 0
        for start, stop, stride in self.runs:
            if stride < _FIRST_ATTRIBUTE + 4:
                continue  # no attribute at all
            at = start + _FIRST_ATTRIBUTE + 2  # nla_len (u16), then nla_type (u16, host order)
            low, high = buffer[at + _TYPE_LOW : stop : stride], buffer[at + 1 - _TYPE_LOW : stop : stride]
            if not high.strip(b"\0"):
                found += low.count(INET_DIAG_SHUTDOWN)
            else:
                found += sum(1 for lo, hi in zip(low, high, strict=True) if lo == INET_DIAG_SHUTDOWN and not hi)
        return found

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
        starts = [(at, stride) for start, stop, stride in self.runs for at in range(start, stop, stride)]
        runs: list[tuple[int, int, int]] = []
        for at, stride in compress(starts, wanted):
            if runs and runs[-1][1] == at and runs[-1][2] == stride:
                runs[-1] = (runs[-1][0], at + stride, stride)
            else:
                runs.append((at, at + stride, stride))
        if not runs:
            return RecordBatch(InetSocket, [])
        return _inet_batch(MessageRuns(self.buffer, runs), self.protocol)

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


class StateCount(InetRuns):
    """Sockets known only by their number in one state: a count's TCP established sockets, which the
    kernel counts without listing them (see :func:`pyss.dump.run_streams`). Only a consumer that reads
    nothing but each socket's state and table gets one; reading any other field raises TypeError."""

    __slots__ = ("number", "state")

    def __init__(self, protocol: int, state: int, number: int) -> None:
        super().__init__(MessageRuns(b"", []), protocol)
        self.state, self.number = state, number

    def states(self) -> bytes:
        return bytes((self.state,)) * self.number

    def state_counts(self) -> dict[int, int]:
        return {self.state: self.number} if self.number else {}

    def count(self) -> int:
        return self.number

    def full_sockets(self) -> int:
        return self.number

    def byte_field(self, offset: int) -> bytes:
        raise TypeError("a StateCount holds its sockets' state alone")

    def records(self, state: int | None = None) -> list[InetSocket]:
        raise TypeError("a StateCount holds its sockets' state alone")


def full_records(records: Iterable[InetSocket]) -> int:
    """:meth:`InetRuns.full_sockets` for decoded records: those whose attributes start with INET_DIAG_SHUTDOWN."""
    shutdown = INET_DIAG_SHUTDOWN.to_bytes(2, sys.byteorder)
    return sum(1 for record in records if record.attrs[2:4] == shutdown)


# The bytes of an identity (InetRuns.identities): the cookie, then source and destination port, then the inode.
_IDENTITY_BYTES: Final = (*range(_at("cookie"), _at("cookie") + 8), *range(_SPORT, _SPORT + 4),
                          *range(_at("inode"), _at("inode") + 4))
_IDENTITY_SIZE: Final = len(_IDENTITY_BYTES)
_INET_FAMILIES: Final = bytes((AF_INET, AF_INET6))
# Where a message's first attribute starts, and which byte of its type is the low one (host order).
_FIRST_ATTRIBUTE: Final = FIXED_SIZE
_TYPE_LOW: Final = 0 if sys.byteorder == "little" else 1
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
