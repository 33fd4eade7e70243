"""The TCP dump size estimate from sockstat (pyss.system.sockstat), on files written here."""

from __future__ import annotations

from pathlib import Path

from pyss.system.sockstat import tcp_sockets_here

SOCKSTAT = "sockets: used 90\nTCP: inuse 40 orphan 2 tw 7 alloc 99 mem 3\nUDP: inuse 3 mem 1\n"
SOCKSTAT6 = "TCP6: inuse 5\nUDP6: inuse 2\n"


def test_counts_hashed_sockets_of_both_families_and_time_wait(tmp_path: Path) -> None:
    (tmp_path / "sockstat").write_text(SOCKSTAT)
    (tmp_path / "sockstat6").write_text(SOCKSTAT6)
    assert tcp_sockets_here(str(tmp_path)) == 40 + 7 + 5  # not alloc (host-wide), not orphans


def test_without_sockstat6_counts_ipv4(tmp_path: Path) -> None:
    (tmp_path / "sockstat").write_text(SOCKSTAT)
    assert tcp_sockets_here(str(tmp_path)) == 47


def test_unreadable_is_unknown(tmp_path: Path) -> None:
    assert tcp_sockets_here(str(tmp_path)) is None


def test_this_namespace_reads() -> None:
    assert isinstance(tcp_sockets_here(), int)
