"""Value words: C numbers, address/port splitting, prefixes, families (ss's parse_hostcond)."""

from __future__ import annotations

import pytest
from tests.unit.filter.fake_resolver import FakeResolver

from pyss.filter.c_numbers import c_strtol, get_integer
from pyss.filter.values import (
    AF_VSOCK,
    ValueContext,
    ValueProblem,
    parse_host,
    parse_mark,
    parse_prefix,
)
from pyss.netlink.constants import AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_UNIX, AF_UNSPEC

CONTEXT = ValueContext(FakeResolver())


@pytest.mark.parametrize(("text", "expected"), [
    ("22", (22, 2)), ("0x16", (22, 4)), ("026", (22, 3)), ("+7", (7, 2)), ("-1", (-1, 2)), ("0x", (0, 1)),
    ("x", (0, 0)), ("12ab", (12, 2)), ("  5", (5, 3)),
])
def test_strtol(text: str, expected: tuple[int, int]) -> None:
    assert c_strtol(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("22", 22), ("0x16", 22), ("-1", -1), ("2147483647", 2147483647), ("2147483648", None), ("", None),
    ("22x", None),
])
def test_get_integer(text: str, expected: int | None) -> None:
    assert get_integer(text) == expected


@pytest.mark.parametrize(("word", "is_port", "family", "port", "bitlen"), [
    (":22", True, AF_UNSPEC, 22, 0),
    ("22", True, AF_UNSPEC, 22, 0),
    (":ssh", True, AF_UNSPEC, 22, 0),
    ("*", True, AF_UNSPEC, -1, 0),
    ("*:22", True, AF_UNSPEC, -1, 0),  # after sport/dport ss reads the whole word as the port: "*" wins
    ("*:22", False, AF_UNSPEC, 22, 0),
    ("*22", False, AF_UNSPEC, 22, 0),
    ("10.0.0.1", False, AF_INET, -1, 32),
    ("10.0.0.1:80", False, AF_INET, 80, 32),
    ("10.0.0.0/8:80", False, AF_INET, 80, 8),
    ("[::1]", False, AF_INET6, -1, 128),
    ("[::1]:443", False, AF_INET6, 443, 128),
    ("::/0", False, AF_INET6, -1, 0),
    ("fe80::/10", False, AF_INET6, -1, 10),
    ("default", False, AF_UNSPEC, -1, 0),
    ("localhost:22", False, AF_INET, 22, 32),
    ("dual", False, AF_INET, -1, 32),
])
def test_inet_words(word: str, is_port: bool, family: int, port: int, bitlen: int) -> None:
    spec = parse_host(word, is_port, CONTEXT)
    assert (spec.family, spec.port, spec.bitlen) == (family, port, bitlen)


def test_host_names_keep_every_address() -> None:
    spec = parse_host("dual", False, CONTEXT)
    assert [a.family for a in spec.addresses] == [AF_INET, AF_INET6]
    assert parse_host("six", False, CONTEXT).family == AF_INET6


@pytest.mark.parametrize("word", ["::1", "[::1", "300.1.1.1", "1.2.3.4/33", "10.0.0.1:bogus", "1.2.3.4.5",
                                  "[2001:db8::]/32", "default/8", "unknownhost", "10.0.0.1/255.0.255.0"])
def test_inet_words_ss_refuses(word: str) -> None:
    with pytest.raises(ValueProblem):
        parse_host(word, False, CONTEXT)


def test_prefix_forms() -> None:
    assert parse_prefix("10.8", AF_UNSPEC) == (AF_INET, 32, bytes([10, 8]) + bytes(14))
    assert parse_prefix("10.0.0.0/255.255.0.0", AF_UNSPEC) == (AF_INET, 16, bytes([10]) + bytes(15))
    assert parse_prefix("0x0a.1.2.3", AF_UNSPEC) == (AF_INET, 32, bytes([10, 1, 2, 3]) + bytes(12))
    assert parse_prefix("10.0.0.1", AF_INET6) is None
    assert parse_prefix("::1", AF_INET) is None


@pytest.mark.parametrize(("word", "family", "scope"), [
    ("unix:/tmp/x", AF_UNIX, AF_UNIX), ("link:ip", AF_PACKET, AF_PACKET), ("netlink:rtnl", AF_NETLINK, AF_NETLINK),
    ("vsock:3:1024", AF_VSOCK, AF_VSOCK), ("inet:10.0.0.1", AF_INET, AF_INET), ("inet6:[::1]", AF_INET6, AF_INET6),
])
def test_family_prefixes(word: str, family: int, scope: int) -> None:
    spec = parse_host(word, False, CONTEXT)
    assert (spec.family, spec.scope) == (family, scope)


def test_inet_prefix_refuses_the_other_family() -> None:
    with pytest.raises(ValueProblem):
        parse_host("inet:[::1]", False, CONTEXT)


@pytest.mark.parametrize(("word", "mark", "mask"), [
    ("7", 7, 0xFFFFFFFF), ("0x10/0xff", 0x10, 0xFF), ("5abc", 5, 0xFFFFFFFF), ("-1", 0xFFFFFFFF, 0xFFFFFFFF),
    ("010/0", 8, 0),
])
def test_marks(word: str, mark: int, mask: int) -> None:
    spec = parse_mark(word)
    assert (spec.mark, spec.mask) == (mark, mask)


@pytest.mark.parametrize("word", ["x", "5/", "/5", "5x/3"])
def test_bad_marks(word: str) -> None:
    with pytest.raises(ValueProblem):
        parse_mark(word)


def test_a_long_filter_is_quoted_around_the_column_only() -> None:
    from pyss.filter.errors import QUOTED_AROUND, FilterError

    short = "dst 10.300.0.1"
    assert str(FilterError("bad", short, 5)) == f'bad filter at column 5: "{short}": bad'
    text = " or ".join(f"dst 10.0.{n}.1" for n in range(100))
    middle = text.index("10.0.50.1") + 1
    quoted = str(FilterError("bad", text, middle)).split('"')[1]
    assert quoted == "..." + text[middle - 1 - QUOTED_AROUND:middle - 1 + QUOTED_AROUND] + "..."
    assert str(FilterError("bad", text, 1)).split('"')[1] == text[:QUOTED_AROUND] + "..."
    assert str(FilterError("bad", text, len(text) + 1)).split('"')[1] == "..." + text[-QUOTED_AROUND:]
