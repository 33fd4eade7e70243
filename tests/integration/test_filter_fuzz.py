"""Differential filter fuzz: random expressions from ss's grammar, run by the real ss and by pyss
on the socket zoo; the same exit status and the same rows.

The expressions are drawn from the grammar (grammar/ss-filter.ebnf): conditions over the zoo's
ports and addresses, every operator spelling, `not`, parentheses, and/or chains, with leading
state words. Values that reach one of ss's own bugs (docs/filter.md, "Where pyss differs from
ss on purpose") are not drawn. Default suite: 15 expressions; `nox -s fuzz`: 600.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.budget import budget
from tests.integration.harness import ZooKeeper
from tests.integration.test_filter import _compare

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: runs sockets in a private network namespace")

EXAMPLES = budget(15, 600)

PORTS = [":22", ":80", ":443", ":53", ":123", ":5353", ":8080", ":7777", ":47001", ":47010", ":40001", ":40003",
         ":0", ":1024", ":65535", "*", "*:22", ":0x50", ":026"]
HOSTS = ["127.0.0.1", "127.0.0.1:80", "0.0.0.0", "0.0.0.0/0", "127/8", "10.0.0.0/8", "[::1]", "[::1]:443", "[::]",
         "::/0", "[::ffff:127.0.0.1]", "*", "*:8080", "inet:127.0.0.1", "inet6:[::1]", "localhost", "default"]
PORT_OPS = ["=", "==", "eq", "!=", "ne", "neq", ">", "gt", "<", "lt", ">=", "ge", "geq", "<=", "le", "leq", ""]
HOST_OPS = ["=", ""]
STATES = ["established", "listening", "connected", "synchronized", "time-wait", "syn-sent", "all", "close-wait",
          "fin-wait-2", "bucket", "big"]


def _joined(*parts: str) -> str:
    return " ".join(part for part in parts if part)


port_conditions = st.builds(_joined, st.sampled_from(["sport", "dport"]), st.sampled_from(PORT_OPS),
                            st.sampled_from(PORTS))
host_conditions = st.builds(_joined, st.sampled_from(["src", "dst"]), st.sampled_from(HOST_OPS),
                            st.sampled_from(HOSTS))
other_conditions = st.sampled_from(["dev lo", "dev != lo", "dev = 1", "autobound", "fwmark = 0", "fwmark != 0x1",
                                    "fwmark 0/0xff"])
conditions = st.one_of(port_conditions, host_conditions, other_conditions)


def _combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda op, expr: f"{op} {expr}", st.sampled_from(["not", "!"]), inner),
        st.builds(lambda expr: f"( {expr} )", inner),
        st.builds(_joined,
                  inner, st.sampled_from(["and", "or", "&&", "||", "&", "|", ""]), inner),
    )


expressions = st.recursive(conditions, _combine, max_leaves=6)
state_prefixes = st.lists(st.builds(lambda word, state: f"{word} {state}", st.sampled_from(["state", "exclude"]),
                                    st.sampled_from(STATES)), max_size=2).map(" ".join)


@EXAMPLES
@given(st.sampled_from(["-tanH", "-uanH", "-tuanH", "-anH"]), state_prefixes, expressions)
def test_random_expressions_select_what_ss_selects(
        zoo_keeper: ZooKeeper, options: str, states: str, expression: str) -> None:
    # the zoo is fetched per expression: a long run outlives its TIME-WAIT sockets, and get() rebuilds it
    _compare(zoo_keeper.get(), options, _joined(states, expression))
