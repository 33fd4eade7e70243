"""ss's protocol name tables, read both ways from one copy."""

from __future__ import annotations

from pyss.names.protocols import (
    ETHERTYPE_NAMES,
    ETHERTYPE_NUMBERS,
    FAMILY_NAMES,
    NETLINK_PROTOCOL_NAMES,
    NETLINK_PROTOCOL_NUMBERS,
)
from pyss.netlink.constants import AF_INET6, AF_PACKET, AF_VSOCK


def test_a_number_prints_as_its_first_name() -> None:
    assert ETHERTYPE_NAMES[0x0800] == "ip"  # not the "ipv4" alias further down
    assert ETHERTYPE_NAMES[0x8100] == "802.1Q"
    assert ETHERTYPE_NAMES[0x88CC] == "LLDP"
    assert 0x8902 not in ETHERTYPE_NAMES  # CFM came after iproute2 6.1
    assert NETLINK_PROTOCOL_NAMES[4] == "tcpdiag"
    assert 17 not in NETLINK_PROTOCOL_NAMES


def test_names_read_back_to_their_numbers() -> None:
    assert ETHERTYPE_NUMBERS["ipv4"] == ETHERTYPE_NUMBERS["ip"] == 0x0800
    assert ETHERTYPE_NUMBERS["802.1q"] == 0x8100  # keys folded: ss compares without case
    assert ETHERTYPE_NUMBERS["lldp"] == 0x88CC
    assert NETLINK_PROTOCOL_NUMBERS["dec-rt"] == 14
    assert "RTNL" not in NETLINK_PROTOCOL_NUMBERS  # netlink names are compared as written
    for number, name in ETHERTYPE_NAMES.items():
        assert ETHERTYPE_NUMBERS[name.lower()] == number
    for number, name in NETLINK_PROTOCOL_NAMES.items():
        assert NETLINK_PROTOCOL_NUMBERS[name] == number


def test_family_names() -> None:
    assert FAMILY_NAMES["link"] == AF_PACKET
    assert FAMILY_NAMES["inet6"] == AF_INET6
    assert FAMILY_NAMES["vsock"] == AF_VSOCK
