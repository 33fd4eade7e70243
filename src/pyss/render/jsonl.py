"""JSON Lines: one object per socket, written as the dump streams.

ss's text layout must hold a batch of rows to know its column widths; this
output holds nothing, so its memory stays flat however many sockets there
are. Each object has ``netid``, ``state`` (ss's name), ``recv_q`` and
``send_q``, then the fields of its kind of socket (see docs/usage.md).
Numbers stay numbers (ports are never service names) and addresses are
plain text, without ss's brackets or wildcards.
"""

from __future__ import annotations

from _socket import inet_ntop  # socket's C core: the socket module imports enum, selectors and typing

from pyss.lite_typing import TYPE_CHECKING
from pyss.names.netids import INET_NETIDS, netid
from pyss.names.ss import interface_name
from pyss.netlink.constants import AF_INET, AF_INET6, TCP_CLOSE, VMADDR_CID_ANY, VMADDR_PORT_ANY
from pyss.netlink.decode import signed32
from pyss.records import (
    InetSocket,
    NetlinkSocket,
    PacketSocket,
    SocketRecord,
    TipcSocket,
    UnixSocket,
    VsockSocket,
    XdpSocket,
)
from pyss.render.ss import STATE_NAMES

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import TextIO

    from pyss.columnar import InetColumns

Fields = dict[str, object]


def inet_fields(record: InetSocket) -> Fields:
    return {
        "netid": netid(record), "state": _state(record.state), "recv_q": record.rqueue, "send_q": record.wqueue,
        "family": "inet" if record.family == AF_INET else "inet6",
        "local_address": inet_ntop(record.family, record.src), "local_port": record.sport,
        "peer_address": inet_ntop(record.family, record.dst), "peer_port": record.dport,
        "interface": interface_name(record.ifindex) if record.ifindex else None,
        "uid": record.uid, "inode": record.inode, "cookie": record.cookie,
        "timer": record.timer, "retrans": record.retrans, "expires_ms": record.expires,
    }


def unix_fields(record: UnixSocket) -> Fields:
    return {
        "netid": netid(record), "state": _state(record.state), "recv_q": record.rqueue, "send_q": record.wqueue,
        "family": "unix", "name": record.name, "inode": record.inode, "peer_inode": record.peer,
        "cookie": record.cookie,
    }


def packet_fields(record: PacketSocket) -> Fields:
    return {
        "netid": netid(record), "state": STATE_NAMES[7], "recv_q": record.rqueue, "send_q": 0,
        "family": "link", "protocol": record.protocol,
        "interface": interface_name(record.ifindex) if record.ifindex else None,
        "uid": record.uid, "inode": record.inode, "cookie": record.cookie,
    }


def netlink_fields(record: NetlinkSocket) -> Fields:
    return {
        "netid": netid(record), "state": STATE_NAMES[7], "recv_q": record.rqueue, "send_q": record.wqueue,
        "family": "netlink", "protocol": record.protocol, "portid": signed32(record.portid),
        "dst_portid": signed32(record.dst_portid), "dst_group": record.dst_group, "groups": record.groups,
        "inode": record.inode, "cookie": record.cookie,
    }


def _state(state: int) -> str:
    return STATE_NAMES[state] if state < len(STATE_NAMES) else STATE_NAMES[0]


def _unless(value: int, wildcard: int) -> int | None:
    return None if value == wildcard else value


def vsock_fields(record: VsockSocket) -> Fields:
    return {
        "netid": netid(record), "state": _state(record.state), "recv_q": 0, "send_q": 0, "family": "vsock",
        "local_cid": _unless(record.src_cid, VMADDR_CID_ANY), "local_port": _unless(record.src_port, VMADDR_PORT_ANY),
        "peer_cid": _unless(record.dst_cid, VMADDR_CID_ANY), "peer_port": _unless(record.dst_port, VMADDR_PORT_ANY),
        "inode": record.inode, "cookie": record.cookie,
    }


def tipc_fields(record: TipcSocket) -> Fields:
    return {
        "netid": netid(record), "state": _state(record.state), "recv_q": signed32(record.rqueue),
        "send_q": signed32(record.wqueue), "family": "tipc", "local_node": record.node, "local_port": record.ref,
        "peer_node": record.peer_node, "peer_port": record.peer_ref, "uid": record.uid, "inode": record.inode,
        "cookie": record.cookie,
    }


def xdp_fields(record: XdpSocket) -> Fields:
    return {
        "netid": netid(record), "state": STATE_NAMES[TCP_CLOSE], "recv_q": signed32(record.rqueue), "send_q": 0,
        "family": "xdp", "interface": interface_name(record.ifindex) if record.ifindex else None,
        "queue_id": record.queue_id if record.ifindex else None, "uid": record.uid, "inode": record.inode,
        "cookie": record.cookie,
    }


FIELDS: dict[type, Callable[[SocketRecord], Fields]] = {
    InetSocket: inet_fields,  # type: ignore[dict-item]
    UnixSocket: unix_fields,  # type: ignore[dict-item]
    PacketSocket: packet_fields,  # type: ignore[dict-item]
    NetlinkSocket: netlink_fields,  # type: ignore[dict-item]
    VsockSocket: vsock_fields,  # type: ignore[dict-item]
    TipcSocket: tipc_fields,  # type: ignore[dict-item]
    XdpSocket: xdp_fields,  # type: ignore[dict-item]
}


if TYPE_CHECKING:
    Extra = Callable[[SocketRecord, Fields], None]  # adds the detail flags' keys (render/jsondetails.py)


