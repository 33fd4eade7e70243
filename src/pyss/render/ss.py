"""ss's default text output: one row of fields per socket, laid out as ss lays them out."""

from __future__ import annotations

# inet_ntop from _socket: the socket module around it imports enum and selectors (start-up cost).
from _socket import inet_ntop
from itertools import islice, repeat

from pyss import columnar
from pyss.columnar import InetColumns, packed_address
from pyss.lite_typing import TYPE_CHECKING
from pyss.names.netids import INET_NETIDS, netid
from pyss.names.protocols import ETHERTYPE_NAMES, NETLINK_PROTOCOL_NAMES
from pyss.names.ss import HostNames, ServiceNames, interface_name, protocol_name
from pyss.netlink.constants import (
    AF_INET,
    AF_INET6,
    ETH_P_ALL,
    INET_DIAG_SKV6ONLY,
    IPPROTO_RAW,
    IPPROTO_SCTP,
    IPPROTO_TCP,
    IPPROTO_UDP,
    NETLINK_CONNECTED,
)
from pyss.netlink.decode import inet_attributes, signed32
from pyss.query import Query
from pyss.records import InetSocket, NetlinkSocket, PacketSocket, SocketRecord, UnixSocket
from pyss.render.columns import (
    LEFT,
    RIGHT,
    BatchTracker,
    Column,
    ColumnLengths,
    KeyColumn,
    KeyedBlock,
    PaddedTexts,
    TextList,
    byte_length,
    column_lengths,
    column_widths,
    complete_texts,
    longest_above,
    port_texts,
    render_block,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any, TextIO, TypeVar

    Key = TypeVar("Key")

COLUMNS = (
    Column(LEFT, "Netid", ""),
    Column(LEFT, "State", " "),
    Column(LEFT, "Recv-Q", " "),
    Column(LEFT, "Send-Q", " "),
    Column(RIGHT, "Local Address:", " "),
    Column(LEFT, "Port", ""),
    Column(RIGHT, "Peer Address:", " "),
    Column(LEFT, "Port", ""),
    Column(LEFT, "Process", ""),
)
# ss stores one more, always empty, field after "Process"; it only matters for batch accounting.
TRAILING_FIELDS = 1

STATE_NAMES = (
    "UNKNOWN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT",
    "UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING",
)



def _state_name(state: int) -> str:
    """A state's name; one ss has no name for (a TIPC or VSOCK state past CLOSING) shows as UNKNOWN."""
    return STATE_NAMES[state] if state < len(STATE_NAMES) else STATE_NAMES[0]


_V6_ANY = bytes(16)
# A kernel state byte -> its name, for a batch's states read as bytes; and the names' lengths.
_STATE_TEXTS = [*STATE_NAMES, *(STATE_NAMES[0],) * (256 - len(STATE_NAMES))]
_STATE_TEXT_LENGTHS = bytes(map(len, _STATE_TEXTS))
# A port -> the length of its numeric text ("*" for 0); by the port's high byte where that tells (0: it does not).
# Bytes, not a list: 64 kB made by repetition in C, where a list of 65,536 ints took ~0.5 ms of start-up.
_PORT_DIGITS = b"\1" * 10 + b"\2" * 90 + b"\3" * 900 + b"\4" * 9000 + b"\5" * (65536 - 10000)
_PORT_DIGITS_BY_HIGH_BYTE = bytes(0 if high in (0, 3, 39) else _PORT_DIGITS[high << 8] for high in range(256))
# An IPv4 address byte -> the digits of its decimal text.
_OCTET_DIGITS = _PORT_DIGITS[:256]
# Tables past this many texts are laid out as text and padding rather than padded text by key.
_FEW = 4096
# Numeric ports met one by one cost ~0.3 us each, building every port's text ~5 ms: a dump that has
# met this many distinct ports is likely to meet many more, and switches to the full list.
_EVERY_PORT_FROM = 8192

class _Table(dict["Key", str]):  # quoted: typing's TypeVar is imported for type checkers only
    """A cache of texts that fills itself: ``map(table.__getitem__, numbers)`` stays in C on a hit.

    It notes the byte lengths of its texts: when they are all alike, so are
    those of any column mapped through it, and nobody need measure them.
    """

    def __init__(self, make: Callable[[Key], str]) -> None:
        super().__init__()
        self.make = make
        self.lengths: set[int] = set()

    def __missing__(self, key: Key) -> str:
        text = self[key] = self.make(key)
        self.lengths.add(byte_length(text))
        return text

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self.lengths.update(map(byte_length, self.values()))

    def uniform_lengths(self, count: int) -> bytes | None:
        """The lengths of ``count`` fields mapped through this table, if its texts are all one length."""
        if len(self.lengths) != 1:
            return None
        (length,) = self.lengths
        return bytes((length,)) * count if length < 256 else None


Row = tuple[str, ...]
if TYPE_CHECKING:
    DetailText = Callable[[SocketRecord], str]


class RowBuilder:
    """Turns records into ss's fields; one instance per command, caching names as it goes."""

    def __init__(self, query: Query, details: DetailText | None = None, any_service: bool = False,
                 users: Callable[[Sequence[int]], list[str]] | None = None) -> None:
        """``details`` gives a record's Process-column text; ``users``, when only -p fills that column,
        gives the texts of a batch of inodes at once, so that such a listing goes by columns too."""
        self.show_netid = query.table_count > 1
        self.users = users
        self.show_state = query.state_count > 1
        self.show_queues = query.details.queues
        self._has_sctp = query.has("sctp")
        self.numeric = query.details.numeric
        self.hosts = HostNames() if query.details.resolve else None
        self.details = details
        self._services: dict[str | None, ServiceNames] = {}
        self._service_protocol = _service_protocol(query)
        self._any_service = any_service  # ss -E names ports by any protocol's services: it never sets dg_proto
        self._addresses: dict[bytes, str] = {}
        self._netlink_names: dict[int, str] = {}
        # ss prints the queues with %-6d: a u32 the kernel computes as a difference can show negative
        self._queue_table: _Table[int] = _Table(lambda value: f"{signed32(value):<6d}")
        self._address_keys: _Table[int | bytes] | None = None
        self._port_tables: dict[int, _Table[int]] = {}
        self._every_port: list[str] | None = None
        self._numeric_ports: TextList | None = None
        self._address_lengths: dict[int | bytes, int] = {}

    def header(self) -> Row:
        return tuple(column.header for column in self.columns())

    def columns(self) -> tuple[Column, ...]:
        """ss's columns less Netid and State when ss hides them (one table, one state), less the
        queues under -Q."""
        hidden = {0} if not self.show_netid else set()
        if not self.show_state:
            hidden.add(1)
        if not self.show_queues:
            hidden.update((2, 3))
        return tuple(column for index, column in enumerate(COLUMNS) if index not in hidden)

    def _queue(self, value: int) -> str:
        return self._queue_table[value]

    def row_function(self, kind: type[SocketRecord]) -> Callable[[SocketRecord], Row]:
        """The function that turns a record of ``kind`` into its row of fields."""
        if kind is InetSocket:
            row: Callable[[SocketRecord], Row] = self._inet_row_function()  # type: ignore[assignment]
            if self._has_sctp:
                row = self._with_sctp_associations(row)
        elif kind in (UnixSocket, PacketSocket, NetlinkSocket):
            row = {UnixSocket: self.unix_row, PacketSocket: self.packet_row, NetlinkSocket: self.netlink_row}[kind]  # type: ignore[assignment]
        else:
            from pyss.render.kinds import ROWS  # VSOCK, TIPC and XDP listings only

            row = ROWS[kind](self._fields)
        return row if self.show_queues else self._without_queues(row)

    def _with_sctp_associations(self, row: Callable[[SocketRecord], Row]) -> Callable[[SocketRecord], Row]:
        """An SCTP association shares its endpoint's inode and follows its row: ss shows it with an
        empty Netid and "`- STATE" in SCTP's state names (it compares each socket's inode with the
        inet socket it showed last)."""
        from pyss.render.sctp import association_state  # only SCTP listings need it

        last_inode = 0
        netid_at = 0 if self.show_netid else None
        state_at = int(self.show_netid) if self.show_state else None

        def sctp_aware(record: SocketRecord) -> Row:
            nonlocal last_inode
            fields = row(record)
            previous, last_inode = last_inode, record.inode
            if previous == record.inode and type(record) is InetSocket and record.protocol == IPPROTO_SCTP \
                    and previous:
                changed = list(fields)
                if netid_at is not None:
                    changed[netid_at] = ""
                if state_at is not None:
                    changed[state_at] = association_state(record.state)
                return tuple(changed)
            return fields

        return sctp_aware

    def _without_queues(self, row: Callable[[SocketRecord], Row]) -> Callable[[SocketRecord], Row]:
        """-Q (rare, so a wrapper rather than one more variant of each row function)."""
        first = int(self.show_netid) + int(self.show_state)

        def without(record: SocketRecord) -> Row:
            fields = row(record)
            return fields[:first] + fields[first + 2:]

        return without

    def _fields(self, netid: str, state: int, rq: int, wq: int, rest: tuple[str, ...], record: SocketRecord) -> Row:
        extra = self.details(record) if self.details else ""
        queues = (self._queue(rq), self._queue(wq))
        if self.show_netid and self.show_state:
            return (netid, _state_name(state), *queues, *rest, extra)
        if self.show_state:
            return (_state_name(state), *queues, *rest, extra)
        if self.show_netid:
            return (netid, *queues, *rest, extra)
        return (*queues, *rest, extra)

    # --- inet ---------------------------------------------------------------------------------

    def _inet_row_function(self) -> Callable[[InetSocket], Row]:
        """The per-socket hot path of `pyss -tan`: every lookup it needs is bound to a local first."""
        queues = self._queue_table
        address_texts = self._addresses  # packed address -> "text:" (v6 wildcard excluded: it depends on v6only)
        address_text = self._address_text
        # protocol -> (port -> text function, its cache): the cache is read inline, the function only on a miss.
        by_protocol = {protocol: self._port_function(protocol) for protocol in INET_NETIDS}
        state_names = _STATE_TEXTS  # 256 long: a replayed dump file may hold any state byte
        netids = INET_NETIDS
        details = self.details
        show_netid, show_state = self.show_netid, self.show_state

        def row(record: InetSocket) -> Row:
            (_family, state, _timer, _retrans, sport, dport, src, dst, ifindex,
             _cookie, _expires, rqueue, wqueue, _uid, _inode, protocol, _attrs) = record
            ports, texts = by_protocol[protocol]
            local = address_texts.get(src) or address_text(record, src)
            if ifindex:
                local = f"{local[:-1]}%{interface_name(ifindex)}:"
            recv_q = queues[rqueue]
            send_q = queues[wqueue]
            local_port = texts.get(sport) or ports(sport)
            peer = address_texts.get(dst) or address_text(record, dst)
            peer_port = texts.get(dport) or ports(dport)
            extra = details(record) if details else ""
            # One tuple built directly for each column layout: this runs once per socket.
            if show_state:
                if show_netid:
                    return (netids[protocol], state_names[state], recv_q, send_q, local, local_port, peer, peer_port,
                            extra)
                return (state_names[state], recv_q, send_q, local, local_port, peer, peer_port, extra)
            if show_netid:
                return (netids[protocol], recv_q, send_q, local, local_port, peer, peer_port, extra)
            return (recv_q, send_q, local, local_port, peer, peer_port, extra)

        return row

    def inet_columns(self, batch: InetColumns, users: bool = True) -> tuple[list[Sequence[str]], list[bytes | None]]:
        """The fields of a batch of TCP or UDP sockets, column by column, for a listing without details,
        and the field lengths of the columns whose lengths are known without measuring (else None).
        ``users=False``: the last column (-p's) is left to the caller, empty.

        Each column is one C-level map through a table of texts: no Python
        runs per socket unless a number is new to its table.
        """
        count = len(batch.states)
        addresses = self._address_table()
        queues = self._queue_table
        ports = self._port_table(batch.protocol)
        columns: list[Sequence[str]] = [
            list(map(queues.__getitem__, batch.rqueues)),
            list(map(queues.__getitem__, batch.wqueues)),
            list(map(addresses.__getitem__, batch.srcs)),
            list(map(ports.__getitem__, batch.sports)),
            list(map(addresses.__getitem__, batch.dsts)),
            list(map(ports.__getitem__, batch.dports)),
            self.users(batch.inodes) if self.users is not None and users else _EMPTY if not users else [""] * count,
        ]
        queue_lengths = queues.uniform_lengths(count)
        address_lengths = addresses.uniform_lengths(count)
        known = [queue_lengths, queue_lengths, address_lengths, None, address_lengths, None,
                 None if self.users is not None else bytes(count)]
        if self.show_state:
            columns.insert(0, list(map(_STATE_TEXTS.__getitem__, batch.states)))
            known.insert(0, bytes(batch.states).translate(_STATE_TEXT_LENGTHS))
        if self.show_netid:
            netid = INET_NETIDS[batch.protocol]
            columns.insert(0, [netid] * count)
            known.insert(0, bytes((len(netid),)) * count)
        return columns, known

    def inet_block(self, batch: InetColumns) -> KeyedBlock | None:
        """A buffer of TCP or UDP sockets (read from the buffer) as keys for :meth:`SsWriter.add_keyed`, for
        a listing without details: fields are made from keys as the block is laid out, and each
        column's lengths come from its keys or the raw bytes. None for columns given whole, or a field
        of 256 bytes or more (the caller takes :meth:`inet_columns` then)."""
        if not batch.raw:
            return None
        count = len(batch)
        try:
            local, peer = self._address_column(batch, columnar.SRC), self._address_column(batch, columnar.DST)
            columns = [self._queue_column(batch, columnar.RQUEUE, count), self._queue_column(batch, columnar.WQUEUE, count),
                       local, self._port_column(batch, columnar.SPORT), peer, self._port_column(batch, columnar.DPORT),
                       self._users_column(batch, count)]
        except ValueError:  # bytes() of a length past 255
            return None
        if self.show_state:
            states = batch.byte_field(columnar.STATE)
            columns.insert(0, KeyColumn(states, _STATE_TEXTS, states.translate(_STATE_TEXT_LENGTHS)))
        if self.show_netid:
            netid = INET_NETIDS[batch.protocol]
            columns.insert(0, KeyColumn(bytes(count), [netid], bytes((len(netid),)) * count))
        return KeyedBlock(columns, count)

    def _queue_column(self, batch: InetColumns, offset: int, count: int) -> KeyColumn:
        table = self._queue_table
        if not batch.word_bytes(offset).strip(b"\0"):  # idle sockets: one key, no list of numbers
            text = table[0]
            return KeyColumn(bytes(count), [text], bytes((len(text),)) * count)
        values = batch.word_field(offset)
        if max(values) < 100_000:  # "%-6d": six characters up to 99999
            return KeyColumn(values, table, b"\6" * count, len(table) < _FEW)
        return KeyColumn(values, table, _lengths(list(map(table.__getitem__, values))), len(table) < _FEW)

    def _address_column(self, batch: InetColumns, offset: int) -> KeyColumn:
        table = self._address_table()
        if batch.family == AF_INET and self.hosts is None:
            keys: Sequence[int | bytes] = batch.word_field(offset)
            # "a.b.c.d:": the digits of four bytes, three dots and a colon, summed for every socket at once
            # in the lanes of one big integer (a lane holds at most 16)
            count = len(keys)
            lanes = int.from_bytes(b"\4" * count, "little")
            for byte in range(4):
                lanes += int.from_bytes(batch.byte_field(offset + byte).translate(_OCTET_DIGITS), "little")
            return KeyColumn(keys, table, lanes.to_bytes(count, "little"), len(table) < _FEW)
        keys = batch.srcs if offset == columnar.SRC else batch.dsts
        lengths = self._address_lengths
        try:
            measured = bytes(map(lengths.__getitem__, keys))
        except KeyError:
            for key in set(keys).difference(lengths):
                lengths[key] = byte_length(table[key])
            measured = bytes(map(lengths.__getitem__, keys))
        return KeyColumn(keys, table, measured, len(table) < _FEW)

    def _port_column(self, batch: InetColumns, offset: int) -> KeyColumn:
        ports = batch.sports if offset == columnar.SPORT else batch.dports
        if not self.numeric or batch.protocol == IPPROTO_RAW:
            table = self._port_table(batch.protocol)
            return KeyColumn(ports, table, _lengths(list(map(table.__getitem__, ports))), False)
        texts = self._numeric_ports
        if texts is None:
            texts = self._numeric_ports = port_texts(width=5)
        lengths = batch.byte_field(offset).translate(_PORT_DIGITS_BY_HIGH_BYTE)  # ports are big-endian
        if 0 in lengths:
            lengths = bytes(map(_PORT_DIGITS.__getitem__, ports))
        return KeyColumn(ports, texts, lengths, False, padded_to=5)

    def _users_column(self, batch: InetColumns, count: int) -> KeyColumn:
        if self.users is None:
            return KeyColumn(bytes(count), [""], bytes(count))
        texts = self.users(batch.inodes)
        return KeyColumn(range(count), texts, _lengths(texts), False)

    def _address_table(self) -> _Table[int | bytes]:
        """Address key -> "text:" for InetColumns (which never hold a scope or an IPv6 wildcard)."""
        if self._address_keys is None:
            def text(key: int | bytes) -> str:
                packed = packed_address(key)
                return self._format_address(AF_INET if len(packed) == 4 else AF_INET6, packed) + ":"

            self._address_keys = _Table(text)
        return self._address_keys

    def _port_table(self, protocol: int) -> Sequence[str] | dict[int, str]:
        """port -> text; once a dump has shown many numeric ports, one list of every port's text."""
        if self._every_port is not None:
            return self._every_port
        table = self._port_tables.get(protocol)
        if table is None:
            function, known = self._port_function(protocol)
            table = self._port_tables[protocol] = _Table(function)
            table.update(known)
        if self.numeric and len(table) >= _EVERY_PORT_FROM:
            self._every_port = ["*", *map(str, range(1, 65536))]
            return self._every_port
        return table

    def _port_function(self, protocol: int) -> tuple[Callable[[int], str], dict[int, str]]:
        """(port -> text, the cache that function fills) for one inet table."""
        if protocol not in _SERVICE_PROTOCOLS:
            protocol = self._service_protocol
        if protocol == IPPROTO_RAW:
            return self._raw_port, {}
        if not self.numeric:
            name = None if self._any_service else _SERVICE_PROTOCOLS.get(protocol)  # None: any protocol's
            service = self._services.get(name) or self._services.setdefault(name, ServiceNames(name))
            return service, service.cache
        texts = {0: "*"}

        def numeric(port: int) -> str:
            text = texts[port] = str(port)
            return text

        return numeric, texts

    def _address_text(self, record: InetSocket, packed: bytes) -> str:
        """ "text:" for an address; cached unless it is the IPv6 wildcard, whose text depends on v6only."""
        if packed == _V6_ANY and record.family == AF_INET6 and not _is_v6only(record):
            return "*:"
        text = self._format_address(record.family, packed) + ":"
        if packed != _V6_ANY:
            self._addresses[packed] = text
        return text

    def _raw_port(self, number: int) -> str:
        if number == 0:
            return "*"
        return str(number) if self.numeric else protocol_name(number)

    def _format_address(self, family: int, packed: bytes) -> str:
        if self.hosts is not None:
            name = self.hosts(packed)
            if name is not None:
                return f"[{name}]" if ":" in name else name
        text = inet_ntop(family, packed)
        return f"[{text}]" if family != AF_INET else text

    # --- unix, packet, netlink -----------------------------------------------------------------

    def unix_row(self, record: UnixSocket) -> Row:
        name = record.name if record.name is not None else "*"
        rest = (name + " ", str(record.inode), "* ", str(record.peer))
        return self._fields(netid(record), record.state, record.rqueue, record.wqueue, rest, record)

    def packet_row(self, record: PacketSocket) -> Row:
        if record.protocol == ETH_P_ALL:
            protocol = "*"
        elif self.numeric:
            protocol = f"[{record.protocol}]"
        else:
            protocol = ETHERTYPE_NAMES.get(record.protocol) or f"[{record.protocol}]"
        device = interface_name(record.ifindex) if record.ifindex else "*"
        rest = (protocol + ":", device, "*", "")
        return self._fields(netid(record), 7, record.rqueue, 0, rest, record)

    def netlink_row(self, record: NetlinkSocket) -> Row:
        if self.numeric:
            protocol = str(record.protocol)
        else:
            protocol = NETLINK_PROTOCOL_NAMES.get(record.protocol) or str(record.protocol)
        if record.state == NETLINK_CONNECTED:
            peer = (f"{record.dst_group}:", str(signed32(record.dst_portid)))
        else:
            peer = ("*", "")
        rest = (protocol + ":", self._netlink_owner(signed32(record.portid)), *peer)
        return self._fields(netid(record), 7, record.rqueue, record.wqueue, rest, record)

    def _netlink_owner(self, portid: int) -> str:
        if portid == -1:
            return "*"
        if self.numeric:
            return str(portid)
        if portid == 0:
            return "kernel"
        name = self._netlink_names.get(portid)
        if name is None:
            name = _process_label(portid)
            self._netlink_names[portid] = name
        return name



_EMPTY: Sequence[str] = ()  # the users column of a block kept for -p's scan, until it is known
def _lengths(texts: list[str]) -> bytes:
    """The byte length of each text, one byte each (ValueError past 255)."""
    return bytes(map(len if "".join(texts).isascii() else byte_length, texts))


def _process_label(pid: int) -> str:
    """"comm/pid" for a netlink port owned by a live process, else the number."""
    from pyss.system.processes import stat_head  # netlink listings only: the -p scan's module stays unloaded

    head = stat_head(pid) if pid >= 0 else None
    if head is None:
        return str(pid)
    start = head.find(b"(")
    end = head.find(b")", start + 1)
    if start < 0 or end < 0:
        return str(pid)
    return f"{head[start + 1 : end].decode('utf-8', 'surrogateescape')}/{pid}"


# The inet tables whose ports ss names with their own protocol's services (a raw "port" is an IP protocol).
_SERVICE_PROTOCOLS = {IPPROTO_RAW: "raw", IPPROTO_UDP: "udp", IPPROTO_TCP: "tcp"}


def _service_protocol(query: Query) -> int:
    """The protocol whose names dccp, sctp and mptcp ports take: ss names them as the last of its
    raw, udp and tcp listings that ran before did (its global dg_proto), or by any protocol's
    services (0) when none ran."""
    return next((protocol for protocol in (IPPROTO_TCP, IPPROTO_UDP, IPPROTO_RAW)
                 if query.has(INET_NETIDS[protocol])), 0)


def _is_v6only(record: InetSocket) -> bool:
    flag = inet_attributes(record).get(INET_DIAG_SKV6ONLY)
    return bool(flag and flag[0])


class SsListing:
    """ss's rows written from a listing's batches: the :class:`pyss.columnar.BatchSink` of ``pyss``.

    With ``users_ready`` (ss -p, whose /proc scan runs in child processes
    while the dump streams), the batches that come before the scan is done
    are formatted but for their Process column and kept; they are written,
    in order, once it is done (at the latest at :meth:`finish`). The rows
    cannot be written earlier: ss's batches and widths depend on every field.
    Formatting them meanwhile takes that work off the end of the run, where
    nothing else is left to do beside it.
    """

    __slots__ = ("_builder", "_kept", "_rows", "_users_ready", "_writer")

    def __init__(self, writer: SsWriter, builder: RowBuilder, users_ready: Callable[[], bool] | None = None) -> None:
        self._writer = writer
        self._builder = builder
        self._rows: dict[type[SocketRecord], Callable[[SocketRecord], Row]] = {}
        self._users_ready = users_ready if builder.users is not None else None
        self._kept: list[tuple[list[Sequence[str]], list[bytes | None], Sequence[int]]] = []

    def add_records(self, kind: type[SocketRecord], records: Iterable[SocketRecord]) -> None:
        self.finish()
        row = self._rows.get(kind)
        if row is None:
            row = self._rows[kind] = self._builder.row_function(kind)
        self._writer.extend(map(row, records))

    def add_columns(self, columns: InetColumns) -> None:
        ready = self._users_ready
        if ready is not None and not ready():
            from array import array  # here: it imports collections.abc, which a plain listing does without

            fields, known = self._builder.inet_columns(columns, users=False)
            self._kept.append((fields, known, array("I", columns.inodes)))  # u32s: 4 bytes each, not an int object
            return
        self.finish()
        block = self._builder.inet_block(columns) if self._builder.users is None else None
        if block is None:
            self._writer.add_columns(*self._builder.inet_columns(columns))
        else:
            self._writer.add_keyed(block)

    def finish(self) -> None:
        """Write the rows kept for the scan (waiting for it), in order; from now on nothing is kept."""
        self._users_ready = None
        if not self._kept:
            return
        kept, self._kept = self._kept, []
        users = self._builder.users
        assert users is not None  # rows are kept only for a users column
        kept.reverse()
        while kept:  # each block is let go once written
            fields, known, inodes = kept.pop()
            fields[-1] = users(inodes)
            known[-1] = None
            self._writer.add_columns(fields, known)


class SsWriter:
    """Buffers rows in ss's batches, lays each batch out and writes it.

    Rows come in blocks, column by column (:meth:`add_columns`); each
    column's field lengths are taken once and serve both the batch
    accounting and the column widths. Rows given one by one are gathered
    into blocks first.
    """

    BLOCK = 512

    def __init__(self, out: TextIO, columns: tuple[Column, ...], screen_width: int | None) -> None:
        self.out = out
        self.columns = columns
        self.screen_width = screen_width
        self.tracker = BatchTracker()
        self.batch: list[Sequence[Sequence[str]] | KeyedBlock] = []  # blocks, laid out together at the next flush
        # The texts of the batch's first blocks, laid out ahead (lay_ahead) with the widths laid_widths.
        self.laid: list[str] = []
        self.laid_widths: list[int] = []
        self.padded = PaddedTexts()
        self.maxima = [0] * len(columns)
        self.unmeasured: int | None = None  # the latest row's last field: measured once another row follows
        self.written: tuple[list[Sequence[Sequence[str]] | KeyedBlock], list[str]] = ([], [])  # see close()

    def add(self, row: Row) -> None:
        self.add_columns([[field] for field in row])

    def extend(self, rows: Iterable[Row]) -> None:
        rows = iter(rows)
        while block := list(islice(rows, self.BLOCK)):
            self.add_columns(list(zip(*block, strict=True)))

    def write_all(self, rows: Iterable[Row]) -> None:
        self.extend(rows)
        self.close()

    def add_columns(self, block: Sequence[Sequence[str]], known: Sequence[bytes | None] | None = None) -> None:
        """Account for a block of rows given as one sequence of fields per column.

        ``known`` may give a column's field lengths (bytes, one a field) when
        the caller has them without measuring.
        """
        while block and block[0]:
            lengths = list(map(column_lengths, block, self.maxima, known or repeat(None)))
            known = None  # they described the whole block; a split block is measured
            split = self.tracker.split(lengths, TRAILING_FIELDS)
            if split is None:
                self._measure(lengths)
                self.batch.append(block)
                return
            if split:
                self._measure([column_lengths(column[:split], longest) for column, longest in zip(block, self.maxima, strict=True)])
                self.batch.append([column[:split] for column in block])
            self._measure_last()  # at a batch boundary ss has moved past every field
            self.flush()
            block = [column[split:] for column in block]

    def add_keyed(self, block: KeyedBlock) -> None:
        """:meth:`add_columns` for a block given as keys (see :class:`pyss.render.columns.KeyedBlock`)."""
        fields = len(self.columns)
        while block.rows:
            split = self.tracker.split_block(block.stored_size(), block.rows, fields, TRAILING_FIELDS,
                                             block.row_order_lengths)
            if split is None:
                self._measure_keyed(block)
                self.batch.append(block)
                return
            if split:
                head = block.cut(0, split)
                self._measure_keyed(head)
                self.batch.append(head)
            self._measure_last()  # at a batch boundary ss has moved past every field
            self.flush()
            block = block.cut(split)

    def _measure_keyed(self, block: KeyedBlock) -> None:
        maxima = self.maxima
        self._measure_last()
        for index, column in enumerate(block.columns):
            lengths = column.lengths
            longest = longest_above(lengths[:-1], maxima[index])
            maxima[index] = max(maxima[index], longest, lengths[-1]) if index < len(maxima) - 1 \
                else max(maxima[index], longest)
        self.unmeasured = block.columns[-1].lengths[-1]

    def _measure(self, lengths: list[ColumnLengths]) -> None:
        maxima = self.maxima
        self._measure_last()
        for index, column in enumerate(lengths[:-1]):
            maxima[index] = max(maxima[index], column.longest_but_last, column.last)
        last = lengths[-1]
        maxima[-1] = max(maxima[-1], last.longest_but_last)
        self.unmeasured = last.last

    def _measure_last(self) -> None:
        if self.unmeasured is not None:
            self.maxima[-1] = max(self.maxima[-1], self.unmeasured)
            self.unmeasured = None

    def lay_ahead(self) -> bool:
        """Lay out the batch's next block with the widths known so far, while the caller would only wait
        for its input (see pyss.netlink.transport.set_idle_work); False when there is nothing to do.

        The layout is speculative: ss's widths are known only when its batch ends, and :meth:`flush`
        keeps these texts only if the batch's final widths are the ones they were laid out with. The
        texts laid ahead are always those of the batch's first blocks; when a width grows, they are
        dropped and the laying ahead starts again from the first block.
        """
        if not self.batch:
            return False
        widths = column_widths(self.columns, self.maxima, self.screen_width)
        if widths != self.laid_widths:
            self.laid, self.laid_widths = [], widths
        elif len(self.laid) == len(self.batch):
            return False
        block = self.batch[len(self.laid)]
        complete_texts((block,))
        self.laid.append(self._lay_out(block, widths))
        return True

    def _lay_out(self, block: Sequence[Sequence[str]] | KeyedBlock, widths: Sequence[int]) -> str:
        if isinstance(block, KeyedBlock):
            return block.render(self.columns, widths, self.padded)
        return render_block(self.columns, widths, block)

    def flush(self) -> None:
        self._write_batch()
        self.batch, self.laid = [], []

    def _write_batch(self) -> None:
        if self.batch:
            widths = column_widths(self.columns, self.maxima, self.screen_width)
            laid = self.laid if widths == self.laid_widths else []
            rest = self.batch[len(laid):]
            write = self.out.write
            for text in laid:
                write(text)
            complete_texts(rest)
            for block in rest:
                write(self._lay_out(block, widths))

    def add_header(self, row: Row) -> None:
        """The header row: ss moves past its last field at once, so that field is measured now."""
        self.add(row)
        self._measure_last()

    def render(self) -> None:
        """Lay out and write what is held now, as ss's render() does after each event of ss -E.

        ss then frees its buffer: the last row's last field is never measured
        and a new batch starts, while the column widths measured so far stay.
        """
        self.flush()
        self.unmeasured = None
        self.tracker = BatchTracker()

    def close(self) -> None:
        """Write what is left; the very last field stays unmeasured, as in ss.

        The last batch is let go with the writer, not here: a command line that keeps its writer
        to the end ends without freeing it (pyss.system.output.exit_at_once), where freeing the
        keys of 50k rows took ~2 ms after the last row was written.
        """
        self._write_batch()
        self.written, self.batch, self.laid = (self.batch, self.laid), [], []
