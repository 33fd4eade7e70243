"""netstat's socket listing (net-tools 2.10 layout), from sock_diag records.

Pure formatting: every lookup (host, service and user names, the owning
program) comes in through a :class:`Names` object, so this module does no I/O
and the same rows can be checked byte for byte in unit tests. The column
widths, the 22-character address truncation and the timer wording follow what
net-tools prints; they are behaviour that scripts parse, not decoration.
"""

from __future__ import annotations

from _operator import add, mul, not_, truth  # operator's C core: operator.py is an import to spare
from itertools import compress, repeat

from pyss.lite_typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Protocol
else:
    Protocol = object  # Names is a type checker's interface only

from pyss.columnar import InetColumns, packed_address
from pyss.names.netstat import PROGRAM_WIDTH, TCP_STATE_NAMES
from pyss.netlink.constants import (
    AF_INET,
    AF_INET6,
    SOCK_DGRAM,
    SOCK_RAW,
    SOCK_SEQPACKET,
    SOCK_STREAM,
    TCP_CLOSE,
    TCP_ESTABLISHED,
    TCP_LISTEN,
)
from pyss.records import InetSocket, SocketRecord, UnixSocket
from pyss.render.columns import port_texts

UNIX_TYPE_NAMES = {SOCK_STREAM: "STREAM", SOCK_DGRAM: "DGRAM", SOCK_RAW: "RAW", 4: "RDM", SOCK_SEQPACKET: "SEQPACKET"}
ADDRESS_WIDTH = 22  # netstat fits "address:port" into 22 characters unless -W
_TCP_TIMER_NAMES = {1: "on", 2: "keepalive", 3: "timewait", 4: "probe"}


class Names(Protocol):
    """The lookups a socket row needs (each returns the numeric form when it finds no name)."""

    def host(self, family: int, packed: bytes) -> str: ...

    def service(self, port: int, proto: str) -> str: ...

    def user(self, uid: int) -> str: ...

    def program(self, inode: int) -> str: ...


class SocketView(NamedTuple):
    """The listing options that change what a socket row or header looks like."""

    all: bool = False
    listening: bool = False
    extend: int = 1  # netstat counts -e: 1 = none, 2 = -e, 3 = -ee
    programs: bool = False
    timers: bool = False
    wide: bool = False

    @property
    def scope(self) -> str:
        if self.all:
            return "(servers and established)"
        return "(only servers)" if self.listening else "(w/o servers)"


def inet_header(view: SocketView) -> str:
    line = "Proto Recv-Q Send-Q Local Address           Foreign Address         State      "
    if view.extend > 1:
        line += " User       Inode     "
    if view.programs:
        line += f" {'PID/Program name':<{PROGRAM_WIDTH}}"
    if view.timers:
        line += " Timer"
    return f"Active Internet connections {view.scope}\n{line}\n"


def unix_header(view: SocketView) -> str:
    line = "Proto RefCnt Flags       Type       State         I-Node  "
    if view.programs:
        line += f" {'PID/Program name':<{PROGRAM_WIDTH}}"
    return f"Active UNIX domain sockets {view.scope}\n{line} Path\n"


def endpoint(host: str, service: str, wide: bool) -> str:
    """"host:service", cut to 22 characters the way netstat cuts it (the host gives way first)."""
    if wide or len(host) + len(service) <= ADDRESS_WIDTH:
        return f"{host}:{service}"
    service_len = min(len(service), ADDRESS_WIDTH - 4)
    return f"{host[:ADDRESS_WIDTH - service_len]}:{service[:service_len]}"


def is_unspecified(packed: bytes) -> bool:
    return not any(packed)


def shows_tcp(record: InetSocket, view: SocketView) -> bool:
    """netstat tells servers from the rest by the remote port, not by the state."""
    return view.all or (record.dport == 0) == view.listening


def shows_datagram(record: InetSocket, view: SocketView) -> bool:
    """UDP and RAW: a socket with no remote address counts as a server."""
    return view.all or is_unspecified(record.dst) == view.listening


