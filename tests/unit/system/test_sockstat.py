"""The TCP counters in sockstat (pyss.system.sockstat): the dump size estimate and a count's hashed sockets,
on files written here."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyss.system.sockstat import tcp_counters_here, tcp_sockets_here

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


def test_tcp_counters_are_both_families_hashed_and_time_wait(tmp_path: Path) -> None:
    (tmp_path / "sockstat").write_text(SOCKSTAT)
    (tmp_path / "sockstat6").write_text(SOCKSTAT6)
    assert tcp_counters_here(str(tmp_path)) == (40 + 5, 7)


@pytest.mark.parametrize(("sockstat", "sockstat6"), [
    (SOCKSTAT, None),  # no IPv6 counter: IPv6 sockets could not be told from nothing
    (None, SOCKSTAT6),
    ("TCP: inuse 40 orphan 2\n", SOCKSTAT6),  # no tw
    (SOCKSTAT.replace("inuse 40", "inuse x"), SOCKSTAT6),
    (SOCKSTAT, "UDP6: inuse 2\n"),
])
def test_tcp_counters_missing_are_unknown(tmp_path: Path, sockstat: str | None, sockstat6: str | None) -> None:
    for name, text in (("sockstat", sockstat), ("sockstat6", sockstat6)):
        if text is not None:
            (tmp_path / name).write_text(text)
    assert tcp_counters_here(str(tmp_path)) is None


def test_tcp_counters_of_this_namespace_read() -> None:
    counters = tcp_counters_here()
    assert counters is not None and all(isinstance(number, int) and number >= 0 for number in counters)
