"""The API's request layer: kind names, filters and selections become Queries by ss's rules."""

from __future__ import annotations

import pytest

from pyss.api.request import KINDS, api_queries, api_query, kind_names, selection
from pyss.filter import FilterError, compile_filter
from pyss.netlink.constants import AF_INET, AF_INET6, AF_UNIX, TCP_ESTABLISHED, TCP_LISTEN
from pyss.query import STATES_ALL, TABLE_BIT, Details, Query, finish_query


def test_psutil_kinds_mean_what_psutil_means() -> None:
    assert selection("inet") == (TABLE_BIT["tcp"] | TABLE_BIT["udp"], 1 << AF_INET | 1 << AF_INET6)
    assert selection("tcp4") == (TABLE_BIT["tcp"], 1 << AF_INET)
    assert selection("udp6") == (TABLE_BIT["udp"], 1 << AF_INET6)
    unix = TABLE_BIT["unix_stream"] | TABLE_BIT["unix_dgram"] | TABLE_BIT["unix_seqpacket"]
    assert selection("unix") == (unix, 1 << AF_UNIX)


def test_ss_table_names_and_aliases_select_one_table() -> None:
    assert selection("u_str") == selection("unix_stream") == (TABLE_BIT["unix_stream"], 1 << AF_UNIX)
    assert selection("p_raw")[0] == TABLE_BIT["packet_raw"]
    assert selection("raw")[0] == TABLE_BIT["raw"]


def test_several_kinds_are_their_union() -> None:
    tables, families = selection(["tcp4", "unix_dgram"])
    assert tables == TABLE_BIT["tcp"] | TABLE_BIT["unix_dgram"]
    assert families == 1 << AF_INET | 1 << AF_UNIX


def test_kinds_of_inet_tables_in_different_families_are_dumped_apart() -> None:
    """tcp4 and udp6 are TCP over IPv4 and UDP over IPv6, not both tables in both families: each inet table
    is then its own query, in ss's order (the other tables first, then RAW, UDP, TCP)."""
    v4, v6 = 1 << AF_INET, 1 << AF_INET6
    assert [(query.tables, query.families) for query in api_queries(["tcp4", "udp6"])] == [
        (TABLE_BIT["udp"], v6), (TABLE_BIT["tcp"], v4)]
    unix = TABLE_BIT["unix_stream"] | TABLE_BIT["unix_dgram"] | TABLE_BIT["unix_seqpacket"]
    assert [(query.tables, query.families) for query in api_queries(["raw6", "unix", "inet4"])] == [
        (unix, 1 << AF_UNIX), (TABLE_BIT["raw"], v6), (TABLE_BIT["udp"], v4), (TABLE_BIT["tcp"], v4)]
    assert [(query.tables, query.families) for query in api_queries(["tcp4", "unix", "tcp6"])] == [
        (TABLE_BIT["tcp"] | unix, v4 | v6 | 1 << AF_UNIX)]
    narrowed = api_queries(["tcp4", "udp6"], compile_filter(["src", "inet6:[::1]"]))
    assert [(query.tables, query.families) for query in narrowed] == [(TABLE_BIT["udp"], v6)]


def test_all_lists_every_table_pyss_can_dump() -> None:
    tables, _ = selection("all")
    for name in ("tcp", "udp", "raw", "unix_stream", "unix_dgram", "unix_seqpacket", "packet_raw", "packet_dgram",
                 "netlink"):
        assert tables & TABLE_BIT[name], name


@pytest.mark.parametrize("bad", ["tcp7", "", "INET", ["tcp", "nope"], []])
def test_an_unknown_kind_is_a_value_error_naming_the_known_ones(bad: str | list[str]) -> None:
    with pytest.raises(ValueError, match="known kinds: inet, inet4") as raised:
        kind_names(bad)
    assert "unix_stream" in str(raised.value)


def test_every_kind_name_resolves() -> None:
    for name in KINDS:
        tables, families = selection(name)
        assert tables and families, name


def test_the_api_lists_every_state_unless_the_filter_names_states() -> None:
    query = api_query("tcp")
    assert query is not None and query.states == STATES_ALL
    narrowed = api_query("tcp", compile_filter(["state", "listening"]))
    assert narrowed is not None and narrowed.states == 1 << TCP_LISTEN
    established = api_query("tcp", compile_filter(["state", "established", "dport", "=", ":443"]))
    assert established is not None and established.states == 1 << TCP_ESTABLISHED
    assert established.filter is not None


def test_a_filter_naming_another_family_leaves_nothing_to_dump() -> None:
    assert api_query("tcp4", compile_filter(["src", "unix:/x"])) is None
    query = api_query("inet", compile_filter(["src", "inet6:[::1]"]))
    assert query is not None and query.families == 1 << AF_INET6


def test_a_malformed_filter_says_where() -> None:
    with pytest.raises(FilterError) as raised:
        compile_filter(["dport", "=", "=", ":22"])
    assert raised.value.column == len("dport = ") + 1


def test_finish_query_merges_a_filter_as_ss_does() -> None:
    tcp, inet = TABLE_BIT["tcp"], 1 << AF_INET | 1 << AF_INET6
    listening = finish_query(tcp, inet, STATES_ALL, 0, compile_filter(["state", "listening"]), Details())
    assert isinstance(listening, Query) and listening.states == 1 << TCP_LISTEN and listening.families == inet
    v6 = finish_query(tcp, inet, STATES_ALL, AF_INET, compile_filter(["src", "inet6:[::1]"]), Details())
    assert isinstance(v6, Query) and v6.families == 1 << AF_INET6 and v6.preferred_family == AF_INET6
    assert finish_query(0, inet, STATES_ALL, 0, None, Details()) == "socket tables"
    # state words that leave no state keep the states given, as ss keeps its defaults
    emptied = finish_query(tcp, inet, 1 << TCP_LISTEN, 0, compile_filter(["exclude", "all"]), Details())
    assert not isinstance(emptied, str) and emptied.states == 1 << TCP_LISTEN
    assert finish_query(tcp, 0, STATES_ALL, 0, None, Details()) == "families"
