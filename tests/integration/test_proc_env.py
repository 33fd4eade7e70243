"""PROC_ROOT and PROC_NET_{TCP,UDP,RAW}[6], PROC_NET_{UNIX,PACKET,NETLINK} against the real ss: tables
read from /proc-format files.

The zoo's /proc/net tables are copied into a directory once; ss and pyss then
read that copy (PROC_ROOT) or single files of it (PROC_NET_*), so their output
is fixed and compared byte for byte.
"""

from __future__ import annotations

import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.integration.harness import (
    NS_PREFIX,
    PYSS,
    NsRun,
    ZooKeeper,
    ZooNamespace,
    assert_same_output,
    assert_same_summary,
    has_traceback,
    start_zoo,
    stop_zoo,
)
from tests.integration.test_filter import TCP_EXPRESSIONS, UDP_EXPRESSIONS

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: copies a private namespace's /proc/net")

TABLES = ("tcp", "tcp6", "udp", "udp6", "raw", "raw6", "unix", "packet", "netlink", "sockstat", "sockstat6", "snmp")


@pytest.fixture(scope="module")
def proc_root(zoo_keeper: ZooKeeper, tmp_path_factory: pytest.TempPathFactory) -> Path:
    ns = zoo_keeper.get()
    root = tmp_path_factory.mktemp("proc")
    (root / "net").mkdir()
    for table in TABLES:
        copied = ns.run_in_ns(["cat", f"/proc/net/{table}"])
        assert copied.returncode == 0
        (root / "net" / table).write_bytes(copied.stdout)
    assert b"00000000:0016" in (root / "net" / "tcp").read_bytes()  # the zoo's ssh listener is in the copy
    assert (root / "net" / "packet").read_bytes().count(b"\n") > 5  # and its five packet sockets
    return root


def run_with(ns: ZooNamespace, env: dict[str, str], tool: str, args: Sequence[str]) -> NsRun:
    return ns.run_in_ns(["env", *(f"{name}={value}" for name, value in env.items()), tool, *args])


def assert_alike(ns: ZooNamespace, env: dict[str, str], *args: str) -> NsRun:
    expected, actual = run_with(ns, env, "ss", args), run_with(ns, env, str(PYSS), args)
    assert not has_traceback(actual.stderr), actual.stderr.decode()
    assert_same_output(expected, actual)
    return actual


ARGS = [["-tan"], ["-tn"], ["-t"], ["-tln"], ["-uan"], ["-ua"], ["-wan"], ["-tuwan"], ["-4tan"], ["-6tuan"],
        ["-Htan"], ["-tanr"], ["-tanp"], ["-tanT"]]  # -p, -T: both scan $PROC_ROOT (a copy without processes)


@pytest.mark.parametrize("args", ARGS, ids=" ".join)
def test_proc_root_like_ss(zoo_keeper: ZooKeeper, proc_root: Path, args: list[str]) -> None:
    listing = assert_alike(zoo_keeper.get(), {"PROC_ROOT": str(proc_root)}, *args)
    assert listing.stdout.count(b"\n") > 1 or "-w" in args[0]


@pytest.mark.parametrize("expression", TCP_EXPRESSIONS[::3])
def test_proc_root_filters_like_ss(zoo_keeper: ZooKeeper, proc_root: Path, expression: str) -> None:
    assert_alike(zoo_keeper.get(), {"PROC_ROOT": str(proc_root)}, "-tan", *shlex.split(expression))


@pytest.mark.parametrize("expression", UDP_EXPRESSIONS)
def test_proc_root_udp_filters_like_ss(zoo_keeper: ZooKeeper, proc_root: Path, expression: str) -> None:
    assert_alike(zoo_keeper.get(), {"PROC_ROOT": str(proc_root)}, "-uan", *shlex.split(expression))


def test_the_files_are_read_not_the_kernel(zoo_keeper: ZooKeeper, proc_root: Path, tmp_path: Path) -> None:
    """A table file edited by hand shows its edit: the listing comes from the file."""
    edited = tmp_path / "tcp"
    lines = (proc_root / "net" / "tcp").read_text().splitlines(True)
    edited.write_text(lines[0] + "".join(line.replace("00000000:0016", "00000000:0017") for line in lines[1:]))
    listing = assert_alike(zoo_keeper.get(), {"PROC_NET_TCP": str(edited)}, "-tln")
    assert "0.0.0.0:23 " in listing.text and "0.0.0.0:22 " not in listing.text


