"""netstat -i rows and net-tools' interface order."""

from __future__ import annotations

from functools import cmp_to_key

from pyss.tables import interfaces
from pyss.tables.interfaces import Interface


def test_short_rows() -> None:
    stats = {"rx_packets": 9, "rx_errors": 1, "rx_dropped": 2, "rx_missed_errors": 3, "rx_fifo_errors": 4,
             "tx_packets": 12345678, "tx_errors": 5, "tx_dropped": 6, "tx_fifo_errors": 7}
    up = Interface("ve0", 0x1043, 1500, stats)
    assert interfaces.short_line(up) == (
        "ve0              1500        9      1      5 4      12345678      5      6      7 BMRU\n")
    loop = Interface("lo", 0x49, 65536, None)
    assert interfaces.short_line(loop) == f"lo              65536 {'     - no statistics available -':<56}LRU\n"
    assert interfaces.flag_letters(0) == "[NO FLAGS]"


def test_table_hides_down_interfaces_unless_all() -> None:
    rows = [Interface("eth1", 0x1002, 1500, {}), Interface("lo", 0x49, 65536, {})]
    assert [line.split()[0] for line in interfaces.table(rows, False).splitlines()[2:]] == ["lo"]
    assert [line.split()[0] for line in interfaces.table(rows, True).splitlines()[2:]] == ["eth1", "lo"]


def test_name_order_is_numeric_aware() -> None:
    names = ["ve10", "lo", "ve2", "eth0:1", "eth0", "ve1", "bond0", "eth0:10", "eth0:2"]
    ordered = sorted(names, key=cmp_to_key(interfaces.name_order))
    assert ordered == ["bond0", "eth0", "eth0:1", "eth0:2", "eth0:10", "lo", "ve1", "ve2", "ve10"]
