"""pynetstat's socket listings: which dumps netstat's flags ask for, run one table of one family at a time.

Each dump is requested through the API's request layer
(:func:`pyss.api.request.kind_query`, by kind name: ``tcp4``, ``udp6``,
``unix``) and rendered by :mod:`pyss.render.netstat`; UNIX sockets have
their own module (:mod:`pyss.cli.netstat_unix`).
"""

from __future__ import annotations

import os
import sys

from pyss.api.request import kind_query
from pyss.cli.netstat_dump import INET_KINDS, inet_dump, warn
from pyss.cli.netstat_options import NO_SUPPORT, PROG, Flags
from pyss.cli.netstat_unix import unix_rows
from pyss.lite_typing import TYPE_CHECKING
from pyss.netlink.constants import (
    AF_INET,
    AF_INET6,
    INET_DIAG_INFO,
    TCP_CLOSE,
    TCP_ESTABLISHED,
    TCP_LISTEN,
    TCPF_ALL,
)
from pyss.records import InetSocket
from pyss.render import netstat as render

if TYPE_CHECKING:
    from collections.abc import Callable
    pass


def view_of(flags: Flags) -> render.SocketView:
    return render.SocketView(all=bool(flags.all), listening=bool(flags.listening), extend=flags.extend,
                             programs=bool(flags.programs), timers=bool(flags.timers), wide=bool(flags.wide))


def _tcp_states(view: render.SocketView) -> int:
    # /proc/net/tcp lists hashed sockets only; a bound, unconnected one (TCP_CLOSE) never appears there.
    everything = TCPF_ALL & ~(1 << TCP_CLOSE)
    if view.all:
        return everything
    return 1 << TCP_LISTEN if view.listening else everything & ~(1 << TCP_LISTEN)


def _timer_counts(record: InetSocket) -> tuple[int, int]:
    """(retransmits, keepalive probes) as /proc shows them, from tcp_info when the kernel sent it."""
    from pyss.netlink.decode import inet_attributes
    from pyss.netlink.tcpinfo import retransmits_and_probes

    info = inet_attributes(record).get(INET_DIAG_INFO)
    if info is not None:
        counts = retransmits_and_probes(info)
        if counts is not None:
            return counts
    if record.timer in (2, 4):  # sock_diag reports the probe count for these timers
        return 0, record.retrans
    return record.retrans, 0


def inet_rows(flags: Flags, names: render.Names, write: Callable[[str], None]) -> None:
    view = view_of(flags)
    families = [f for f, on in ((AF_INET, not flags.selected or flags.inet), (AF_INET6, not flags.selected or flags.inet6))
                if on]
    if not flags.selected or flags.tcp:
        if view.timers or view.extend > 1 or view.programs:
            for family in families:
                write(_tcp_rows(family, view, names))
        else:
            _plain_tcp_rows(families, view, names, write)
    if flags.sctp and flags.selected and not flags.no_protocol:
        raise MissingSupport("AF INET (sctp)")
    if flags.verbose and not flags.selected:
        _missing("AF INET (sctp)")
    for table in ("udp", "raw"):
        if flags.selected and not getattr(flags, table):
            continue
        formatter = render.RowFormatter(table, view, names)
        row = formatter.udp if table == "udp" else formatter.raw
        states = (1 << TCP_ESTABLISHED) | (1 << TCP_CLOSE) if table == "udp" else TCPF_ALL
        for family in families:
            write("".join([row(r) for r in inet_dump(table, family, states) if render.shows_datagram(r, view)]))


def _tcp_rows(family: int, view: render.SocketView, names: render.Names) -> str:
    formatter = render.RowFormatter("tcp", view, names)
    row = formatter.tcp
    records = inet_dump("tcp", family, _tcp_states(view), 1 << (INET_DIAG_INFO - 1) if view.timers else 0)
    if view.timers:
        return "".join([row(r, *_timer_counts(r)) for r in records if render.shows_tcp(r, view)])
    if view.extend > 1 or view.programs:
        return "".join([row(r) for r in records if render.shows_tcp(r, view)])
    return render.plain_tcp_rows(records, formatter, None if view.all else lambda r: render.shows_tcp(r, view))


def _plain_tcp_rows(families: list[int], view: render.SocketView, names: render.Names,
                    write: Callable[[str], None]) -> None:
    """``netstat -tn`` and the like (no -e, -p, -o): the dump read a buffer at a time, as columns.

    Both families go in one query, IPv4's first: both then come out of one
    dump (see :mod:`pyss.netlink.tcpdiag`).
    """
    from pyss import dump as dumps
    from pyss.netlink.decode import DumpInterrupted
    from pyss.netlink.transport import read_ahead_helps

    listing = render.TcpListing(render.RowFormatter("tcp", view, names), write)
    if not families:
        return
    query = kind_query(INET_KINDS["tcp", families[0]] if len(families) == 1 else "tcp", _tcp_states(view))
    for _kind, batches in dumps.batch_streams(query, None, warn, read_ahead_helps()):
        try:
            for batch in batches:
                batch.send(listing)
        except DumpInterrupted:
            warn(dumps.INTERRUPTED)


class MissingSupport(Exception):
    """A socket family this system cannot list (netstat: "no support for `AF ...' on this system")."""


def _programs() -> dict[int, str]:
    from pyss.names.netstat import program_table

    table = program_table()
    if os.geteuid() != 0:  # other users' /proc/PID/fd cannot be read
        if not table:
            sys.stderr.write(f"(No info could be read for \"-p\": geteuid()={os.geteuid()} but you should be root.)\n")
        else:
            sys.stderr.write("(Not all processes could be identified, non-owned process info\n"
                             " will not be shown, you would have to be root to see it all.)\n")
    return table


def list_sockets(flags: Flags, write: Callable[[str], None]) -> int:
    from pyss.names.netstat import NetstatNames

    view = view_of(flags)
    selected = flags.selected
    programs = _programs() if flags.programs else {}
    names = NetstatNames(flags.numeric_hosts, flags.numeric_ports, flags.numeric_users, programs)
    if not selected or flags.tcp or flags.sctp or flags.udp or flags.udplite or flags.raw:
        write(render.inet_header(view))
        inet_rows(flags, names, write)
    if flags.groups:
        write_groups(flags, names, write)
    if not selected or flags.unix:
        write(render.unix_header(view))
        unix_rows(view, names, write)
    for family, label in NO_SUPPORT.items():
        if family in flags.family_flags:
            raise MissingSupport(label)
        if flags.verbose and not selected:  # -v names every family this system cannot list
            _missing(label)
    if flags.l2cap or flags.rfcomm or "bluetooth" in flags.family_flags:
        sys.stdout.flush()
        sys.stderr.write(f"{PROG}: feature `AF BLUETOOTH' not supported.\n"
                         f"{PROG} lists no Bluetooth sockets (nor does the net-tools netstat it follows here).\n")
        return 1
    return 0


def _missing(label: str) -> None:
    sys.stdout.flush()
    sys.stderr.write(f"{PROG}: no support for `{label}' on this system.\n")


def write_groups(flags: Flags, names: render.Names, write: Callable[[str], None]) -> None:
    from pyss.network import groups
    from pyss.system.procfs import read_text

    write(groups.HEADER)
    rows: list[groups.Membership] = []
    if flags.inet:
        rows += groups.parse_igmp(read_text("/proc/net/igmp") or "")
    if flags.inet6:
        rows += groups.parse_igmp6(read_text("/proc/net/igmp6") or "")
    write(groups.lines(rows, names.host))
