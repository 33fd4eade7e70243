"""netstat -g rows from /proc/net/igmp and /proc/net/igmp6 texts."""

from __future__ import annotations

from pyss.network import groups

IGMP = ("Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter\n"
        "1\tlo        :     1      V3\n"
        "\t\t\t\t010000E0     1 0:00000000\t\t0\n"
        "3\tve0       :     2      V3\n"
        "\t\t\t\tFB0000E0     2 0:00000000\t\t0\n"
        "\t\t\t\t010000E0     1 0:00000000\t\t0\n")
IGMP6 = ("1    lo              ff020000000000000000000000000001     1 0000000C 0\n"
         "2    ve1             ff0200000000000000000001fff9de89     3 00000004 0\n")


def test_rows_in_file_order() -> None:
    rows = groups.parse_igmp(IGMP) + groups.parse_igmp6(IGMP6)
    assert groups.lines(rows, groups.numeric) == (
        "lo              1      224.0.0.1\n"
        "ve0             2      224.0.0.251\n"
        "ve0             1      224.0.0.1\n"
        "lo              1      ff02::1\n"
        "ve1             3      ff02::1:fff9:de89\n")
