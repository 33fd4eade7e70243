"""Property tests: any word salad compiles or fails cleanly; bytecode and predicate agree.

The kernel model (kernel_model.py) interprets the encoded program the way the
kernel does; on IPv4 records and conditions the kernel and ss's own check mean
the same thing, so the program, the kernel semantics of the tree, and pyss's
Python judge must give one verdict for every socket.
"""

from __future__ import annotations

import socket

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.filter import kernel_model
from tests.unit.filter.fake_resolver import CGROUPS, DEVICES, FakeResolver

from pyss.filter import FilterError, compile_filter
from pyss.filter.ast import lower
from pyss.filter.compiled import CompiledFilter
from pyss.netlink.constants import AF_INET, AF_INET6

WORDS = ["(", ")", "!", "not", "and", "&&", "or", "||", "&", "|", "src", "dst", "sport", "dport", "dev",
         "fwmark", "cgroup", "autobound", "=", "==", "!=", ">", "<", ">=", "<=", "eq", "ne", "gt", "lt",
         ":22", ":ssh", "*", "*:80", "10.0.0.1", "10.0.0.0/8", "[::1]", "[::1]:22", "::1", "localhost", "lo",
         "0x10/0xff", "app", "unix:/tmp/*", "link:ip", "netlink:rtnl", "bogus", ":bogus", "1.2.3.4/99", "(sport",
         "state", "established", "exclude", "\\", "a\\ b", ""]
PORTS = st.sampled_from([0, 1, 22, 80, 1023, 1024, 40000, 60999, 65535])
ADDRESSES = {
    AF_INET: ["10.0.0.1", "10.0.0.2", "10.1.0.1", "127.0.0.1", "0.0.0.0", "192.0.2.7"],
    AF_INET6: ["::1", "::", "2001:db8::1", "2001:db8::2", "2001:db8:1::1", "fe80::1"],
}


# deadline=None: the first syntax error imports pyparsing (the recognizer declines it), ~0.3 s on a loaded machine.
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(WORDS), max_size=12))
def test_any_words_compile_or_raise_filter_error(words: list[str]) -> None:
    try:
        compiled = compile_filter(words, resolver=FakeResolver())
    except FilterError as error:
        text = str(error)
        assert "\n" not in text
        assert 1 <= error.column <= len(error.text) + 1
        assert error.status in (1, 255)
        return
    program = compiled.kernel_bytecode
    assert program is None or kernel_model.audit(program)


def _host(family: int, address: str) -> str:
    return f"[{address}]" if family == AF_INET6 else address


def leaf(family: int) -> st.SearchStrategy[str]:
    addresses = st.sampled_from(ADDRESSES[family])
    width = 128 if family == AF_INET6 else 32
    op = st.sampled_from(["=", "==", "eq", "!=", "ne", ">", "gt", "<", "lt", ">=", "ge", "<=", "le"])
    return st.one_of(
        st.builds(lambda side, o, p: f"{side} {o} :{p}", st.sampled_from(["sport", "dport"]), op, PORTS),
        st.builds(lambda side, a, n: f"{side} {a}/{n}", st.sampled_from(["src", "dst"]), addresses,
                  st.integers(0, width)),
        st.builds(lambda side, a, p: f"{side} {_host(family, a)}:{p}", st.sampled_from(["src", "dst"]), addresses,
                  PORTS),
        st.builds(lambda side, p: f"{side} *:{p}", st.sampled_from(["src", "dst"]), PORTS),
        st.builds(lambda m, k: f"fwmark = {m:#x}/{k:#x}", st.sampled_from([0, 1, 0x10, 0x11]),
                  st.sampled_from([0, 1, 0xF0, 0xFFFFFFFF])),
        st.builds(lambda d: f"dev {d}", st.sampled_from(sorted(DEVICES))),
        st.just("cgroup app"),
        st.just("autobound"),
    )


def expression(family: int = AF_INET) -> st.SearchStrategy[str]:
    return st.recursive(leaf(family), lambda inner: st.one_of(
        st.builds(lambda e: f"not {e}" if e.startswith("(") or " " not in e else f"not ( {e} )", inner),
        st.builds(lambda a, b: f"( {a} and {b} )", inner, inner),
        st.builds(lambda a, b: f"( {a} or {b} )", inner, inner),
        st.builds(lambda a, b: f"( {a} {b} )", inner, inner),
        st.builds(lambda a, b: f"{a} || {b}", inner, inner),
    ), max_leaves=8)


def entries(family: int = AF_INET) -> st.SearchStrategy[kernel_model.Entry]:
    addresses = st.sampled_from(ADDRESSES[family])
    return st.builds(
        lambda sport, dport, src, dst, ifindex, mark, cgroup: kernel_model.Entry(
            family, sport, dport, socket.inet_pton(family, src), socket.inet_pton(family, dst), ifindex, mark,
            cgroup, port_locked=not 32768 <= sport <= 60999),
        PORTS, PORTS, addresses, addresses, st.sampled_from([0, 1, 2]), st.sampled_from([0, 1, 0x10, 0x13]),
        st.sampled_from([0, CGROUPS["app"]]))


def families() -> st.SearchStrategy[tuple[str, list[kernel_model.Entry]]]:
    """An expression and sockets of one family (where the kernel's and ss's checks coincide)."""
    return st.sampled_from([AF_INET, AF_INET6]).flatmap(
        lambda family: st.tuples(expression(family), st.lists(entries(family), min_size=1, max_size=8)))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(families())
def test_bytecode_and_predicate_agree(case: tuple[str, list[kernel_model.Entry]]) -> None:
    text, sockets = case
    expression = compile_filter(text.split(), resolver=FakeResolver()).expression
    compiled = CompiledFilter(expression, ephemeral=(32768, 60999))  # the range `port_locked` assumes
    assert compiled.expression is not None
    prim = lower(compiled.expression)
    program = compiled.kernel_bytecode
    for entry in sockets:
        in_python = compiled(kernel_model.record_for(entry))
        assert kernel_model.judge(prim, entry) == in_python, (text, entry)
        if program is not None:
            assert kernel_model.audit(program)
            assert kernel_model.run(program, entry) == in_python, (text, entry, program.hex())


@settings(max_examples=200)
@given(expression())
def test_printing_round_trips(text: str) -> None:
    compiled = compile_filter(text.split(), resolver=FakeResolver())
    again = compile_filter(str(compiled).split(), resolver=FakeResolver())
    assert again.expression == compiled.expression
    assert again.kernel_bytecode == compiled.kernel_bytecode
