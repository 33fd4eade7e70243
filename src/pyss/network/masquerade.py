"""netstat -M: masqueraded (source-NATed) IPv4 connections, from the kernel's connection tracking table.

net-tools read /proc/net/ip_masquerade, which left the kernel with 2.4;
the same facts now live in conntrack. An IPv4 entry whose reply goes to
another address or port than the original sender used was rewritten on
the way out: that is a masquerading entry, printed in net-tools' layout
(protocol, time left, source, destination, "sport -> dport (masq port)").
The table is read from /proc/net/nf_conntrack; without that file pynetstat
answers as netstat does on such a system.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import NamedTuple

CONNTRACK_PATH = "/proc/net/nf_conntrack"
_PROTOCOLS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "gre": "gre", "esp": "esp"}


class Masquerade(NamedTuple):
    proto: str
    expires: int  # seconds
    src: bytes
    dst: bytes
    sport: int
    dport: int
    mport: int  # the port the reply comes back to (the masquerading port)


def parse(text: str) -> list[Masquerade]:
    """The source-NATed IPv4 entries of /proc/net/nf_conntrack."""
    rows: list[Masquerade] = []
    for line in text.splitlines():
        words = line.split()
        if len(words) < 5 or words[0] != "ipv4" or not words[4].isdigit():
            continue
        tuples: list[dict[str, str]] = [{}]
        for word in words[5:]:
            key, equals, value = word.partition("=")
            if not equals:
                continue
            if key in tuples[-1] and key in ("src", "dst", "sport", "dport", "type"):
                tuples.append({})
            tuples[-1][key] = value
        if len(tuples) < 2:
            continue
        original, reply = tuples[0], tuples[1]
        if "src" not in original or "dst" not in reply:
            continue
        nat = reply["dst"] != original["src"] or reply.get("dport", "0") != original.get("sport", "0")
        if nat:
            rows.append(Masquerade(
                _PROTOCOLS.get(words[2], "ip"), int(words[4]),
                socket.inet_aton(original["src"]), socket.inet_aton(original.get("dst", "0.0.0.0")),
                int(original.get("sport", 0)), int(original.get("dport", 0)), int(reply.get("dport", 0))))
    return rows


def lines(rows: list[Masquerade], host: Callable[[bytes], str], service: Callable[[int, str], str], ext: int) -> str:
    if not rows:
        return ""
    out = ["IP masquerading entries\n"]
    if ext == 1:
        out.append("prot   expire source               destination          ports\n")
    else:
        out.append("prot   expire    initseq delta prevd source               destination          ports\n")
    for row in rows:
        ticks = row.expires * 100
        line = f"{row.proto:<4}{ticks // 6000:3}:{ticks // 100 % 60:02}.{ticks % 100:02} "
        if ext > 1:  # conntrack keeps no sequence deltas
            line += f"{0:10} {0:5}     - "
        line += f"{host(row.src):<20} {host(row.dst):<20} "
        line += (f"{service(row.sport, row.proto)} -> {service(row.dport, row.proto)} "
                 f"({service(row.mport, row.proto)})\n")
        out.append(line)
    return "".join(out)
