"""/proc/net/{tcp,udp,raw}{,6}: the fallback when the kernel has no *_diag module for a table.

ss falls back to these files too (raw_diag, for one, is often not built), so
pyss does the same rather than show nothing. ss also reads them instead of the
kernel when its environment names such files (PROC_ROOT, PROC_NET_TCP, ...):
:func:`proc_tables` says which, :func:`read_proc_file` reads one. The same
environment sends the UNIX, PACKET and NETLINK tables to /proc/net/{unix,packet,
netlink}-format files (:func:`proc_table_file`), and leaves the tables /proc has
no file for (MPTCP, SCTP, DCCP) unlisted (:func:`unlisted_tables`).
"""

from __future__ import annotations

import errno
import os
import struct

from pyss.lite_typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
from pyss.netlink.constants import (
    AF_INET,
    AF_INET6,
    IPPROTO_RAW,
    IPPROTO_TCP,
    IPPROTO_UDP,
    SOCK_DGRAM,
    TCP_CLOSE,
    TCP_CLOSING,
    TCP_ESTABLISHED,
    TCP_LISTEN,
    TCP_SYN_SENT,
    USER_HZ,
)
from pyss.records import PROC_TCP_COLUMNS, InetSocket, NetlinkSocket, PacketSocket, UnixSocket
from pyss.system.procfs import read_text

_new = tuple.__new__
_FILES = {IPPROTO_TCP: "tcp", IPPROTO_UDP: "udp", IPPROTO_RAW: "raw"}
PROC_PROTOCOLS = tuple(_FILES)  # the inet tables /proc/net has a file for


def proc_path(family: int, protocol: int) -> str:
    # thread-self, not /proc/net (= /proc/self/net, the main thread's namespace): a thread that entered
    # another namespace (pyss-exporter, --all-netns) must read that namespace's table.
    return f"/proc/thread-self/net/{_FILES[protocol]}{'6' if family == AF_INET6 else ''}"


def read_proc_inet(family: int, protocol: int, states: int) -> Iterator[InetSocket]:
    """The kernel's own /proc table, read when it has no *_diag module for the protocol."""
    path = proc_path(family, protocol)
    records = read_proc_file(path, family, protocol, states)
    if records is not None:
        yield from records
    elif os.path.lexists(path):  # there but unreadable (or beyond any real table's size): say so
        raise OSError(errno.EIO, f"cannot read {path}")
    # else the protocol or IPv6 is not built into this kernel: nothing to list


_ENV_NAMES = {IPPROTO_TCP: "TCP", IPPROTO_UDP: "UDP", IPPROTO_RAW: "RAW"}


class ProcTable(NamedTuple):
    """One inet table ss reads from /proc-format files instead of the kernel (PROC_ROOT, PROC_NET_*)."""

    protocol: int
    ipv4_path: str
    ipv6_path: str


def proc_tables(environ: Mapping[str, str]) -> tuple[ProcTable, ...]:
    """The inet tables the environment sends to /proc-format files, as ss decides: a table whose
    PROC_NET_<TABLE> is set, or every table when PROC_ROOT is; each family's file is its
    PROC_NET_<TABLE>[6] or else $PROC_ROOT/net/<table>[6] (PROC_ROOT defaulting to /proc)."""
    root = environ.get("PROC_ROOT")
    tables = []
    for protocol, name in _ENV_NAMES.items():
        ipv4, ipv6 = environ.get(f"PROC_NET_{name}"), environ.get(f"PROC_NET_{name}6")
        if ipv4 is None and root is None:
            continue
        base = root if root is not None else "/proc"
        file = _FILES[protocol]
        tables.append(ProcTable(protocol, ipv4 if ipv4 is not None else f"{base}/net/{file}",
                                ipv6 if ipv6 is not None else f"{base}/net/{file}6"))
    return tuple(tables)


def read_proc_file(path: str, family: int, protocol: int, states: int) -> Iterator[InetSocket] | None:
    """The sockets of a /proc-format table file, or None when it cannot be read (missing, not a
    regular file, larger than any real table)."""
    text = read_text(path)
    if text is None:
        return None
    return parse_proc_inet(text, family, protocol, states, path)


