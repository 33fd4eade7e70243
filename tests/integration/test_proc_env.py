"""PROC_ROOT and PROC_NET_{TCP,UDP,RAW}[6], PROC_NET_UNIX against the real ss: tables read from /proc-format files.

The zoo's /proc/net tables are copied into a directory once; ss and pyss then
read that copy (PROC_ROOT) or single files of it (PROC_NET_*), so their output
is fixed and compared byte for byte.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.integration.harness import PYSS, NsRun, ZooKeeper, ZooNamespace, assert_same_output, has_traceback
from tests.integration.test_filter import TCP_EXPRESSIONS, UDP_EXPRESSIONS

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: copies a private namespace's /proc/net")

TABLES = ("tcp", "tcp6", "udp", "udp6", "raw", "raw6", "unix")


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


def test_unix_users_from_a_file_like_ss(zoo_keeper: ZooKeeper, proc_root: Path) -> None:
    """PROC_NET_UNIX alone leaves the process scan on the real /proc, for ss too."""
    listing = assert_alike(zoo_keeper.get(), {"PROC_NET_UNIX": str(proc_root / "net" / "unix")}, "-xap")
    assert b"pyss-zoo-holder" in listing.stdout


def test_unix_file_missing_one_line(zoo_keeper: ZooKeeper) -> None:
    actual = assert_alike(zoo_keeper.get(), {"PROC_NET_UNIX": "/nonexistent-pyss/unix"}, "-xa")
    assert actual.stderr.decode().count("\n") == 1 and "/nonexistent-pyss/unix" in actual.stderr.decode()


@pytest.mark.parametrize("args", [["-tanp"], ["-xap"], ["-tuanT"]], ids=" ".join)
def test_processes_scanned_under_proc_root_like_ss(zoo_keeper: ZooKeeper, args: list[str]) -> None:
    """PROC_ROOT=/proc/ (the real one, spelt otherwise): the tables and the process scan both read there."""
    listing = assert_alike(zoo_keeper.get(), {"PROC_ROOT": "/proc/"}, *args)
    assert b"pyss-zoo-holder" in listing.stdout
