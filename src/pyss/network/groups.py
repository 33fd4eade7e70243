"""netstat -g: multicast group memberships, IPv4 (/proc/net/igmp) then IPv6 (/proc/net/igmp6).

These two files are the source on purpose: netstat's RefCnt column is the
number of users of each membership, which rtnetlink's multicast dumps do not
report. Parsing is pure (text in, rows out); only :func:`read` touches /proc.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import NamedTuple

from pyss.netlink.constants import AF_INET, AF_INET6

HEADER = "IPv6/IPv4 Group Memberships\nInterface       RefCnt Group\n--------------- ------ ---------------------\n"


class Membership(NamedTuple):
    family: int
    device: str
    users: int
    group: bytes  # packed address


def parse_igmp(text: str) -> list[Membership]:
    """/proc/net/igmp: a device line ("1\\tlo        :     1      V3"), then one tab-led line per group."""
    rows: list[Membership] = []
    device = ""
    for number, line in enumerate(text.splitlines()):
        if number == 0 or not line:
            continue
        if not line.startswith("\t"):
            # net-tools keeps 15 characters after the index and cuts them at the last ':'
            field = line.partition("\t")[2][:15]
            colon = field.rfind(":")
            device = field[:colon] if colon >= 0 else field
            continue
        words = line.split()
        if len(words) >= 2:
            group = int(words[0], 16).to_bytes(4, "little")  # the kernel prints the address as a host-order word
            rows.append(Membership(AF_INET, device, int(words[1]), group))
    return rows


def parse_igmp6(text: str) -> list[Membership]:
    """/proc/net/igmp6: "index device group-hex users ..." per line."""
    rows: list[Membership] = []
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 4 and len(words[2]) == 32:
            rows.append(Membership(AF_INET6, words[1][:15], int(words[3]), bytes.fromhex(words[2])))
    return rows


def lines(memberships: list[Membership], group_name: Callable[[int, bytes], str]) -> str:
    return "".join(f"{m.device:<15} {m.users:<6} {group_name(m.family, m.group)}\n" for m in memberships)


def numeric(family: int, group: bytes) -> str:
    return socket.inet_ntop(family, group)