def _proto(name: str, record: InetSocket) -> str:
    return name + "6" if record.family == AF_INET6 else name


def tcp_timer(record: InetSocket, retransmits: int, probes: int) -> str:
    """The Timer column (-o): kind (seconds left/retransmits/keepalive probes)."""
    if record.timer == 0:
        return f"off (0.00/{retransmits}/{probes})"
    # /proc reports clock ticks of 1/100 s, truncated; the kernel sends milliseconds here.
    seconds = record.expires // 10 / 100
    kind = _TCP_TIMER_NAMES.get(record.timer, f"unkn-{record.timer}")
    return f"{kind} ({seconds:2.2f}/{retransmits}/{probes})"


class RowFormatter:
    """Formats the rows of one inet table ("tcp", "udp" or "raw"), caching each address column.

    A dump repeats the same few addresses thousands of times; the padded
    "host:port" text is built once per (address, port) and reused.
    """

    def __init__(self, proto: str, view: SocketView, names: Names) -> None:
        self.proto = proto
        self.view = view
        self.names = names
        self._columns: dict[tuple[bytes, int], str] = {}
        self._plain = view.extend <= 1 and not view.programs and not view.timers
        self._endpoint_tables: dict[int, _EndpointTable] = {}
        self._hosts_by_family: dict[int, dict[int | bytes, str]] = {}
        self._long_hosts = False  # a host text too long for every "host:port" to fit: pairs are made one by one
        self._port_texts = port_texts(1 << 14)

    def endpoint_table(self, family: int) -> _EndpointTable:
        """The column cache keyed the way InetColumns gives addresses, for one family."""
        table = self._endpoint_tables.get(family)
        if table is None:
            table = self._endpoint_tables[family] = _EndpointTable(self, family)
        return table

    def endpoint_column(self, family: int, addresses: Sequence[int | bytes], ports: list[int]) -> list[str]:
        """The padded "host:port " texts (delimiter included) of an address column of InetColumns.

        With numeric ports and host texts of 16 characters at most (as every numeric IPv4 address is),
        "host:port" fits netstat's 22 characters: each text is made in C, host (cached by address) and
        port (a TextList) joined and padded, with no table of (address, port) pairs.
        """
        hosts = self._host_texts(family, addresses)
        if hosts is None:
            ends = self.endpoint_table(family)
            return [text + " " for text in map(ends.__getitem__, zip(addresses, ports, strict=True))]
        port_texts = self._port_texts
        port_texts.complete((ports,))
        return list(map(str.ljust, map(add, map(hosts.__getitem__, addresses), map(port_texts.__getitem__, ports)),
                        repeat(ADDRESS_WIDTH + 2)))

    def _host_texts(self, family: int, addresses: Sequence[int | bytes]) -> dict[int | bytes, str] | None:
        """address key -> "host:", when ports are numeric and every host text is short enough (else None)."""
        if not getattr(self.names, "numeric_ports", False):
            return None
        hosts = self._hosts_by_family.setdefault(family, {})
        missing = set(addresses).difference(hosts)
        for address in missing:
            hosts[address] = self.names.host(family, packed_address(address)) + ":"
        if missing and max(map(len, hosts.values())) > ADDRESS_WIDTH - 5:
            self._long_hosts = True
        return None if self._long_hosts else hosts

    def column(self, family: int, packed: bytes, port: int) -> str:
        key = (packed, port)
        text = self._columns.get(key)
        if text is None:
            host = self.names.host(family, packed)
            text = endpoint(host, self.names.service(port, self.proto), self.view.wide)
            text = f"{text:<23}"
            self._columns[key] = text
        return text

    def tcp(self, record: InetSocket, retransmits: int = 0, probes: int = 0) -> str:
        family = record.family
        # netstat's Send-Q of a listener is write_seq - snd_una (0); sock_diag puts the backlog limit there.
        state = record.state
        send_q = 0 if state == TCP_LISTEN else record.wqueue
        columns = self._columns
        local = columns.get((record.src, record.sport)) or self.column(family, record.src, record.sport)
        remote = columns.get((record.dst, record.dport)) or self.column(family, record.dst, record.dport)
        line = _TCP_LINE % (_TCP_PROTOS[family], record.rqueue, send_q, local, remote, _TCP_STATE_TEXTS[state])
        if self._plain:
            return line + "\n"
        timer = tcp_timer(record, retransmits, probes) if self.view.timers else ""
        return _finish(line, record.uid, record.inode, self.view, self.names, timer)

    def udp(self, record: InetSocket) -> str:
        family = record.family
        state = _UDP_STATES.get(record.state, "UNKNOWN")
        line = (f"{_proto('udp', record):<5} {record.rqueue:6} {record.wqueue:6} "
                f"{self.column(family, record.src, record.sport)} {self.column(family, record.dst, record.dport)} "
                f"{state:<11}")
        return _finish(line, record.uid, record.inode, self.view, self.names, "off (0.00/0/0)")

    def raw(self, record: InetSocket) -> str:
        family = record.family
        line = (f"{_proto('raw', record):<4}  {record.rqueue:6} {record.wqueue:6} "
                f"{self.column(family, record.src, record.sport)} {self.column(family, record.dst, record.dport)} "
                f"{record.state:<11}")
        return _finish(line, record.uid, record.inode, self.view, self.names, "off (0.00/0/0)")


