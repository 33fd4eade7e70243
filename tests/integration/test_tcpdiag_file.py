"""-D FILE and $TCPDIAG_FILE against the real ss: dumps recorded by ss replay the same in pyss, and back.

Dumps are recorded with ``ss -D`` in the zoo's namespace and in a loaded one
(benchmarks/loadgen.py); each replay runs ss and pyss with the same file and
arguments and compares their output byte for byte. A replay reads only the
file (and, for -p/-e, names of this host), so one run of each tool is enough.
"""

from __future__ import annotations

import importlib
import os
import shlex
import struct
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.integration.harness import (
    PYSS,
    TOOL_ENV,
    NsRun,
    ZooKeeper,
    assert_same_output,
    has_traceback,
    run_command,
)
from tests.integration.test_details import without_newer
from tests.integration.test_filter import TCP_EXPRESSIONS

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: records dumps in a private network namespace")

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def replay(tool: str, dump: Path, *args: str) -> NsRun:
    """``TCPDIAG_FILE=dump tool args`` (env execs the tool, so the pid is the tool's)."""
    return run_command(["env", f"TCPDIAG_FILE={dump}", tool, *args], [tool, *args], timeout=60)


def assert_replays_alike(dump: Path, *args: str) -> NsRun:
    expected, actual = replay("ss", dump, *args), replay(str(PYSS), dump, *args)
    assert not has_traceback(actual.stderr), actual.stderr.decode()
    if any(arg.startswith("-") and not arg.startswith("--") and ("i" in arg or "m" in arg) for arg in args):
        # Under -i (and -m, which shows tcp_info too) pyss also prints the tcp_info fields newer ss prints (docs/kinds.md): compared
        # with ss 6.1 they are left out, and with them the trailing padding they widened.
        assert_same_output(_without_newer_fields(expected), _without_newer_fields(actual))
    else:
        assert_same_output(expected, actual)
    return actual


def _without_newer_fields(run: NsRun) -> NsRun:
    text = "".join(line.rstrip(" ") + "\n" for line in without_newer(run.text).splitlines())
    return NsRun(run.args, run.pid, run.returncode, text.encode(), run.stderr)


