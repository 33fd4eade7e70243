"""--watch[=SECONDS]: dump again every interval and report what changed.

A socket is known by its netid, ports, inode and cookie (the kernel's
unique id of the socket). Each interval's dump is compared with the previous
one: sockets that appeared are printed with ``+`` and those that went with
``-``, then one summary line of per-state counts and their change. With
--json-lines each change is an object with ``"event": "open"`` or
``"close"``; with --count-by the group counts are redrawn with their change.

Only the previous dump's sockets are held, each as the row (or JSON line)
printed when it appeared, so memory follows the number of live sockets and
a socket that closes is shown exactly as it was seen. The row is made while
the socket's namespace is current, so interface and process names are right
under --all-netns too.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from itertools import compress, repeat
from operator import itemgetter, not_
from typing import TYPE_CHECKING, Any, TextIO

from pyss.records import InetSocket, NetlinkSocket, PacketSocket, TipcSocket, UnixSocket, VsockSocket, XdpSocket

if TYPE_CHECKING:
    from pyss.columnar import Batch, InetColumns, InetRuns

# What tells two sockets apart, by record type (field positions in the record).
_IDENTITY: dict[type, Callable[[Any], Hashable]] = {
    # protocol family sport dport inode cookie: the cookie is the kernel's unique id of the socket, and
    # ports and inode are what an unfiltered dump's columns also hold, so both paths give the same key.
    InetSocket: itemgetter(15, 0, 4, 5, 14, 9),
    UnixSocket: itemgetter(0, 2, 3),  # type inode cookie
    PacketSocket: itemgetter(0, 2, 3),
    NetlinkSocket: itemgetter(0, 2, 5, 6),  # protocol portid inode cookie
    VsockSocket: itemgetter(0, 3, 4, 5, 6, 7, 8),  # type, both CIDs and ports, inode, cookie
    TipcSocket: itemgetter(0, 3, 6, 8),  # type ref inode cookie
    XdpSocket: itemgetter(1, 2),  # inode cookie
}
_CLEAR = "\x1b[H\x1b[2J"


def interval_seconds(text: str | None) -> float:
    """--watch's SECONDS (default 1); ValueError for anything but a positive, finite number."""
    if text is None:
        return 1.0
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"--watch interval must be a number of seconds, not '{text}'") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"--watch interval must be a positive number of seconds, not '{text}'")
    return value


def signed(delta: int) -> str:
    return f"+{delta}" if delta >= 0 else str(delta)


# Each interval's seconds of work, for benchmarks/watchbench.py; PYSS_WATCH_ROUNDS=N stops after N intervals.
TIMINGS: list[float] = []


