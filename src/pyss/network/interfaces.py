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


ARPHRD_ETHER, ARPHRD_LOOPBACK = 1, 772


class Address4(NamedTuple):
    address: bytes
    prefix: int
    broadcast: bytes
    peer: bytes


class Interface(NamedTuple):
    name: str
    flags: int
    mtu: int
    stats: dict[str, int] | None  # rtnl_link_stats64 fields, None when the kernel sent none
    hw_type: int = ARPHRD_ETHER
    hw_address: bytes = b""
    tx_queue: int = -1
    ipv4: Address4 | None = None  # the address SIOCGIFADDR would report (the first one labelled with the name)


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


def table(interfaces: Iterable[Interface], show_all: bool, title: bool = True) -> str:
    """netstat -i (-a also lists interfaces that are down), in net-tools' name order."""
    from functools import cmp_to_key

    ordered = sorted(interfaces, key=lambda i: cmp_to_key(name_order)(i.name))
    lines = ["Kernel Interface table\n", HEADER] if title else [HEADER]
    lines.extend(short_line(i) for i in ordered if show_all or i.flags & IFF_UP)
    return "".join(lines)


_FLAG_WORDS = (
    (IFF_UP, "UP"), (IFF_BROADCAST, "BROADCAST"), (IFF_DEBUG, "DEBUG"), (IFF_LOOPBACK, "LOOPBACK"),
    (IFF_POINTOPOINT, "POINTOPOINT"), (IFF_NOTRAILERS, "NOTRAILERS"), (IFF_RUNNING, "RUNNING"), (IFF_NOARP, "NOARP"),
    (IFF_PROMISC, "PROMISC"), (IFF_ALLMULTI, "ALLMULTI"), (IFF_SLAVE, "SLAVE"), (IFF_MASTER, "MASTER"),
    (IFF_MULTICAST, "MULTICAST"), (IFF_DYNAMIC, "DYNAMIC"),
)
_SCOPE_WORDS = ((0x20, "link"), (0x40, "site"), (0x10, "host"))
_UNITS = ((1 << 60, "EiB"), (1 << 50, "PiB"), (1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"))


class Address6(NamedTuple):
    device: str
    address: bytes
    prefix: int
    scope: int


def parse_if_inet6(text: str) -> list[Address6]:
    """/proc/net/if_inet6, whose order (the kernel's address hash) is the order net-tools prints."""
    rows = []
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 6 and len(words[0]) == 32:
            rows.append(Address6(words[5], bytes.fromhex(words[0]), int(words[2], 16), int(words[3], 16)))
    return rows


def human_bytes(count: int) -> str:
    """net-tools' "(1.5 KiB)": tenths, truncated, with the unit chosen by strictly-greater thresholds."""
    for limit, unit in _UNITS:
        if count > limit:
            tenths = count // (limit // 10) if unit == "EiB" else count * 10 // limit
            return f"{tenths // 10}.{tenths % 10} {unit}"
    return f"{count}.0 B"


def _hardware(interface: Interface) -> str:
    if interface.hw_type == ARPHRD_LOOPBACK:
        text = "loop"
        title = "Local Loopback"
    elif interface.hw_type == ARPHRD_ETHER:
        text = "ether " + ":".join(f"{b:02x}" for b in interface.hw_address.ljust(6, b"\0")[:6])
        title = "Ethernet"
    else:
        text = "unspec " + "-".join(f"{b:02X}" for b in interface.hw_address.ljust(16, b"\0")[:16])
        title = "UNSPEC"
    if interface.tx_queue != -1:
        text += f"  txqueuelen {interface.tx_queue}"
    return f"        {text}  ({title})\n"


def long_block(interface: Interface, inet6: list[Address6]) -> str:
    """One interface in net-tools' long form (netstat -ie, ifconfig's layout)."""
    import socket

    words = [word for bit, word in _FLAG_WORDS if interface.flags & bit]
    out = [f"{interface.name}: flags={interface.flags}<{','.join(words)}>  mtu {interface.mtu}\n"]
    ipv4 = interface.ipv4
    if ipv4 is not None:
        mask = ((0xFFFFFFFF << (32 - ipv4.prefix)) & 0xFFFFFFFF).to_bytes(4, "big")
        line = f"        inet {socket.inet_ntoa(ipv4.address)}  netmask {socket.inet_ntoa(mask)}"
        if interface.flags & IFF_BROADCAST:
            line += f"  broadcast {socket.inet_ntoa(ipv4.broadcast)}"
        if interface.flags & IFF_POINTOPOINT:
            line += f"  destination {socket.inet_ntoa(ipv4.peer)}"
        out.append(line + "\n")
    for address in inet6:
        if address.device != interface.name:
            continue
        scope = address.scope & ~0x80
        names = (["compat"] if address.scope & 0x80 else []) + (["global"] if scope == 0 else []) + \
            [word for bit, word in _SCOPE_WORDS if scope & bit]
        text = socket.inet_ntop(socket.AF_INET6, address.address)
        out.append(f"        inet6 {text}  prefixlen {address.prefix}  scopeid 0x{scope:x}<{','.join(names)}>\n"
                   if names else f"        inet6 {text}  prefixlen {address.prefix}  scopeid 0x{scope:x}\n")
    out.append(_hardware(interface))
    stats = interface.stats
    if stats is not None:
        out.append(_counters(stats))
    out.append("\n")
    return "".join(out)


def _counters(stats: dict[str, int]) -> str:
    """The four RX/TX lines, with /proc/net/dev's sums (drop includes missed, frame and carrier are totals)."""
    def get(name: str) -> int:
        return stats.get(name, 0)

    rx_dropped = get("rx_dropped") + get("rx_missed_errors")
    frame = get("rx_length_errors") + get("rx_over_errors") + get("rx_crc_errors") + get("rx_frame_errors")
    carrier = get("tx_carrier_errors") + get("tx_aborted_errors") + get("tx_window_errors") \
        + get("tx_heartbeat_errors")
    return (f"        RX packets {get('rx_packets')}  bytes {get('rx_bytes')} ({human_bytes(get('rx_bytes'))})\n"
            f"        RX errors {get('rx_errors')}  dropped {rx_dropped}  overruns {get('rx_fifo_errors')}  "
            f"frame {frame}\n"
            f"        TX packets {get('tx_packets')}  bytes {get('tx_bytes')} ({human_bytes(get('tx_bytes'))})\n"
            f"        TX errors {get('tx_errors')}  dropped {get('tx_dropped')} overruns {get('tx_fifo_errors')}  "
            f"carrier {carrier}  collisions {get('collisions')}\n")


def long_table(interfaces: Iterable[Interface], show_all: bool, inet6: list[Address6], title: bool = True) -> str:
    """netstat -ie: every (up, or with -a every) interface in the long form."""
    from functools import cmp_to_key

    ordered = sorted(interfaces, key=lambda i: cmp_to_key(name_order)(i.name))
    return ("Kernel Interface table\n" if title else "") + "".join(
        long_block(i, inet6) for i in ordered if show_all or i.flags & IFF_UP)


def fetch() -> list[Interface]:
    """Every link of this network namespace with its first IPv4 address, plus one row per labelled alias.

    net-tools also lists IPv4 address labels such as "eth0:1" (SIOCGIFCONF
    reports them as interfaces): same flags and hardware as their device,
    no counters. pyroute2 is imported here only.
    """
    import socket

    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        links = ipr.get_links()
        first: dict[str, Address4] = {}
        for message in ipr.get_addr(family=socket.AF_INET):
            label = message.get("label")
            if label is None or label in first:
                continue
            local = message.get("local") or message.get("address")
            first[label] = Address4(
                socket.inet_aton(local), int(message["prefixlen"]),
                socket.inet_aton(message.get("broadcast") or "0.0.0.0"),
                socket.inet_aton(message.get("address") or local))
    devices = [_interface(link, first) for link in links]
    return devices + aliases(devices, first)


def aliases(devices: list[Interface], addresses: dict[str, Address4]) -> list[Interface]:
    """The "device:label" rows net-tools adds for labelled IPv4 addresses."""
    by_name = {device.name: device for device in devices}
    rows = []
    for label, address in addresses.items():
        parent = by_name.get(label.split(":", 1)[0])
        if label not in by_name and parent is not None:
            rows.append(parent._replace(name=label, stats=None, ipv4=address))
    return rows


def _interface(link: Any, addresses: dict[str, Address4]) -> Interface:
    stats = link.get("stats64") or link.get("stats")
    name = str(link.get("ifname") or "")
    mac = link.get("address")
    return Interface(
        name=name,
        flags=int(link["flags"]) & 0xFFFF,
        mtu=int(link.get("mtu") or 0),
        stats={key: int(value) for key, value in dict(stats).items()} if stats else None,
        hw_type=int(link.get("ifi_type") or 0),
        hw_address=bytes.fromhex(mac.replace(":", "")) if mac else b"",
        tx_queue=int(link.get("txqlen") if link.get("txqlen") is not None else -1),
        ipv4=addresses.get(name),
    )
