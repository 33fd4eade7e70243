"""Listings large enough to be read ahead, against ss and netstat: the same bytes on stdout.

The zoo's dumps fit in one receive buffer, so they never start a read-ahead
child. Here a namespace holds ~1,600 IPv4 TCP sockets (a dump of several
buffers: it goes to a read-ahead child) and a few IPv6 ones, listening and
connected; another holds both families interleaved in the kernel's hash, so
that the one TCPDIAG_GETSOCK dump of a plain listing (pyss.netlink.tcpdiag)
holds IPv6 rows in most buffers, which come out after every IPv4 row as ss
prints them. With one CPU (`nox -s tests-one-cpu`) no child is started and
the same outputs must come out.
"""

from __future__ import annotations

import errno
import importlib
import os
import shutil
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration import harness

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: holds sockets in a private network namespace"),
    pytest.mark.skipif(shutil.which("ss", path=harness.TOOL_ENV["PATH"]) is None
                       or shutil.which("netstat", path=harness.TOOL_ENV["PATH"]) is None,
                       reason="needs iproute2's ss and net-tools' netstat"),
]

PAIRS = 800  # 1,600 sockets: ~200 kB of IPv4 replies, several buffers

HOLDER = f"""
import socket, sys
held = []
for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    listener = socket.socket(family)
    listener.bind((host, 0))
    listener.listen(4096)
    held.append(listener)
    for _ in range({PAIRS} if family == socket.AF_INET else 5):
        client = socket.socket(family)
        client.connect(listener.getsockname()[:2])
        server, _ = listener.accept()
        held += [client, server]
wild = socket.socket(socket.AF_INET6)
wild.bind(("::", 0))
wild.listen(1)
held.append(wild)
print("ready", flush=True)
sys.stdin.read()
"""


@pytest.fixture(scope="module")
def large_ns() -> Iterator[harness.ZooNamespace]:
    with harness.script_namespace("large", HOLDER) as name:
        yield harness.ZooNamespace(name, {}, 0.0, None)  # type: ignore[arg-type]


@pytest.mark.parametrize("args", ["-tan", "-tn", "-4tan", "-tan -6", "-ltn"])
def test_pyss_lists_what_ss_lists(large_ns: harness.ZooNamespace, args: str) -> None:
    harness.assert_matches_reference(large_ns.ss, large_ns.pyss, args.split())


@pytest.mark.parametrize("args", ["-tan", "-tn"])
def test_pynetstat_lists_what_netstat_lists(large_ns: harness.ZooNamespace, args: str) -> None:
    harness.assert_matches_reference(large_ns.netstat, large_ns.pynetstat, args.split())


MIXED_HOLDER = f"""
import socket, sys
held = []
listeners = []
for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1"), (socket.AF_INET6, "::ffff:127.0.0.1")):
    listener = socket.socket(family)
    listener.bind((host, 0))
    listener.listen(4096)
    listeners.append(listener)
for index in range({PAIRS}):
    listener = listeners[index % 3]
    client = socket.socket(listener.family)
    client.connect(listener.getsockname()[:2])
    server, _ = listener.accept()
    held += [client, server]
print("ready", flush=True)
sys.stdin.read()
"""


@pytest.fixture(scope="module")
def mixed_ns() -> Iterator[harness.ZooNamespace]:
    with harness.script_namespace("mixed", MIXED_HOLDER) as name:
        yield harness.ZooNamespace(name, {}, 0.0, None)  # type: ignore[arg-type]


@pytest.mark.parametrize("args", ["-tan", "-tn", "-ta", "-tanp", "-4tan", "-6tn"])
def test_pyss_lists_both_families_of_one_dump_as_ss_lists_two(mixed_ns: harness.ZooNamespace, args: str) -> None:
    harness.assert_matches_reference(mixed_ns.ss, mixed_ns.pyss, args.split())


def test_pynetstat_lists_both_families_of_one_dump_as_netstat(mixed_ns: harness.ZooNamespace) -> None:
    harness.assert_matches_reference(mixed_ns.netstat, mixed_ns.pynetstat, ["-tan"])


# pyss with its idle work (laying rows out ahead, pyss.render.ss.SsWriter.lay_ahead) done to the end before
# every buffer it takes from the read-ahead child, as if the kernel's walk always kept it waiting, until the
# first dump (IPv4's) has ended, and never after: the rows that come after it are laid out only at the end.
# It says on stderr how many blocks it laid out ahead.
LAYING_AHEAD = """
import sys
from pyss.netlink import transport
from pyss.render import ss

laid = [0]
lay_ahead = ss.SsWriter.lay_ahead
def counted(writer):
    done = lay_ahead(writer)
    laid[0] += done
    return done
ss.SsWriter.lay_ahead = counted
next_packet = transport._next_packet
first_dump = [True]
def waiting(ours):
    idle_work = transport._IDLE_WORK[:]
    for work in idle_work if first_dump[0] else ():
        while work():
            pass
    transport._IDLE_WORK[:] = []  # no other idle work: the packet is waited for
    try:
        packet = next_packet(ours)
    finally:
        transport._IDLE_WORK[:] = idle_work
    first_dump[0] = first_dump[0] and not transport.ends_dump(packet)
    return packet
transport._next_packet = waiting
from pyss.cli.ss import main
status = main(sys.argv[1:])
sys.stderr.write(f"laid out ahead: {laid[0]}\\n")
sys.exit(status)
"""


