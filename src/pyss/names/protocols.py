"""ss's name tables for protocol numbers: address families, ethertypes, netlink protocols.

Each table is written once, in ss's order, and read both ways: numbers to
names for the output (the first entry for a number wins, as iproute2's
proto_n2a finds it) and names to numbers for filters (``link:ipv4``,
``netlink:rtnl``; the first entry for a name wins).
"""

from __future__ import annotations

from pyss.lite_typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Final

from pyss.netlink.constants import AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_TIPC, AF_UNIX, AF_VSOCK, AF_XDP

# ss -f / -A family names.
FAMILY_NAMES: Final[dict[str, int]] = {
    "inet": AF_INET,
    "inet6": AF_INET6,
    "link": AF_PACKET,
    "unix": AF_UNIX,
    "netlink": AF_NETLINK,
    "vsock": AF_VSOCK,
    "tipc": AF_TIPC,
    "xdp": AF_XDP,
}

# Link-layer protocols (linux/if_ether.h ETH_P_* values) in iproute2 6.1's table order; the last three
# entries are aliases its table appends, so 0x88CC prints as "LLDP" and "ipv4" reads as 0x0800.
_ETHERTYPES: Final = (
    (0x0060, "loop"), (0x0200, "pup"), (0x0201, "pupat"), (0x0800, "ip"), (0x0805, "x25"), (0x0806, "arp"),
    (0x08FF, "bpq"), (0x0A00, "ieeepup"), (0x0A01, "ieeepupat"), (0x6000, "dec"), (0x6001, "dna_dl"),
    (0x6002, "dna_rc"), (0x6003, "dna_rt"), (0x6004, "lat"), (0x6005, "diag"), (0x6006, "cust"), (0x6007, "sca"),
    (0x8035, "rarp"), (0x809B, "atalk"), (0x80F3, "aarp"), (0x8137, "ipx"), (0x86DD, "ipv6"), (0x8863, "ppp_disc"),
    (0x8864, "ppp_ses"), (0x884C, "atmmpoa"), (0x8884, "atmfate"), (0x0001, "802_3"), (0x0002, "ax25"),
    (0x0003, "all"), (0x0004, "802_2"), (0x0005, "snap"), (0x0006, "ddcmp"), (0x0007, "wan_ppp"),
    (0x0008, "ppp_mp"), (0x0009, "localtalk"), (0x000C, "can"), (0x0010, "ppptalk"), (0x0011, "tr_802_2"),
    (0x0015, "mobitex"), (0x0016, "control"), (0x0017, "irda"), (0x0018, "econet"), (0x88CA, "tipc"),
    (0x8892, "profinet"), (0x88A2, "aoe"), (0x88A4, "ethercat"), (0x8100, "802.1Q"), (0x88A8, "802.1ad"),
    (0x8847, "mpls_uc"), (0x8848, "mpls_mc"), (0x6558, "teb"),
    (0x88CC, "LLDP"), (0x0800, "ipv4"),
)

# Netlink protocols (linux/netlink.h NETLINK_* values) by ss's names.
_NETLINK_PROTOCOLS: Final = (
    (0, "rtnl"), (1, "unused"), (2, "usersock"), (3, "fw"), (4, "tcpdiag"), (5, "nflog"), (6, "xfrm"),
    (7, "selinux"), (8, "iscsi"), (9, "audit"), (10, "fiblookup"), (11, "connector"), (12, "nft"),
    (13, "ip6fw"), (14, "dec-rt"), (15, "uevent"), (16, "genl"), (18, "scsi-trans"), (19, "ecryptfs"),
    (20, "rdma"), (21, "crypto"),
)


def _first_name(table: tuple[tuple[int, str], ...]) -> dict[int, str]:
    names: dict[int, str] = {}
    for number, name in table:
        names.setdefault(number, name)
    return names


def _first_number(table: tuple[tuple[int, str], ...], fold: bool) -> dict[str, int]:
    numbers: dict[str, int] = {}
    for number, name in table:
        numbers.setdefault(name.lower() if fold else name, number)
    return numbers


ETHERTYPE_NAMES: Final = _first_name(_ETHERTYPES)
# Keys in lower case: ss compares ethertype names without case (strcasecmp).
ETHERTYPE_NUMBERS: Final = _first_number(_ETHERTYPES, fold=True)
NETLINK_PROTOCOL_NAMES: Final = _first_name(_NETLINK_PROTOCOLS)
NETLINK_PROTOCOL_NUMBERS: Final = _first_number(_NETLINK_PROTOCOLS, fold=False)
