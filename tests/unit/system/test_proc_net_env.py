"""proc_net.proc_tables: which inet tables ss's environment sends to /proc-format files, and where."""

from __future__ import annotations

import pytest

from pyss.netlink.constants import IPPROTO_RAW, IPPROTO_TCP, IPPROTO_UDP
from pyss.system import procfs
from pyss.system.proc_net import ProcTable, proc_tables


def test_nothing_set_reads_the_kernel() -> None:
    assert proc_tables({"PATH": "/bin"}) == ()


def test_proc_root_sends_every_table_there() -> None:
    assert proc_tables({"PROC_ROOT": "/snap"}) == (
        ProcTable(IPPROTO_TCP, "/snap/net/tcp", "/snap/net/tcp6"),
        ProcTable(IPPROTO_UDP, "/snap/net/udp", "/snap/net/udp6"),
        ProcTable(IPPROTO_RAW, "/snap/net/raw", "/snap/net/raw6"),
    )


def test_one_variable_sends_one_table_and_its_ipv6_file_defaults_to_proc() -> None:
    assert proc_tables({"PROC_NET_UDP": "/tmp/u"}) == (ProcTable(IPPROTO_UDP, "/tmp/u", "/proc/net/udp6"),)


def test_the_ipv6_variable_alone_sends_nothing() -> None:
    """ss tests PROC_NET_TCP (and PROC_ROOT) only to choose /proc over the kernel."""
    assert proc_tables({"PROC_NET_TCP6": "/tmp/t6"}) == ()


def test_variables_override_proc_root() -> None:
    tables = proc_tables({"PROC_ROOT": "/r", "PROC_NET_TCP6": "/x/t6", "PROC_NET_RAW": ""})
    assert tables[0] == ProcTable(IPPROTO_TCP, "/r/net/tcp", "/x/t6")
    assert tables[2] == ProcTable(IPPROTO_RAW, "", "/r/net/raw6")  # set but empty: ss opens "" and fails


@pytest.mark.parametrize(("environ", "path"), [
    ({}, "/proc/sys/net/ipv4/ip_local_port_range"),
    ({"PROC_ROOT": "/r"}, "/r/sys/net/ipv4/ip_local_port_range"),
    ({"PROC_ROOT": "/r", "PROC_IP_LOCAL_PORT_RANGE": "/e"}, "/e"),
])
def test_proc_file_follows_ss(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], path: str) -> None:
    for name in ("PROC_ROOT", "PROC_IP_LOCAL_PORT_RANGE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert procfs.proc_file("PROC_IP_LOCAL_PORT_RANGE", "sys/net/ipv4/ip_local_port_range") == path


UNIX_TABLE = (
    "Num       RefCount Protocol Flags    Type St Inode Path\n"
    "00000000bb692c74: 00000002 00000000 00010000 0001 01 30 /run/a.sock\n"  # a listener
    "0000000000000000: 00000002 00000000 00000000 0002 01 20\n"  # unconnected dgram, no address in Num
    "00000000aa000001: 00000002 00000000 00000000 0002 01 10 @abstract\n"  # unconnected dgram: ss says ESTAB
    "00000000aa000002: 00000003 00000000 00000000 0001 03 40 /run/with space.sock\n"
    "00000000aa000003: 00000003 00000000 00000000 0005 03 5\n"
)


def test_unix_table_as_ss_reads_it() -> None:
    from pyss.netlink.constants import SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM, TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN
    from pyss.system.proc_net import parse_proc_unix

    every = (1 << 12) - 1
    records = parse_proc_unix(UNIX_TABLE, every, frozenset({SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET}))
    assert [(r.type, r.inode, r.state, r.name, r.rqueue) for r in records] == [
        (SOCK_STREAM, 30, TCP_LISTEN, "/run/a.sock", 0),
        (SOCK_STREAM, 40, TCP_ESTABLISHED, "/run/with", 0),  # the name stops at a blank, as ss's scanf
        (SOCK_DGRAM, 10, TCP_ESTABLISHED, "@abstract", 0),
        (SOCK_DGRAM, 20, TCP_CLOSE, None, 0),
        (SOCK_SEQPACKET, 5, TCP_ESTABLISHED, None, 0),
    ]
    listening = parse_proc_unix(UNIX_TABLE, 1 << TCP_LISTEN, frozenset({SOCK_STREAM}))
    assert [r.inode for r in listening] == [30]


@pytest.mark.parametrize("line", [
    "00000000aa000004: 00000002 00000000 00000000 0001 01\n",  # a line cut short (six fields)
    "00000000aa000004: 00000002 00000000 0001000g 0001 01 50 /run/x\n",  # flags not hexadecimal
    "00000000aa000004: 00000002 00000000 00000000 0001 01 5x0 /run/x\n",  # an inode not a number
    "00000000aa000004: 00000002 00000000 00000000 0001 01 50 /run/cut",  # the last line without its end
])
def test_a_malformed_unix_line_is_one_clear_error(line: str) -> None:
    """ss's scanf leaves the flags unset on such a line and lists what it made of it; pyss says where."""
    from pyss.netlink.constants import SOCK_STREAM
    from pyss.system.proc_net import ProcFormatError, parse_proc_unix

    with pytest.raises(ProcFormatError, match="unix line 7"):
        parse_proc_unix(UNIX_TABLE + line, (1 << 12) - 1, frozenset({SOCK_STREAM}), "unix")
