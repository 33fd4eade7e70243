"""Group keys for counting sockets: ``pyss.count(by=...)`` and the command line's ``--count-by``.

Each key names one property of a :class:`~pyss.api.record.Socket`. A key
that is a plain field of an inet record (state, ports, uid, netid) can also
be read from the decoder's record itself, as a raw value translated once per
distinct value at the end: :func:`raw_inet_key` gives that fast path, which
lets a count skip building a Socket per socket. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from operator import itemgetter

from pyss.api.state import state_of
from pyss.lite_typing import TYPE_CHECKING, NamedTuple
from pyss.records import InetSocket

if TYPE_CHECKING:  # a count by state or table makes no Socket: the records module stays unimported
    from pyss.api.record import Socket


# An address is an Addr (a non-empty named tuple), a UNIX path (a str), or () where psutil has none.
def _address(socket: Socket, which: int) -> str:
    value = socket.laddr if which == 0 else socket.raddr
    return value.ip if isinstance(value, tuple) and value else value


def _port(socket: Socket, which: int) -> int | None:
    value = socket.laddr if which == 0 else socket.raddr
    return value.port if isinstance(value, tuple) and value else None


def _inet_kind(protocol: int) -> str:
    from pyss.names.netids import INET_NETIDS

    return INET_NETIDS[protocol]


def _first_process(socket: Socket) -> str | None:
    return socket.processes[0].name if socket.processes else None


def _first_pid(socket: Socket) -> int | None:
    return socket.processes[0].pid if socket.processes else None


class Key(NamedTuple):
    """One group key: how to read it from a Socket, and (if it is an inet record field) from the record."""

    of_socket: Callable[[Socket], Hashable]
    inet_field: int | None = None  # InetSocket field index with the raw value
    translate: Callable[[int], Hashable] | None = None  # raw value -> the Socket-path value
    needs_processes: bool = False


KEYS: dict[str, Key] = {
    "state": Key(lambda s: s.state, InetSocket._fields.index("state"), state_of),
    "netid": Key(lambda s: s.kind, InetSocket._fields.index("protocol"), _inet_kind),
    "local-address": Key(lambda s: _address(s, 0)),
    "local-port": Key(lambda s: _port(s, 0), InetSocket._fields.index("sport")),
    "peer-address": Key(lambda s: _address(s, 1)),
    "peer-port": Key(lambda s: _port(s, 1), InetSocket._fields.index("dport")),
    "process": Key(_first_process, needs_processes=True),
    "pid": Key(_first_pid, needs_processes=True),
    "uid": Key(lambda s: s.uid, InetSocket._fields.index("uid")),
    "interface": Key(lambda s: s.interface),
}
"""The group keys, by name. A socket held by several processes counts under the first one found
(the lowest pid); one held by none, or whose holders cannot be seen, under None."""


def key_names(by: str | Sequence[str]) -> tuple[str, ...]:
    """``by`` ("state", "state,netid" or a sequence of names) as a tuple; ValueError naming the known keys."""
    from pyss.api.request import given_names

    names = tuple(part.strip() for part in by.split(",")) if isinstance(by, str) else given_names(by, "by")
    if not names:
        raise ValueError(f"no group key given; known keys: {', '.join(KEYS)}")
    for name in names:
        if name not in KEYS:
            raise ValueError(f"unknown group key {name!r}; known keys: {', '.join(KEYS)}")
    return names


def socket_key(names: Sequence[str]) -> Callable[[Socket], Hashable]:
    """The key of a Socket: one value for one name, a tuple of values for several."""
    readers = [KEYS[name].of_socket for name in names]
    if len(readers) == 1:
        return readers[0]
    return lambda socket: tuple([read(socket) for read in readers])


def needs_processes(names: Sequence[str]) -> bool:
    return any(KEYS[name].needs_processes for name in names)


def raw_inet_key(names: Sequence[str]) -> tuple[Callable[[InetSocket], Hashable], Callable[[Hashable], Hashable]] | None:
    """(raw key of an inet record, raw key -> Socket-path key), or None if a key is not a record field.

    The raw key is an ``operator.itemgetter``: counting with it stays in C.
    """
    keys = [KEYS[name] for name in names]
    fields = [key.inet_field for key in keys]
    if any(field is None for field in fields):
        return None
    translators = [key.translate for key in keys]
    getter = itemgetter(*fields)
    if len(keys) == 1:
        only = translators[0]

        def translate_one(raw: Hashable) -> Hashable:
            return raw if only is None else only(raw)  # type: ignore[arg-type]

        return getter, translate_one

    def translate(raw: Hashable) -> Hashable:
        return tuple([value if convert is None else convert(value)
                      for convert, value in zip(translators, raw, strict=True)])  # type: ignore[call-overload]

    return getter, translate