@pytest.mark.parametrize("env", [
    {"PROC_NET_TCP": "net/tcp"},  # IPv6 from the live /proc/net/tcp6 of the zoo's namespace
    {"PROC_NET_UDP": "net/udp", "PROC_NET_UDP6": "net/udp6"},
    {"PROC_NET_TCP": "net/tcp", "PROC_NET_TCP6": "net/udp6"},  # a file in place of another: ss reads it all the same
    {"PROC_ROOT": ".", "PROC_NET_TCP6": "/nonexistent"},  # a missing IPv6 file is skipped silently, as ss does
], ids=lambda env: " ".join(f"{k}={v}" for k, v in env.items()))
def test_single_files_like_ss(zoo_keeper: ZooKeeper, proc_root: Path, env: dict[str, str]) -> None:
    resolved = {name: str(proc_root / value) if not value.startswith("/") else value for name, value in env.items()}
    assert_alike(zoo_keeper.get(), resolved, "-tuan", "sport", "<", ":40000")


def test_missing_ipv4_file_one_line(zoo_keeper: ZooKeeper) -> None:
    """ss lists no TCP socket then, IPv6 included, and says nothing; pyss says why in one line."""
    actual = assert_alike(zoo_keeper.get(), {"PROC_NET_TCP": "/nonexistent-pyss/tcp"}, "-tan")
    assert actual.stderr.decode().count("\n") == 1 and "/nonexistent-pyss/tcp" in actual.stderr.decode()


