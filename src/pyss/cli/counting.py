"""--count-by: count the sockets of a listing by group keys, holding one counter per group.

The keys and their values are the public API's (:mod:`pyss.api.keys`), plus
``netns`` (the namespace a socket was found in, with --all-netns). Values
are read the cheapest way the stream allows: from the columns of an
unfiltered TCP/UDP dump (counted in C, each distinct value translated once),
from an inet record's raw fields (an itemgetter), or from the public Socket
record of anything else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator
from itertools import repeat

from pyss.lite_typing import TYPE_CHECKING
from pyss.names.netids import INET_NETIDS
from pyss.records import InetSocket, SocketRecord

if TYPE_CHECKING:  # a count by state or table imports neither typing nor the public API's records
    from typing import Any

    from pyss.cli.views import NamespaceStreams
    from pyss.columnar import InetColumns, InetRuns

Groups = dict[tuple[Hashable, ...], int]
NETNS = "netns"
# Keys an InetColumns batch holds, by the batch's field.
_COLUMN_FIELDS = {"state": "states", "local-address": "srcs", "local-port": "sports", "peer-address": "dsts",
                  "peer-port": "dports", "interface": "ifindexes"}
# Keys a count's runs (pyss.columnar.InetRuns) hold: each socket's state, and its table.
_RUN_KEYS = ("state", "netid", NETNS)


def key_names(text: str) -> tuple[str, ...]:
    """--count-by's KEY[,KEY...]; ValueError names the known keys."""
    names = tuple(part.strip() for part in text.split(","))
    if len(set(names)) != len(names):
        raise ValueError(f"--count-by names a key twice: '{text}'")
    if runs_suffice(names):
        return names  # known keys, checked without the public API's key table
    from pyss.api.keys import KEYS

    known = (*KEYS, NETNS)
    for name in names:
        if name not in known:
            raise ValueError(f"unknown --count-by key '{name}' (keys: {', '.join(known)})")
    return names


def columns_suffice(names: tuple[str, ...]) -> bool:
    """Whether an unfiltered dump's inet columns hold every key (else records are needed)."""
    return all(name in _COLUMN_FIELDS or name in ("netid", NETNS) for name in names)


def runs_suffice(names: tuple[str, ...]) -> bool:
    """Whether the keys need no more than each socket's state and table (pyss.dump.run_streams's batches)."""
    return all(name in _RUN_KEYS for name in names)


def shown(value: Hashable) -> Hashable:
    """A key value as output shows it: text, numbers and None as they are, anything else (a State) as text."""
    return value if value is None or type(value) in (str, int) else str(value)


def state_word(state: int) -> str:
    """ss's word for a kernel state (a State's text)."""
    from pyss.render.ss import STATE_NAMES

    if state < len(STATE_NAMES):
        return STATE_NAMES[state]
    from pyss.api.state import state_of

    return str(state_of(state))


