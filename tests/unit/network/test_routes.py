"""netstat -r layouts from route tuples (what an rtnetlink dump yields)."""

from __future__ import annotations

import socket

from pyss.netlink.constants import AF_INET, AF_INET6
from pyss.network import routes
from pyss.network.routes import Route


def v4(dst: str, prefix: int, gateway: str | None = None, iface: str = "ve0", kind: int = routes.RTN_UNICAST,
       priority: int = 0, advmss: int = 0, window: int = 0, rtt: int = 0) -> Route:
    return Route(AF_INET, routes.RT_TABLE_MAIN, kind, routes.RTPROT_KERNEL, socket.inet_aton(dst), prefix,
                 socket.inet_aton(gateway) if gateway else None, iface, priority, advmss, window, rtt)


def numeric(packed: bytes) -> str:
    return socket.inet_ntop(AF_INET if len(packed) == 4 else AF_INET6, packed)


def test_ipv4_default_layout() -> None:
    table = [
        v4("0.0.0.0", 0, "192.0.2.254"),
        v4("192.0.2.0", 24),
        v4("192.0.2.99", 32),
        v4("203.0.113.0", 24, "192.0.2.2", advmss=1400, window=65535, rtt=800),
        v4("198.51.100.128", 25, iface="*", kind=routes.RTN_UNREACHABLE),
        v4("192.0.2.255", 32, kind=routes.RTN_BROADCAST),  # never shown (nor other tables)
        Route(AF_INET, 255, routes.RTN_LOCAL, 2, socket.inet_aton("192.0.2.1"), 32, None, "ve0", 0),
    ]
    text = routes.ipv4_lines(table, lambda r: numeric(r.dst), numeric, ext=2)
    assert text == """\
Kernel IP routing table
Destination     Gateway         Genmask         Flags   MSS Window  irtt Iface
0.0.0.0         192.0.2.254     0.0.0.0         UG        0 0          0 ve0
192.0.2.0       0.0.0.0         255.255.255.0   U         0 0          0 ve0
192.0.2.99      0.0.0.0         255.255.255.255 UH        0 0          0 ve0
203.0.113.0     192.0.2.2       255.255.255.0   UG     1440 65535    100 ve0
198.51.100.128  -               255.255.255.128 !         - -          - -
"""


def test_ipv4_extended_layouts() -> None:
    table = [v4("192.0.2.0", 24, priority=100), v4("198.51.100.0", 24, iface="*", kind=routes.RTN_PROHIBIT)]
    assert routes.ipv4_lines(table, lambda r: numeric(r.dst), numeric, ext=1).splitlines()[1:] == [
        "Destination     Gateway         Genmask         Flags Metric Ref    Use Iface",
        "192.0.2.0       0.0.0.0         255.255.255.0   U     100    0        0 ve0",
        "198.51.100.0    -               255.255.255.0   !     0      -        0 -",
    ]
    assert routes.ipv4_lines(table[:1], lambda r: numeric(r.dst), numeric, ext=3).splitlines()[1:] == [
        "Destination     Gateway         Genmask         Flags Metric Ref    Use Iface    MSS   Window irtt",
        "192.0.2.0       0.0.0.0         255.255.255.0   U     100    0        0 ve0      0     0      0",
    ]


def test_ipv6_tables_close_with_the_null_entry() -> None:
    def v6(dst: str, prefix: int, table: int, kind: int = routes.RTN_UNICAST, gateway: str | None = None,
           protocol: int = routes.RTPROT_KERNEL, iface: str = "ve0", priority: int = 256) -> Route:
        return Route(AF_INET6, table, kind, protocol, socket.inet_pton(AF_INET6, dst), prefix,
                     socket.inet_pton(AF_INET6, gateway) if gateway else None, iface, priority)

    table = [
        v6("2001:db8::", 64, 254),
        v6("2001:db8:2::", 48, 254, gateway="2001:db8::2", protocol=3, priority=1024),
        v6("2001:db8:dead::", 48, 254, kind=routes.RTN_UNREACHABLE, protocol=3, iface="lo", priority=1024),
        v6("::1", 128, 255, kind=routes.RTN_LOCAL, iface="lo", priority=0),
    ]
    assert routes.ipv6_lines(table, numeric) == """\
Kernel IPv6 routing table
Destination                    Next Hop                   Flag Met Ref  Use If
2001:db8::/64                  ::                         U    256 1      0 ve0
2001:db8:2::/48                2001:db8::2                UG   1024 1      0 ve0
2001:db8:dead::/48             ::                         !n   1024 1      0 lo
::/0                           ::                         !n   -1  1      0 lo
::1/128                        ::                         Un   0   1      0 lo
::/0                           ::                         !n   -1  1      0 lo
"""


def test_ipv6_router_advertised_flags() -> None:
    learned = Route(AF_INET6, 254, routes.RTN_UNICAST, routes.RTPROT_RA, bytes(16), 0, b"\xfe\x80" + bytes(13) + b"\1",
                    "ve0", 1024, expires=1800)
    assert routes.ipv6_flags(learned) == "UGDAe"


def test_cache_headers() -> None:
    assert routes.ipv4_cache_header(2) == (
        "Kernel IP routing cache\nSource          Destination     Gateway         Flags   MSS Window  irtt Iface\n")
    assert routes.ipv4_cache_header(1).endswith("Flags Metric Ref    Use Iface\n")
    assert routes.IPV6_CACHE_HEADER.startswith("Kernel IPv6 routing cache\n")


def v6route(dst: str, prefix: int, table: int, kind: int = routes.RTN_UNICAST, iface: str = "ve0",
            priority: int = 256) -> Route:
    return Route(AF_INET6, table, kind, routes.RTPROT_KERNEL, socket.inet_pton(AF_INET6, dst), prefix, None, iface,
                 priority)


LOCAL_LO = v6route("::1", 128, 255, kind=routes.RTN_LOCAL, iface="lo", priority=0)


def destinations(table: list[Route]) -> list[str]:
    return [line.split()[0] + (" null" if " !n   -1 " in line else "")
            for line in routes.ipv6_lines(table, numeric).splitlines()[2:]]


def test_a_default_route_takes_the_null_entrys_place() -> None:
    """A table's ::/0 routes sit at its root, where the null entry is otherwise: no null entry follows them."""
    table = [v6route("2001:db8::", 64, 254), v6route("::", 0, 254, priority=1024), LOCAL_LO]
    assert destinations(table) == ["2001:db8::/64", "::/0", "::1/128", "::/0 null"]


def test_an_empty_main_table_shows_its_null_entry_in_its_place() -> None:
    """main and local exist from a namespace's start: with no route, main (254) still shows its null entry,
    after the tables of lower hash buckets (id mod 256) and before local's."""
    assert destinations([LOCAL_LO]) == ["::/0 null", "::1/128", "::/0 null"]
    custom = v6route("2001:db8:7::", 48, 100, kind=routes.RTN_UNREACHABLE, iface="lo", priority=1024)
    assert destinations([custom, LOCAL_LO]) == ["2001:db8:7::/48", "::/0 null", "::/0 null", "::1/128", "::/0 null"]
    assert destinations([]) == ["::/0 null", "::/0 null"]
