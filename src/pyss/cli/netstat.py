"""pynetstat: net-tools netstat's flags and output, served from sock_diag and rtnetlink.

The option loop follows netstat's getopt_long rules (bundled short flags,
"-A inet" and "-Ainet", unique prefixes of long options), then the flags are
combined the way netstat combines them: naming a protocol (-t -u -w) selects
both IP families unless -4/-6/-A chose, naming a family without a protocol
selects every protocol of it, and no selection at all lists everything.
Sockets come from :func:`pyss.dump.sockets`; routes and links from
rtnetlink (pyroute2, imported only for -r/-i); counters and group
memberships from /proc, where the kernel publishes them.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, cast

from pyss.cli import guarded, open_output
from pyss.cli.options import Option, UsageError
from pyss.cli.options import parse as parse_options
from pyss.netlink.constants import (
    AF_INET,
    AF_INET6,
    AF_UNIX,
    INET_DIAG_INFO,
    TCP_CLOSE,
    TCP_ESTABLISHED,
    TCP_LISTEN,
    TCPF_ALL,
    UDIAG_SHOW_ICONS,
    UNIX_DIAG_ICONS,
)
from pyss.netlink.decode import DumpError, MalformedMessage
from pyss.records import InetSocket, SocketRecord, UnixSocket
from pyss.render import netstat as render

if TYPE_CHECKING:
    from pyss.query import Query

PROG = "pynetstat"
VERSION = "0.1.0"
E_OPTERR = 3

_LONG_NAMES = {
    "V": "version", "i": "interfaces", "h": "help", "r": "route", "M": "masquerade", "A": "protocol", "t": "tcp",
    "S": "sctp", "u": "udp", "U": "udplite", "w": "raw", "x": "unix", "2": "l2cap", "f": "rfcomm", "l": "listening",
    "a": "all", "o": "timers", "c": "continuous", "e": "extend", "p": "programs", "v": "verbose", "s": "statistics",
    "W": "wide", "n": "numeric", "N": "symbolic", "C": "cache", "F": "fib", "g": "groups", "Z": "context",
}
# netstat's option table: its short letters (with their long names), then the long-only options.
OPTIONS = (
    *(Option(letter, letter, _LONG_NAMES.get(letter), letter == "A", "") for letter in "ACFMacdeghilnNoprsStuUvVWw2fx64?Z"),
    Option("!", None, "numeric-hosts", False, ""),
    Option("@", None, "numeric-ports", False, ""),
    Option("#", None, "numeric-users", False, ""),
    *(Option("af:" + name, None, name, False, "") for name in (
        "ax25", "x25", "ip", "ipx", "appletalk", "netrom", "inet", "inet6", "ddp", "rose", "bluetooth", "tcpip")),
)
# -A names: alias -> (family name, the flag it raises)
FAMILY_ALIASES = {
    "ax25": "ax25", "ip": "inet", "ip6": "inet6", "ipx": "ipx", "rose": "rose", "appletalk": "ddp",
    "netrom": "netrom", "inet": "inet", "inet6": "inet6", "ddp": "ddp", "unix": "unix", "tcpip": "inet",
    "x25": "x25", "bluetooth": "bluetooth",
}
# families netstat knows but this system (like Debian's netstat here) cannot list
_NO_SUPPORT = {"ipx": "AF IPX", "ax25": "AF AX25", "x25": "AF X25", "netrom": "AF NETROM", "rose": "AF ROSE"}

USAGE = f"""\
Usage: {PROG} [-tuwx] [-a|-l] [-nWeopc] [-4|-6|-A FAMILY]   list sockets
       {PROG} -r [-n] [-e] [-4|-6]                          routing tables
       {PROG} -i [-a]                                       interfaces
       {PROG} -s [-t|-u|-w] [-6]                            protocol counters
       {PROG} -g [-n]                                       multicast group memberships
       {PROG} -V | --version,  -h | --help

Sockets shown: -t --tcp   -u --udp   -w --raw   -x --unix   (none named: all of them)
  -a --all          servers and connected sockets      -l --listening   servers only
  -n --numeric      numbers for hosts, ports and users (--numeric-hosts, --numeric-ports, --numeric-users)
  -W --wide         never shorten addresses            -e --extend      add User and Inode (-ee: more)
  -p --programs     add the owning PID/Program name    -o --timers      add the TCP timer
  -c --continuous   print again every second until interrupted
  -4 / -6 / -A inet,inet6,unix / --inet --inet6 --unix   choose address families
