"""psutil's sconn tuples, made from a dump's records and columns and the /proc scan's holders.

The entry points (:mod:`pyss.api.psutil_compat`) start the scan before this
module and the dump's are imported; what psutil shows is described there.
"""

from __future__ import annotations

import gc
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain, compress, repeat
from operator import attrgetter, is_, itemgetter
from typing import TYPE_CHECKING, Any, NamedTuple

from pyss.api.psutil_compat import check_kind, sconn
from pyss.api.record import PSUTIL_STATUS, Addr, state_of
from pyss.netlink.constants import IPPROTO_TCP, TCP_LISTEN, UDIAG_SHOW_ICONS, UNIX_DIAG_ICONS
from pyss.records import InetSocket, UnixSocket

if TYPE_CHECKING:
    from pyss.api.listing import Plan
    from pyss.columnar import InetColumns, RecordBatch
    from pyss.system.processes import SocketHolders, UserScan


_NO_HOLDER = (-1, None)
_STATUSES: tuple[str, ...] = tuple(PSUTIL_STATUS[state_of(number)] for number in range(13)) + ("NONE",) * 243


def connections(records: Iterable[object], holders: SocketHolders, embryos: bool = False) -> Iterator[sconn]:
    """psutil's sconn for each record (``embryos``: and for each listener's connections not yet accepted,
    which the records must carry as UNIX_DIAG_ICONS).

    The holder is the last process (in /proc order) holding the socket: its
    first fd for an inet socket, each of its fds for a UNIX one; -1 and None
    when no visible process holds it. One pass builds each tuple once: this
    runs for every socket.
    """
    ntop = socket.inet_ntop
    texts: dict[bytes, str] = {}
    families = {socket.AF_INET.value: socket.AF_INET, socket.AF_INET6.value: socket.AF_INET6}
    statuses = _STATUSES
    stream, dgram = socket.SOCK_STREAM, socket.SOCK_DGRAM
    new, addr = tuple.__new__, Addr
    first, more = holders
    holder_of = first.get
    for record in records:
        if type(record) is not InetSocket:
            if type(record) is UnixSocket:
                inode = record.inode
                held = more.get(inode) or ([first[inode]] if inode in first else None)
                yield from _unix_connections(record, held, embryos)
            continue
        (family, state, _timer, _retrans, sport, dport, src, dst, _ifindex, _cookie, _expires, _rq, _wq, _uid,
         inode, protocol, _attrs) = record
        local: Addr | tuple[()] = ()
        peer: Addr | tuple[()] = ()
        if sport:
            text = texts.get(src)
            if text is None:
                text = texts[src] = ntop(family, src)
            local = new(addr, (text, sport))
        if dport:
            text = texts.get(dst)
            if text is None:
                text = texts[dst] = ntop(family, dst)
            peer = new(addr, (text, dport))
        if protocol == IPPROTO_TCP:
            kind, status = stream, statuses[state]
        else:
            kind, status = dgram, "NONE"
        fd, pid = holder_of(inode, _NO_HOLDER)
        yield new(sconn, (fd, families[family], kind, local, peer, status, pid))


class ColumnConnections:
    """psutil's sconn for each inet socket of a buffer read as columns (:mod:`pyss.columnar`), built in bulk:
    C-level maps over the columns, Python only for an address whose port is 0 (psutil's ``()``)."""

    def __init__(self) -> None:
        from pyss.api.record import address_texts

        self._texts: dict[int, dict[int | bytes, str]] = {
            family: address_texts(family) for family in (socket.AF_INET.value, socket.AF_INET6.value)}

    def __call__(self, columns: InetColumns, holders: SocketHolders) -> Iterator[sconn]:
        return self.finish(self.start(columns), holders)

    def start(self, columns: InetColumns) -> Unheld:
        """Everything but the holders (made while the /proc scan still runs): family, type,
        addresses, statuses and the inodes to look the holders up by."""
        new = tuple.__new__
        text = self._texts[columns.family].__getitem__
        local: list[Addr | tuple[()]] = list(map(new, repeat(Addr), zip(map(text, columns.srcs), columns.sports,
                                                                              strict=True)))
        peer: list[Addr | tuple[()]] = list(map(new, repeat(Addr), zip(map(text, columns.dsts), columns.dports,
                                                                             strict=True)))
        for ports, addresses in ((columns.sports, local), (columns.dports, peer)):
            if 0 in ports:
                for index in [index for index, port in enumerate(ports) if not port]:
                    addresses[index] = ()
        statuses = ["NONE"] * len(local)
        kind = socket.SOCK_DGRAM
        if columns.protocol == IPPROTO_TCP:
            kind, statuses = socket.SOCK_STREAM, list(map(_STATUSES.__getitem__, columns.states))
        return Unheld(socket.AddressFamily(columns.family), kind, local, peer, statuses, columns.inodes)

    @staticmethod
    def finish(unheld: Unheld, holders: SocketHolders) -> Iterator[sconn]:
        """The sconns of :meth:`start`'s sockets, their holders known."""
        held = list(map(holders[0].get, unheld.inodes, repeat(_NO_HOLDER)))
        entries: Iterator[sconn] = map(tuple.__new__, repeat(sconn), zip(
            map(itemgetter(0), held), repeat(unheld.family), repeat(unheld.type), unheld.laddrs, unheld.raddrs,
            unheld.statuses, map(itemgetter(1), held)))
        return entries


class Unheld(NamedTuple):
    """A buffer's sockets as psutil shows them, but for their fds and pids (see ColumnConnections.start)."""

    family: socket.AddressFamily
    type: socket.SocketKind
    laddrs: list[Addr | tuple[()]]
    raddrs: list[Addr | tuple[()]]
    statuses: list[str]
    inodes: Sequence[int]


