"""The console scripts' first module: a plain TCP listing's dump starts before pyss's command line loads.

A large `pyss -tan` waits longest for the kernel's walk of the TCP hash, which
a child process does on another CPU (pyss.netlink.transport.start_early).
Every module imported before the child sends the request delays the whole
listing, so :func:`pyss` looks at the command line first and, for the
spellings of a plain TCP listing of both families (one word of the letters
``t``, ``a``, ``l``, ``n``, ``H`` with a ``t``: ``-tan``, ``-tn``, ``-tln``,
...), starts that dump with only the transport, the socket counters and the
request's packing loaded; the option table, the query rules, the output and
the CLI module come after (docs/design.md, "Start-up"). It is a guess made
ahead of pyss.cli.ss, which decides what is listed: pyss.dump takes the
started dump up only when it asks for the same request, so a guess that does
not match costs a walk, never a row.
"""

from __future__ import annotations

import gc
import os
import sys

from pyss.lite_typing import TYPE_CHECKING
from pyss.netlink.constants import IPPROTO_TCP, TCPF_ALL

if TYPE_CHECKING:
    from collections.abc import Mapping

# The letters of a short-option word that leave a listing of TCP's two families without details or filter.
_PLAIN_LETTERS = frozenset("talnH")

# The fewest TCP sockets (sockstat's count) for which the early dump's child pays: a 32 kB reply buffer
# holds ~250 sockets, and a dump that ends in its first buffer is read at once without a child.
EARLY_DUMP_FROM = 200

_decided: set[int] = set()  # the states whose early dump was decided on: started or not, once
_collector_held = False


def pyss() -> int:
    """The `pyss` console script (and `python -m pyss`)."""
    hold_collector()
    states = plain_tcp_states(sys.argv[1:], os.environ)
    if states is not None:
        start_tcp_dump(states)
    from pyss.cli.ss import command

    return command()


def pynetstat() -> int:
    """The `pynetstat` console script."""
    hold_collector()
    from pyss.cli.netstat import command

    return command()


def plain_tcp_states(argv: list[str], environ: Mapping[str, str]) -> int | None:
    """The states of the plain TCP listing of both families that ``argv`` asks for, or None for any other
    command line (or one that reads its sockets from files: TCPDIAG_FILE, PROC_ROOT, PROC_NET_*)."""
    if len(argv) != 1:
        return None
    word = argv[0]
    if word[:1] != "-" or word[1:2] in ("-", "") or "t" not in word or not _PLAIN_LETTERS.issuperset(word[1:]):
        return None
    if "TCPDIAG_FILE" in environ or "PROC_ROOT" in environ or any(name.startswith("PROC_NET_") for name in environ):
        return None
    last = max(word.rfind("a"), word.rfind("l"))
    if last > 0 and word[last] == "a":
        return TCPF_ALL  # pyss.query.STATES_ALL, without importing the query rules before the request
    from pyss.query import STATES_CONNECTED, STATES_LISTENING

    return STATES_LISTENING if last > 0 else STATES_CONNECTED


def start_tcp_dump(states: int) -> None:
    """Start the one TCP dump (both families, pyss.netlink.tcpdiag) of a plain listing of ``states`` in a
    child now, when it pays: two CPUs to run on and a dump larger than one reply buffer. Decided once per
    ``states``: pyss.cli.ss asks again for the query it built, and finds the dump started here."""
    if states in _decided or not _standard_descriptors_open():
        return
    _decided.add(states)
    from pyss.netlink import transport

    if not transport.read_ahead_helps():
        return
    from pyss.system.sockstat import tcp_sockets_here

    sockets = tcp_sockets_here()
    if sockets is not None and sockets < EARLY_DUMP_FROM:
        return  # a dump that ends in its first buffer gains nothing from a child; forking costs ~2 ms
    from pyss.netlink.requests import tcpdiag_request
    from pyss.netlink.tcpdiag import split_families

    transport.start_early(tcpdiag_request(states), tcp_column_work, split_families)


def _standard_descriptors_open() -> bool:
    """Whether stdin, stdout and stderr are open. A socket opened while one is closed would take its
    number, and stdout's writes would go to it: the console script starts no dump then, and pyss.cli.ss
    starts it once pyss.system.output has put /dev/null on what the caller closed (`pyss -tan <&- >&-`)."""
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)
    except OSError:
        return False
    return True


def tcp_column_work(buf: bytes) -> bytes | None:
    """The early TCP dump's work on a buffer, in its child (see pyss.columnar.column_fixed), which
    imports the columnar reader itself: this process has not yet when it forks."""
    from pyss.columnar import column_fixed

    return column_fixed(buf, IPPROTO_TCP)


def hold_collector() -> None:
    """Turn the cyclic garbage collector off for a command's run.

    A run makes next to no reference cycles (a plain `-tan` at 10k sockets none, `-tanp`, `-tane` and
    `--json` 143 objects), so the collector only traverses what start-up imports and what a listing
    holds, again and again as objects are made: ~4% of `pyss -tan`'s instructions in an empty
    namespace, and more as a large listing's rows pile up (docs/design.md, "Start-up"). The
    commands that run until stopped take it back (:func:`resume_collector`).
    """
    global _collector_held  # noqa: PLW0603 - one flag for the process, as gc's own state is
    gc.disable()
    _collector_held = True


def resume_collector() -> None:
    """Turn the collector back on, for a command that runs until stopped (--watch, -E, -c), if
    :func:`hold_collector` turned it off; what start-up made is frozen first, never traversed again."""
    global _collector_held  # noqa: PLW0603
    if _collector_held:
        _collector_held = False
        gc.freeze()
        gc.enable()