def test_fifo_is_refused_not_waited_on(zoo_keeper: ZooKeeper, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    done = run_with(zoo_keeper.get(), {"PROC_NET_TCP": str(fifo)}, str(PYSS), ["-tan"])  # times out on a hang
    assert done.returncode == 0 and done.stderr.decode().count("\n") == 1


UNIX_ARGS = [["-x"], ["-xa"], ["-xl"], ["-xn"], ["-A", "unix_dgram", "-a"], ["-A", "unix_stream,unix_seqpacket"],
             ["-xa", "src", "*stream*"], ["-xa", "state", "listening"], ["-xaH"]]


@pytest.mark.parametrize("variable", ["PROC_ROOT", "PROC_NET_UNIX"])
@pytest.mark.parametrize("args", UNIX_ARGS, ids=" ".join)
def test_unix_from_a_file_like_ss(zoo_keeper: ZooKeeper, proc_root: Path, variable: str, args: list[str]) -> None:
    value = str(proc_root) if variable == "PROC_ROOT" else str(proc_root / "net" / "unix")
    listing = assert_alike(zoo_keeper.get(), {variable: value}, *args)
    assert listing.stdout.count(b"\n") > 1


def test_unix_users_from_a_file_like_ss(zoo_keeper: ZooKeeper, tmp_path: Path) -> None:
    """PROC_NET_UNIX alone leaves the process scan on the real /proc, for ss too.

    The file is copied from the zoo this test runs in, not taken from the module's copy: the zoo is rebuilt
    when it ages, and the holder of an older zoo's inodes is gone."""
    ns = zoo_keeper.get()
    copied = ns.run_in_ns(["cat", "/proc/net/unix"])
    assert copied.returncode == 0
    (tmp_path / "unix").write_bytes(copied.stdout)
    listing = assert_alike(ns, {"PROC_NET_UNIX": str(tmp_path / "unix")}, "-xap")
    assert b"pyss-zoo-holder" in listing.stdout


def test_unix_file_missing_one_line(zoo_keeper: ZooKeeper) -> None:
    actual = assert_alike(zoo_keeper.get(), {"PROC_NET_UNIX": "/nonexistent-pyss/unix"}, "-xa")
    assert actual.stderr.decode().count("\n") == 1 and "/nonexistent-pyss/unix" in actual.stderr.decode()


@pytest.mark.parametrize("bad", ["garbage\n", "00000000aa000004: 00000002 00000000 0001000g 0001 01 50 /x\n",
                                 "00000000aa000004: 00000002 00000000 00000000 0001 01 50 /cut"],
                         ids=["garbage", "not-hex", "truncated"])
def test_malformed_unix_file_is_one_line(zoo_keeper: ZooKeeper, proc_root: Path, tmp_path: Path, bad: str) -> None:
    """ss lists what its scanf made of such a line (its flags unset); pyss lists no unix socket and names
    the file and line, exit 1."""
    damaged = tmp_path / "unix"
    good = (proc_root / "net" / "unix").read_text()
    damaged.write_text(good + bad)
    actual = run_with(zoo_keeper.get(), {"PROC_NET_UNIX": str(damaged)}, str(PYSS), ["-xa"])
    err = actual.stderr.decode()
    assert not has_traceback(actual.stderr), err
    assert actual.returncode == 1 and err.count("\n") == 1 and f"{damaged} line {good.count(chr(10)) + 1}" in err
    assert actual.stdout.count(b"\n") == 1


@pytest.mark.parametrize("args", [["-tanp"], ["-xap"], ["-tuanT"], ["-0p"], ["-0pe"]], ids=" ".join)
def test_processes_scanned_under_proc_root_like_ss(zoo_keeper: ZooKeeper, args: list[str]) -> None:
    """PROC_ROOT=/proc/ (the real one, spelt otherwise): the tables and the process scan both read there."""
    listing = assert_alike(zoo_keeper.get(), {"PROC_ROOT": "/proc/"}, *args)
    assert b"pyss-zoo-holder" in listing.stdout


PACKET_NETLINK_ARGS = [
    ["-0"], ["-0a"], ["-0e"], ["-0em"], ["-0eO"], ["-0n"], ["-0b"], ["-aA", "packet_raw"], ["-aA", "packet_dgram"],
    ["-f", "netlink"], ["-f", "netlink", "-e"], ["-f", "netlink", "-m"], ["-f", "netlink", "-n"],
    ["-f", "netlink", "-eO"], ["-aA", "netlink,packet"], ["-a"], ["-an"], ["-aeA", "netlink,packet,unix"],
]


@pytest.mark.parametrize("args", PACKET_NETLINK_ARGS, ids=" ".join)
def test_packet_and_netlink_from_files_like_ss(zoo_keeper: ZooKeeper, proc_root: Path, args: list[str]) -> None:
    """-e shows what the files hold (packet: ino and sk:0; netlink: the file's sk and Dump as cb), -m nothing."""
    listing = assert_alike(zoo_keeper.get(), {"PROC_ROOT": str(proc_root)}, *args)
    assert listing.stdout.count(b"\n") > 3
    assert b"from the kernel" not in listing.stderr  # no fallback to the kernel, unlike pyss before


@pytest.mark.parametrize("expression", ["src link:ip", "dev lo", "not dev lo", "src link:lldp",
                                        "src netlink:rtnl", "src netlink:audit:2000000001", "autobound"])
def test_packet_and_netlink_files_filtered_like_ss(zoo_keeper: ZooKeeper, proc_root: Path, expression: str) -> None:
    assert_alike(zoo_keeper.get(), {"PROC_ROOT": str(proc_root)}, "-a", "-A", "packet,netlink", *shlex.split(expression))


def test_packet_and_netlink_single_files_like_ss(zoo_keeper: ZooKeeper, proc_root: Path, tmp_path: Path) -> None:
    """PROC_NET_PACKET and PROC_NET_NETLINK each send one table to a file; an edit there shows."""
    edited = tmp_path / "netlink"
    header, first, *rest = (proc_root / "net" / "netlink").read_text().splitlines(True)
    fields = first.split()
    fields[3] = "00000020"  # the Groups column
    edited.write_text("".join([header, " ".join(fields) + "\n", *rest]))
    env = {"PROC_NET_PACKET": str(proc_root / "net" / "packet"), "PROC_NET_NETLINK": str(edited)}
    listing = assert_alike(zoo_keeper.get(), env, "-aeA", "packet,netlink")
    assert b"groups=0x00000020" in listing.stdout


# Lines as the kernel writes them, with values the zoo cannot make: a negative (autobound) portid, a
# running dump, queues, groups above bit 0, a uid, an interface index, ethertypes by name and by number.
HAND_PACKET = (
    "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n"
    "ffff8881a0b1c800 3      3    0003   0     1 0      0      1001  \n"
    "ffff8881a0b1c000 3      2    0800   1     1 4352   1000   1002  \n"
    "ffff8881a0b1d000 3      3    88cc   1     0 0      65534  1003  \n"
    "ffff8881a0b1d800 3      2    1234   7     1 0      0      1004  \n"
)
HAND_NETLINK = (
    "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n"
    "ffff8881a0b2c000 0   0          00000000 0        0        0     2        0        2001    \n"
    "ffff8881a0b2c800 0   4242       00000011 768      256      1     2        0        2002    \n"
    "ffff8881a0b2d000 16  4294963173 00000000 0        0        0     2        0        2003    \n"
    "ffff8881a0b2d800 4   31337      00000000 0        0        0     2        0        2004    \n"
    "ffff8881a0b2e000 99  4242       80000000 0        0        0     2        0        2005    \n"
)


@pytest.fixture
def hand_root() -> Iterator[Path]:
    """A PROC_ROOT of hand-written packet and netlink files, and one process (pid 4242) whose name
    netlink's portid shows. Its path is short: ss reads $PROC_ROOT/PID/stat through a 64-byte buffer."""
    root = Path(tempfile.mkdtemp(prefix="pyss-h-"))
    try:
        (root / "net").mkdir()
        (root / "net" / "packet").write_text(HAND_PACKET)
        (root / "net" / "netlink").write_text(HAND_NETLINK)
        (root / "4242").mkdir()
        (root / "4242" / "stat").write_text("4242 (hand made) S 1 4242 4242 0 -1 4194560 0 0 0 0\n")
        yield root
    finally:
        shutil.rmtree(root)


@pytest.mark.parametrize("args", [["-0"], ["-0e"], ["-0n"], ["-0em"], ["-f", "netlink"], ["-f", "netlink", "-e"],
                                  ["-f", "netlink", "-n"], ["-f", "netlink", "-em"], ["-a", "-A", "packet,netlink"],
                                  ["-aA", "netlink", "src", "netlink:rtnl"], ["-0", "dev", "lo"]], ids=" ".join)
def test_hand_written_packet_and_netlink_files_like_ss(zoo_keeper: ZooKeeper, hand_root: Path, args: list[str]) -> None:
    listing = assert_alike(zoo_keeper.get(), {"PROC_ROOT": str(hand_root)}, *args)
    assert listing.stdout.count(b"\n") > 1
    assert b"hand made/4242" in listing.stdout or "netlink" not in " ".join(args) or "-n" in " ".join(args)


@pytest.mark.parametrize("table", ["packet", "netlink"])
@pytest.mark.parametrize("bad", ["garbage\n", "ffff 3 3 0003\n", "ffff8881a0b1c800 3 x 0003 0 1 0 0 1 0\n",
                                 "ffff8881a0b1c800 3 99999999999999999999 0003 0 1 0 0 1 12\n",
                                 "ffff8881a0b1c800 3 3 0003 0 1 0 0 1 1 1"],  # the last one cut short
                         ids=["garbage", "short", "not-a-number", "too-big", "truncated"])
def test_malformed_packet_or_netlink_file_is_one_line(zoo_keeper: ZooKeeper, hand_root: Path, table: str,
                                                      bad: str) -> None:
    """ss prints what its sscanf left in its variables (garbage, or the line before again); pyss lists
    none of that table and names the file and line, exit 1."""
    path = hand_root / "net" / table
    good = path.read_text()
    path.write_text(good + bad)
    args = ["-0"] if table == "packet" else ["-f", "netlink"]
    actual = run_with(zoo_keeper.get(), {"PROC_ROOT": str(hand_root)}, str(PYSS), args)
    err = actual.stderr.decode()
    assert not has_traceback(actual.stderr), err
    assert actual.returncode == 1 and err.count("\n") == 1 and f"{path} line {good.count(chr(10)) + 1}" in err, err
    assert actual.stdout.count(b"\n") == 1  # the header: no row from the damaged table


@pytest.mark.parametrize("variable", ["PROC_NET_PACKET", "PROC_NET_NETLINK"])
@pytest.mark.parametrize("kind", ["missing", "fifo", "directory"])
def test_unreadable_packet_or_netlink_file_is_one_line(zoo_keeper: ZooKeeper, tmp_path: Path, variable: str,
                                                       kind: str) -> None:
    """ss lists none of the table and says nothing; pyss lists none either and says why, exit 0 as ss."""
    path = tmp_path / "table"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    args = ["-0"] if variable == "PROC_NET_PACKET" else ["-f", "netlink"]
    if kind == "fifo":  # ss blocks opening it; pyss refuses it (the run times out on a hang)
        actual = run_with(zoo_keeper.get(), {variable: str(path)}, str(PYSS), args)
        assert actual.returncode == 0 and actual.stdout.count(b"\n") == 1
    else:
        actual = assert_alike(zoo_keeper.get(), {variable: str(path)}, *args)
    assert actual.stderr.decode().count("\n") == 1 and str(path) in actual.stderr.decode()


@pytest.fixture(scope="module")
def mptcp_ns() -> Iterator[ZooNamespace]:
    """zoo_kinds.py's namespace: MPTCP listeners and connections, which the kernel lists."""
    ns = start_zoo(f"{NS_PREFIX}{os.getpid()}-proc-kinds", Path(__file__).with_name("zoo_kinds.py"))
    try:
        if ns.zoo.get("mptcp") is not True:
            pytest.skip(f"no MPTCP sockets in this kernel: {ns.zoo.get('mptcp')}")
        yield ns
    finally:
        stop_zoo(ns)


@pytest.mark.parametrize("env", [{"PROC_ROOT": "."}, {"PROC_NET_MPTCP": "/nonexistent"}, {"PROC_NET_SCTP": "x"},
                                 {"PROC_NET_DCCP": "x"}], ids=" ".join)
@pytest.mark.parametrize("args", [["-aM"], ["-aS"], ["-ad"], ["-aA", "mptcp,tcp"], ["-Ma", "sport", "=", ":5555"],
                                  ["-aA", "inet"]], ids=" ".join)
def test_tables_without_a_proc_file_are_not_listed_like_ss(mptcp_ns: ZooNamespace, proc_root: Path,
                                                           env: dict[str, str], args: list[str]) -> None:
    """ss has no /proc source for MPTCP, SCTP and DCCP: with PROC_ROOT, or that table's PROC_NET_*, it
    lists none of that table; pyss lists none and says why once when the table was named."""
    resolved = {name: str(proc_root) if value == "." else value for name, value in env.items()}
    actual = assert_alike(mptcp_ns, resolved, *args)
    named = {"-aM": "mptcp", "-aS": "sctp", "-ad": "dccp", "-aA inet": None}.get(" ".join(args), "mptcp")
    unlisted = named is not None and (f"PROC_NET_{named.upper()}" in env or "PROC_ROOT" in env)
    assert (f"{named}: not listed".encode() in actual.stderr) == unlisted, actual.stderr.decode()
    if args[0] == "-aM":  # the kernel has MPTCP sockets: rows below the header unless unlisted
        assert (actual.stdout.count(b"\n") > 1) == (not unlisted)


def test_tables_without_a_proc_file_are_listed_from_the_kernel_otherwise(mptcp_ns: ZooNamespace) -> None:
    assert b"mptcp " in assert_alike(mptcp_ns, {"PROC_NET_SCTP": "x"}, "-aA", "mptcp,tcp").stdout


SOCKSTAT = ("sockets: used 4242\nTCP: inuse 7 orphan 1 tw 3 alloc 9 mem 1\nUDP: inuse 5 mem 2\nUDPLITE: inuse 0\n"
            "RAW: inuse 2\nFRAG: inuse 1 memory 4096\n")


@pytest.mark.parametrize("env", [
    {"PROC_ROOT": "."},
    {"PROC_NET_SOCKSTAT": "hand"},  # the IPv6 figures and snmp from the live /proc
    {"PROC_ROOT": ".", "PROC_NET_SOCKSTAT": "hand", "PROC_NET_SOCKSTAT6": "/nonexistent"},
    {"PROC_NET_SNMP": "/nonexistent"},  # estab 0, and a complaint on stderr from both
    {"PROC_ROOT": "/nonexistent"},  # every figure 0
], ids=lambda env: " ".join(f"{k}={v}" for k, v in env.items()))
def test_summary_from_files_like_ss(zoo_keeper: ZooKeeper, proc_root: Path, tmp_path: Path,
                                    env: dict[str, str]) -> None:
    (tmp_path / "hand").write_text(SOCKSTAT)
    places = {".": str(proc_root), "hand": str(tmp_path / "hand")}
    ns, files = zoo_keeper.get(), {name: places.get(value, value) for name, value in env.items()}
    # the live sockstat's host-wide TCP figures move with the host: compared by assert_same_summary's rules
    listing = assert_same_summary(lambda: run_with(ns, files, "ss", ["-s"]),
                                  lambda: run_with(ns, files, str(PYSS), ["-s"]))
    assert not has_traceback(listing.stderr), listing.stderr.decode()
    if "PROC_NET_SOCKSTAT" in env:
        assert listing.stdout.startswith(b"Total: 4242\nTCP:   12 (estab ")
    assert (b"get_snmpstat" in listing.stderr) == (env.get("PROC_NET_SNMP", env.get("PROC_ROOT")) == "/nonexistent")


# --- details ss prints from /proc/net/tcp lines: -o timers, -e uid/inode/sk, -i rto/ato/cwnd/... ----

# Run in a private namespace: a listener owned by uid 65534, a keepalive connection, one in
# TIME-WAIT, and one whose data cannot leave (lo taken down after it connected), so a
# retransmit or zero-window probe timer runs; then the tables are copied to argv[1].
TIMER_SOCKETS = """
import os, shutil, socket, sys, time
os.system("ip link set lo up")
os.seteuid(65534)
listener = socket.socket()
os.seteuid(0)
listener.bind(("127.0.0.1", 5000)); listener.listen(8)
listener6 = socket.socket(socket.AF_INET6); listener6.bind(("::1", 5001)); listener6.listen(8)
kept = socket.create_connection(("127.0.0.1", 5000)); kept_peer = listener.accept()[0]
kept.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
closed = socket.create_connection(("127.0.0.1", 5000)); closed_peer = listener.accept()[0]
closed.close(); closed_peer.close()
stuck = socket.create_connection(("::1", 5001)); stuck_peer = listener6.accept()[0]
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); udp.bind(("127.0.0.1", 5353))
os.system("ip link set lo down")
stuck.send(b"x" * 1000)
def timers():  # the timer codes of the TCP lines (tr:when)
    lines = [line for table in ("tcp", "tcp6") for line in open(f"/proc/net/{table}").read().splitlines()[1:]]
    return {line.split()[5][:2] for line in lines}
deadline = time.monotonic() + 20  # the kernel arms them as it gets to it: a loaded host takes longer
while not ({"02", "03"} <= timers() and timers() & {"01", "04"}) and time.monotonic() < deadline:
    time.sleep(0.05)
for table in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6"):
    shutil.copy(f"/proc/net/{table}", f"{sys.argv[1]}/{table}")
"""


@pytest.fixture(scope="module")
def timer_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("timers")
    (root / "net").mkdir()
    subprocess.run(["unshare", "-n", sys.executable, "-c", TIMER_SOCKETS, str(root / "net")], check=True,
                   timeout=60)
    tcp = (root / "net" / "tcp").read_text() + (root / "net" / "tcp6").read_text()
    timers = {line.split()[5][:2] for line in tcp.splitlines()[1:] if ":" in line.split()[0]}
    assert {"02", "03"} <= timers and timers & {"01", "04"}, tcp  # keepalive, TIME-WAIT, retransmit or probe
    assert " 65534 " in tcp  # the listener's owner
    return root


DETAIL_ARGS = [["-tano"], ["-tane"], ["-tani"], ["-taneiO"], ["-taneio"], ["-tanm"], ["-6tanoi"], ["-tuwanoe"],
               ["-tlnei"]]


@pytest.mark.parametrize("args", DETAIL_ARGS, ids=" ".join)
def test_tcp_details_from_files_like_ss(zoo_keeper: ZooKeeper, timer_root: Path, args: list[str]) -> None:
    listing = assert_alike(zoo_keeper.get(), {"PROC_ROOT": str(timer_root)}, *args)
    text = listing.text
    if ("o" in args[0] or "e" in args[0]) and "l" not in args[0]:  # listeners run no timer
        assert "timer:(persist," in text or "timer:(on," in text  # the stuck IPv6 connection
        assert "-6" in args[0] or ("timer:(keepalive," in text and "timer:(timewait," in text)
    if "e" in args[0]:
        assert " uid:65534 ino:" in text and " sk:" in text
    if "i" in args[0]:
        assert " cwnd:" in text and " reordering:0" in text


@pytest.mark.parametrize("args", [["-tano"], ["-tane"], ["-taneiO"]], ids=" ".join)
def test_tcp_details_from_the_zoo_copy_like_ss(zoo_keeper: ZooKeeper, proc_root: Path, args: list[str]) -> None:
    assert_alike(zoo_keeper.get(), {"PROC_ROOT": str(proc_root)}, *args)


def _edge_lines(header: str) -> str:
    """Lines of every timer kind with timer values at ss's rounding and 32-bit wrapping edges, odd
    quick-ack, an rto of exactly 3 seconds, unset or negative ssthresh, lines ending after 1-5 of
    the last five columns or before all of them, and probe or retransmit counts of -1."""
    rng = random.Random(5)
    lines = [header]
    tails = [None, [20, 4, 0, 10, -1], [300, 4, 3, 10, 7], [100, 40, 2, 4294967295, 12345], [1], [1, 2], [1, 2, 3],
             [0, 0, 1, 0, 0], [301, 1, 5, 3, -5]]
    for timer in range(7):
        for when in (0, 1, 99, 100, 5999, 6000, 59999, 719950, 0x7FFFFFFF, 0xFFFFFFFF):
            n = len(lines)
            tail = rng.choice(tails)
            lines.append(f"{n:4d}: 0100007F:{1000 + n:04X} 0100007F:1388 01 00000000:00000000 {timer:02X}:{when:08X} "
                         f"{rng.choice([0, 1, 5, 0xFFFFFFFF]):08X} {rng.choice([0, 1000, 65534]):5d} "
                         f"{rng.choice([0, 3, -1]):8d} {rng.randint(0, 99999)} 1 {rng.getrandbits(64):016x}"
                         + ("" if tail is None else " " + " ".join(map(str, tail))) + "\n")
    return "".join(lines)


@pytest.mark.parametrize("args", [["-tano"], ["-tane"], ["-tani"], ["-taneiO"]], ids=" ".join)
def test_tcp_details_at_their_edges_like_ss(zoo_keeper: ZooKeeper, timer_root: Path, tmp_path: Path,
                                            args: list[str]) -> None:
    edges = tmp_path / "tcp"
    edges.write_text(_edge_lines((timer_root / "net" / "tcp").read_text().splitlines(True)[0]))
    listing = assert_alike(zoo_keeper.get(), {"PROC_NET_TCP": str(edges), "PROC_NET_TCP6": "/nonexistent"}, *args)
    assert listing.text.count("\n") == 71



PROC_TCP_LISTENER = (
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777777 1 "
    "0000000000000000 100 0 0 10 0\n")


def run_bounded(argv: Sequence[str], env: dict[str, str]) -> NsRun:
    """argv in a session of its own, the whole session killed on a hang (-p's scan forks helpers that
    would keep the pipes open past a kill of the command alone)."""
    with subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env={**os.environ, **env}, start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            pytest.fail(f"{argv[0]} hung")
    return NsRun(argv[0], proc.pid, proc.returncode, out, err)


def test_a_fifo_for_a_process_stat_is_not_waited_on(tmp_path: Path) -> None:
    """A /proc copy is untrusted: ss hangs opening a FIFO at PID/stat; pyss reads no name from it, as
    ss reads none from an empty stat file."""
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "tcp").write_text(PROC_TCP_LISTENER)
    (tmp_path / "4242" / "fd").mkdir(parents=True)
    (tmp_path / "4242" / "fd" / "3").symlink_to("socket:[777777]")
    stat = tmp_path / "4242" / "stat"
    stat.write_bytes(b"")
    expected = run_bounded(["ss", "-tanp"], {"PROC_ROOT": str(tmp_path)})
    assert b'users:(("",pid=4242,fd=3))' in expected.stdout
    stat.unlink()
    os.mkfifo(stat)
    actual = run_bounded([str(PYSS), "-tanp"], {"PROC_ROOT": str(tmp_path)})
    assert not has_traceback(actual.stderr), actual.stderr.decode()
    assert_same_output(expected, actual)