class Watch:
    """The loop: run one interval's ``step`` (dump, compare, print), flush, sleep out the interval, again."""

    def __init__(self, interval: float, out: TextIO = sys.stdout, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval, self.out, self.clock, self.sleep = interval, out, clock, sleep
        rounds = os.environ.get("PYSS_WATCH_ROUNDS", "")
        self.rounds = int(rounds) if rounds.isdigit() else None

    def run(self, step: Callable[[], None]) -> int:
        """Call ``step`` every interval until Ctrl-C, which ends the watch with status 0."""
        try:
            done = 0
            while self.rounds is None or done < self.rounds:
                started = self.clock()
                step()
                self.out.flush()
                spent = self.clock() - started
                TIMINGS.append(spent)
                done += 1
                self.sleep(max(0.0, self.interval - spent))
            return 0
        except KeyboardInterrupt:
            with contextlib.suppress(OSError):
                self.out.flush()
            return 0


def identity(kind: type) -> Callable[[Any], Hashable]:
    return _IDENTITY[kind]


def on_terminal(out: TextIO) -> bool:
    try:
        return os.isatty(out.fileno())
    except (OSError, ValueError, AttributeError):
        return False


Form = Any  # what is printed for a socket: its row of fields, or its JSON line
FormOf = Callable[[Any], Form]
_STATE: dict[type, Callable[[Any], int]] = {
    InetSocket: itemgetter(1), UnixSocket: itemgetter(1),
    PacketSocket: lambda _record: 7, NetlinkSocket: lambda _record: 7,  # ss shows both as UNCONN
    VsockSocket: itemgetter(1), TipcSocket: itemgetter(1), XdpSocket: lambda _record: 7,
}


class SocketWatch:
    """--watch's +/- rows and summary line (or, for JSON Lines, open/close events).

    ``add`` takes each table's records of one interval as they stream (while their namespace is
    current), ``finish`` prints what changed since the last interval. Held between intervals: each
    live socket's identity and printed form, per namespace, and the state counts.
    """

    def __init__(self, out: TextIO, columns: tuple[Any, ...] | None) -> None:
        self.out = out
        self.columns = columns  # ss's columns for rows; None: JSON lines
        self.forms: dict[str | None, dict[Hashable, Form]] = {}  # namespace -> identity -> form
        self.first = True
        self.states: Counter[int] = Counter()
        self._seen: dict[str | None, set[Hashable]] = {}
        self._opened: list[Form] = []
        self._counting: Counter[int] = Counter()

    def add(self, kind: type, items: Iterator[Any], namespace: str | None, form_of: FormOf) -> None:
        records = list(items)
        identities = list(map(_IDENTITY[kind], records))
        self._counting.update(map(_STATE[kind], records))
        self._seen.setdefault(namespace, set()).update(identities)
        known = self.forms.setdefault(namespace, {})
        is_new = list(map(not_, map(known.__contains__, identities)))
        forms = list(map(form_of, compress(records, is_new)))
        known.update(zip(compress(identities, is_new), forms, strict=True))
        if not self.first:
            self._opened.extend(forms)

    def add_columns(self, columns: InetColumns, namespace: str | None,
                    forms_of: Callable[[InetColumns], list[Form]]) -> None:
        """One TCP/UDP buffer read as columns (pyss.columnar): only the new sockets' forms are made."""
        from pyss.columnar import more_columns

        more = more_columns(columns)
        count = len(columns.states)
        identities = list(zip(repeat(columns.protocol, count), repeat(columns.family, count), columns.sports,
                              columns.dports, more.inodes, more.cookies, strict=True))
        self._counting.update(columns.states)
        self._seen.setdefault(namespace, set()).update(identities)
        known = self.forms.setdefault(namespace, {})
        is_new = list(map(not_, map(known.__contains__, identities)))
        if not any(is_new):
            return
        picked = _picked(columns, is_new)
        forms = forms_of(picked)
        known.update(zip(compress(identities, is_new), forms, strict=True))
        if not self.first:
            self._opened.extend(forms)

    def add_runs(self, runs: InetRuns, namespace: str | None, forms_of: Callable[[Batch], list[Form]]) -> None:
        """One TCP/UDP buffer read as runs (a count's batch, pyss.columnar.InetRuns): identities and states
        straight from the buffer, and only the new sockets made into a batch for their forms."""
        identities = runs.identities()
        self._counting.update(runs.state_counts())
        self._seen.setdefault(namespace, set()).update(identities)
        known = self.forms.setdefault(namespace, {})
        is_new = list(map(not_, map(known.__contains__, identities)))
        if not any(is_new):
            return
        forms = forms_of(runs.picked(is_new))
        known.update(zip(compress(identities, is_new), forms, strict=True))
        if not self.first:
            self._opened.extend(forms)

    def finish(self, when: float) -> None:
        closed: list[Form] = []
        for namespace, known in list(self.forms.items()):
            seen = self._seen.get(namespace, set())
            for identity in known.keys() - seen:
                closed.append(known.pop(identity))
            if not known:
                del self.forms[namespace]
        opened, self._opened, self._seen = self._opened, [], {}
        states, self._counting = self._counting, Counter()
        first, self.first = self.first, False
        if self.columns is None:
            stamp = f'"time":{when:.3f},'
            self.out.writelines('{"event":"open",' + stamp + line[1:] for line in opened)
            self.out.writelines('{"event":"close",' + stamp + line[1:] for line in closed)
            return
        rows = [("+", *row) for row in opened] + [("-", *row) for row in closed]
        if rows:
            self.out.write(_layout(self.columns, rows))
        before, self.states = self.states, states
        self.out.write(summary(states, Counter() if first else before, when))


def _picked(columns: InetColumns, wanted: list[bool]) -> InetColumns:
    """The batch narrowed to the wanted sockets (their fixed bytes too, for more_columns)."""
    from pyss.columnar import FIXED_SIZE

    fixed = columns.fixed
    kept = b"".join(compress((fixed[i:i + FIXED_SIZE] for i in range(0, len(fixed), FIXED_SIZE)), wanted))
    return columns._replace(
        states=list(compress(columns.states, wanted)), sports=list(compress(columns.sports, wanted)),
        dports=list(compress(columns.dports, wanted)), srcs=list(compress(columns.srcs, wanted)),
        dsts=list(compress(columns.dsts, wanted)), ifindexes=list(compress(columns.ifindexes, wanted)),
        rqueues=list(compress(columns.rqueues, wanted)), wqueues=list(compress(columns.wqueues, wanted)),
        inodes=list(compress(columns.inodes, wanted)), fixed=kept)


def summary(states: Counter[int], before: Counter[int], when: float) -> str:
    """'02:31:05  ESTAB 1203 (+5)  LISTEN 12 (+0)  total 1215 (+5)': per-state counts and their change."""
    from pyss.render.ss import STATE_NAMES

    numbers = sorted(set(states) | set(before), key=lambda state: (-states.get(state, 0), state))
    parts = [f"{STATE_NAMES[state] if state < len(STATE_NAMES) else state} {states.get(state, 0)} "
             f"({signed(states.get(state, 0) - before.get(state, 0))})" for state in numbers]
    total = sum(states.values())
    parts.append(f"total {total} ({signed(total - sum(before.values()))})")
    return time.strftime("%H:%M:%S", time.localtime(when)) + "  " + "  ".join(parts) + "\n"


def _layout(columns: tuple[Any, ...], rows: list[tuple[str, ...]]) -> str:
    from pyss.render.columns import LEFT, Column, byte_length, column_widths, render_block

    first, *rest = columns
    marked = (Column(LEFT, "", ""), first._replace(delimiter=" "), *rest)
    block = list(zip(*rows, strict=True))
    maxima = [max(map(byte_length, column)) for column in block]
    return render_block(marked, column_widths(marked, maxima, None), block)


class CountsView:
    """--watch --count-by: the group counts with their change since the last interval."""

    def __init__(self, out: TextIO, keys: tuple[str, ...], top: int | None, json_lines: bool, header: bool) -> None:
        self.out, self.keys, self.top, self.json_lines, self.header = out, keys, top, json_lines, header
        self.previous: dict[tuple[Hashable, ...], int] | None = None
        self.redraw = on_terminal(out) and not json_lines

    def show(self, groups: dict[tuple[Hashable, ...], int], when: float) -> None:
        from pyss.render.counts import delta_json_lines, delta_table, ordered

        previous, self.previous = self.previous, groups
        gone = {values: 0 for values in previous or () if values not in groups}
        ranked = ordered({**groups, **gone}, self.top)
        # The first interval is the baseline: it has no change to show.
        deltas = [count - previous.get(values, 0) if previous is not None else None for values, count in ranked]
        if self.json_lines:
            self.out.write(delta_json_lines(self.keys, ranked, deltas, when))
            return
        stamp = time.strftime("%H:%M:%S", time.localtime(when))
        text = delta_table(self.keys, ranked, deltas, self.header)
        self.out.write((_CLEAR if self.redraw else "") + f"{stamp}  total {sum(groups.values())}\n" + text
                       + ("" if self.redraw else "\n"))
