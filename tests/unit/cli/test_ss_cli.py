"""pyss's command line: which missing diag modules it speaks of."""

from __future__ import annotations

from pyss.cli.ss import quiet_tables
from pyss.query import OPTIONAL_TABLES, TABLE_BIT


def test_named_kinds_are_not_quiet() -> None:
    quiet = quiet_tables({"xdp", "tcp", "v_str", "unix", "sctp"})
    for table in ("xdp", "vsock_stream", "sctp"):
        assert not quiet & TABLE_BIT[table]
    for table in ("vsock_dgram", "tipc", "mptcp", "dccp"):
        assert quiet & TABLE_BIT[table]


def test_all_and_inet_leave_every_optional_kind_quiet() -> None:
    assert quiet_tables({"all", "inet", "inet6", "tcp"}) == OPTIONAL_TABLES


def test_a_family_name_speaks_for_its_tables() -> None:
    quiet = quiet_tables({"vsock", "tipc"})
    assert not quiet & (TABLE_BIT["vsock_stream"] | TABLE_BIT["vsock_dgram"] | TABLE_BIT["tipc"])
