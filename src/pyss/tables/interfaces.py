"""netstat -i: the interface table, from an RTM_GETLINK dump (pyroute2) in net-tools' short layout.

net-tools takes its counters from /proc/net/dev, whose "drop" column is the
kernel's rx_dropped plus rx_missed_errors; the link dump's 64-bit statistics
carry both, so the sum is rebuilt here. Flags are the SIOCGIFFLAGS view
(the low 16 bits of ifi_flags).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

IFF_UP, IFF_BROADCAST, IFF_DEBUG, IFF_LOOPBACK = 0x1, 0x2, 0x4, 0x8
IFF_POINTOPOINT, IFF_NOTRAILERS, IFF_RUNNING, IFF_NOARP = 0x10, 0x20, 0x40, 0x80
IFF_PROMISC, IFF_ALLMULTI, IFF_MASTER, IFF_SLAVE, IFF_MULTICAST, IFF_DYNAMIC = 0x100, 0x200, 0x400, 0x800, 0x1000, 0x8000

# net-tools' letters, in the order it prints them
_FLAG_LETTERS = (
    (IFF_ALLMULTI, "A"), (IFF_BROADCAST, "B"), (IFF_DEBUG, "D"), (IFF_LOOPBACK, "L"), (IFF_MULTICAST, "M"),
    (IFF_DYNAMIC, "d"), (IFF_PROMISC, "P"), (IFF_NOTRAILERS, "N"), (IFF_NOARP, "O"), (IFF_POINTOPOINT, "P"),
    (IFF_SLAVE, "s"), (IFF_MASTER, "m"), (IFF_RUNNING, "R"), (IFF_UP, "U"),
)
HEADER = "Iface             MTU    RX-OK RX-ERR RX-DRP RX-OVR    TX-OK TX-ERR TX-DRP TX-OVR Flg\n"


class Interface(NamedTuple):
    name: str
    flags: int
    mtu: int
    stats: dict[str, int] | None  # rtnl_link_stats64 fields, None when the kernel sent none


def flag_letters(flags: int) -> str:
    if flags == 0:
        return "[NO FLAGS]"
    return "".join(letter for bit, letter in _FLAG_LETTERS if flags & bit)


def short_line(interface: Interface) -> str:
    line = f"{interface.name[:15]:<15} {interface.mtu:5} "
    stats = interface.stats
    if stats is None:
        line += f"{'     - no statistics available -':<56}"
    else:
        rx_dropped = stats.get("rx_dropped", 0) + stats.get("rx_missed_errors", 0)
        line += (f"{stats.get('rx_packets', 0):8} {stats.get('rx_errors', 0):6} {rx_dropped:6} "
                 f"{stats.get('rx_fifo_errors', 0):<6} "
                 f"{stats.get('tx_packets', 0):8} {stats.get('tx_errors', 0):6} {stats.get('tx_dropped', 0):6} "
                 f"{stats.get('tx_fifo_errors', 0):6} ")
    return line + flag_letters(interface.flags) + "\n"


def _split_alias(name: str) -> tuple[str, str | None]:
    """"eth0:1" -> ("eth0", "1"): a ':' followed by digits at the end marks an alias."""
    stem = name.rstrip("0123456789")
    if stem != name and stem.endswith(":"):
        return stem[:-1], name[len(stem):]
    return name, None


def _digits_start(name: str) -> int:
    return len(name.rstrip("0123456789"))


def name_order(a: str, b: str) -> int:
    """net-tools' interface order: text first, then the number it ends with, then the alias number."""
    a_name, a_alias = _split_alias(a)
    b_name, b_alias = _split_alias(b)
    a_index, b_index = _digits_start(a_name), _digits_start(b_name)
    common = min(a_index, b_index)
    if a_name[:common] != b_name[:common]:
        return -1 if a_name[:common] < b_name[:common] else 1
    if a_index != b_index:
        return 1 if a_index > b_index else -1
    a_number, b_number = int(a_name[a_index:] or 0), int(b_name[b_index:] or 0)
    if a_number != b_number:
        return -1 if a_number < b_number else 1
    if a_name != b_name:
        return -1 if a_name < b_name else 1
    a_value = int(a_alias) if a_alias is not None else -1
    b_value = int(b_alias) if b_alias is not None else -1
    return (a_value > b_value) - (a_value < b_value)


def table(interfaces: Iterable[Interface], show_all: bool) -> str:
    """netstat -i (-a also lists interfaces that are down), in net-tools' name order."""
    from functools import cmp_to_key

    ordered = sorted(interfaces, key=lambda i: cmp_to_key(name_order)(i.name))
    lines = ["Kernel Interface table\n", HEADER]
    lines.extend(short_line(i) for i in ordered if show_all or i.flags & IFF_UP)
    return "".join(lines)


def fetch() -> list[Interface]:
    """Every link of this network namespace, in the kernel's dump order (pyroute2 imported here only)."""
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        return [_interface(link) for link in ipr.get_links()]


def _interface(link: Any) -> Interface:
    stats = link.get("stats64") or link.get("stats")
    return Interface(
        name=str(link.get("ifname") or ""),
        flags=int(link["flags"]) & 0xFFFF,
        mtu=int(link.get("mtu") or 0),
        stats={key: int(value) for key, value in dict(stats).items()} if stats else None,
    )