Other tables: -r --route   -i --interfaces   -s --statistics   -g --groups   -M --masquerade
Output matches net-tools netstat, read from the kernel's netlink interfaces.
"""


class FamilyError(Exception):
    """An unknown address family name: netstat names it and exits with 1."""


class NoSelinux(Exception):
    """-Z on a machine without SELinux: netstat refuses and exits with 1."""


class Flags:
    """netstat's flag counters, named after its variables.

    A plain class with class-level defaults: importing dataclasses would cost
    ~10 ms of pynetstat's start-up.
    """

    all: int = 0
    listening: int = 0
    continuous: int = 0
    groups: int = 0
    extend: int = 1
    programs: int = 0
    interfaces: int = 0
    wide: int = 0
    numeric_hosts: bool = False
    numeric_ports: bool = False
    numeric_users: bool = False
    timers: int = 0
    verbose: bool = False
    route: int = 0
    masquerade: int = 0
    statistics: int = 0
    tcp: int = 0
    sctp: int = 0
    udp: int = 0
    udplite: int = 0
    raw: int = 0
    l2cap: int = 0
    rfcomm: int = 0
    version: bool = False
    help: bool = False
    cache: bool = False
    fib: bool = False
    symbolic: bool = False  # -N: net-tools' route printers read it as "numeric"
    rounds: int = 0  # -c: listings printed so far (netstat titles its interface table once)
    no_protocol: bool = False  # netstat's flag_noprot: protocols implied by a family

    def __init__(self) -> None:
        self.families: list[str] = []  # netstat's afname list, in order
        self.family_flags: set[str] = set()

    def add_families(self, spec: str) -> None:
        for alias in spec.split(","):
            name = FAMILY_ALIASES.get(alias)
            if name is None:
                raise FamilyError(alias)
            self.families.append(name)
            self.family_flags.add(name)

    @property
    def inet(self) -> bool:
        return "inet" in self.family_flags

    @property
    def inet6(self) -> bool:
        return "inet6" in self.family_flags

    @property
    def unix(self) -> bool:
        return "unix" in self.family_flags

    @property
    def selected(self) -> int:
        """netstat's flag_arg: how many socket kinds were named."""
        others = sum(1 for name in (*_NO_SUPPORT, "bluetooth") if name in self.family_flags)
        return (self.tcp + self.sctp + self.udplite + self.udp + self.raw + int(self.unix) + others
                + self.groups + self.l2cap + self.rfcomm)


def _apply(flags: Flags, option: str, argument: str | None) -> None:
    if option.startswith("af:"):
        flags.add_families(option[3:])
        return
    simple = {
        "M": "masquerade", "a": "all", "l": "listening", "c": "continuous", "g": "groups", "p": "programs",
        "i": "interfaces", "W": "wide", "o": "timers", "r": "route", "t": "tcp", "S": "sctp", "u": "udp",
        "U": "udplite", "w": "raw", "2": "l2cap", "f": "rfcomm", "s": "statistics", "e": "extend",
    }
    if option in simple:
        name = simple[option]
        setattr(flags, name, getattr(flags, name) + 1)
    elif option == "A":
        flags.add_families(argument or "")
    elif option == "n":
        flags.numeric_hosts = flags.numeric_ports = flags.numeric_users = True
    elif option == "!":
        flags.numeric_hosts = True
    elif option == "@":
        flags.numeric_ports = True
    elif option == "#":
        flags.numeric_users = True
    elif option == "6":
        flags.add_families("inet6")
    elif option == "4":
        flags.add_families("inet")
    elif option == "x":
        flags.add_families("unix")
    elif option == "v":
        flags.verbose = True
    elif option == "C":
        flags.cache = True
    elif option == "F":
        flags.fib = True
    elif option == "N":
        flags.symbolic = True
    elif option == "V":
        flags.version = True
    elif option == "h":
        flags.help = True
    elif option == "Z":
        raise NoSelinux()
    # -d: accepted and without effect, as in netstat on Linux


def parse(argv: list[str]) -> Flags:
    """Read argv with getopt_long's rules (pyss.cli.options) and netstat's option table."""
    found, _operands = parse_options(argv, OPTIONS)  # netstat ignores operands
    flags = Flags()
    for key, value in found:
        if key == "?":  # in netstat's option string: the usage, without a complaint
            raise UsageError("")
        _apply(flags, key, value)
    return flags