def plain_tcp_rows(records: Iterable[InetSocket], formatter: RowFormatter, keep: Callable[[InetSocket], bool] | None
                   ) -> str:
    """The rows of a whole TCP dump without -e/-p/-o (the caller checks): the hot path of ``netstat -tan``.

    Same text as RowFormatter.tcp, with the record unpacked as a tuple and
    the column cache consulted inline: per-socket attribute and method
    lookups are most of the cost at 100k sockets.
    """
    columns = formatter._columns
    get = columns.get
    column = formatter.column
    states = _TCP_STATE_TEXTS
    protos = _TCP_PROTOS
    row = _TCP_ROW
    out: list[str] = []
    append = out.append
    for record in records:
        if keep is not None and not keep(record):
            continue
        family, state, _timer, _retrans, sport, dport, src, dst, _ifindex, _cookie, _expires, rqueue, wqueue = \
            record[:13]
        local = get((src, sport)) or column(family, src, sport)
        remote = get((dst, dport)) or column(family, dst, dport)
        append(row % (protos[family], rqueue, 0 if state == TCP_LISTEN else wqueue, local, remote, states[state]))
    return "".join(out)


def tcp_column_rows(batch: InetColumns, formatter: RowFormatter) -> str:
    """The rows of a buffer of TCP sockets given as columns, for ``netstat -tn``-like listings without
    -e/-p/-o (the caller checks): the same text as :func:`plain_tcp_rows`, one C-level pass per column.

    Each row is joined from pieces, each a text per row put into one list by a stepped slice: the
    queues (cached by value, one fixed text when they are all zero), each address column and the
    state; the list is joined once.
    """
    states, rqueues, wqueues = batch.states, batch.rqueues, batch.wqueues
    srcs, sports, dsts, dports = batch.srcs, batch.sports, batch.dsts, batch.dports
    view = formatter.view
    if not view.all:  # servers (no remote port) with -l, the others without
        wanted = list(map(not_ if view.listening else truth, dports))
        states, rqueues, wqueues, sports, dports = (
            list(compress(column, wanted)) for column in (states, rqueues, wqueues, sports, dports))
        srcs, dsts = list(compress(srcs, wanted)), list(compress(dsts, wanted))
    rows = len(states)
    if not rows:
        return ""
    # netstat's Send-Q of a listener is 0 (sock_diag puts the backlog limit there)
    send_q = list(map(mul, wqueues, map(_NOT_LISTENING.__getitem__, states))) if any(wqueues) else wqueues
    proto = _TCP_PROTOS[batch.family]
    pieces: list[Iterable[str]] = [
        [f"{proto}  {rqueues[0]:6d} {send_q[0]:6d} "] * rows if not any(rqueues) and not any(send_q) else
        map(add, map(_queue_texts(proto + "  ").__getitem__, rqueues), map(_queue_texts("").__getitem__, send_q)),
        formatter.endpoint_column(batch.family, srcs, sports),
        formatter.endpoint_column(batch.family, dsts, dports),
        map(_TCP_STATE_ROW_ENDS.__getitem__, states),
    ]
    count = len(pieces)
    texts: list[str] = [""] * (count * rows)
    for index, piece in enumerate(pieces):
        texts[index::count] = piece
    return "".join(texts)