def _unix_connections(record: UnixSocket, holders: list[tuple[int, int]] | None, embryos: bool) -> Iterator[sconn]:
    path = psutil_unix_path(record.name or "")
    kind = socket.SocketKind(record.type)
    if not holders:
        yield sconn(-1, socket.AF_UNIX, kind, path, "", "NONE", None)
    else:
        for fd, pid in holders:
            yield sconn(fd, socket.AF_UNIX, kind, path, "", "NONE", pid)
    if embryos and record.state == TCP_LISTEN and _has_pending(record):
        # A connection not yet accepted: /proc/net/unix lists it (under the listener's path,
        # inode 0, so no holder); sock_diag only counts it among the listener's UNIX_DIAG_ICONS.
        yield sconn(-1, socket.AF_UNIX, kind, path, "", "NONE", None)


def psutil_unix_path(name: str) -> str:
    """The path psutil shows for a UNIX socket's name: /proc/net/unix prints the name as it is, and psutil
    reads the line (cut at the first line break, "\\r" too: text mode) split at white space, taking the
    token after the inode when it is the only one and "" otherwise."""
    tokens = name.replace("\r", "\n").split("\n", 1)[0].split()
    return tokens[0] if len(tokens) == 1 else ""


def _has_pending(record: UnixSocket) -> bool:
    from pyss.netlink.decode import attributes

    return bool(attributes(record.attrs, 0, len(record.attrs)).get(UNIX_DIAG_ICONS))


def dump_plan(kind: str) -> Plan:
    from pyss.api.listing import plan

    checked = plan(check_kind(kind), None, False, (), None)
    # Listeners' pending connections (see connections) come with UNIX_DIAG_ICONS.
    return checked._replace(extensions=checked.extensions._replace(unix=UDIAG_SHOW_ICONS))


def system_connections(kind: str, scan: UserScan | None) -> list[sconn]:
    """psutil's sconns of every socket of the kind, their holders from ``scan`` (started by the caller
    before this module was imported) or, where it is None, from a scan made here after the dump.
    TCP and UDP buffers are kept as columns and made into sconns in bulk once the holders are known;
    other tables as records."""
    try:
        checked = dump_plan(kind)
        with _collector_paused():
            return _joined(checked, scan)
    finally:
        if scan is not None:
            scan._abandon()  # (nothing left to stop once the holders were gathered)


def _joined(checked: Plan, scan: UserScan | None) -> list[sconn]:
    """The body of :func:`system_connections`, in a frame of its own: what it makes on the way (the
    batches' columns, the holders) is freed when it returns, while the collector is still paused, so
    the collector's first pass after the call walks only the answer (at 50k sockets ~15 ms of the call
    went to that pass, part of it over those)."""
    from pyss.api.listing import table_streams
    from pyss.columnar import RecordBatch

    build = ColumnConnections()
    batches: list[Unheld | RecordBatch] = []
    for _kind, items in table_streams(checked, columns=True, read_ahead=scan is None):
        _read_batches(items, batches, build, scan.drain if scan is not None else None)
    once = _listed_once(batches)
    holders = scan.holders() if scan is not None else socket_holders_here()
    entries = list(chain.from_iterable(
        connections(batch.records, holders, embryos=True) if isinstance(batch, RecordBatch)
        else build.finish(batch, holders) for batch in batches))
    return _distinct(entries, once)


def _listed_once(batches: list[Unheld | RecordBatch]) -> bool:
    """Whether the dump listed each socket once (sockets without an inode, such as TIME-WAIT ones, aside)."""
    from pyss.columnar import RecordBatch

    inodes: list[int] = []
    for batch in batches:
        inodes.extend(map(_INODE, batch.records) if isinstance(batch, RecordBatch) else batch.inodes)
    distinct = set(inodes)
    distinct.discard(0)
    return len(distinct) + inodes.count(0) == len(inodes)


def _distinct(entries: list[sconn], listed_once: bool) -> list[sconn]:
    """psutil's set of the entries, in the dump's order.

    Hashing every sconn (its addresses, enums and strings) cost more than
    building it. An entry with a holder names its fd and pid, and one fd
    refers to one socket: so when the dump listed each socket once, only the
    entries no process holds can repeat (unbound sockets of processes this
    user may not see, for one), and only they are compared.
    """
    if listed_once:
        unheld = list(compress(entries, map(is_, map(_PID, entries), repeat(None))))
        if len(dict.fromkeys(unheld)) == len(unheld):
            return entries
    return list(dict.fromkeys(entries))


_INODE = attrgetter("inode")
_PID = itemgetter(6)


def _read_batches(items: Iterator[Any], batches: list[Any], build: ColumnConnections,
                  between: Callable[[], None] | None = None) -> None:
    """Keep each batch of one table's stream (records listed, columns made into all of their sconns
    but the holders), calling ``between`` after each (the scan's drain); an interrupted dump warns
    after them."""
    from pyss.api.listing import warn_interrupted
    from pyss.columnar import RecordBatch
    from pyss.netlink.decode import DumpInterrupted

    try:
        for batch in items:
            batches.append(RecordBatch(batch.kind, list(batch.records)) if isinstance(batch, RecordBatch)
                           else build.start(batch))
            if between is not None:
                between()
    except DumpInterrupted:
        warn_interrupted()


def socket_holders_here() -> SocketHolders:
    from pyss.system.processes import socket_holders

    return socket_holders()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector while a call builds its list.

    The records, the scan's map and the answer are ~150k tuples alive at once
    and none can form a cycle, yet each few hundred allocations make the
    collector walk them: at 50k sockets it more than doubled the time spent
    building the list. The caller's setting is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
