"""pynetstat's other tables: routes (-r), masquerade (-M), interfaces (-i) and counters (-s).

Routes and links come from rtnetlink (pyroute2, imported only here), counters
from /proc, where the kernel publishes them; :mod:`pyss.network` renders each.
"""

from __future__ import annotations

import sys

from pyss.cli.netstat_options import PROG, Flags
from pyss.lite_typing import TYPE_CHECKING
from pyss.netlink.constants import AF_INET, AF_INET6

if TYPE_CHECKING:
    from collections.abc import Callable

E_OPTERR = 3  # netstat's exit status for a bad command line


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
