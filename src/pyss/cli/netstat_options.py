"""pynetstat's command line: netstat's option table, its flag counters, and how it combines them.

The option loop follows netstat's getopt_long rules (bundled short flags,
"-A inet" and "-Ainet", unique prefixes of long options), then the flags are
combined the way netstat combines them (:func:`finish_selection`): naming a
protocol (-t -u -w) selects both IP families unless -4/-6/-A chose, naming a
family without a protocol selects every protocol of it, and no selection at
all lists everything. Pure: nothing here reads the system.
"""

from __future__ import annotations

from pyss.cli.options import Option, UsageError, read_options

PROG = "pynetstat"

# -A names and --<family> options (all but ip6), in netstat's getopt order: alias -> family name
FAMILY_ALIASES = {
    "ax25": "ax25", "x25": "x25", "ip": "inet", "ip6": "inet6", "ipx": "ipx", "appletalk": "ddp", "netrom": "netrom",
    "inet": "inet", "inet6": "inet6", "ddp": "ddp", "rose": "rose", "bluetooth": "bluetooth", "unix": "unix",
    "tcpip": "inet",
}
_O = Option
# netstat's option table in its getopt order (pyss.cli.options: the order decides what an abbreviation
# means and how an ambiguous one is reported). Keys are Flags attributes; "family" is net-tools'
# --<family> options, one option to getopt, told apart by the long name.
OPTIONS = (
    *(_O("family", None, name, False, "") for name in FAMILY_ALIASES if name != "ip6"),
    _O("version", "V", "version", False, ""), _O("interfaces", "i", "interfaces", False, ""),
    _O("help", "h", "help", False, ""), _O("route", "r", "route", False, ""),
    _O("masquerade", "M", "masquerade", False, ""), _O("protocol", "A", "protocol", True, ""),
    _O("tcp", "t", "tcp", False, ""), _O("sctp", "S", "sctp", False, ""), _O("udp", "u", "udp", False, ""),
    _O("udplite", "U", "udplite", False, ""), _O("raw", "w", "raw", False, ""), _O("unix", "x", "unix", False, ""),
    _O("l2cap", "2", "l2cap", False, ""), _O("rfcomm", "f", "rfcomm", False, ""),
    _O("listening", "l", "listening", False, ""), _O("all", "a", "all", False, ""),
    _O("timers", "o", "timers", False, ""), _O("continuous", "c", "continuous", False, ""),
    _O("extend", "e", "extend", False, ""), _O("programs", "p", "programs", False, ""),
    _O("verbose", "v", "verbose", False, ""), _O("statistics", "s", "statistics", False, ""),
    _O("wide", "W", "wide", False, ""), _O("numeric", "n", "numeric", False, ""),
    _O("numeric_hosts", None, "numeric-hosts", False, ""), _O("numeric_ports", None, "numeric-ports", False, ""),
    _O("numeric_users", None, "numeric-users", False, ""), _O("symbolic", "N", "symbolic", False, ""),
    _O("cache", "C", "cache", False, ""), _O("fib", "F", "fib", False, ""), _O("groups", "g", "groups", False, ""),
    _O("context", "Z", "context", False, ""),
    _O("inet", "4", None, False, ""), _O("inet6", "6", None, False, ""),
    _O("usage", "?", None, False, ""),  # in netstat's option string: the usage, without a complaint
    _O("debug", "d", None, False, ""),  # accepted and without effect, as in netstat on Linux
)
# Flags counted (netstat's flag_* integers: -ee is 2) and flags merely raised
_COUNTERS = frozenset(("masquerade", "all", "listening", "continuous", "groups", "programs", "interfaces", "wide",
                       "timers", "route", "tcp", "sctp", "udp", "udplite", "raw", "l2cap", "rfcomm", "statistics",
                       "extend"))
_SWITCHES = frozenset(("verbose", "cache", "fib", "symbolic", "numeric_hosts", "numeric_ports", "numeric_users"))
# families netstat knows but this system (like Debian's netstat here) cannot list
NO_SUPPORT = {"ipx": "AF IPX", "ax25": "AF AX25", "x25": "AF X25", "netrom": "AF NETROM", "rose": "AF ROSE"}

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
        others = sum(1 for name in (*NO_SUPPORT, "bluetooth") if name in self.family_flags)
        return (self.tcp + self.sctp + self.udplite + self.udp + self.raw + int(self.unix) + others
                + self.groups + self.l2cap + self.rfcomm)


def _apply(flags: Flags, option: Option, argument: str | None) -> None:
    key = option.key
    if key in _COUNTERS:
        setattr(flags, key, getattr(flags, key) + 1)
    elif key in _SWITCHES:
        setattr(flags, key, True)
    elif key == "numeric":
        flags.numeric_hosts = flags.numeric_ports = flags.numeric_users = True
    elif key == "family":
        flags.add_families(option.long or "")
    elif key == "protocol":
        flags.add_families(argument or "")
    elif key in ("inet", "inet6", "unix"):
        flags.add_families(key)
    elif key == "context":
        raise NoSelinux()
    elif key == "usage":
        raise UsageError("")


def parse(argv: list[str]) -> Flags:
    """Read argv in order with getopt_long's rules (pyss.cli.options) and netstat's option table.
    Like netstat, -V and -h end the reading: nothing after them is looked at."""
    flags = Flags()
    for option, value in read_options(argv, OPTIONS, []):  # netstat ignores operands
        if option.key in ("version", "help"):
            setattr(flags, option.key, True)
            break
        _apply(flags, option, value)
    return flags


def finish_selection(flags: Flags) -> None:
    """netstat's defaults: a family without protocols means all its protocols; a protocol means both IP families."""
    protocols = flags.tcp or flags.sctp or flags.udp or flags.udplite or flags.raw
    if (flags.inet or flags.inet6 or flags.statistics) and not protocols:
        flags.no_protocol = True
        flags.tcp = flags.sctp = flags.udp = flags.udplite = flags.raw = 1
    if (flags.tcp or flags.sctp or flags.udp or flags.udplite or flags.raw or flags.groups) \
            and not (flags.inet or flags.inet6):
        flags.family_flags.update(("inet", "inet6"))