@pytest.fixture(scope="module")
def zoo_dumps(zoo_keeper: ZooKeeper, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Dumps of the zoo recorded by ss: every state (IPv4, the first dump of the file), the default
    (connected) states, IPv6 alone, and every state with the details -D carries (-i -m --tos)."""
    ns = zoo_keeper.get()
    folder = tmp_path_factory.mktemp("tcpdiag")
    recordings = {"all": ["-a"], "connected": [], "ipv6": ["-6", "-a"], "details": ["-a", "-i", "-m", "--tos"]}
    dumps = {}
    for name, options in recordings.items():
        dumps[name] = folder / f"{name}.dump"
        done = ns.ss(*options, "-D", str(dumps[name]))
        assert done.returncode == 0 and dumps[name].stat().st_size > 0, done.stderr.decode()
    return dumps


PLAIN_ARGS = [["-tn"], ["-tna"], ["-t"], ["-ta"], ["-tnl"], ["-Htn"], ["-tnO"], ["-4tn"], ["-6tan"], ["-tanr"],
              ["-tano"], ["-tane"], ["-tanp"], ["-tan", "--cgroup"], ["-A", "tcp", "-n"], ["-f", "inet", "-tn"]]


@pytest.mark.parametrize("dump", ["all", "connected", "ipv6"])
@pytest.mark.parametrize("args", PLAIN_ARGS, ids=" ".join)
def test_plain_flags_replay_like_ss(zoo_dumps: dict[str, Path], dump: str, args: list[str]) -> None:
    assert_replays_alike(zoo_dumps[dump], *args)


DETAIL_ARGS = [["-tni"], ["-tnm"], ["-tn", "--tos"], ["-tanim"], ["-tanie"], ["-taniO"], ["-tanoi"], ["-taimo"]]


@pytest.mark.parametrize("args", DETAIL_ARGS, ids=" ".join)
def test_detail_flags_replay_like_ss(zoo_dumps: dict[str, Path], args: list[str]) -> None:
    listing = assert_replays_alike(zoo_dumps["details"], *args)
    assert listing.stdout.count(b"\n") > 5  # the dump holds the zoo's TCP sockets


@pytest.mark.parametrize("dump", ["all", "ipv6"])
@pytest.mark.parametrize("expression", TCP_EXPRESSIONS)
def test_filters_replay_like_ss(zoo_dumps: dict[str, Path], dump: str, expression: str) -> None:
    assert_replays_alike(zoo_dumps[dump], "-tan", *shlex.split(expression))


# The shapes of iproute2's testsuite/tests/ss/ssfilter.t (which replays a dump of its own with -Htna),
# over the zoo's recorded dump: bare and "=" ports, a lone parenthesised term, addresses with and
# without "=", implicit and explicit "and", and parentheses around each part of a conjunction.
SSFILTER_T_SHAPES = [
    "dport = 22", "dport 22", "( dport = 22 )", "src = 0.0.0.0", "src 0.0.0.0", "src 0.0.0.0 sport = 22",
    "src 0.0.0.0 and sport = 22", "src 127.0.0.1 and sport = 22 and dport = 40007",
    "src 127.0.0.1 and sport = 22 and ( dport = 40007 )", "src 127.0.0.1 and ( sport = 22 and dport = 40007 )",
    "( src 127.0.0.1 and sport = 22 ) and dport = 40007", "( src 0.0.0.0 or src 127.0.0.1 ) and dst 127.0.0.1",
]


@pytest.mark.parametrize("expression", SSFILTER_T_SHAPES)
def test_ssfilter_t_shapes_replay_like_ss(zoo_dumps: dict[str, Path], expression: str) -> None:
    listing = assert_replays_alike(zoo_dumps["all"], "-Htna", *shlex.split(expression))
    assert listing.stdout, "each shape selects some socket of the zoo"


def test_replay_is_the_recorded_table_not_the_live_one(zoo_dumps: dict[str, Path]) -> None:
    """The replay cannot be passing by reading the kernel: states the selection excludes still show
    (ss applies no state mask to a replay), and the IPv6 dump shows no IPv4 socket."""
    connected = replay(str(PYSS), zoo_dumps["all"], "-tn").text
    assert "LISTEN" in connected
    ipv6 = replay(str(PYSS), zoo_dumps["ipv6"], "-tan").text
    assert "[::1]" in ipv6 and " 127.0.0.1:" not in ipv6  # v4-mapped [::ffff:127.0.0.1] is IPv6


# --- files pyss writes -------------------------------------------------------------------------


def test_pyss_dump_replays_in_ss_like_ss_dump(zoo_keeper: ZooKeeper, tmp_path: Path) -> None:
    ns = zoo_keeper.get()
    for options in (["-a"], ["-6", "-a"], []):
        ours, theirs = tmp_path / "pyss.dump", tmp_path / "ss.dump"
        recorded = ns.pyss(*options, "-D", str(ours))
        assert recorded.returncode == 0 and not recorded.stderr, recorded.stderr.decode()
        ns.ss(*options, "-D", str(theirs))
        # The zoo's queues are still; its timers are not, so timers are not compared.
        for args in (["-tan"], ["-tanp"]):
            assert_same_output(replay("ss", theirs, *args), replay("ss", ours, *args))
            assert_same_output(replay("ss", ours, *args), replay(str(PYSS), ours, *args))


# A namespace without timers: each tool's file holds the same messages, only each message's
# sequence number and port id (which replays never read) differ.
SAME_BYTES = textwrap.dedent(
    """
    import socket, subprocess, sys
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    held = []
    for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        listener = socket.socket(family)
        listener.bind((address, 0))
        listener.listen()
        client = socket.socket(family)
        client.connect(listener.getsockname()[:2])
        held += [listener, client, listener.accept()[0]]
    for tool, path in ((sys.argv[1], sys.argv[2]), ("ss", sys.argv[3])):
        subprocess.run([tool, *sys.argv[4:], "-D", path], check=True)
    """
)


def _messages(data: bytes) -> list[bytes]:
    """Each netlink message with its sequence number and port id blanked."""
    messages, offset = [], 0
    while offset < len(data):
        (length,) = struct.unpack_from("=I", data, offset)
        message = bytearray(data[offset : offset + length])
        message[8:16] = bytes(8)
        messages.append(bytes(message))
        offset += (length + 3) & ~3
    return messages


@pytest.mark.parametrize("options", [["-a"], ["-a", "-i", "-m", "--tos"], ["-4", "-l"], ["-6"]], ids=" ".join)
def test_pyss_dump_holds_the_messages_ss_writes(tmp_path: Path, options: list[str]) -> None:
    ours, theirs = tmp_path / "pyss.dump", tmp_path / "ss.dump"
    done = subprocess.run(["unshare", "-n", sys.executable, "-c", SAME_BYTES, str(PYSS), str(ours), str(theirs),
                           *options], capture_output=True, timeout=60, check=False, env=TOOL_ENV)
    assert done.returncode == 0, done.stderr.decode()
    if "-i" in options:
        # tcp_info's clocks (last data sent/received, ...) tick between the two recordings: compare shapes.
        assert [len(m) for m in _messages(ours.read_bytes())] == [len(m) for m in _messages(theirs.read_bytes())]
    else:
        assert _messages(ours.read_bytes()) == _messages(theirs.read_bytes())
    assert len(_messages(ours.read_bytes())) >= 2  # a socket at least, and NLMSG_DONE


def test_dump_to_stdout_like_ss(zoo_keeper: ZooKeeper, tmp_path: Path) -> None:
    ns = zoo_keeper.get()
    ours = tmp_path / "stdout.dump"
    with ours.open("wb") as out:
        done = ns.run_in_ns([str(PYSS), "-a", "-D", "-"], stdout=out)
    assert done.returncode == 0
    assert_same_output(replay("ss", ours, "-tan"), replay(str(PYSS), ours, "-tan"))
    assert b"LISTEN" in replay("ss", ours, "-tan").stdout


def test_dump_without_tcp_like_ss(zoo_keeper: ZooKeeper, tmp_path: Path) -> None:
    ns = zoo_keeper.get()
    expected, actual = ns.ss("-u", "-D", str(tmp_path / "a")), ns.pyss("-u", "-D", str(tmp_path / "b"))
    assert_same_output(expected, actual)
    assert actual.stderr == b"pyss: tcpdiag dump requested and no tcp in filter.\n"


def test_dump_to_an_unwritable_path_says_so(zoo_keeper: ZooKeeper) -> None:
    """ss 6.1 tests the wrong pointer after fopen() and exits 0 silently; pyss says why, exit 255."""
    done = zoo_keeper.get().pyss("-D", "/nonexistent-pyss-dir/x.dump")
    assert done.returncode == 255
    assert done.stderr.decode().count("\n") == 1 and "No such file or directory" in done.stderr.decode()


# --- damaged files ------------------------------------------------------------------------------


def test_missing_file_like_ss(tmp_path: Path) -> None:
    actual = assert_replays_alike(tmp_path / "missing.dump", "-tan")
    assert actual.stderr.decode().count("\n") == 1 and "No such file" in actual.stderr.decode()


@pytest.mark.parametrize("cut", [0, 10, 16, 100, -1])
def test_truncated_file_like_ss(zoo_dumps: dict[str, Path], tmp_path: Path, cut: int) -> None:
    """The sockets before the cut are listed, then one line says where the file ended (exit 0, as ss)."""
    data = zoo_dumps["all"].read_bytes()
    damaged = tmp_path / "cut.dump"
    damaged.write_bytes(data[:cut] if cut >= 0 else data[: _first_done(data)])  # -1: just before NLMSG_DONE
    actual = assert_replays_alike(damaged, "-tan")
    assert actual.stderr.decode().count("\n") == 1, actual.stderr


def _first_done(data: bytes) -> int:
    """Where the first dump's NLMSG_DONE starts (a file by ss -D holds one dump per family)."""
    offset = 0
    while struct.unpack_from("=IH", data, offset)[1] != 3:
        offset += (struct.unpack_from("=I", data, offset)[0] + 3) & ~3
    return offset


@pytest.mark.parametrize("content", [
    b"\xff" * 4096,  # a length no message has
    struct.pack("=IHHII", 8, 20, 0, 0, 0) + bytes(64),  # shorter than its own header
    struct.pack("=IHHII", 40, 20, 0, 0, 0) + bytes(24),  # a SOCK_DIAG message too short for inet_diag_msg
    struct.pack("=IHHII", 0x7FFFFFF0, 20, 0, 0, 0),  # a 2 GiB message: nothing is allocated for it
    struct.pack("=IHHII", 16, 99, 0, 0, 0),  # a type no dump has
], ids=["ff", "short-length", "short-body", "huge-length", "odd-type"])
def test_garbage_file_one_line(tmp_path: Path, content: bytes) -> None:
    garbage = tmp_path / "garbage.dump"
    garbage.write_bytes(content)
    done = replay(str(PYSS), garbage, "-tan")
    assert not has_traceback(done.stderr)
    assert done.returncode == 0  # ss's status when its replay stops early
    assert done.stderr.decode().count("\n") == 1, done.stderr
    assert done.stdout.splitlines() == [replay("ss", tmp_path / "missing", "-tan").stdout.rstrip(b"\n")]


def test_fifo_without_writer_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    done = replay(str(PYSS), fifo, "-tan")  # run_command's timeout fails the test on a hang
    assert done.returncode == 0 and done.stderr.decode().count("\n") == 1


def test_large_dump_streams_in_bounded_memory(zoo_dumps: dict[str, Path], tmp_path: Path) -> None:
    """50k sockets (one recorded message repeated, ~7 MB): same output as ss, and pyss's memory
    grows by far less than the file would take held whole as records."""
    data = zoo_dumps["all"].read_bytes()
    (length,) = struct.unpack_from("=I", data)
    first, done_message = data[:length], data[_first_done(data) : _first_done(data) + 20]
    large = tmp_path / "large.dump"
    large.write_bytes(first * 50_000 + done_message)
    assert_replays_alike(large, "-tan", "-H")
    small = tmp_path / "small.dump"
    small.write_bytes(first + done_message)
    assert _peak_rss(large) - _peak_rss(small) < 10_000  # KiB; the file is ~6,000 KiB, its records ~3x that


def _peak_rss(dump: Path) -> int:
    """Peak RSS (KiB) of one pyss replay, measured in a child of its own."""
    probe = textwrap.dedent(
        """
        import os, resource, subprocess, sys
        with open(os.devnull, "wb") as sink:
            subprocess.run(sys.argv[1:], stdout=sink, check=True)
        print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
        """
    )
    done = subprocess.run([sys.executable, "-c", probe, "env", f"TCPDIAG_FILE={dump}", str(PYSS), "-tan", "-H"],
                          capture_output=True, text=True, timeout=120, check=True, env=TOOL_ENV)
    return int(done.stdout)


# --- a loaded namespace -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loaded_dump(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    sys.path.insert(0, str(BENCH))
    loadgen = importlib.import_module("loadgen")
    dump = tmp_path_factory.mktemp("loaded") / "loaded.dump"
    with loadgen.Load(3000) as load:
        load.run(["ss", "-a", "-i", "-D", str(dump)], check=True, timeout=60)
    yield dump


LOADED_ARGS = [["-tan"], ["-tn"], ["-tanH"], ["-tani"], ["-tane"], ["-tan", "dport", "=", ":9000"],
               ["-tan", "state", "time-wait"], ["-tan", "sport", ">", ":5010", "and", "not", "dport", "<", ":20000"]]


@pytest.mark.parametrize("args", LOADED_ARGS, ids=" ".join)
def test_loaded_namespace_replays_like_ss(loaded_dump: Path, args: Sequence[str]) -> None:
    listing = assert_replays_alike(loaded_dump, *args)
    if args == ["-tan"]:
        assert listing.stdout.count(b"\n") > 1000


def with_state(dump: Path, state: int, target: Path) -> Path:
    """The dump with every socket's state byte set to ``state`` (no kernel sends one past CLOSING)."""
    data = bytearray(dump.read_bytes())
    offset = 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, offset)
        if kind == 20 and length >= 18:  # SOCK_DIAG_BY_FAMILY: idiag_family, idiag_state, ...
            data[offset + 17] = state
        offset += (length + 3) & ~3
    target.write_bytes(data)
    return target


def test_a_state_no_kernel_sends_replays_as_ss_names_it(zoo_dumps: dict[str, Path], tmp_path: Path) -> None:
    assert_replays_alike(with_state(zoo_dumps["all"], 12, tmp_path / "state12.dump"), "-tan")


@pytest.mark.parametrize("args", [["-tan"], ["-tan", "--json"], ["-tanei"], ["-tan", "sport", ">", ":1"]],
                         ids=" ".join)
def test_a_state_out_of_any_table_is_unknown_not_a_traceback(zoo_dumps: dict[str, Path], tmp_path: Path,
                                                            args: list[str]) -> None:
    # ss indexes its name table past its end here (undefined behaviour: it prints whatever lies there).
    done = replay(str(PYSS), with_state(zoo_dumps["all"], 200, tmp_path / "state200.dump"), *args)
    assert not has_traceback(done.stderr), done.stderr.decode()
    assert done.returncode == 0 and done.stderr == b""
    assert done.text.count("UNKNOWN") >= 3