class GroupCounter:
    """Counts NamespaceStreams by ``names``; ``count()`` returns {(value per key, ...): count}."""

    def __init__(self, names: tuple[str, ...], batches: bool = False) -> None:
        self.names = names
        self.batches = batches  # the streams are of batches (NamespaceStreams(columns=True)), not records
        self.socket_names = tuple(name for name in names if name != NETNS)
        self.netns_at = names.index(NETNS) if NETNS in names else None
        self._single = len(self.socket_names) == 1
        self.processes = False
        self.raw: tuple[Callable[[InetSocket], Hashable], Callable[[Hashable], Hashable]] | None = None
        self.key: Callable[[Any], Hashable] = lambda _socket: ()
        if self.socket_names and not (batches and runs_suffice(names)):
            self._record_keys()

    def _record_keys(self) -> None:
        """How to read the keys from records (the public API's key table): a count by state or table
        over batches reads them from runs, and needs this only for the few records of other tables."""
        from pyss.api.keys import needs_processes, raw_inet_key, socket_key

        self.processes = needs_processes(self.socket_names)
        self.raw = raw_inet_key(self.socket_names)
        self.key = socket_key(self.socket_names)

    def counting(self, streams: NamespaceStreams) -> tuple[Callable[[type, Iterator[Any]], None], Callable[[], Groups]]:
        """(count one table's stream, the groups so far): a writer pair for the CLI's stream loop."""
        holders = None
        if self.processes:
            from pyss.api.listing import Holders

            holders = Holders()
        groups: Groups = {}
        tallies: list[_Tally] = []

        def add(kind: type, items: Iterator[Any]) -> None:
            if not tallies or tallies[-1].namespace != streams.current:
                if tallies:
                    self._merge(groups, tallies.pop())
                tallies.append(_Tally(streams.current, holders))
            self._count(tallies[-1], kind, items)

        def result() -> Groups:
            if tallies:
                self._merge(groups, tallies.pop())
            if holders is not None:
                holders.close()
            return groups

        return add, result

    def _count(self, tally: _Tally, kind: type, items: Iterator[Any]) -> None:
        if self.batches:
            sink = _Sink(self, tally)
            for batch in items:
                batch.send(sink)
            return
        self.count_records(tally, kind, items)

    def count_records(self, tally: _Tally, kind: type, items: Iterable[SocketRecord]) -> None:
        if self.socket_names and self.raw is None and runs_suffice(self.names):
            self._record_keys()  # records of a table that has no runs
        if self.raw is not None and kind is InetSocket:
            tally.raw.update(map(self.raw[0], items))  # type: ignore[arg-type]
        else:
            tally.sockets.update(map(self.key, map(tally.converter(), items)))

    def count_runs(self, tally: _Tally, batch: InetRuns) -> None:
        """Count one buffer by state and table: the same raw values as :meth:`count_columns` reads."""
        netid = INET_NETIDS.get(batch.protocol, "???")
        counter = tally.columns
        for state, number in batch.state_counts().items():
            values = [state if name == "state" else netid for name in self.socket_names]
            counter[values[0] if self._single else tuple(values)] += number

    def count_columns(self, tally: _Tally, batch: InetColumns) -> None:
        tally.columns.update(self._column_values(tally, batch))

    def _column_values(self, tally: _Tally, batch: InetColumns) -> Iterable[Hashable]:
        count = len(batch.states)
        columns: list[Iterable[Hashable]] = []
        for name in self.socket_names:
            if name == "netid":
                columns.append(repeat(INET_NETIDS.get(batch.protocol, "???"), count))
            elif name == "interface":
                columns.append(map(tally.interface, batch.ifindexes))
            else:
                columns.append(getattr(batch, _COLUMN_FIELDS[name]))
        if self._single:
            return columns[0]
        return zip(*columns, strict=True)

    def _merge(self, groups: Groups, tally: _Tally) -> None:
        """Add a namespace's counts to ``groups``, every value translated to what the output shows."""
        translate_raw = self.raw[1] if self.raw is not None else None
        merged: Counter[tuple[Hashable, ...]] = Counter()
        for counter, translate in ((tally.sockets, None), (tally.raw, translate_raw),
                                   (tally.columns, self._column_translator())):
            for raw, number in counter.items():
                value = translate(raw) if translate is not None else raw
                values = (value,) if self._single else tuple(value)  # type: ignore[arg-type]
                merged[tuple(map(shown, values))] += number
        at = self.netns_at
        for values, number in merged.items():
            key = values if at is None else (*values[:at], tally.namespace, *values[at:])
            groups[key] = groups.get(key, 0) + number

    def _column_translator(self) -> Callable[[Hashable], Hashable]:
        from _socket import AF_INET, AF_INET6, inet_ntop

        from pyss.columnar import packed_address

        def address(key: int | bytes) -> str:
            packed = packed_address(key)
            return inet_ntop(AF_INET if len(packed) == 4 else AF_INET6, packed)

        readers: list[Callable[[Any], Hashable]] = []
        for name in self.socket_names:
            if name == "state":
                readers.append(state_word)
            elif name in ("local-address", "peer-address"):
                readers.append(address)
            else:
                readers.append(lambda value: value)
        if self._single:
            return readers[0]
        return lambda values: tuple([read(value) for read, value in zip(readers, values, strict=True)])  # type: ignore[call-overload]


class _Sink:
    """The BatchSink or RunSink (pyss.columnar) a batch of one namespace's dump is sent to."""

    __slots__ = ("_counter", "_tally")

    def __init__(self, counter: GroupCounter, tally: _Tally) -> None:
        self._counter, self._tally = counter, tally

    def add_records(self, kind: type[SocketRecord], records: Iterable[SocketRecord]) -> None:
        self._counter.count_records(self._tally, kind, records)

    def add_columns(self, columns: InetColumns) -> None:
        self._counter.count_columns(self._tally, columns)

    def add_runs(self, runs: InetRuns) -> None:
        self._counter.count_runs(self._tally, runs)


class _Tally:
    """One namespace's counters, in the three forms values arrive in."""

    def __init__(self, namespace: str | None, holders: Any) -> None:
        self.namespace = namespace
        self.sockets: Counter[Hashable] = Counter()
        self.raw: Counter[Hashable] = Counter()
        self.columns: Counter[Hashable] = Counter()
        self._names: dict[int, str | None] = {0: None}
        self._holders = holders
        self._convert: Callable[[SocketRecord], Any] | None = None

    def converter(self) -> Callable[[SocketRecord], Any]:
        """Records to the public API's Sockets, by a converter made for this namespace on first use (it
        caches interface names, and interface indexes are per namespace)."""
        if self._convert is None:
            from pyss.api.record import converter

            self._convert = converter(self.interface, self._holders)
        return self._convert

    def interface(self, index: int) -> str | None:
        name = self._names.get(index, "")
        if name == "":
            from _socket import if_indextoname

            try:
                name = if_indextoname(index)
            except OSError:
                name = f"if{index}"
            self._names[index] = name
        return name
