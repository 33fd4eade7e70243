"""The harness itself: the zoo holds every socket kind, ss agrees with itself, own rows are found, teardown is clean.

These run ss only, so they check the ground the pyss/pynetstat comparisons stand on.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.integration.harness import (
    NS_PREFIX,
    ZooKeeper,
    ZooNamespace,
    assert_same_rows,
    ip,
    is_own_row,
    start_zoo,
    stop_zoo,
    without_own_rows,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: private netns, packet and raw sockets")

# Every (Netid, State) the zoo must show in `ss -a`.
EXPECTED_KINDS = {
    ("tcp", "LISTEN"),
    ("tcp", "ESTAB"),
    ("tcp", "CLOSE-WAIT"),
    ("tcp", "FIN-WAIT-2"),
    ("tcp", "TIME-WAIT"),
    ("tcp", "SYN-SENT"),
    ("udp", "UNCONN"),
    ("udp", "ESTAB"),
    ("raw", "UNCONN"),
    ("u_str", "LISTEN"),
    ("u_str", "ESTAB"),
    ("u_dgr", "UNCONN"),
    ("u_dgr", "ESTAB"),
    ("u_seq", "LISTEN"),
    ("u_seq", "ESTAB"),
    ("p_raw", "UNCONN"),
    ("p_dgr", "UNCONN"),
    ("nl", "UNCONN"),
}

# The argument lists the core comparisons use; ss must agree with itself on each.
STABILITY_ARGS = ["-a", "-an", "-tan", "-uan", "-xa", "-wan", "-0a", "-a -A netlink", "-a -A netlink -n", "-tuan"]
NETLINK_ARGS = {"-a", "-an", "-a -A netlink", "-a -A netlink -n"}


def kinds(text: str) -> set[tuple[str, str]]:
    return {tuple(line.split()[:2]) for line in text.splitlines()[1:] if line.strip()}  # type: ignore[misc]


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines()[1:]]


def test_zoo_holds_every_socket_kind(zoo_ns: ZooNamespace) -> None:
    run = zoo_ns.ss("-a")
    assert run.returncode == 0
    missing = EXPECTED_KINDS - kinds(run.text)
    assert not missing, f"zoo lacks {sorted(missing)}:\n{run.text}"


def test_zoo_tcp_details(zoo_ns: ZooNamespace) -> None:
    """The edge cases the brief asks for are really there, in both families where it matters."""
    table = rows(zoo_ns.ss("-tan").text)
    by_state: dict[str, list[list[str]]] = {}
    for row in table:
        by_state.setdefault(row[0], []).append(row)
    for state in ("TIME-WAIT", "CLOSE-WAIT", "FIN-WAIT-2", "ESTAB", "LISTEN"):
        locals_ = [row[3] for row in by_state.get(state, [])]
        assert any(local.startswith("127.0.0.1:") for local in locals_), f"no IPv4 {state}: {locals_}"
        assert any(local.startswith("[::1]:") for local in locals_), f"no IPv6 {state}: {locals_}"
    locals_all = [row[3] for row in table]
    assert {"0.0.0.0%lo:47010", "[::]%lo:47010"} <= set(locals_all), "SO_BINDTODEVICE listeners show no %lo scope"
    assert "[::ffff:127.0.0.1]:8080" in locals_all, "no v4-mapped connection on the dual-stack listener"
    listen = {row[3]: row for row in by_state["LISTEN"]}
    assert {"0.0.0.0:22", "127.0.0.1:80", "[::1]:443", "[::]:22", "*:8080"} <= set(listen), sorted(listen)
    assert listen["127.0.0.1:47001"][1] == "1", "the queued connection is not counted in the listener's Recv-Q"
    established = by_state["ESTAB"]
    assert any(row[1] != "0" for row in established), "no established row with Recv-Q > 0"
    assert any(row[2] != "0" for row in established), "no established row with Send-Q > 0"
    assert any(len(row[1]) > len("Recv-Q") for row in established), "no Recv-Q wider than its header"
    assert any(len(row[2]) > len("Send-Q") for row in established), "no Send-Q wider than its header"


def test_zoo_udp_unix_packet_netlink_details(zoo_ns: ZooNamespace) -> None:
    text = zoo_ns.ss("-a").text
    assert re.search(r"^udp +ESTAB .*127\.0\.0\.1:40020 ", text, re.M), "no connected v4 UDP"
    assert re.search(r"^udp +ESTAB .*\[::1\]:40021 ", text, re.M), "no connected v6 UDP"
    assert re.search(r"^udp +UNCONN +[1-9]\d* .*:domain ", text, re.M), "no UDP row with Recv-Q > 0"
    assert "*%lo:47011" in text, "no dual-stack socket bound to lo"
    assert "@pyss-zoo-abstract-stream" in text, "no abstract UNIX name"
    assert "@pyss-zoo@embedded-nul" in text, "no abstract UNIX name with a NUL inside"
    unix_dir = Path(zoo_ns.unix_dir)
    for name in ("stream.sock", "with space.sock", "deleted.sock"):
        assert str(unix_dir / name) in text, f"no UNIX path {name!r}"
    assert not (unix_dir / "deleted.sock").exists()
    assert max(len(line.split()[4]) for line in text.splitlines() if line.startswith("u_")) == 107, "no 107-byte path"
    assert re.search(r"^p_raw .* \*:lo ", text, re.M), "no packet socket bound to lo"
    assert re.search(r"^nl .*genl:pyss-zoo-holder/\d+ +0:0 ", text, re.M), "no connected netlink socket"
    assert "audit:2000000001" in text, "no netlink socket with a non-pid port id"


def test_ss_agrees_with_itself(zoo_ns: ZooNamespace) -> None:
    """Two runs of ss list the same rows in the same order, once ss's own netlink socket is dropped.

    Checked for every table the core comparisons use. ss's own NETLINK_SOCK_DIAG row
    moves (its port id is the pid, which picks the hash slot). Netlink rows can also
    reorder when the kernel's netlink hash table (one for all namespaces) rehashes
    because sockets came or went elsewhere on the host (seen about once a minute
    while other sessions were creating namespaces). So netlink tables get a second
    chance; all other tables must agree at once.
    """
    for args in STABILITY_ARGS:
        first, second = zoo_ns.ss(*args.split()), zoo_ns.ss(*args.split())
        if args in NETLINK_ARGS and without_own_rows(first).kept != without_own_rows(second).kept:
            first, second = second, zoo_ns.ss(*args.split())
        assert_same_rows(first, second)


def test_own_row_is_found_and_only_it(zoo_ns: ZooNamespace) -> None:
    for args, shown in (("-A netlink", "tcpdiag:ss/{pid}"), ("-A netlink -n", "4:{pid}")):
        run = zoo_ns.ss("-a", *args.split())
        dropped = without_own_rows(run).dropped
        assert len(dropped) == 1, dropped
        assert shown.format(pid=run.pid) in dropped[0]
    zoo_pid = zoo_ns.zoo["pid"]
    assert not is_own_row(f"nl UNCONN 0 0 rtnl:pyss-zoo-holder/{zoo_pid} *", pid=zoo_pid + 1)
    assert not is_own_row("tcp ESTAB 0 0 127.0.0.1:4242 127.0.0.1:80", pid=4242)


def test_differing_rows_are_reported(zoo_ns: ZooNamespace) -> None:
    """The comparison fails, with a diff, when a non-own row differs (it is no tautology)."""
    run = zoo_ns.ss("-a", "-A", "netlink")
    tampered = type(run)(run.args, run.pid, run.returncode, run.stdout.replace(b"audit:", b"audiT:"), run.stderr)
    with pytest.raises(AssertionError, match="audiT"):
        assert_same_rows(run, tampered)


def test_teardown_leaves_nothing_behind() -> None:
    name = f"{NS_PREFIX}{os.getpid()}-teardown"
    ns = start_zoo(name)
    holder = ns.holder
    stop_zoo(ns)
    assert holder.returncode is not None, "the holder still runs"
    assert name not in ip("netns", "list").stdout.decode()
    assert not Path(ns.unix_dir).exists()


def test_an_aged_zoo_is_rebuilt_before_use() -> None:
    """A zoo older than the TIME-WAIT margin is replaced, and the old namespace is gone."""
    keeper = ZooKeeper()
    try:
        first = keeper.get()
        second = keeper.get(max_age=0.0)
        assert second is not first
        assert first.name not in ip("netns", "list").stdout.decode()
        assert "TIME-WAIT" in second.ss("-tan").text
    finally:
        keeper.close()
    assert second.name not in ip("netns", "list").stdout.decode()
