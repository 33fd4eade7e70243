"""The request layer: what to dump, as a Query, from API arguments or a command line's selection.

Both command lines and the public API build their Queries here, so a kind
name, a filter string and ss's flags all meet one set of rules:
:func:`finish_query` merges a selection with a compiled filter the way ss
does (a ``state`` narrows the states, a value naming a family narrows the
families); :func:`pyss.query.extensions` turns detail flags into the extra
attributes each table's request asks the kernel for. Pure: nothing here
reads the system.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from pyss.netlink.constants import (
    AF_INET,
    AF_INET6,
    AF_NETLINK,
    AF_PACKET,
    AF_UNIX,
)
from pyss.query import STATES_ALL, TABLE_BIT, Details, Query, SelectionBuilder, SocketFilter

if TYPE_CHECKING:
    from pyss.filter.compiled import CompiledFilter

_V4, _V6 = 1 << AF_INET, 1 << AF_INET6
_IP = _V4 | _V6
_UNIX_TABLES = ("unix_stream", "unix_dgram", "unix_seqpacket")
_PACKET_TABLES = ("packet_raw", "packet_dgram")


class Kind(NamedTuple):
    """What one kind name selects: socket tables and the address families they are read in."""

    tables: tuple[str, ...]
    families: int  # bit mask over address families


def _kind(tables: tuple[str, ...], families: int) -> Kind:
    return Kind(tables, families)


# psutil's kind names keep psutil's meaning (so "inet" is TCP and UDP, without RAW), except "all",
# which is every table pyss lists; the others are ss's table names (-A), with ss's short aliases.
KINDS: dict[str, Kind] = {
    "inet": _kind(("tcp", "udp"), _IP),
    "inet4": _kind(("tcp", "udp"), _V4),
    "inet6": _kind(("tcp", "udp"), _V6),
    "tcp": _kind(("tcp",), _IP),
    "tcp4": _kind(("tcp",), _V4),
    "tcp6": _kind(("tcp",), _V6),
    "udp": _kind(("udp",), _IP),
    "udp4": _kind(("udp",), _V4),
    "udp6": _kind(("udp",), _V6),
    "raw": _kind(("raw",), _IP),
    "raw4": _kind(("raw",), _V4),
    "raw6": _kind(("raw",), _V6),
    "unix": _kind(_UNIX_TABLES, 1 << AF_UNIX),
    "unix_stream": _kind(("unix_stream",), 1 << AF_UNIX),
    "u_str": _kind(("unix_stream",), 1 << AF_UNIX),
    "unix_dgram": _kind(("unix_dgram",), 1 << AF_UNIX),
    "u_dgr": _kind(("unix_dgram",), 1 << AF_UNIX),
    "unix_seqpacket": _kind(("unix_seqpacket",), 1 << AF_UNIX),
    "u_seq": _kind(("unix_seqpacket",), 1 << AF_UNIX),
    "packet": _kind(_PACKET_TABLES, 1 << AF_PACKET),
    "packet_raw": _kind(("packet_raw",), 1 << AF_PACKET),
    "p_raw": _kind(("packet_raw",), 1 << AF_PACKET),
    "packet_dgram": _kind(("packet_dgram",), 1 << AF_PACKET),
    "p_dgr": _kind(("packet_dgram",), 1 << AF_PACKET),
    "netlink": _kind(("netlink",), 1 << AF_NETLINK),
    "all": _kind(("tcp", "udp", "raw", *_UNIX_TABLES, *_PACKET_TABLES, "netlink"),
                 _IP | 1 << AF_UNIX | 1 << AF_PACKET | 1 << AF_NETLINK),
}


def kind_names(kind: str | Sequence[str]) -> tuple[str, ...]:
    """``kind`` as a tuple of names; raises ValueError (naming the known kinds) for an unknown one."""
    names = (kind,) if isinstance(kind, str) else tuple(kind)
    for name in names:
        if not isinstance(name, str) or name not in KINDS:
            raise ValueError(f"unknown socket kind {name!r}; known kinds: {', '.join(KINDS)}")
    if not names:
        raise ValueError(f"no socket kind given; known kinds: {', '.join(KINDS)}")
    return names


def selection(kind: str | Sequence[str]) -> tuple[int, int]:
    """(tables, families) bit masks for one kind or several (their union)."""
    tables = families = 0
    for name in kind_names(kind):
        selected = KINDS[name]
        for table in selected.tables:
            tables |= TABLE_BIT[table]
        families |= selected.families
    return tables, families


def api_query(
    kind: str | Sequence[str],
    compiled: SocketFilter | None = None,
    details: Details | None = None,
) -> Query | None:
    """The Query for an API call: every state of the kind's tables, narrowed by the filter as ss narrows.

    None when the filter leaves nothing to dump (e.g. ``state listening`` on
    UDP-only families would still dump; a family the kind excludes would not).
    """
    tables, families = selection(kind)
    return finish_query(tables, families, STATES_ALL, 0, compiled, details or Details())


def finish_query(
    tables: int, families: int, states: int, preferred_family: int, compiled: SocketFilter | None, details: Details
) -> Query | None:
    """Merge a filter into a selection as ss does; None when no table, family or state is left."""
    if compiled is not None:
        if compiled.states is not None:
            states = compiled.states
        narrowed = compiled.families
        if narrowed:
            # A filter value naming a family (unix:..., inet6:...) narrows the dump to it, as ss's
            # parser does after the options are merged.
            families &= narrowed
            preferred_family = narrowed.bit_length() - 1
    if not (tables and families and states):
        return None
    return Query(tables=tables, families=families, states=states, preferred_family=preferred_family,
                 filter=compiled, details=details)


def cli_query(selection_builder: SelectionBuilder, compiled: SocketFilter | None, details: Details) -> Query | str:
    """The Query for ss's command line, or what it has nothing of ("socket tables", "families", "socket states")."""
    tables, families, states = selection_builder.build(compiled.states if compiled is not None else None)
    for mask, what in ((tables, "socket tables"), (families, "families"), (states, "socket states")):
        if not mask:
            return what
    preferred_family = selection_builder.preferred_family
    narrowed = compiled.families if compiled is not None else None
    if narrowed:
        families = narrowed
        preferred_family = narrowed.bit_length() - 1
    return Query(tables=tables, families=families, states=states, preferred_family=preferred_family,
                 filter=compiled, details=details)


def table_query(table: str, family: int, states: int) -> Query:
    """One table of one family, as netstat lists them one at a time ("unix" stands for all three unix tables)."""
    tables = TABLE_BIT[table] if table != "unix" else (
        TABLE_BIT["unix_stream"] | TABLE_BIT["unix_dgram"] | TABLE_BIT["unix_seqpacket"])
    return Query(tables=tables, families=1 << family, states=states, preferred_family=family)


def compile_api_filter(text: str, kind_tables: int) -> CompiledFilter:
    """Compile an API filter string exactly as ss's command line compiles the same words; raises FilterError.

    The string is split into words at white space, as a shell splits an
    unquoted command line.
    """
    from pyss.filter import compile_filter

    protocols = tuple(name for name in ("udp", "tcp") if kind_tables & TABLE_BIT[name])
    return compile_filter(text.split(), service_protocols=protocols)


# --- detail flags -> what each table's request asks the kernel to add ---------------------------


