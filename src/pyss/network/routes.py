"""netstat -r: the kernel routing tables, read over rtnetlink (pyroute2), printed as net-tools prints them.

net-tools reads /proc/net/route (the IPv4 main table) and /proc/net/ipv6_route
(every IPv6 table, each closed by the kernel's "null" reject entry, ::/0 on lo, unless a
default route takes its place).
The same routes come from an RTM_GETROUTE dump in the same walk order; the
flags that /proc shows (RTF_*) are rebuilt from the route type, protocol,
gateway and expiry, and the IPv6 null entries are added back because
rtnetlink never reports them. Two /proc columns have no netlink source:
IPv6 "Ref" (the route's reference count; 1 is printed) and "Use" (the kernel
prints 0 there since 4.x too).
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from pyss.netlink.constants import AF_INET, AF_INET6
from pyss.netlink.decode import signed32

RT_TABLE_MAIN = 254
RT_TABLE_LOCAL = 255
_TABLE_BUCKETS = 256  # FIB6_TABLE_HASHSZ: the kernel's hash of IPv6 tables, by id
RTN_UNICAST, RTN_LOCAL, RTN_BROADCAST, RTN_ANYCAST, RTN_MULTICAST = 1, 2, 3, 4, 5
RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT, RTN_THROW = 6, 7, 8, 9
RTPROT_KERNEL, RTPROT_RA = 2, 9
RTAX_WINDOW, RTAX_RTT, RTAX_ADVMSS = 3, 4, 8
_REJECT_TYPES = frozenset({RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT, RTN_THROW})


class Route(NamedTuple):
    family: int
    table: int
    type: int
    protocol: int
    dst: bytes  # packed, zero-filled for a default route
    dst_len: int
    gateway: bytes | None
    iface: str  # "*" when the route has no device
    priority: int
    advmss: int = 0
    window: int = 0
    rtt: int = 0
    expires: int = 0
    null: bool = False  # the kernel's IPv6 per-table reject entry (flags "!n", no RTF_UP)


Resolve = Callable[[bytes], str]  # packed address -> the text netstat shows


def _mask(prefix: int) -> bytes:
    return ((0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF).to_bytes(4, "big")


def ipv4_flags(route: Route) -> str:
    flags = "U"
    if route.gateway and any(route.gateway):
        flags += "G"
    if route.type in (RTN_UNREACHABLE, RTN_PROHIBIT):
        flags = "!"  # net-tools replaces, not appends
    if route.dst_len == 32:
        flags += "H"
    return flags


# The IPv4 table's and cache's headers share these columns at -e (1) and by default (2); -ee (3) differs.
_IPV4_COLUMNS = {1: "Flags Metric Ref    Use Iface", 2: "Flags   MSS Window  irtt Iface"}


def _ipv4_columns(ext: int, most_detailed: str) -> str:
    return _IPV4_COLUMNS.get(ext, most_detailed)


def ipv4_lines(routes: Iterable[Route], destination: Callable[[Route], str], gateway: Resolve, ext: int) -> str:
    """The IPv4 table at net-tools' detail level: 1 (-e), 2 (default), 3 (-ee)."""
    header = "Destination     Gateway         Genmask         " + _ipv4_columns(ext, "Flags Metric Ref    Use Iface    MSS   Window irtt")
    out = ["Kernel IP routing table\n", header + "\n"]
    for route in routes:
        if route.family != AF_INET or route.table != RT_TABLE_MAIN or route.type in (RTN_BROADCAST, RTN_MULTICAST):
            continue
        out.append(_ipv4_line(route, destination(route)[:15], gateway(route.gateway or bytes(4))[:15], ext))
    return "".join(out)


def _ipv4_line(route: Route, dst: str, gw: str, ext: int) -> str:
    mask = socket.inet_ntop(AF_INET, _mask(route.dst_len))
    flags = ipv4_flags(route)
    reject = route.type in (RTN_UNREACHABLE, RTN_PROHIBIT)
    metric = signed32(route.priority)
    mss = route.advmss + 40 if route.advmss else 0
    irtt = route.rtt >> 3
    if ext == 1:
        if reject:
            return f"{dst:<15} -               {mask:<15} {flags:<5} {metric:<6} -  {0:7} -\n"
        return f"{dst:<15} {gw:<15} {mask:<15} {flags:<5} {metric:<6} {0:<2} {0:7} {route.iface}\n"
    if ext == 2:
        if reject:
            return f"{dst:<15} -               {mask:<15} {flags:<5}     - -          - -\n"
        return f"{dst:<15} {gw:<15} {mask:<15} {flags:<5} {mss:5} {route.window:<5} {irtt:6} {route.iface}\n"
    if reject:
        return f"{dst:<15} -               {mask:<15} {flags:<5} {metric:<6} -  {0:7} -        -     -      -\n"
    return (f"{dst:<15} {gw:<15} {mask:<15} {flags:<5} {metric:<6} {0:<3} {0:6} {route.iface[:6]:<6}   "
            f"{mss:<5} {route.window:<6} {irtt}\n")