# ---------------------------------------------------------------------------------------------- sockets


def _finish_selection(flags: Flags) -> None:
    """netstat's defaults: a family without protocols means all its protocols; a protocol means both IP families."""
    protocols = flags.tcp or flags.sctp or flags.udp or flags.udplite or flags.raw
    if (flags.inet or flags.inet6 or flags.statistics) and not protocols:
        flags.no_protocol = True
        flags.tcp = flags.sctp = flags.udp = flags.udplite = flags.raw = 1
    if (flags.tcp or flags.sctp or flags.udp or flags.udplite or flags.raw or flags.groups) \
            and not (flags.inet or flags.inet6):
        flags.family_flags.update(("inet", "inet6"))


def _view(flags: Flags) -> render.SocketView:
    return render.SocketView(all=bool(flags.all), listening=bool(flags.listening), extend=flags.extend,
                             programs=bool(flags.programs), timers=bool(flags.timers), wide=bool(flags.wide))


def _tcp_states(view: render.SocketView) -> int:
    # /proc/net/tcp lists hashed sockets only; a bound, unconnected one (TCP_CLOSE) never appears there.
    everything = TCPF_ALL & ~(1 << TCP_CLOSE)
    if view.all:
        return everything
    return 1 << TCP_LISTEN if view.listening else everything & ~(1 << TCP_LISTEN)


def _dump(table: str, family: int, states: int, inet_extensions: int = 0, unix_extensions: int = 0) -> Iterator[SocketRecord]:
    from pyss import dump
    from pyss.query import Extensions

    extensions = Extensions(inet=inet_extensions, unix=unix_extensions)
    return dump.sockets(_query(table, family, states), extensions, _warn)


def _query(table: str, family: int, states: int) -> Query:
    """One table of one family, as netstat lists them one at a time."""
    from pyss.query import TABLE_BIT, Query

    tables = TABLE_BIT[table] if table != "unix" else (
        TABLE_BIT["unix_stream"] | TABLE_BIT["unix_dgram"] | TABLE_BIT["unix_seqpacket"])
    return Query(tables=tables, families=1 << family, states=states, preferred_family=family)


def _warn(message: str) -> None:
    """A table the kernel cannot dump (its *_diag module is missing): say so and go on, like netstat."""
    sys.stdout.flush()
    sys.stderr.write(f"{PROG}: {message}\n")


def _inet_dump(table: str, family: int, states: int, extensions: int = 0) -> Iterator[InetSocket]:
    # an inet table's dump yields InetSocket records only
    return cast(Iterator[InetSocket], _dump(table, family, states, extensions))


def _timer_counts(record: InetSocket) -> tuple[int, int]:
    """(retransmits, keepalive probes) as /proc shows them, from tcp_info when the kernel sent it."""
    from pyss.netlink.decode import inet_attributes

    info = inet_attributes(record).get(INET_DIAG_INFO)
    if info is not None and len(info) >= 4:
        return info[2], info[3]
    if record.timer in (2, 4):  # sock_diag reports the probe count for these timers
        return 0, record.retrans
    return record.retrans, 0


def inet_rows(flags: Flags, names: render.Names, write: Callable[[str], None]) -> None:
    view = _view(flags)
    families = [f for f, on in ((AF_INET, not flags.selected or flags.inet), (AF_INET6, not flags.selected or flags.inet6))
                if on]
    if not flags.selected or flags.tcp:
        for family in families:
            if view.timers or view.extend > 1 or view.programs:
                write(_tcp_rows(family, view, names))
            else:
                _plain_tcp_rows(family, view, names, write)
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
            write("".join([row(r) for r in _inet_dump(table, family, states) if render.shows_datagram(r, view)]))


def _tcp_rows(family: int, view: render.SocketView, names: render.Names) -> str:
    formatter = render.RowFormatter("tcp", view, names)
    row = formatter.tcp
    records = _inet_dump("tcp", family, _tcp_states(view), 1 << (INET_DIAG_INFO - 1) if view.timers else 0)
    if view.timers:
        return "".join([row(r, *_timer_counts(r)) for r in records if render.shows_tcp(r, view)])
    if view.extend > 1 or view.programs:
        return "".join([row(r) for r in records if render.shows_tcp(r, view)])
    return render.plain_tcp_rows(records, formatter, None if view.all else lambda r: render.shows_tcp(r, view))


