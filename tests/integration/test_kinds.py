"""The socket kinds beyond TCP/UDP/RAW/UNIX/PACKET/NETLINK, against the real ss, in a private netns.

MPTCP is live (this kernel has it): pyss and ss list zoo_kinds.py's sockets and
must print the same bytes. The kinds whose diag module a kernel lacks are
tested on built bytes in tests/unit; here, pyss must say once that it cannot list them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyss.netlink.constants import (
    INET_DIAG_INFO,
    INET_DIAG_ULP_INFO,
    INET_ULP_INFO_MPTCP,
    INET_ULP_INFO_NAME,
    MPTCP_SUBFLOW_FLAG_BKUP_LOC,
    MPTCP_SUBFLOW_FLAG_JOIN_REM,
    MPTCP_SUBFLOW_FLAG_MAPVALID,
)
from pyss.netlink.requests import attribute
from pyss.render.details import details_text
from tests.integration.harness import (
    NS_PREFIX,
    ZooNamespace,
    assert_matches_reference,
    missing_prerequisites,
    start_zoo,
    stop_zoo,
)
from tests.integration.test_details import by_shape, captured, constructed, details_for, needs_ss, ss_process_column
from tests.unit.netlink.test_mptcp import subflow_attrs

KINDS_SCRIPT = Path(__file__).with_name("zoo_kinds.py")


@pytest.fixture(scope="module")
def kinds_ns() -> Iterator[ZooNamespace]:
    reason = missing_prerequisites()
    if reason is not None:
        pytest.skip(reason)
    ns = start_zoo(f"{NS_PREFIX}{os.getpid()}-kinds", KINDS_SCRIPT)
    try:
        yield ns
    finally:
        stop_zoo(ns)


@pytest.fixture
def mptcp_ns(kinds_ns: ZooNamespace) -> ZooNamespace:
    if kinds_ns.zoo.get("mptcp") is not True:
        pytest.skip(f"no MPTCP sockets in this kernel: {kinds_ns.zoo.get('mptcp')}")
    return kinds_ns


# Nothing in these moves while the holder holds still: byte for byte (stdout and exit status).
MPTCP_EXACT = [
    "-M", "-Ma", "-Man", "-Ml", "-Mln", "-Mae", "-Maen", "-Mao", "-Mai", "-Mam", "-MaimO", "-Maie",
    "-tMa", "-uMa", "-wMa", "-tuwMan", "-Ma4", "-Ma6", "-MaH", "-A mptcp", "-A mptcp,tcp -a", "-A inet -an",
    "-f inet6 -Ma", "-Ma -p",
    # filters: the kernel's bytecode and pyss's predicate both take part
    "-Ma sport = :5555", "-Man dport = :5555", "-Ma src 127.0.0.1", "-Man state established",
    "-Man ( sport = :22 or dport = :47100 )", "-M state listening", "-Ma dst [::]", "-Man !sport = :5555",
]


@pytest.mark.parametrize("args", MPTCP_EXACT)
def test_mptcp_as_ss(mptcp_ns: ZooNamespace, args: str) -> None:
    assert_matches_reference(mptcp_ns.ss, mptcp_ns.pyss, args.split())


# The TCP subflows' tcp_info (rtt, lastsnd, ...) moves: compared by shape, with their
# " tcp-ulp-mptcp flags:... token:..." part.
@pytest.mark.parametrize("args", ["-tain", "-taino", "-tMaim"])
def test_mptcp_subflows_as_ss(mptcp_ns: ZooNamespace, args: str) -> None:
    assert_matches_reference(by_shape(mptcp_ns.ss), by_shape(mptcp_ns.pyss), args.split())


def test_mptcp_is_listed(mptcp_ns: ZooNamespace) -> None:
    """The comparisons above mean something only if the sockets are there."""
    lines = mptcp_ns.pyss("-Man").text.splitlines()
    rows = [line.split() for line in lines[1:]]
    assert ["LISTEN", "0", "16", "127.0.0.1:5555", "0.0.0.0:*"] in rows, lines
    # the accepted end holds the client's unread bytes
    assert any(row[0] == "ESTAB" and row[1] != "0" and row[3] == "127.0.0.1:5555" for row in rows), lines
    assert any(line.startswith("LISTEN") and "[::]:47102" in line for line in lines), lines


def test_mptcp_info_is_shown(mptcp_ns: ZooNamespace) -> None:
    text = mptcp_ns.pyss("-Mani").text
    assert " fallback" in text and " remote_key" in text and " token:" in text, text


@needs_ss
@pytest.mark.parametrize("flags", [0xFFFF_FFFF, MPTCP_SUBFLOW_FLAG_JOIN_REM | MPTCP_SUBFLOW_FLAG_BKUP_LOC,
                                   MPTCP_SUBFLOW_FLAG_MAPVALID, 0])
def test_mptcp_subflow_as_ss_prints_it(flags: int, tmp_path: Path) -> None:
    """A TCP subflow's ULP info, every flag letter included, through ss's TCPDIAG_FILE reader."""
    ulp = attribute(INET_ULP_INFO_NAME, b"mptcp\0") + attribute(INET_ULP_INFO_MPTCP, subflow_attrs(flags))
    record = captured.TCP_ESTAB_RECEIVER._replace(
        attrs=attribute(INET_DIAG_INFO, constructed.FULL) + attribute(INET_DIAG_ULP_INFO, ulp))
    expected = ss_process_column(record, ["-i"], tmp_path)
    assert " tcp-ulp-mptcp" in expected
    assert details_text(record, details_for(["-i"]), None) == expected