@pytest.mark.parametrize("args", ["-tan", "-tn", "-ta"])
def test_rows_laid_out_ahead_before_a_wider_row_come_out_as_ss_lays_them(mixed_ns: harness.ZooNamespace,
                                                                         args: str) -> None:
    """The IPv6 rows of the one TCP dump come after every IPv4 row and widen the address columns at the very
    end: what was laid out ahead in the IPv4 widths must be laid out again, as ss lays the whole batch."""
    runs: list[harness.NsRun] = []

    def laying_ahead(*argv: str) -> harness.NsRun:
        runs.append(mixed_ns.run_in_ns([str(harness.BIN_DIR / "python"), "-c", LAYING_AHEAD, *argv]))
        return runs[-1]

    harness.assert_matches_reference(mixed_ns.ss, laying_ahead, args.split())
    if len(os.sched_getaffinity(0)) > 1:  # on one CPU no read-ahead child is started, and nothing is laid ahead
        assert int(runs[-1].stderr.decode().rsplit(":", 1)[1]) > 1, "no block was laid out ahead"


# Five descriptors: the standard three, the dump's netlink socket and one more. A read-ahead child needs a
# socket pair, so neither the console script's early dump nor a read-ahead of a dump can have one: pyss must
# read the dump itself, as ss does, not end with a traceback (EMFILE) or "cannot read sockets".
FEW_DESCRIPTORS = ["prlimit", "--nofile=5"]


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs util-linux's prlimit")
@pytest.mark.parametrize(("tool", "args"), [("ss", "-tan"), ("ss", "-t -a -n"), ("ss", "-tln"),
                                            ("netstat", "-tan")])
def test_no_descriptor_to_spare_for_a_child_lists_what_ss_lists(large_ns: harness.ZooNamespace, tool: str,
                                                                 args: str) -> None:
    def limited(program: str) -> Callable[..., harness.NsRun]:
        return lambda *argv: large_ns.run_in_ns([*FEW_DESCRIPTORS, program, *argv])

    reference, candidate = (tool, harness.PYSS) if tool == "ss" else (tool, harness.PYNETSTAT)
    harness.assert_matches_reference(limited(reference), limited(str(candidate)), args.split())


# --- two of ss's batches ------------------------------------------------------------------------------
# ss lays out and writes its buffer whenever five 1 MiB chunks are in use (~63k plain TCP rows): each batch
# in the widths known when it is written. Here a long IPv6 address comes last (IPv6 rows follow every IPv4
# row) and widens the columns of the second batch alone, which pyss's speculative layout (laid out ahead
# while the kernel walks, in the widths known so far) must leave as ss writes them.
SECOND_BATCH = 70_000
WIDE_ADDRESS = "2001:db8:1234:5678:9abc:def0:1234:5678"


def connect_when_routed(client: socket.socket, address: tuple[str, int]) -> None:
    """Connect to an address just added: its local route is added by the kernel's address work queue, after
    `ip addr add` returns (bind() already works), later still on a loaded host (ENETUNREACH until then)."""
    for _ in range(200):
        try:
            client.connect(address)
            return
        except OSError as error:
            if error.errno != errno.ENETUNREACH:
                raise
            time.sleep(0.01)
    client.connect(address)


@pytest.fixture(scope="module")
def two_batches() -> Iterator[Callable[[str], Callable[..., harness.NsRun]]]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    loadgen = importlib.import_module("loadgen")
    with loadgen.Load(SECOND_BATCH) as load:
        load.run(["ip", "-6", "addr", "add", f"{WIDE_ADDRESS}/128", "dev", "lo", "nodad"], check=True)
        held: list[socket.socket] = []
        try:
            with load.entered():
                listener = socket.socket(socket.AF_INET6)
                held.append(listener)
                listener.bind((WIDE_ADDRESS, 0))
                listener.listen(8)
                for _ in range(3):
                    client = socket.socket(socket.AF_INET6)
                    held.append(client)
                    connect_when_routed(client, listener.getsockname()[:2])
                    held.append(listener.accept()[0])

            def runner(program: str) -> Callable[..., harness.NsRun]:
                return lambda *argv: harness.run_command(load.command([program, *argv]), [program, *argv],
                                                         timeout=120)

            yield runner
        finally:
            for sock in held:
                sock.close()


@pytest.mark.parametrize("laying_ahead", [False, True], ids=["pyss", "laying-ahead"])
@pytest.mark.parametrize("args", ["-tan", "-tn", "-ta"])
def test_a_second_batch_widened_at_its_end_comes_out_as_ss_writes_it(
        two_batches: Callable[[str], Callable[..., harness.NsRun]], args: str, laying_ahead: bool) -> None:
    """pyss as it runs, and pyss laying out ahead every block it holds before each buffer of the IPv4 rows
    (LAYING_AHEAD): the second batch's blocks, laid out in the first batch's widths, must be laid out again."""
    ss = two_batches("ss")
    widths = Counter(map(len, ss(*args.split()).stdout.splitlines()))
    assert len(widths) == 2 and min(widths.values()) > 1000, f"not two batches of rows in two widths: {widths}"
    python = two_batches(str(harness.BIN_DIR / "python"))
    candidate = (lambda *argv: python("-c", LAYING_AHEAD, *argv)) if laying_ahead else two_batches(str(harness.PYSS))
    harness.assert_matches_reference(ss, candidate, args.split())
