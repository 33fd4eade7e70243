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

from pyss.lite_typing import TYPE_CHECKING
from pyss.netlink.constants import (
    AF_INET,
    AF_INET6,
    AF_NETLINK,
    AF_PACKET,
    AF_UNIX,
)
from pyss.query import STATES_ALL, TABLE_BIT, Details, Query, SocketFilter, finish_query

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pyss.filter.compiled import CompiledFilter

_V4, _V6 = 1 << AF_INET, 1 << AF_INET6
_IP = _V4 | _V6
_UNIX_TABLES = ("unix_stream", "unix_dgram", "unix_seqpacket")
_PACKET_TABLES = ("packet_raw", "packet_dgram")


Kind = tuple[tuple[str, ...], int]  # what one kind name selects: socket tables, and a mask of their families


def _kind(tables: tuple[str, ...], families: int) -> Kind:
    return tables, families


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


def given_names(value: str | Sequence[str], argument: str) -> tuple[str, ...]:
    """One name, or a sequence of names, as a tuple; TypeError naming ``argument`` for anything else (None, a
    number, bytes, a sequence holding one)."""
    if isinstance(value, str):
        return (value,)
    problem = f"{argument} must be a name or a sequence of names, not {type(value).__name__}"
    if isinstance(value, bytes | bytearray):
        raise TypeError(problem)
    try:
        names = tuple(value)
    except TypeError:
        raise TypeError(problem) from None
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{argument} must be a name or a sequence of names, not a sequence holding "
                            f"{type(name).__name__}")
    return names


def kind_names(kind: str | Sequence[str]) -> tuple[str, ...]:
    """``kind`` as a tuple of names; raises ValueError (naming the known kinds) for an unknown one."""
    names = given_names(kind, "kind")
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
        kind_tables, kind_families = KINDS[name]
        for table in kind_tables:
            tables |= TABLE_BIT[table]
        families |= kind_families
    return tables, families


def api_queries(
    kind: str | Sequence[str],
    compiled: SocketFilter | None = None,
    details: Details | None = None,
) -> tuple[Query, ...]:
    """The Queries for an API call, dumped one after the other: the kinds' union.

    A Query dumps each of its tables in each of its families, so kinds that
    name inet tables in different families (``tcp4`` and ``udp6``) would be
    every such table in both; each inet table then gets a query of its own,
    in ss's order (the other tables first, then RAW, UDP, TCP). Queries the
    filter leaves empty are left out.
    """
    names = kind_names(kind)
    found = (api_query(names, compiled, details, group) for group in _table_groups(names))
    return tuple(query for query in found if query is not None)


_INET_TABLES = ("raw", "udp", "tcp")  # in the order ss lists them


def _table_groups(names: tuple[str, ...]) -> list[tuple[int, int]]:
    """The (tables, families) to dump one after another; one pair unless inet tables come in different
    families."""
    tables, families = selection(names)
    inet = dict.fromkeys(_INET_TABLES, 0)
    for name in names:
        kind_tables, kind_families = KINDS[name]
        for table in set(kind_tables) & set(inet):
            inet[table] |= kind_families & _IP
    present = {table: inet_families for table, inet_families in inet.items() if inet_families}
    if len(set(present.values())) <= 1:
        return [(tables, families)]
    inet_tables = sum(TABLE_BIT[table] for table in present)
    groups = [(tables & ~inet_tables, families & ~_IP)] if tables & ~inet_tables else []
    return groups + [(TABLE_BIT[table], inet_families) for table, inet_families in present.items()]


def api_query(
    kind: str | Sequence[str],
    compiled: SocketFilter | None = None,
    details: Details | None = None,
    selected: tuple[int, int] | None = None,
) -> Query | None:
    """The Query for an API call: every state of the kind's tables, narrowed by the filter as ss narrows.

    None when the filter leaves nothing to dump (a value naming a family the
    kind does not list: a query never reaches beyond its kind). ``selected``:
    these (tables, families) instead of all the kind's (see :func:`api_queries`).
    """
    tables, families = selection(kind) if selected is None else selected
    query = finish_query(tables, families, STATES_ALL, 0, compiled, details or Details())
    if isinstance(query, str):
        return None
    confined = query.families & families
    return query._replace(families=confined) if confined else None