class ProcFormatError(OSError):
    """A /proc-format table file with a line the kernel would not write (garbage, cut short).

    An OSError, so the CLIs report it in one line as any other read fault and exit non-zero;
    ss itself silently stops listing at such a line, which would be a partial answer."""

    def __init__(self, source: str, line_number: int, why: str) -> None:
        super().__init__(errno.EINVAL, f"{source} line {line_number}: {why} (not in /proc/net's format)")


_ADDRESS_DIGITS = {AF_INET: 8, AF_INET6: 32}


def _address(hex_text: str, family: int) -> bytes:
    """The kernel prints each 32-bit word of the address in host order; undo that per word."""
    if len(hex_text) != _ADDRESS_DIGITS.get(family, len(hex_text)):
        raise ValueError(f"address {hex_text!r} has the wrong length")
    raw = _hex(hex_text).to_bytes(len(hex_text) // 2)
    return b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))


def _hex(text: str) -> int:
    if not text or not all(digit in _HEX_DIGITS for digit in text):
        raise ValueError(f"{text!r} is not hexadecimal")
    return int(text, 16)


def _decimal(text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"{text!r} is not a number")
    return int(text)


def _port(text: str) -> int:
    port = _hex(text)
    if port > 0xFFFF:
        raise ValueError(f"port {text!r} is beyond 16 bits")
    return port


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def parse_proc_inet(text: str, family: int, protocol: int, states: int, source: str = "/proc/net table") \
        -> Iterator[InetSocket]:
    """Records from a /proc/net/{tcp,udp,raw}[6] table, keeping those whose state is in ``states``.

    Raises :class:`ProcFormatError` at the first line the kernel would not have written, after the
    records before it: the kernel ends every line, so a last line without its end was cut short."""
    lines = text.split("\n")
    if lines[-1]:
        raise ProcFormatError(source, len(lines), "truncated: the last line has no end")
    for number, line in enumerate(lines[1:-1], 2):
        if not line.strip():
            continue
        try:
            record = _inet_record(line.split(), family, protocol)
        except (ValueError, IndexError) as error:
            raise ProcFormatError(source, number, str(error)) from None
        if states >> record.state & 1:
            yield record


def _inet_record(fields: list[str], family: int, protocol: int) -> InetSocket:
    if len(fields) < 10:
        raise ValueError(f"{len(fields)} fields, not at least 10")
    local, _, local_port = fields[1].partition(":")
    remote, _, remote_port = fields[2].partition(":")
    wqueue, _, rqueue = fields[4].partition(":")
    timer_text, _, when = fields[5].partition(":")
    timer = _hex(timer_text)
    # ss shows the retransmissions while the retransmit timer runs, else the unanswered probes
    retrans = _int32(_hex(fields[6]) if timer == 1 else _signed(fields[8]))
    cookie, attrs = (_hex(fields[11]) if len(fields) > 11 else 0, _tcp_columns(fields[12:17])) \
        if protocol == IPPROTO_TCP else (0, b"")
    return _new(InetSocket, (
        family, _hex(fields[3]), timer, retrans, _port(local_port), _port(remote_port),
        _address(local, family), _address(remote, family), 0, cookie, _milliseconds(_hex(when)), _hex(rqueue),
        _hex(wqueue), _decimal(fields[7]), _decimal(fields[9]), protocol, attrs,
    ))


def _milliseconds(ticks: int) -> int:
    """A timer column's clock ticks as ss turns them into milliseconds: rounded up, in unsigned
    32-bit arithmetic (a value beyond 4294967 ticks wraps as in ss)."""
    return ((ticks & _U32_MAX) * 1000 + USER_HZ - 1 & _U32_MAX) // USER_HZ


_PROC_TCP_ATTR = struct.Struct("=HH5i")
# ss's values when a line ends before its rto column (a TIME-WAIT socket's line): rto, ato and
# quick-ack 0, cwnd 2, ssthresh unset
_NO_TCP_COLUMNS = (0, 0, 0, 2, -1)