def _plain_tcp_rows(family: int, view: render.SocketView, names: render.Names, write: Callable[[str], None]) -> None:
    """``netstat -tn`` and the like (no -e, -p, -o): the dump read a buffer at a time, as columns."""
    from pyss import dump
    from pyss.netlink.decode import DumpInterrupted
    from pyss.netlink.transport import read_ahead_helps

    formatter = render.RowFormatter("tcp", view, names)
    keep = None if view.all else lambda record: render.shows_tcp(record, view)
    query = _query("tcp", family, _tcp_states(view))
    for _kind, items in dump.listing_streams(query, None, _warn, read_ahead_helps()):
        try:
            for item in items:
                if isinstance(item, list):  # a buffer whose sockets needed their records
                    write(render.plain_tcp_rows(item, formatter, keep))
                else:
                    write(render.tcp_column_rows(item, formatter))  # type: ignore[arg-type]
        except DumpInterrupted:
            _warn(dump.INTERRUPTED)


def unix_rows(flags: Flags, names: render.Names, write: Callable[[str], None]) -> None:
    view = _view(flags)
    records: list[UnixSocket] = []
    # Servers only: nothing holds a listener as its peer, so no other socket is needed to count references.
    states = 1 << TCP_LISTEN if view.listening and not view.all else TCPF_ALL
    for record in _dump("unix", AF_UNIX, states, unix_extensions=UDIAG_SHOW_ICONS):
        assert isinstance(record, UnixSocket)
        records.append(record)
    pending = _pending_peers(records)
    counts = render.unix_refcounts(records, pending)
    rows = []
    for record in records:
        if render.unix_is_listening(record):
            # not-yet-accepted connections: sock_diag skips them (no inode); /proc lists them
            for _ in _icons(record):
                embryo = record._replace(state=TCP_ESTABLISHED, inode=0, peer=0)
                if render.shows_unix(embryo, view):
                    rows.append(render.unix_row(embryo, 3, view, names))
        if render.shows_unix(record, view):
            rows.append(render.unix_row(record, counts.get(record.inode, 2), view, names))
    write("".join(rows))


def _icons(record: UnixSocket) -> list[int]:
    from pyss.netlink.decode import attributes

    raw = attributes(record.attrs, 0, len(record.attrs)).get(UNIX_DIAG_ICONS, b"")
    return [int.from_bytes(raw[i:i + 4], sys.byteorder) for i in range(0, len(raw) - 3, 4)]


def _pending_peers(records: list[UnixSocket]) -> dict[int, int]:
    pending: dict[int, int] = {}
    for record in records:
        if render.unix_is_listening(record):
            for inode in _icons(record):
                pending[inode] = pending.get(inode, 0) + 1
    return pending


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

    view = _view(flags)
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
        unix_rows(flags, names, write)
    for family, label in _NO_SUPPORT.items():
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

    write(groups.HEADER)
    rows: list[groups.Membership] = []
    if flags.inet:
        rows += groups.parse_igmp(_proc_text("/proc/net/igmp"))
    if flags.inet6:
        rows += groups.parse_igmp6(_proc_text("/proc/net/igmp6"))
    write(groups.lines(rows, names.host))


# ---------------------------------------------------------------------------------------------- other tables


def show_routes(flags: Flags, write: Callable[[str], None]) -> int:
    from pyss.names.netstat import NetstatNames
    from pyss.network import routes

    names = NetstatNames(flags.numeric_hosts or flags.symbolic, flags.numeric_ports, flags.numeric_users)
    ext = {1: 2, 2: 1}.get(flags.extend, flags.extend)
    fib = flags.fib or not flags.cache
    for family in flags.families or ["inet"]:
        if family == "inet":
            if fib:
                table = routes.fetch([AF_INET])
                write(routes.ipv4_lines(table, lambda r: names.route_destination(r.dst, r.dst_len), names.gateway,
                                        ext))
            if flags.cache:
                write(routes.ipv4_cache_header(ext))
        elif family == "inet6":
            if fib:
                table = routes.fetch([AF_INET6])
                write(routes.ipv6_lines(table, lambda packed: names.host(AF_INET6, packed)))
            if flags.cache:  # cached (exception) routes are not dumped: the header only, as on an idle host
                write(routes.IPV6_CACHE_HEADER)
        else:
            sys.stderr.write(f"No routing for address family `{family}'.\n")
            return E_OPTERR
    return 0