def kind_query(kind: str | Sequence[str], states: int, details: Details | None = None) -> Query:
    """The kind's tables in these states, no filter: what a command line that lists tables one at a time asks.

    A kind of one family (``tcp4``, ``unix``) dumps that family first and only.
    """
    tables, families = selection(kind)
    preferred = families.bit_length() - 1 if families & (families - 1) == 0 else 0
    return Query(tables=tables, families=families, states=states, preferred_family=preferred,
                 details=details or Details())


def compile_request_filter(
    words: Sequence[str], tables: int, *, file_text: str | None = None, preferred_family: int = 0
) -> CompiledFilter:
    """Compile filter words for a dump of ``tables`` (a TABLE_BIT mask); raises FilterError.

    ss looks service names up only in the tables it dumps: ``:ssh`` fails
    when neither tcp nor udp is. ``preferred_family`` is the last family the
    options named (ss reads bare values in it).
    """
    from pyss.filter import compile_filter

    protocols = tuple(name for name in ("udp", "tcp") if tables & TABLE_BIT[name])
    return compile_filter(words, file_text=file_text, preferred_family=preferred_family, service_protocols=protocols)


# The API's keyword shortcuts (pyss.sockets(dport=443, ...)): each is one condition of ss's language.
SHORTCUT_FIELDS = ("src", "dst", "sport", "dport")


def shortcut_words(filter: str | None, state: str | Sequence[str] | None = None,
                   conditions: Sequence[tuple[str, str | int | None]] = ()) -> list[str]:
    """The filter words of the keyword shortcuts and the filter string together.

    ``state=`` gives ``state NAME`` words (before the filter's own); each of
    ``conditions`` (field, value), in :data:`SHORTCUT_FIELDS` order, gives
    ``FIELD = VALUE``, an int port written ``:PORT``; they are joined by
    ``and``, and the filter's expression, if any, follows as ``and ( ... )``.
    A value is one word (white space and backslashes in it escaped).
    """
    from pyss.filter.states import leading_states

    names = [] if state is None else list(given_names(state, "state"))
    for field, value in conditions:
        if value is not None and not (isinstance(value, str) or (
                field in ("sport", "dport") and isinstance(value, int) and not isinstance(value, bool))):
            kinds = "an int or a string" if field in ("sport", "dport") else "a string"
            raise TypeError(f"{field} must be {kinds}, not {type(value).__name__}")
    from pyss.filter.tokens import split_words

    words = split_words(filter) if filter else []
    used = leading_states(words)[1]
    leading = [word for name in names for word in ("state", _escaped(name))] + words[:used]
    expression: list[str] = []
    for field, value in conditions:
        if value is None:
            continue
        written = f":{value}" if isinstance(value, int) and field in ("sport", "dport") else str(value)
        expression += [*(["and"] if expression else []), field, "=", _escaped(written)]
    rest = words[used:]
    if rest:
        expression += [*(["and"] if expression else []), "(", *rest, ")"] if expression else rest
    return leading + expression


def _escaped(word: str) -> str:
    return "".join("\\" + ch if ch in " \t\\" else ch for ch in word)


def compile_api_filter(text: str, kind_tables: int) -> CompiledFilter:
    """Compile an API filter string exactly as ss's command line compiles the same words; raises FilterError.

    The string is split into words at white space, as a shell splits an
    unquoted command line (a backslash escapes a space: :func:`~pyss.filter.tokens.split_words`).
    """
    from pyss.filter.tokens import split_words

    return compile_request_filter(split_words(text), kind_tables)


# --- detail flags -> what each table's request asks the kernel to add ---------------------------


