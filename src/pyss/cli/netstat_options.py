"""pynetstat's command line: netstat's option table, its flag counters, and how it combines them.

The option loop follows netstat's getopt_long rules (bundled short flags,
"-A inet" and "-Ainet", unique prefixes of long options), then the flags are
combined the way netstat combines them (:func:`finish_selection`): naming a
protocol (-t -u -w) selects both IP families unless -4/-6/-A chose, naming a
family without a protocol selects every protocol of it, and no selection at
all lists everything. Pure: nothing here reads the system.
"""

from __future__ import annotations

from pyss.cli.options import Option, UsageError
from pyss.cli.options import parse as parse_options

PROG = "pynetstat"

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




def finish_selection(flags: Flags) -> None:
    """netstat's defaults: a family without protocols means all its protocols; a protocol means both IP families."""
    protocols = flags.tcp or flags.sctp or flags.udp or flags.udplite or flags.raw
    if (flags.inet or flags.inet6 or flags.statistics) and not protocols:
        flags.no_protocol = True
        flags.tcp = flags.sctp = flags.udp = flags.udplite = flags.raw = 1
    if (flags.tcp or flags.sctp or flags.udp or flags.udplite or flags.raw or flags.groups) \
            and not (flags.inet or flags.inet6):
        flags.family_flags.update(("inet", "inet6"))