def show_masquerade(flags: Flags, write: Callable[[str], None]) -> int:
    from pyss.names.netstat import NetstatNames
    from pyss.network import masquerade
    from pyss.system.procfs import read_text

    text = read_text(masquerade.CONNTRACK_PATH)
    if text is None:
        sys.stderr.write(f"{PROG}: no support for `ip_masquerade' on this system.\n")
        return 1
    names = NetstatNames(flags.numeric_hosts, flags.numeric_ports, flags.numeric_users)
    write(masquerade.lines(masquerade.parse(text), lambda packed: names.host(AF_INET, packed), names.service,
                           flags.extend))
    return 0


def show_interfaces(flags: Flags, write: Callable[[str], None]) -> int:
    from pyss.network import interfaces

    if flags.extend > 1:
        inet6 = interfaces.parse_if_inet6(_proc_text("/proc/net/if_inet6"))
        write(interfaces.long_table(interfaces.fetch(), bool(flags.all), inet6, flags.rounds == 0))
    else:
        write(interfaces.table(interfaces.fetch(), bool(flags.all), flags.rounds == 0))
    return 0


def _proc_text(path: str) -> str:
    from pyss.system.procfs import read_text

    return read_text(path) or ""


def show_statistics(flags: Flags, write: Callable[[str], None]) -> int:
    from pyss.network import statistics
    from pyss.system.procfs import read_text as read

    shown = frozenset(name for name in ("tcp", "udp", "raw", "sctp") if getattr(flags, name))
    family = ",".join(flags.families) or "inet"
    if family == "inet":
        snmp = read("/proc/net/snmp")
        if snmp is None:
            sys.stderr.write("cannot open /proc/net/snmp: No such file or directory\n")
            return 0
        write(statistics.render_inet(snmp, read("/proc/net/netstat") or "", shown, read("/proc/net/sctp/snmp")))
    elif family == "inet6":
        write(statistics.render_inet6(read("/proc/net/snmp6") or "", read("/proc/net/snmp") or "", shown))
    else:
        write(f"{PROG}: No statistics support for specified address family: {family}\n")
        return 1
    return 0


# ---------------------------------------------------------------------------------------------- main


def _write(text: str) -> None:
    if text:
        sys.stdout.write(text)


def run(flags: Flags) -> int:
    if flags.interfaces + flags.route + flags.masquerade + flags.statistics > 1:
        raise UsageError("")
    _finish_selection(flags)
    if flags.statistics:
        return show_statistics(flags, _write)
    action: Callable[[Flags, Callable[[str], None]], int] = list_sockets
    if flags.masquerade:
        action = show_masquerade
    elif flags.route:
        action = show_routes
    elif flags.interfaces:
        action = show_interfaces
    while True:
        status = action(flags, _write)
        if status or not flags.continuous:
            return status
        flags.rounds += 1
        sys.stdout.flush()
        time.sleep(1)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    open_output()
    return guarded(PROG, lambda: _main(args))


def _main(args: list[str]) -> int:
    try:
        try:
            flags = parse(args)
        except UsageError as error:
            if str(error):
                sys.stderr.write(f"{PROG}: {error}\n")
            sys.stderr.write(USAGE)
            return E_OPTERR
        except FamilyError as error:
            sys.stderr.write(f"Unknown address family `{error}'.\n")
            return 1
        except NoSelinux:
            sys.stderr.write("SELinux is not enabled on this machine.\n")
            return 1
        if flags.version:
            sys.stdout.write(f"{PROG} {VERSION} (pyss): net-tools netstat's interface over sock_diag and rtnetlink\n")
            return 0
        if flags.help:
            sys.stdout.write(USAGE)
            return 0
        try:
            return run(flags)
        except UsageError:
            sys.stderr.write(USAGE)
            return E_OPTERR
        except MissingSupport as missing:
            sys.stdout.flush()
            sys.stderr.write(f"{PROG}: no support for `{missing}' on this system.\n")
            return 1
        except (MalformedMessage, DumpError) as error:
            sys.stdout.flush()
            reason = error.strerror if isinstance(error, DumpError) else f"malformed reply from the kernel: {error}"
            sys.stderr.write(f"{PROG}: cannot read sockets: {reason}\n")
            return 1
        finally:
            sys.stdout.flush()
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
