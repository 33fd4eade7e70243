"""ss -s formatting (render/summary.py) from sockstat/snmp text."""

from __future__ import annotations

from pyss.render.summary import SockStat, parse_snmp, summary_text
from pyss.system.sockstat import parse_sockstat

SOCKSTAT = """sockets: used 59403
TCP: inuse 59403 orphan 2 tw 66 alloc 59469 mem 177
UDP: inuse 3 mem 1
UDPLITE: inuse 0
RAW: inuse 1
FRAG: inuse 0 memory 0
"""
SOCKSTAT6 = """TCP6: inuse 4
UDP6: inuse 2
UDPLITE6: inuse 0
RAW6: inuse 1
FRAG6: inuse 1 memory 1024
"""
SNMP = """Ip: Forwarding DefaultTTL InReceives
Ip: 2 64 100
Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs
Tcp: 1 200 120000 -1 29700 29700 0 0 59400 1000
Udp: InDatagrams NoPorts
Udp: 5 0
"""

# What ss 6.1 prints for these figures (tabs after the transport names, as ss writes them).
EXPECTED = (
    "Total: 59403\n"
    "TCP:   59535 (estab 59400, closed 128, orphaned 2, timewait 66)\n"
    "\n"
    "Transport Total     IP        IPv6\n"
    "RAW\t  2         1         1        \n"
    "UDP\t  5         3         2        \n"
    "TCP\t  59407     59403     4        \n"
    "INET\t  59414     59407     7        \n"
    "FRAG\t  1         0         1        \n"
    "\n"
)


def test_summary_layout_and_arithmetic() -> None:
    fields = parse_sockstat(SOCKSTAT) | parse_sockstat(SOCKSTAT6)
    stat = SockStat(**fields, tcp_established=parse_snmp(SNMP))
    assert summary_text(stat) == EXPECTED


def test_parse_reads_only_the_labels_ss_reads() -> None:
    fields = parse_sockstat(SOCKSTAT)
    assert fields == {"sockets": 59403, "tcp_inuse": 59403, "tcp_orphans": 2, "tcp_timewait": 66,
                      "tcp_alloc": 59469, "tcp_mem": 177, "udp": 3, "raw": 1, "frag": 0, "frag_mem": 0}


def test_snmp_counter_by_name() -> None:
    assert parse_snmp(SNMP) == 59400
    assert parse_snmp(SNMP, "Udp:", "NoPorts") == 0
    assert parse_snmp(SNMP, "Tcp:", "Nope") == 0
    assert parse_snmp("") == 0


def test_empty_files_give_zeros() -> None:
    assert summary_text(SockStat()).startswith("Total: 0\nTCP:   0 (estab 0, closed 0, orphaned 0, timewait 0)\n")
