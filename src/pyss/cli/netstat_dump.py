"""pynetstat's dumps: one table of one family at a time, requested through the API's request layer.

netstat reads /proc/net/tcp, tcp6, udp, ... one file after the other; pynetstat
asks sock_diag for the same tables in the same order, each by its kind name
(``tcp4``, ``udp6``, ``unix``: :func:`pyss.api.request.kind_query`). A table
the kernel cannot dump is said on stderr and skipped, as netstat goes on past
a /proc file it cannot read.
"""

from __future__ import annotations

import sys

from pyss.api.request import kind_query
from pyss.cli.netstat_options import PROG
from pyss.lite_typing import TYPE_CHECKING
from pyss.netlink.constants import AF_INET, AF_INET6
from pyss.records import InetSocket, SocketRecord

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pyss.query import Extensions


def dump(kind: str, states: int, extensions: Extensions | None = None) -> Iterator[SocketRecord]:
    """The sockets of one kind (``tcp4``, ``unix``: one table of one family, as netstat lists them one at a
    time) in these states, a table the kernel cannot dump said on stderr."""
    from pyss import dump as dumps

    return dumps.sockets(kind_query(kind, states), extensions, warn)


# (table, family) -> the kind that names it
INET_KINDS = {("tcp", AF_INET): "tcp4", ("tcp", AF_INET6): "tcp6", ("udp", AF_INET): "udp4",
              ("udp", AF_INET6): "udp6", ("raw", AF_INET): "raw4", ("raw", AF_INET6): "raw6"}


def warn(message: str) -> None:
    """A table the kernel cannot dump (its *_diag module is missing): say so and go on, like netstat."""
    sys.stdout.flush()
    sys.stderr.write(f"{PROG}: {message}\n")


def inet_dump(table: str, family: int, states: int, extensions: int = 0) -> Iterator[InetSocket]:
    """One inet table of one family; ``extensions`` are idiag_ext bits (INET_DIAG_INFO for -o)."""
    from pyss.query import Extensions

    # an inet table's dump yields InetSocket records only
    return dump(INET_KINDS[table, family], states, Extensions(inet=extensions))  # type: ignore[return-value]  # an inet table