class _QueueTexts(dict[int, str]):
    """A queue's "%6d " text, after a fixed prefix (the Proto column): a cache that fills itself."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def __missing__(self, value: int) -> str:
        text = self[value] = f"{self.prefix}{value:6d} "
        return text


_QUEUE_TEXTS: dict[str, _QueueTexts] = {}


def _queue_texts(prefix: str) -> _QueueTexts:
    texts = _QUEUE_TEXTS.get(prefix)
    if texts is None:
        texts = _QUEUE_TEXTS[prefix] = _QueueTexts(prefix)
    return texts


class TcpListing:
    """netstat's TCP rows from a listing's batches (a :class:`pyss.columnar.BatchSink`), for listings
    without -e/-p/-o: columns through :func:`tcp_column_rows`, records through :func:`plain_tcp_rows`."""

    __slots__ = ("_formatter", "_keep", "_write")

    def __init__(self, formatter: RowFormatter, write: Callable[[str], None]) -> None:
        view = formatter.view
        self._formatter = formatter
        self._write = write
        self._keep: Callable[[InetSocket], bool] | None = None if view.all else lambda r: shows_tcp(r, view)

    def add_records(self, kind: type[SocketRecord], records: Iterable[SocketRecord]) -> None:
        if kind is not InetSocket:
            raise TypeError(f"netstat's TCP rows are made of InetSocket records, not {kind.__name__}")
        self._write(plain_tcp_rows(records, self._formatter, self._keep))  # type: ignore[arg-type]  # a TCP table

    def add_columns(self, columns: InetColumns) -> None:
        self._write(tcp_column_rows(columns, self._formatter))


class _EndpointTable(dict[tuple[int | bytes, int], str]):
    """(address key, port) -> the padded "host:port" column, made on a miss as RowFormatter.column makes it.

    A miss is made here, host and service each cached on their own: a large
    dump meets tens of thousands of (address, ephemeral port) pairs once each.
    """

    def __init__(self, formatter: RowFormatter, family: int) -> None:
        super().__init__()
        self.formatter = formatter
        self.family = family
        self._hosts: dict[int | bytes, str] = {}
        self._services: dict[int, str] = {}

    def __missing__(self, key: tuple[int | bytes, int]) -> str:
        address, port = key
        host = self._hosts.get(address)
        if host is None:
            host = self._hosts[address] = self.formatter.names.host(self.family, packed_address(address))
        service = self._services.get(port)
        if service is None:
            service = self._services[port] = self.formatter.names.service(port, self.formatter.proto)
        wide = self.formatter.view.wide
        joined = f"{host}:{service}" if len(host) + len(service) <= ADDRESS_WIDTH else endpoint(host, service, wide)
        text = self[key] = f"{joined:<23}"
        return text


_TCP_STATE_COLUMNS = tuple(f"{name:<11}" for name in TCP_STATE_NAMES)
_TCP_STATE_TEXTS = _TCP_STATE_COLUMNS + (" " * 11,) * (256 - len(_TCP_STATE_COLUMNS))
_TCP_STATE_ROW_ENDS = [text + "\n" for text in _TCP_STATE_TEXTS]  # the State column ends a row
_NOT_LISTENING = bytes(state != TCP_LISTEN for state in range(256))
# Proto, Recv-Q, Send-Q, Local Address, Foreign Address, State: the start of every TCP row.
_TCP_LINE = "%s  %6d %6d %s %s %s"
_TCP_ROW = _TCP_LINE + "\n"
_TCP_PROTOS = {AF_INET: "tcp ", AF_INET6: "tcp6"}
_UDP_STATES = {TCP_ESTABLISHED: "ESTABLISHED", TCP_CLOSE: ""}


def _finish(line: str, uid: int, inode: int, view: SocketView, names: Names, timer: str) -> str:
    if view.extend > 1:
        user = names.user(uid)
        line += f" {user:<10} {inode:<10}"
    if view.programs:
        line += f" {names.program(inode):<{PROGRAM_WIDTH}}"
    if view.timers:
        line += f" {timer}"
    return line + "\n"


def tcp_row(record: InetSocket, view: SocketView, names: Names, retransmits: int = 0, probes: int = 0) -> str:
    return RowFormatter("tcp", view, names).tcp(record, retransmits, probes)


def udp_row(record: InetSocket, view: SocketView, names: Names) -> str:
    return RowFormatter("udp", view, names).udp(record)


def raw_row(record: InetSocket, view: SocketView, names: Names) -> str:
    return RowFormatter("raw", view, names).raw(record)


# struct socket states, which /proc/net/unix reports instead of the sock's TCP-style state
SS_UNCONNECTED, SS_CONNECTING, SS_CONNECTED, SS_DISCONNECTING = 1, 2, 3, 4
_SS_NAMES = {SS_CONNECTING: "CONNECTING", SS_CONNECTED: "CONNECTED", SS_DISCONNECTING: "DISCONNECTING"}


def unix_socket_state(record: UnixSocket) -> int:
    """/proc's view: a sock with no struct socket (inode 0, not yet accepted) is connecting or closing."""
    established = record.state == TCP_ESTABLISHED
    if record.inode:
        return SS_CONNECTED if established else SS_UNCONNECTED
    return SS_CONNECTING if established else SS_DISCONNECTING


