"""netstat -i rows and net-tools' interface order."""

from __future__ import annotations

from functools import cmp_to_key

from pyss.network import interfaces
from pyss.network.interfaces import Interface


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


def test_human_bytes_truncates_to_tenths() -> None:
    assert interfaces.human_bytes(806) == "806.0 B"
    assert interfaces.human_bytes(1024) == "1024.0 B"  # the thresholds are strictly greater
    assert interfaces.human_bytes(1536) == "1.5 KiB"
    assert interfaces.human_bytes(5 * 2**30 + 2**29) == "5.5 GiB"


def test_long_block() -> None:
    stats = {"rx_packets": 9, "rx_bytes": 806, "tx_packets": 9, "tx_bytes": 1587, "rx_crc_errors": 1,
             "rx_frame_errors": 1, "tx_aborted_errors": 2}
    ve0 = Interface("ve0", 4163, 1500, stats, interfaces.ARPHRD_ETHER, bytes.fromhex("82c7c97f48f8"), 1000,
                    interfaces.Address4(bytes([192, 0, 2, 1]), 24, bytes(4), bytes([192, 0, 2, 1])))
    inet6 = interfaces.parse_if_inet6(
        "fe8000000000000080c7c9fffe7f48f8 03 40 20 80      ve0\n"
        "20010db8000000000000000000000001 03 40 00 80      ve0\n"
        "00000000000000000000000000000001 01 80 10 80       lo\n")
    assert interfaces.long_block(ve0, inet6) == """\
ve0: flags=4163<UP,BROADCAST,RUNNING,MULTICAST>  mtu 1500
        inet 192.0.2.1  netmask 255.255.255.0  broadcast 0.0.0.0
        inet6 fe80::80c7:c9ff:fe7f:48f8  prefixlen 64  scopeid 0x20<link>
        inet6 2001:db8::1  prefixlen 64  scopeid 0x0<global>
        ether 82:c7:c9:7f:48:f8  txqueuelen 1000  (Ethernet)
        RX packets 9  bytes 806 (806.0 B)
        RX errors 0  dropped 0  overruns 0  frame 2
        TX packets 9  bytes 1587 (1.5 KiB)
        TX errors 0  dropped 0 overruns 0  carrier 2  collisions 0

"""
    tun = Interface("tun0", 0x10D1, 1500, None, 0xFFFE, b"", 500)
    assert interfaces.long_block(tun, []) == (
        "tun0: flags=4305<UP,POINTOPOINT,RUNNING,NOARP,MULTICAST>  mtu 1500\n"
        "        unspec 00-00-00-00-00-00-00-00-00-00-00-00-00-00-00-00  txqueuelen 500  (UNSPEC)\n\n")


def test_labelled_addresses_become_alias_rows() -> None:
    ve0 = Interface("ve0", 4163, 1500, {"rx_packets": 1}, interfaces.ARPHRD_ETHER, bytes(6), 1000)
    first = interfaces.Address4(bytes([192, 0, 2, 1]), 24, bytes(4), bytes([192, 0, 2, 1]))
    alias = interfaces.Address4(bytes([192, 0, 2, 5]), 24, bytes(4), bytes([192, 0, 2, 5]))
    rows = interfaces.aliases([ve0], {"ve0": first, "ve0:1": alias, "gone:1": alias})
    assert rows == [ve0._replace(name="ve0:1", stats=None, ipv4=alias)]
    assert interfaces.short_line(rows[0]) == (
        f"ve0:1            1500 {'     - no statistics available -':<56}BMRU\n")