def ipv4_cache_header(ext: int) -> str:
    """netstat -rC: the IPv4 routing cache left the kernel in 3.6; /proc/net/rt_cache lists nothing, netstat the header."""
    columns = "Source          Destination     Gateway         " + _ipv4_columns(
        ext, "Flags Metric Ref    Use Iface    MSS   Window irtt  TOS HHRef HHUptod     SpecDst")
    return f"Kernel IP routing cache\n{columns}\n"


IPV6_CACHE_HEADER = "Kernel IPv6 routing cache\nDestination                    Next Hop                   Flag Met Ref  Use If\n"



def ipv6_flags(route: Route) -> str:
    if route.null or route.type in _REJECT_TYPES:
        return "!n"  # the kernel stores reject routes as RTF_REJECT | RTF_NONEXTHOP, without RTF_UP
    flags = "U"
    if route.gateway and any(route.gateway):
        flags += "G"
    if route.protocol == RTPROT_RA and route.dst_len == 0:
        flags += "D"
    if route.protocol == RTPROT_RA:
        flags += "A"
    if route.expires:
        flags += "e"
    if route.type in (RTN_LOCAL, RTN_ANYCAST) and route.protocol == RTPROT_KERNEL:
        flags += "n"
    return flags


def null_entry(table: int) -> Route:
    """The kernel's reject entry at the root of an IPv6 table that has no ::/0 route (/proc/net/ipv6_route)."""
    return Route(AF_INET6, table, RTN_UNREACHABLE, RTPROT_KERNEL, bytes(16), 0, None, "lo", 0xFFFFFFFF, null=True)


def with_null_entries(routes: Iterable[Route]) -> list[Route]:
    """The IPv6 routes with the null entries /proc/net/ipv6_route shows and rtnetlink leaves out.

    A table's walk ends at its root, which holds the table's ::/0 routes or, when it has none, the null
    entry. main and local exist from a namespace's start, so even with no route they are walked (their
    null entry shown) in their place: tables come in the order of their id modulo 256 (the kernel's
    hash of them), the oldest of a bucket last, as in the dump.
    """
    tables: list[tuple[int, list[Route]]] = []
    for route in routes:
        if route.family != AF_INET6:
            continue
        if not tables or tables[-1][0] != route.table:
            tables.append((route.table, []))
        tables[-1][1].append(route)
    for always in (RT_TABLE_MAIN, RT_TABLE_LOCAL):
        if all(table != always for table, _ in tables):
            bucket = always % _TABLE_BUCKETS
            later = (index for index, (table, _) in enumerate(tables) if table % _TABLE_BUCKETS > bucket)
            tables.insert(next(later, len(tables)), (always, []))
    out: list[Route] = []
    for table, members in tables:
        out.extend(members)
        if not any(route.dst_len == 0 for route in members):
            out.append(null_entry(table))
    return out


def ipv6_lines(routes: Iterable[Route], address: Resolve) -> str:
    out = ["Kernel IPv6 routing table\n", "Destination                    Next Hop                   Flag Met Ref  Use If\n"]
    for route in with_null_entries(routes):
        flags = ipv6_flags(route)
        dst = f"{address(route.dst)}/{route.dst_len}"
        hop = address(route.gateway or bytes(16))
        out.append(f"{dst:<30} {hop:<26} {flags:<4} {signed32(route.priority):<3} {1:<1} {0:6} {route.iface}\n")
    return "".join(out)


def fetch(families: Iterable[int]) -> list[Route]:
    """Dump the routes of the given families (pyroute2 is imported here, never on the socket path)."""
    from pyroute2 import IPRoute

    routes: list[Route] = []
    with IPRoute() as ipr:
        names = {link["index"]: link.get("ifname") for link in ipr.get_links()}
        for family in families:
            for message in ipr.get_routes(family=family):
                routes.append(_route(message, family, names))
    return routes


def _route(message: Any, family: int, names: dict[int, str]) -> Route:
    size = 4 if family == AF_INET else 16
    dst = message.get("dst")
    gateway = message.get("gateway")
    oif = message.get("oif")
    multipath = message.get("multipath")
    if oif is None and multipath:
        oif = multipath[0].get("oif")
        gateway = gateway or multipath[0].get("gateway")
    metrics = message.get("metrics")
    cache = message.get("cacheinfo") or {}

    def metric(name: str) -> int:
        return int(metrics.get(name) or 0) if metrics is not None else 0

    return Route(
        family=family,
        table=int(message.get("table") or message["table"]),
        type=int(message["type"]),
        protocol=int(message["proto"]),
        dst=socket.inet_pton(family, dst) if dst else bytes(size),
        dst_len=int(message["dst_len"]),
        gateway=socket.inet_pton(family, gateway) if gateway else None,
        iface=names.get(oif, "*") if oif is not None else "*",
        priority=int(message.get("priority") or 0),
        advmss=metric("RTAX_ADVMSS"),
        window=metric("RTAX_WINDOW"),
        rtt=metric("RTAX_RTT"),
        expires=int(cache.get("rta_expires", 0)),
    )