def unix_is_listening(record: UnixSocket) -> bool:
    return record.state == TCP_LISTEN


def shows_unix(record: UnixSocket, view: SocketView) -> bool:
    return view.all or unix_is_listening(record) == view.listening


def unix_path(name: str | None) -> str:
    """/proc drops the terminating NUL of a path; netstat then reads the path up to its first blank."""
    if not name:
        return ""
    if name.endswith("\0"):
        name = name[:-1]
    name = name.replace("\0", "@")
    words = name.split(None, 1)
    return words[0] if words else ""


def unix_row(record: UnixSocket, refcnt: int, view: SocketView, names: Names) -> str:
    listening = unix_is_listening(record)
    flags = "[ ACC ]" if listening else "[ ]"
    kind = UNIX_TYPE_NAMES.get(record.type, "UNKNOWN")
    state = "LISTENING" if listening else _SS_NAMES.get(unix_socket_state(record), "")
    line = f"unix  {refcnt:<6} {flags:<11} {kind:<10} {state:<13} {record.inode:<8}"
    if view.programs:
        line += f" {names.program(record.inode):<{PROGRAM_WIDTH}}"
    return f"{line} {unix_path(record.name)}\n"


def unix_refcounts(records: list[UnixSocket], pending_peers: dict[int, int]) -> dict[int, int]:
    """Each sock's reference count as /proc shows it: 2, plus one per sock whose peer it is.

    sock_diag has no reference count; the peer links it reports account for
    what /proc's count adds to the base of two (a connected pair holds each
    other, every datagram client holds its server). ``pending_peers`` counts,
    per client inode, the not-yet-accepted socks that hold it (the listener's
    UNIX_DIAG_ICONS), which sock_diag never lists.
    """
    counts = dict.fromkeys((r.inode for r in records), 2)
    for record in records:
        if record.peer in counts:
            counts[record.peer] += 1
    for inode, extra in pending_peers.items():
        if inode in counts:
            counts[inode] += extra
    return counts
