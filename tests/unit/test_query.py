"""ss's rules for which tables, families and states a command line selects."""

from __future__ import annotations

import pytest

from pyss.netlink.constants import (
    AF_INET,
    AF_INET6,
    AF_NETLINK,
    AF_PACKET,
    AF_UNIX,
    TCP_CLOSE,
    TCP_ESTABLISHED,
    TCP_LISTEN,
)
from pyss.query import (
    QUERY_NAMES,
    STATES_ALL,
    STATES_CONNECTED,
    STATES_LISTENING,
    TABLE_BIT,
    Query,
    SelectionBuilder,
)


def tables(*names: str) -> int:
    mask = 0
    for name in names:
        mask |= TABLE_BIT[name]
    return mask


def families(*numbers: int) -> int:
    return sum(1 << n for n in numbers)


def test_default_is_every_table_in_connected_states() -> None:
    built = SelectionBuilder().build()
    assert built == (tables(*QUERY_NAMES["all"]), built[1], STATES_CONNECTED)
    assert built[1] & families(AF_INET, AF_INET6, AF_UNIX, AF_PACKET, AF_NETLINK) == \
        families(AF_INET, AF_INET6, AF_UNIX, AF_PACKET, AF_NETLINK)


def test_tcp_flag_selects_tcp_in_both_inet_families() -> None:
    selection = SelectionBuilder()
    selection.add_table("tcp")
    assert selection.build() == (tables("tcp"), families(AF_INET, AF_INET6), STATES_CONNECTED)


def test_udp_alone_shows_only_established_and_all_overrides() -> None:
    selection = SelectionBuilder()
    selection.add_table("udp")
    assert selection.build()[2] == 1 << TCP_ESTABLISHED
    selection.state_override = STATES_ALL
    assert selection.build()[2] == STATES_ALL


def test_unix_family_brings_its_three_tables() -> None:
    selection = SelectionBuilder()
    selection.add_family(AF_UNIX)
    built_tables, built_families, _ = selection.build()
    assert built_tables == tables("unix_stream", "unix_dgram", "unix_seqpacket")
    assert built_families == families(AF_UNIX)


def test_ipv4_family_with_tcp_keeps_ipv4_only() -> None:
    selection = SelectionBuilder()
    selection.add_family(AF_INET)
    selection.add_table("tcp")
    assert selection.build()[:2] == (tables("tcp"), families(AF_INET))
    assert selection.preferred_family == AF_INET


def test_query_names_and_negation() -> None:
    selection = SelectionBuilder()
    selection.add_query("inet,!udp")
    built_tables, _, states = selection.build()
    assert built_tables == tables("tcp", "mptcp", "dccp", "raw", "sctp")
    assert states == STATES_CONNECTED


def test_listening_flag_covers_listen_and_unconnected() -> None:
    selection = SelectionBuilder()
    selection.add_table("tcp")
    selection.state_override = STATES_LISTENING
    assert selection.build()[2] == (1 << TCP_LISTEN) | (1 << TCP_CLOSE)


def test_filter_states_replace_the_flags() -> None:
    selection = SelectionBuilder()
    selection.add_table("tcp")
    selection.state_override = STATES_ALL
    assert selection.build(states_from_filter=1 << TCP_ESTABLISHED)[2] == 1 << TCP_ESTABLISHED


@pytest.mark.parametrize(("tables", "override", "expected"), [
    ((), STATES_ALL, STATES_CONNECTED),  # no table named: ss's connected states, -a forgotten
    (("tcp",), STATES_ALL, STATES_CONNECTED),  # -ta state X exclude X: tcp's defaults, not -a's
    (("packet_raw",), 0, 1 << TCP_CLOSE),
    (("udp",), STATES_LISTENING, 1 << TCP_ESTABLISHED),
])
def test_state_words_leaving_no_state_fall_back_to_the_defaults(tables: tuple[str, ...], override: int,
                                                                 expected: int) -> None:
    selection = SelectionBuilder()
    for table in tables:
        selection.add_table(table)
    selection.state_override = override
    assert selection.build(states_from_filter=0)[2] == expected


def test_unknown_query_name_raises_key_error() -> None:
    selection = SelectionBuilder()
    try:
        selection.add_query("tcp,bogus")
    except KeyError as error:
        assert error.args[0] == "bogus"
    else:
        raise AssertionError("bogus was accepted")


def test_counts_decide_which_columns_ss_shows() -> None:
    query = Query(tables=tables("tcp"), families=families(AF_INET), states=1 << TCP_ESTABLISHED)
    assert (query.table_count, query.state_count) == (1, 1)


def test_request_flags_follow_ss() -> None:
    from pyss.netlink.constants import (
        INET_DIAG_CONG,
        INET_DIAG_INFO,
        INET_DIAG_MEMINFO,
        INET_DIAG_SKMEMINFO,
        INET_DIAG_TCLASS,
        INET_DIAG_TOS,
        INET_DIAG_VEGASINFO,
        UDIAG_SHOW_ICONS,
        UDIAG_SHOW_MEMINFO,
        UDIAG_SHOW_VFS,
    )
    from pyss.query import Details, Extensions, extensions

    def bit(attr: int) -> int:
        return 1 << (attr - 1)

    assert extensions(Details(options=True, processes=True)) == Extensions(0, 0)
    assert extensions(Details(memory=True)) == Extensions(bit(INET_DIAG_MEMINFO) | bit(INET_DIAG_SKMEMINFO),
                                                          UDIAG_SHOW_MEMINFO)
    assert extensions(Details(info=True)).inet == bit(INET_DIAG_INFO) | bit(INET_DIAG_VEGASINFO) | bit(INET_DIAG_CONG)
    assert extensions(Details(tos=True)).inet == bit(INET_DIAG_TOS) | bit(INET_DIAG_TCLASS)
    assert extensions(Details(extended=1)) == Extensions(0, UDIAG_SHOW_VFS | UDIAG_SHOW_ICONS)