def _tcp_columns(columns: list[str]) -> bytes:
    """The PROC_TCP_COLUMNS attribute of a /proc/net/tcp line's rto, ato, quick-ack, cwnd and
    ssthresh columns; a column the line lacks reads 0 (all of them absent: ss's defaults)."""
    if not columns:
        return _PROC_TCP_ATTR.pack(_PROC_TCP_ATTR.size, PROC_TCP_COLUMNS, *_NO_TCP_COLUMNS)
    values = [_int32(-_decimal(column[1:]) if column.startswith("-") else _decimal(column)) for column in columns]
    return _PROC_TCP_ATTR.pack(_PROC_TCP_ATTR.size, PROC_TCP_COLUMNS, *values, *(0,) * (5 - len(values)))


# /proc/net/unix's St column (socket_state: unconnected, connecting, connected, disconnecting) as ss
# maps it to the TCP state numbers it prints; __SO_ACCEPTCON in Flags marks a listener.
_UNIX_STATES = (TCP_CLOSE, TCP_SYN_SENT, TCP_ESTABLISHED, TCP_CLOSING)
_ACCEPTCON = 1 << 16


def proc_table_file(environ: Mapping[str, str], table: str) -> str | None:
    """The /proc-format file ss lists ``table`` ("unix", "packet", "netlink") from instead of the
    kernel: PROC_NET_<TABLE>, or $PROC_ROOT/net/<table> when only PROC_ROOT is set; else None."""
    path = environ.get(f"PROC_NET_{table.upper()}")
    if path is None and "PROC_ROOT" in environ:
        path = f"{environ['PROC_ROOT']}/net/{table}"
    return path


def proc_unix_file(environ: Mapping[str, str]) -> str | None:
    """The /proc-format file ss lists UNIX sockets from instead of the kernel, or None."""
    return proc_table_file(environ, "unix")


# The tables ss reads only from the kernel and skips when its environment points at /proc files
# (PROC_ROOT or PROC_NET_<TABLE>): /proc has no file of MPTCP, SCTP or DCCP sockets to read instead.
_PROC_LESS_TABLES = ("mptcp", "sctp", "dccp")


