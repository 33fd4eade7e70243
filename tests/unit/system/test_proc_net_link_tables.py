"""pyss.system.proc_net reading /proc/net/packet and /proc/net/netlink-format files, and which tables ss's
environment sends to files (or leaves unlisted): the values ss takes from each column, and a malformed
line as one ProcFormatError (never another exception, whatever the text)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.fuzz.budget import budget

from pyss.records import NetlinkSocket, PacketSocket
from pyss.system.proc_net import (
    ProcFormatError,
    parse_proc_netlink,
    parse_proc_packet,
    proc_table_file,
    unlisted_tables,
)

PACKET_HEADER = "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n"
PACKET_LINE = "ffff8881a0b1c000 3      2    0800   1     1 4352   1000   1002  \n"
NETLINK_HEADER = "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n"
NETLINK_LINE = "ffff8881a0b2c800 16  4294963173 00000011 768      256      1     2        0        2002    \n"


def test_a_packet_line_reads_as_ss_reads_it() -> None:
    [record] = parse_proc_packet(PACKET_HEADER + PACKET_LINE)
    # type, ethertype, inode, no cookie (ss prints sk:0), ifindex, Rmem as Recv-Q, uid, no attributes
    assert record == PacketSocket(2, 0x0800, 1002, 0, 1, 4352, 1000, b"")


def test_a_netlink_line_reads_as_ss_reads_it() -> None:
    [record] = parse_proc_netlink(NETLINK_HEADER + NETLINK_LINE)
    assert record == NetlinkSocket(16, 0, 4294963173, 0, 0, 2002, 0, 0x11, 768, 256, b"",
                                   address=0xFFFF8881A0B2C800, dumping=1)


def test_the_eight_columns_ss_reads_are_enough_for_netlink() -> None:
    [record] = parse_proc_netlink(NETLINK_HEADER + " ".join(NETLINK_LINE.split()[:8]) + "\n")
    assert (record.portid, record.inode) == (4294963173, 0)


def test_header_only_empty_and_blank_lines_list_nothing() -> None:
    assert list(parse_proc_packet("")) == list(parse_proc_packet(PACKET_HEADER)) == []
    assert list(parse_proc_netlink(NETLINK_HEADER + "\n  \n")) == []


@pytest.mark.parametrize(("parse", "line"), [
    (parse_proc_packet, PACKET_LINE.replace(" 0800 ", " 10800 ")),  # an ethertype beyond 16 bits
    (parse_proc_packet, PACKET_LINE.replace(" 1000 ", " -1000 ")),  # the kernel prints the uid unsigned
    (parse_proc_packet, PACKET_LINE.replace("ffff", "zzzz", 1)),
    (parse_proc_packet, "ffff8881a0b1c000 3 2 0800 1\n"),
    (parse_proc_netlink, NETLINK_LINE.replace(" 4294963173 ", " 4294967296 ")),  # a portid beyond 32 bits
    (parse_proc_netlink, NETLINK_LINE.replace(" 768 ", " 2147483648 ")),  # Rmem beyond a C int
    (parse_proc_netlink, NETLINK_LINE.replace(" 00000011 ", " 0000001g ")),
    (parse_proc_netlink, NETLINK_LINE.rstrip("\n")),  # the last line cut short
])
def test_a_malformed_line_is_one_clear_error(parse: object, line: str) -> None:
    header = PACKET_HEADER if parse is parse_proc_packet else NETLINK_HEADER
    with pytest.raises(ProcFormatError, match="line 2"):
        list(parse(header + line, "f"))  # type: ignore[operator]


@budget(200, 5000)
@given(st.text(alphabet=st.sampled_from("0123456789abcdefx- \n\t\x00é"), max_size=300))
def test_any_text_is_records_or_one_format_error(text: str) -> None:
    for parse in (parse_proc_packet, parse_proc_netlink):
        with contextlib.suppress(ProcFormatError):
            list(parse(text))  # type: ignore[operator]


@pytest.mark.parametrize(("environ", "packet", "netlink"), [
    ({}, None, None),
    ({"PROC_ROOT": "/r"}, "/r/net/packet", "/r/net/netlink"),
    ({"PROC_NET_PACKET": "/p"}, "/p", None),
    ({"PROC_ROOT": "/r", "PROC_NET_NETLINK": "/n"}, "/r/net/packet", "/n"),
])
def test_which_file_each_table_comes_from(environ: dict[str, str], packet: str | None, netlink: str | None) -> None:
    assert (proc_table_file(environ, "packet"), proc_table_file(environ, "netlink")) == (packet, netlink)


@pytest.mark.parametrize(("environ", "unlisted"), [
    ({}, ()),
    ({"PROC_NET_TCP": "/t"}, ()),
    ({"PROC_ROOT": "/r"}, ("mptcp", "sctp", "dccp")),
    ({"PROC_NET_SCTP": ""}, ("sctp",)),
])
def test_tables_without_a_proc_file_go_unlisted_as_in_ss(environ: dict[str, str], unlisted: tuple[str, ...]) -> None:
    assert unlisted_tables(environ) == unlisted
