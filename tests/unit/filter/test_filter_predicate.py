"""The Python judge, record type by record type, as ss's run_ssfilter decides."""

from __future__ import annotations

import socket

import pytest
from tests.unit.filter.fake_resolver import FakeResolver
from tests.unit.filter.kernel_model import Entry, netlink_record, packet_record, record_for, unix_record

from pyss.filter import compile_filter
from pyss.filter.predicate import glob_regex
from pyss.netlink.constants import AF_INET, AF_INET6
from pyss.records import InetSocket


def v4(text: str) -> bytes:
    return socket.inet_pton(AF_INET, text)


def v6(text: str) -> bytes:
    return socket.inet_pton(AF_INET6, text)


def inet(src: str, sport: int, dst: str, dport: int, **extra: int) -> InetSocket:
    family = AF_INET6 if ":" in src else AF_INET
    pack = v6 if family == AF_INET6 else v4
    return record_for(Entry(family, sport, dport, pack(src), pack(dst), **extra))  # type: ignore[arg-type]


def judge(text: str, record: object, **options: object) -> bool:
    compiled = compile_filter(text.split(), resolver=FakeResolver(), **options)  # type: ignore[arg-type]
    return compiled(record)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "record", "expected"), [
    ("dport = :22", inet("10.0.0.1", 5000, "10.0.0.2", 22), True),
    ("dport = :22", inet("10.0.0.1", 22, "10.0.0.2", 5000), False),
    ("sport > :1024", inet("10.0.0.1", 1025, "10.0.0.2", 1), True),
    ("sport > :1024", inet("10.0.0.1", 1024, "10.0.0.2", 1), False),
    ("sport <= :1024", inet("10.0.0.1", 1024, "10.0.0.2", 1), True),
    ("dst 10.0.0.0/8", inet("192.0.2.1", 1, "10.9.9.9", 1), True),
    ("dst 10.0.0.0/8", inet("192.0.2.1", 1, "11.0.0.1", 1), False),
    ("dst 10.0.0.0/255.0.0.0", inet("192.0.2.1", 1, "10.9.9.9", 1), True),
    ("src 127.0.0.1", inet("::ffff:127.0.0.1", 1, "::1", 1), True),  # v4-mapped matches an IPv4 rule
    ("src [::ffff:127.0.0.1]", inet("127.0.0.1", 1, "127.0.0.1", 1), False),  # but not the reverse
    ("src [::1]:443", inet("::1", 443, "::1", 5), True),
    ("src [::1]:443", inet("::1", 444, "::1", 5), False),
    ("src 0.0.0.0/8", inet("::1", 1, "::1", 1), True),  # ss compares bits regardless of family
    ("dst dual", inet("::1", 1, "2001:db8::7", 1), True),
    ("dst dual", inet("10.0.0.1", 1, "192.0.2.7", 1), True),
    ("dst *:80", inet("::1", 1, "::2", 80), True),
    ("src 10.8", inet("10.8.0.0", 1, "1.1.1.1", 1), True),
    ("dev lo", inet("10.0.0.1", 1, "10.0.0.2", 1, ifindex=1), True),
    ("dev != lo", inet("10.0.0.1", 1, "10.0.0.2", 1, ifindex=1), False),
    ("fwmark = 0x10/0xf0", inet("10.0.0.1", 1, "10.0.0.2", 1, mark=0x13), True),
    ("fwmark = 0x10", inet("10.0.0.1", 1, "10.0.0.2", 1, mark=0x13), False),
    ("cgroup app", inet("10.0.0.1", 1, "10.0.0.2", 1, cgroup_id=0x1122334455667788), True),
    ("autobound", inet("10.0.0.1", 40000, "10.0.0.2", 1), True),
    ("autobound", inet("10.0.0.1", 22, "10.0.0.2", 1), False),
    ("src unix:*", inet("0.0.0.0", 1, "0.0.0.0", 1), True),  # ss reads a NULL name: ""
    ("src unix:*", inet("10.0.0.1", 1, "0.0.0.0", 1), False),
])
def test_inet(text: str, record: InetSocket, expected: bool) -> None:
    assert judge(text, record) is expected


@pytest.mark.parametrize(("text", "record", "expected"), [
    ("src unix:/tmp/*", unix_record("/tmp/a.sock"), True),
    ("src unix:/TMP/*.SOCK", unix_record("/tmp/a.sock"), True),  # FNM_CASEFOLD
    ("src unix:/tmp/?.sock", unix_record("/tmp/ab.sock"), False),
    ("src unix:@*", unix_record("@abstract"), True),
    ("src unix:*", unix_record(None), True),
    ("src unix:?*", unix_record(None), False),
    ("dst unix:*", unix_record("/x"), True),  # ss never fills in a unix peer name: it is ""
    ("dst unix:/x", unix_record("/x"), False),
    ("src *stream*", unix_record("/run/stream.sock"), True),
    ("sport = :100", unix_record("/x", inode=100), True),  # a unix socket's "port" is its inode
    ("dport = :7", unix_record("/x", peer=7), True),
    ("autobound", unix_record("@0001f"), True),
    ("autobound", unix_record("@0001F"), False),
    ("autobound", unix_record(None), True),
    ("autobound", unix_record("/x"), False),
    ("dst 0.0.0.0/8", unix_record("/x"), True),  # the remote "address" of a unix socket is zeros
    ("src 0.0.0.0/8", unix_record("/x"), False),
    ("src 0.0.0.0/8", unix_record(None), True),
    ("fwmark = 0", unix_record("/x"), True),
    ("dev lo", unix_record("/x"), False),
])
def test_unix(text: str, record: object, expected: bool) -> None:
    family = 1 if text.endswith("*stream*") else 0  # as under -x: bare values are unix paths
    assert judge(text, record, preferred_family=family) is expected


@pytest.mark.parametrize(("text", "record", "expected"), [
    ("src link:ip", packet_record(0x0800, 1), True),
    ("src link:ipv6", packet_record(0x0800, 1), False),
    ("src link:*:lo", packet_record(0x0800, 1), True),
    ("src link:ip:eth0", packet_record(0x0800, 1), False),
    ("src link:0x800:1", packet_record(0x0800, 1), True),
    ("dev lo", packet_record(3, 1), True),
    ("autobound", packet_record(0, 0), True),
    ("autobound", packet_record(3, 0), False),
    ("src netlink:rtnl", netlink_record(0, 5), True),
    ("src netlink:genl:kernel", netlink_record(16, 0), True),
    ("src netlink:genl:kernel", netlink_record(16, 5), False),
    ("src netlink:*:5", netlink_record(9, 5), True),
    ("autobound", netlink_record(0, -4096), True),
    ("autobound", netlink_record(0, 4096), False),
    ("dport < :0", netlink_record(0, 1), True),  # ss gives netlink sockets remote port -1
])
def test_packet_and_netlink(text: str, record: object, expected: bool) -> None:
    assert judge(text, record) is expected


@pytest.mark.parametrize(("pattern", "name", "expected"), [
    ("*", "", True), ("a*c", "a/b/c", True), ("[abc]x", "bx", True), ("[!abc]x", "bx", False),
    ("[^a]x", "bx", True), ("\\*", "*", True), ("\\*", "a", False), ("a[", "a[", True), ("[]]", "]", True),
])
def test_glob(pattern: str, name: str, expected: bool) -> None:
    assert (glob_regex(pattern).match(name) is not None) is expected


def test_no_expression_accepts_everything() -> None:
    compiled = compile_filter(["state", "listening"])
    assert compiled.matches_all
    assert compiled(unix_record("/x"))