def unlisted_tables(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The tables ss lists nothing of under this environment, as it has no /proc source for them."""
    root = "PROC_ROOT" in environ
    return tuple(table for table in _PROC_LESS_TABLES if root or f"PROC_NET_{table.upper()}" in environ)


def read_proc_unix(path: str, states: int, types: frozenset[int]) -> list[UnixSocket] | None:
    """The UNIX sockets of a /proc/net/unix-format file, or None when it cannot be read."""
    text = read_text(path)
    return None if text is None else parse_proc_unix(text, states, types, path)


def parse_proc_unix(text: str, states: int, types: frozenset[int], source: str = "/proc/net/unix") \
        -> list[UnixSocket]:
    """ss's reading of /proc/net/unix: sockets of ``types`` whose state is in ``states``, in order of
    type, then inode (ss sorts them so). Today's file has no queues and no peers (its header starts
    "Num", not the old "Peer"), so they read 0; an unconnected datagram socket reads ESTAB (ss tests
    the line's first field, a socket address there, where the old format had the peer), and a name
    stops at its first blank, as ss's scanf reads it. A line the kernel would not write is a
    :class:`ProcFormatError` (ss lists what its scanf made of it, flags left unset)."""
    old_format = text.startswith("Peer")
    found: list[UnixSocket] = []
    for number, fields in _table_lines(text, source, 7):
        try:
            first, rqueue, wqueue, flags, kind, st = (_hex(field.removesuffix(":")) & 0xFFFFFFFF
                                                     for field in fields[:6])
            inode = _decimal(fields[6]) & 0xFFFFFFFF
        except ValueError as error:
            raise ProcFormatError(source, number, str(error)) from None
        if flags & _ACCEPTCON:
            state = TCP_LISTEN
        elif 0 < st <= len(_UNIX_STATES):
            state = _UNIX_STATES[st - 1]
            if kind == SOCK_DGRAM and state == TCP_CLOSE and first:
                state = TCP_ESTABLISHED
        else:
            state = st
        if kind not in types or not (0 <= state < 32 and states >> state & 1):
            continue
        if not old_format:
            rqueue = wqueue = 0
        name = fields[7] if len(fields) > 7 else None
        found.append(_new(UnixSocket, (kind, state, inode, 0, name, 0, rqueue, wqueue, b"")))
    found.sort(key=lambda record: (record.type, record.inode))
    return found


def read_proc_packet(path: str) -> Iterator[PacketSocket] | None:
    """The PACKET sockets of a /proc/net/packet-format file, or None when it cannot be read."""
    text = read_text(path)
    return None if text is None else parse_proc_packet(text, path)


def read_proc_netlink(path: str) -> Iterator[NetlinkSocket] | None:
    """The NETLINK sockets of a /proc/net/netlink-format file, or None when it cannot be read."""
    text = read_text(path)
    return None if text is None else parse_proc_netlink(text, path)


def parse_proc_packet(text: str, source: str = "/proc/net/packet") -> Iterator[PacketSocket]:
    """Records from /proc/net/packet's lines ("sk RefCnt Type Proto Iface R Rmem User Inode"), in the
    file's order and of every type, as ss lists them (its type test there never holds). What the
    file lacks reads 0 (ss prints sk:0 under -e) and no diag attributes come with them."""
    for number, fields in _table_lines(text, source, 9):
        try:
            kind, protocol, ifindex = _decimal(fields[2]), _hex(fields[3]), _decimal(fields[4])
            rqueue, uid, inode = _decimal(fields[6]), _decimal(fields[7]), _decimal(fields[8])
            _hex(fields[0])
            if protocol > 0xFFFF or max(kind, ifindex, rqueue, uid, inode) > _INT_MAX:
                raise ValueError("a value beyond what the kernel writes")
        except ValueError as error:
            raise ProcFormatError(source, number, str(error)) from None
        yield _new(PacketSocket, (kind, protocol, inode, 0, ifindex, rqueue, uid, b""))


def parse_proc_netlink(text: str, source: str = "/proc/net/netlink") -> Iterator[NetlinkSocket]:
    """Records from /proc/net/netlink's lines ("sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode"),
    in the file's order. ss reads the first eight columns: the sock's address and the Dump column
    are what its -e line prints as sk= and cb=, both in hex; the file has no peers (state 0)."""
    for number, fields in _table_lines(text, source, 8):
        try:
            address, protocol, portid, groups = _hex(fields[0]), _decimal(fields[1]), _decimal(fields[2]), \
                _hex(fields[3])
            rqueue, wqueue, dumping = _signed(fields[4]), _signed(fields[5]), _hex(fields[6])
            inode = _decimal(fields[9]) if len(fields) > 9 else 0
            if max(protocol, inode) > _INT_MAX or max(portid, groups) > _U32_MAX or max(address, dumping) > _U64_MAX:
                raise ValueError("a value beyond what the kernel writes")
        except ValueError as error:
            raise ProcFormatError(source, number, str(error)) from None
        yield _new(NetlinkSocket, (protocol, 0, portid, 0, 0, inode, 0, groups, rqueue, wqueue, b"",
                                   address, dumping))


_INT_MAX, _U32_MAX, _U64_MAX = 0x7FFFFFFF, 0xFFFFFFFF, (1 << 64) - 1


def _int32(value: int) -> int:
    """A number as ss's sscanf stores it in a C int: its low 32 bits, signed."""
    value &= _U32_MAX
    return value - (1 << 32) if value >> 31 else value


def _signed(text: str) -> int:
    """A C int column (the kernel prints queue sizes with %d)."""
    value = -_decimal(text[1:]) if text.startswith("-") else _decimal(text)
    if not -_INT_MAX - 1 <= value <= _INT_MAX:
        raise ValueError(f"{text!r} is beyond a C int")
    return value


def _table_lines(text: str, source: str, fields: int) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each socket line after the header; a line of fewer than ``fields``
    columns, or a last line without its end (cut short), is a :class:`ProcFormatError`."""
    lines = text.split("\n")
    if lines[-1]:
        raise ProcFormatError(source, len(lines), "truncated: the last line has no end")
    for number, line in enumerate(lines[1:-1], 2):
        columns = line.split()
        if not columns:
            continue
        if len(columns) < fields:
            raise ProcFormatError(source, number, f"{len(columns)} fields, not at least {fields}")
        yield number, columns
