"""ss -s: socket counts from the kernel's /proc/net/sockstat{,6} and /proc/net/snmp (or the files ss's
PROC_ROOT and PROC_NET_SOCKSTAT[6]/PROC_NET_SNMP name).

ss 6.1 builds its summary from those files alone (it no longer walks the
socket tables for -s), so pyss does the same; the counts are therefore the
kernel's own, taken at one instant. :func:`summary_text` is pure formatting;
:func:`read_summary` is the only I/O.
"""

from __future__ import annotations

import itertools

from pyss.lite_typing import TYPE_CHECKING, NamedTuple
from pyss.system.procfs import proc_file, read_text
from pyss.system.sockstat import parse_sockstat

if TYPE_CHECKING:
    from typing import TextIO


class SockStat(NamedTuple):
    """The sockstat figures ss reads (its struct ssummary), all 0 when absent."""

    sockets: int = 0
    tcp_inuse: int = 0  # IPv4 hashed
    tcp_orphans: int = 0
    tcp_timewait: int = 0
    tcp_alloc: int = 0
    tcp_mem: int = 0
    tcp6_inuse: int = 0
    udp: int = 0
    udp6: int = 0
    raw: int = 0
    raw6: int = 0
    frag: int = 0
    frag_mem: int = 0
    frag6: int = 0
    frag6_mem: int = 0
    tcp_established: int = 0  # Tcp: CurrEstab from /proc/net/snmp


def parse_snmp(text: str, protocol: str = "Tcp:", key: str = "CurrEstab") -> int:
    """One counter from /proc/net/snmp's header/value line pairs (0 when absent)."""
    lines = text.splitlines()
    for header, values in itertools.pairwise(lines):
        if not (header.startswith(protocol) and values.startswith(protocol)):
            continue
        names = header.split()
        if key in names:
            index = names.index(key)
            numbers = values.split()
            if index < len(numbers):
                try:
                    return int(numbers[index])
                except ValueError:
                    return 0
    return 0


def summary_text(stat: SockStat) -> str:
    """ss -s, byte for byte (print_summary)."""
    tcp_hashed = stat.tcp_inuse + stat.tcp6_inuse
    closed = stat.tcp_alloc - (tcp_hashed - stat.tcp_timewait)
    ip = stat.raw + stat.udp + stat.tcp_inuse
    ipv6 = stat.raw6 + stat.udp6 + stat.tcp6_inuse
    rows = (
        ("RAW", stat.raw, stat.raw6),
        ("UDP", stat.udp, stat.udp6),
        ("TCP", stat.tcp_inuse, stat.tcp6_inuse),
        ("INET", ip, ipv6),
        ("FRAG", stat.frag, stat.frag6),
    )
    lines = [
        f"Total: {stat.sockets}",
        f"TCP:   {stat.tcp_alloc + stat.tcp_timewait} (estab {stat.tcp_established}, closed {closed}, "
        f"orphaned {stat.tcp_orphans}, timewait {stat.tcp_timewait})",
        "",
        "Transport Total     IP        IPv6",
        *(f"{name}\t  {v4 + v6:<9d} {v4:<9d} {v6:<9d}" for name, v4, v6 in rows),
        "",
    ]
    return "\n".join(lines) + "\n"


def read_summary(proc_net: str | None = None) -> tuple[SockStat, list[str]]:
    """Read the kernel's counters; also return ss's complaints for files it could not read.

    The files are ss's: $PROC_NET_SOCKSTAT, $PROC_NET_SOCKSTAT6 and $PROC_NET_SNMP, or else
    sockstat, sockstat6 and snmp under $PROC_ROOT/net (PROC_ROOT defaulting to /proc); ``proc_net``
    names one directory for all three instead."""
    def path(variable: str, name: str) -> str:
        return f"{proc_net}/{name}" if proc_net is not None else proc_file(variable, f"net/{name}")

    errors: list[str] = []
    fields: dict[str, int] = {}
    sockstat = read_text(path("PROC_NET_SOCKSTAT", "sockstat"))
    if sockstat is None:
        errors.append("pyss: get_sockstat: No such file or directory")
    else:
        fields.update(parse_sockstat(sockstat))
        fields.update(parse_sockstat(read_text(path("PROC_NET_SOCKSTAT6", "sockstat6")) or ""))
    snmp = read_text(path("PROC_NET_SNMP", "snmp"))
    if snmp is None:
        errors.append("pyss: get_snmpstat: No such file or directory")
    else:
        fields["tcp_established"] = parse_snmp(snmp)
    return SockStat(**fields), errors


def print_summary(out: TextIO, err: TextIO | None = None) -> None:
    """Write ss -s to ``out`` (problems reading /proc to ``err``, as ss's perror does)."""
    stat, errors = read_summary()
    if err is not None:
        for line in errors:
            err.write(line + "\n")
    out.write(summary_text(stat))