def json_lines(kind: type[SocketRecord], records: Iterable[SocketRecord], extra: Extra | None = None,
               netns: str | None = None) -> Iterable[str]:
    """One line of JSON per record (non-UTF-8 bytes of a name come out as \\udcXX escapes).

    ``extra`` adds the keys of the detail flags; ``netns`` puts a leading "netns" key (--all-netns).
    """
    return map(line_function(kind, extra, netns), records)


def line_function(kind: type[SocketRecord], extra: Extra | None = None,
                  netns: str | None = None) -> Callable[[SocketRecord], str]:
    """record -> its line of JSON, newline included (see :func:`json_lines`)."""
    if kind is InetSocket and extra is None:
        fast = _inet_line_function()
        if netns is None:
            return fast  # type: ignore[return-value]
        prefix = _netns_prefix(netns)
        return lambda record: prefix + fast(record)[1:]  # type: ignore[arg-type]
    import json  # here: json imports re and enum, more than a plain listing's whole start-up

    encode = json.JSONEncoder(separators=(",", ":")).encode
    fields = FIELDS[kind]
    if extra is None and netns is None:
        return lambda record: encode(fields(record)) + "\n"
    prefix = _netns_prefix(netns) if netns is not None else "{"
    add = extra or (lambda record, values: None)

    def line(record: SocketRecord) -> str:
        values = fields(record)
        add(record, values)
        return prefix + encode(values)[1:] + "\n"

    return line


def _netns_prefix(netns: str) -> str:
    return '{"netns":' + _json_text(netns) + ","


class JsonLinesSink:
    """Lines for a listing's batches (a pyss.columnar BatchSink): a TCP/UDP buffer read as columns is
    formatted a column at a time, as `pyss -tan` formats its rows, the same text as the records give."""

    __slots__ = ("_addresses", "_extra", "_lines", "_netns")

    def __init__(self, extra: Extra | None, netns: str | None) -> None:
        self._extra, self._netns = extra, netns
        self._lines: list[str] = []
        self._addresses: dict[int | bytes, str] = {}

    def take(self) -> list[str]:
        lines, self._lines = self._lines, []
        return lines

    def add_records(self, kind: type[SocketRecord], records: Iterable[SocketRecord]) -> None:
        self._lines.extend(map(line_function(kind, self._extra, self._netns), records))

    def add_columns(self, columns: InetColumns) -> None:
        from itertools import repeat

        from pyss.columnar import more_columns, packed_address

        family = columns.family
        addresses = self._addresses

        def address(key: int | bytes) -> str:
            text = addresses.get(key)
            if text is None:
                text = addresses[key] = inet_ntop(family, packed_address(key))
            return text

        more = more_columns(columns)
        count = len(columns.states)
        rows = zip(repeat(INET_NETIDS.get(columns.protocol, "???"), count), map(_state, columns.states),
                   columns.rqueues, columns.wqueues, repeat("inet" if family == AF_INET else "inet6", count),
                   map(address, columns.srcs), columns.sports, map(address, columns.dsts), columns.dports,
                   repeat("null", count), more.uids, more.inodes, more.cookies, more.timers, more.retrans,
                   more.expires, strict=True)
        lines = map(_INET_LINE.__mod__, rows)
        if self._netns is not None:
            lines = map(_netns_prefix(self._netns).__add__, (line[1:] for line in lines))
        self._lines.extend(lines)


class JsonWriter:
    """Writes objects' lines as JSON Lines, or (``array``) as one JSON array, element by element.

    The array is streamed like the lines are: nothing is held, so --json's memory
    stays flat however many sockets there are.
    """

    __slots__ = ("_array", "_empty", "_out")

    def __init__(self, out: TextIO, array: bool) -> None:
        self._out, self._array, self._empty = out, array, True

    def write(self, lines: Iterable[str]) -> None:
        if not self._array:
            self._out.writelines(lines)
            return
        for line in lines:
            self._out.write(("[\n" if self._empty else ",\n") + line[:-1])
            self._empty = False

    def close(self) -> None:
        if self._array:
            self._out.write("[]\n" if self._empty else "\n]\n")


# An inet socket's fields are all numbers or texts that need no escaping: one %-format builds its
# line, the same text as json.dumps of inet_fields gives (a test checks), in a fifth of the time.
_INET_LINE = ('{"netid":"%s","state":"%s","recv_q":%d,"send_q":%d,"family":"%s","local_address":"%s",'
              '"local_port":%d,"peer_address":"%s","peer_port":%d,"interface":%s,"uid":%d,"inode":%d,'
              '"cookie":%d,"timer":%d,"retrans":%d,"expires_ms":%d}\n')


def _inet_line_function() -> Callable[[InetSocket], str]:
    addresses: dict[bytes, str] = {}
    family_names = {AF_INET: "inet", AF_INET6: "inet6"}

    def address(family: int, packed: bytes) -> str:
        text = addresses[packed] = inet_ntop(family, packed)
        return text

    def line(record: InetSocket) -> str:
        (family, state, timer, retrans, sport, dport, src, dst, ifindex,
         cookie, expires, rqueue, wqueue, uid, inode, protocol, _attrs) = record
        interface = _json_text(interface_name(ifindex)) if ifindex else "null"
        return _INET_LINE % (
            INET_NETIDS.get(protocol, "???"), _state(state), rqueue, wqueue, family_names[family],
            addresses.get(src) or address(family, src), sport, addresses.get(dst) or address(family, dst), dport,
            interface, uid, inode, cookie, timer, retrans, expires)

    return line


def _json_text(value: object) -> str:
    """``json.dumps(value)``, json imported only when a line needs it (an interface name, a namespace):
    it brings re and enum, more start-up than a plain --json-lines listing's whole own."""
    import json

    return json.dumps(value)
