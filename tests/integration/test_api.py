"""The public API on the socket zoo: against psutil, against the real ss, and its errors.

psutil compatibility is checked the way a user would switch: psutil and pyss
each run in a process inside the zoo's namespace and their answers must be
equal as sets (psutil itself returns a set's order). Each comparison runs
psutil, pyss, psutil and needs pyss to equal one of the two psutil answers:
a TIME-WAIT socket may expire or a process end between two runs.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import pyss
from tests.integration.harness import NS_PREFIX, ZooNamespace, ip
from tests.processes import children

PROBE = Path(__file__).with_name("api_probe.py")
PSUTIL_KINDS = ["inet", "inet4", "inet6", "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "unix", "all"]

psutil = pytest.importorskip("psutil", reason="psutil comes with the bench extra")


def probe(ns: ZooNamespace, *args: str) -> Any:
    done = ns.run_in_ns([sys.executable, str(PROBE), *args], timeout=60)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return json.loads(done.stdout)


def as_set(rows: list[Any]) -> set[str]:
    return {json.dumps(row) for row in rows}


def assert_same_as_psutil(run: Callable[[str], list[Any]]) -> None:
    before, ours, after = run("psutil"), run("pyss"), run("psutil")
    if as_set(ours) in (as_set(before), as_set(after)):
        assert len(ours) == len(set(as_set(ours))), "pyss listed an entry twice (psutil's set would not)"
        return
    expected = as_set(before)
    raise AssertionError(f"only psutil: {sorted(expected - as_set(ours))}\nonly pyss: {sorted(as_set(ours) - expected)}")


@pytest.mark.parametrize("kind", PSUTIL_KINDS)
def test_net_connections_equals_psutil(zoo_ns: ZooNamespace, kind: str) -> None:
    assert_same_as_psutil(lambda tool: probe(zoo_ns, tool, kind))
    found = probe(zoo_ns, "pyss", kind)
    assert found, f"the zoo has {kind} sockets"
    zoo_pid = zoo_ns.zoo["pid"]
    assert any(row[6] == zoo_pid for row in found), "the zoo's sockets are found held by the zoo"


@pytest.mark.parametrize("kind", PSUTIL_KINDS)
def test_process_net_connections_equals_psutil(zoo_ns: ZooNamespace, kind: str) -> None:
    pid = str(zoo_ns.zoo["pid"])
    assert_same_as_psutil(lambda tool: probe(zoo_ns, tool, kind, pid))


def test_zoo_shapes_psutil_documents(zoo_ns: ZooNamespace) -> None:
    """The forms a psutil user relies on, in pyss's answer: empty raddr, UNIX paths, statuses, fds."""
    rows = probe(zoo_ns, "pyss", "all")
    statuses = {row[5] for row in rows}
    assert {"LISTEN", "ESTABLISHED", "TIME_WAIT", "NONE"} <= statuses
    listeners = [row for row in rows if row[5] == "LISTEN"]
    assert listeners and all(row[4] == [] for row in listeners), "a listener's raddr is ()"
    unix = [row for row in rows if row[1] == socket.AF_UNIX]
    paths = {row[3] for row in unix}
    assert f"{zoo_ns.unix_dir}/stream.sock" in paths
    assert f"{zoo_ns.unix_dir}/with space.sock" not in paths, "psutil cannot read a path with a space"
    assert all(row[4] == "" and row[5] == "NONE" for row in unix)
    held = [row for row in rows if row[6] == zoo_ns.zoo["pid"]]
    assert held and all(row[0] >= 0 for row in held)
    assert all(row[0] == -1 for row in rows if row[6] is None)


def ss_rows(ns: ZooNamespace, *args: str) -> list[list[str]]:
    done = ns.ss("-H", "-n", *args)
    assert done.returncode == 0, done.stderr
    return [line.split() for line in done.text.splitlines()]


@pytest.mark.parametrize(("kind", "ss_args"), [
    ("tcp", ["-t", "-a"]), ("udp", ["-u", "-a"]), ("raw", ["-w", "-a"]), ("unix", ["-x", "-a"]),
    ("packet", ["-0", "-a"]), ("tcp6", ["-t", "-a", "-6"]), ("udp4", ["-u", "-a", "-4"]),
])
def test_count_by_state_equals_ss(zoo_ns: ZooNamespace, kind: str, ss_args: list[str]) -> None:
    state_column = 1 if kind in ("unix", "packet") else 0  # ss adds a Netid column for several tables
    expected = Counter(row[state_column] for row in ss_rows(zoo_ns, *ss_args))
    counts = {state: number for state, number in probe(zoo_ns, "count", kind, "state")}
    assert expected and counts == expected


def test_sockets_with_a_filter_equal_ss_with_the_same_filter(zoo_ns: ZooNamespace) -> None:
    words = "state established ( sport = :ssh or dport = :ssh or sport = :http )"
    expected = sorted((row[2], row[3]) for row in ss_rows(zoo_ns, "-t", *words.split()))
    rows = probe(zoo_ns, "sockets", "tcp", words)
    assert expected, "the zoo has such sockets"
    got = sorted((_ss_address(row[2]), _ss_address(row[3])) for row in rows)
    assert got == expected


def _ss_address(address: list[Any]) -> str:
    ip, port = address
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def test_processes_equal_ss_users(zoo_ns: ZooNamespace) -> None:
    comm, pid = zoo_ns.zoo["comm"], zoo_ns.zoo["pid"]
    expected = Counter((_port(row[3]), row[-1]) for row in ss_rows(zoo_ns, "-t", "-l", "-p"))
    rows = probe(zoo_ns, "sockets", "tcp", "state listening", "processes")
    users = Counter(
        (row[2][1], "users:(" + ",".join(f'("{name}",pid={p},fd={fd})' for p, fd, name in reversed(row[7])) + ")")
        for row in rows)
    assert expected and users == expected
    assert all([p[0] for p in row[7]] == [pid] * len(row[7]) and row[7][0][2] == comm for row in rows)


def _port(ss_address: str) -> int:
    return int(ss_address.rsplit(":", 1)[1])


def _own_namespace() -> str:
    return os.readlink("/proc/thread-self/ns/net")


def test_several_kinds_are_the_union_of_their_sockets(zoo_ns: ZooNamespace) -> None:
    def listed(kind: str | list[str]) -> list[tuple[str, int, int]]:
        return [(sock.kind, sock.family, sock.inode) for sock in pyss.sockets(kind, netns=zoo_ns.name)
                if sock.state is not pyss.State.TIME_WAIT]

    assert listed(["tcp4", "udp6"]) == listed("udp6") + listed("tcp4")
    assert listed(["tcp6", "unix", "raw4"]) == listed("unix") + listed("raw4") + listed("tcp6")
    counted = pyss.count(["tcp4", "udp6"], by="netid,state", netns=zoo_ns.name)
    assert counted == Counter(pyss.count("tcp4", by="netid,state", netns=zoo_ns.name)) + Counter(
        pyss.count("udp6", by="netid,state", netns=zoo_ns.name))


def test_netns_by_name_path_and_pid_agree_and_restore_the_thread(zoo_ns: ZooNamespace) -> None:
    own = _own_namespace()
    by_name = Counter(pyss.count("all", by="netid", netns=zoo_ns.name))
    assert _own_namespace() == own
    assert by_name == Counter(pyss.count("all", by="netid", netns=f"/run/netns/{zoo_ns.name}"))
    listening = Counter(s.laddr.port for s in pyss.sockets("tcp", "state listening", netns=zoo_ns.zoo["pid"]))
    assert listening == Counter(_port(row[3]) for row in ss_rows(zoo_ns, "-t", "-l"))
    assert _own_namespace() == own
    assert by_name != Counter(pyss.count("all", by="netid")) or own == os.readlink(f"/run/netns/{zoo_ns.name}")


def test_an_abandoned_listing_leaves_the_thread_in_its_namespace(zoo_ns: ZooNamespace) -> None:
    own = _own_namespace()
    listing = pyss.sockets("all", netns=zoo_ns.name)
    next(listing)
    assert _own_namespace() == own, "the consumer runs in its own namespace between records"
    listing.close()
    assert _own_namespace() == own


def test_interface_names_come_from_the_namespace(zoo_ns: ZooNamespace) -> None:
    named = {s.interface for s in pyss.sockets("packet", netns=zoo_ns.name)}
    expected = {dev for _kind, _proto, dev in zoo_ns.zoo["packet"]}
    assert named == expected


def test_missing_namespace_is_a_file_not_found_error_naming_it() -> None:
    with pytest.raises(FileNotFoundError, match="no-such-ns") as raised:
        pyss.sockets("tcp", netns="no-such-ns")
    assert raised.value.filename == "/run/netns/no-such-ns"


def test_a_namespace_gone_after_the_call_is_a_file_not_found_error_naming_it() -> None:
    """The dump starts at the first next(): a namespace removed (or whose process ended) in between is missing,
    as it would have been at the call, and not "no network namespace" at all."""
    name = f"{NS_PREFIX}gone-{os.urandom(4).hex()}"
    ip("netns", "add", name)
    try:
        listing = pyss.sockets("tcp", netns=name)
    finally:
        ip("netns", "del", name)
    with pytest.raises(FileNotFoundError, match=name) as raised:
        next(listing)
    assert raised.value.filename == f"/run/netns/{name}"
    holder = subprocess.Popen(["unshare", "-n", "sleep", "60"])
    try:
        deadline = time.monotonic() + 10
        while os.readlink(f"/proc/{holder.pid}/ns/net") == _own_namespace() and time.monotonic() < deadline:
            time.sleep(0.01)  # unshare has not unshared yet
        counting = pyss.sockets("unix", netns=holder.pid)
    finally:
        holder.kill()
        holder.wait()
    with pytest.raises(FileNotFoundError) as raised:
        list(counting)
    assert raised.value.filename == f"/proc/{holder.pid}/ns/net"
    assert _own_namespace() == os.readlink("/proc/self/ns/net")


@pytest.mark.parametrize("path", ["/sys", "/proc"])
def test_a_cgroup_ss_cannot_resolve_is_a_filter_error(path: str) -> None:
    """ss takes a cgroup's id from the path's file handle, else from the path under the cgroup2 mount:
    sysfs and procfs give no handle, and no cgroup is named so. Their roots' inode numbers (1) are the
    root cgroup's id, so reading a path's inode instead matched every socket of the root cgroup."""
    refused = subprocess.run(["ss", "-ta", "cgroup", "=", path], capture_output=True, timeout=30, check=False)
    assert refused.returncode == 1 and b"cgroup" in refused.stderr
    with pytest.raises(pyss.FilterError, match="cgroup"):
        pyss.sockets("tcp", f"cgroup = {path}")


def test_bad_arguments_raise_at_the_call() -> None:
    with pytest.raises(ValueError, match="known kinds"):
        pyss.sockets("tcp9")
    with pytest.raises(ValueError, match="invalid kind argument"):
        pyss.net_connections("raw")
    with pytest.raises(ValueError, match="known keys"):
        pyss.count("tcp", by="colour")
    with pytest.raises(pyss.FilterError) as raised:
        pyss.count("tcp", "sport = :ssh and ( dport = :1")
    assert raised.value.column > 0


def test_no_such_process_is_a_process_lookup_error() -> None:
    with pytest.raises(ProcessLookupError, match="no process"):
        pyss.process_net_connections(2**22 + 1)


NOBODY_PROBE = """
import ctypes, os, sys, pyss  # imported while root may read the interpreter's library directory
list(pyss.sockets("tcp", processes=True)), pyss.process_net_connections(os.getpid())  # imports, while we may
os.setgid(65534); os.setuid(65534)
held = [s for s in pyss.sockets("tcp", processes=True) if s.processes]
print(len(held))
try:
    pyss.process_net_connections(int(sys.argv[1]))
except PermissionError as error:
    print("PermissionError", error.filename)
try:
    pyss.sockets("tcp", netns=sys.argv[2])
except PermissionError as error:
    print("PermissionError", error.filename)
"""


def test_without_privilege_processes_fill_what_they_can(zoo_ns: ZooNamespace) -> None:
    done = zoo_ns.run_in_ns([sys.executable, "-c", NOBODY_PROBE, str(zoo_ns.zoo["pid"]), zoo_ns.name])
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    held, denied, refused = done.text.splitlines()
    assert held == "0", "root's processes cannot be seen by nobody"
    assert denied == f"PermissionError /proc/{zoo_ns.zoo['pid']}/fd"
    assert refused == f"PermissionError /run/netns/{zoo_ns.name}", "entering a namespace needs privilege"


def test_threads_may_list_namespaces_side_by_side(zoo_ns: ZooNamespace) -> None:
    own = _own_namespace()
    results: list[Counter[Any]] = []
    workers = [threading.Thread(target=lambda: results.append(Counter(pyss.count("unix", by="state",
                                                                                    netns=zoo_ns.name))))
               for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(results) == 4 and all(result == results[0] for result in results)
    assert _own_namespace() == own


FORK_PROBE = """
import _thread, os, sys, time, pyss
forks = []
os.register_at_fork(before=lambda: forks.append(1))
if sys.argv[1] == "thread":  # a thread threading does not know of, as C libraries start them
    started = _thread.allocate_lock()
    started.acquire()
    _thread.start_new_thread(lambda: (started.release(), time.sleep(60)), ())
    started.acquire()
pyss.net_connections("all")
list(pyss.sockets("tcp", processes=True))
pyss.count("tcp", by="process")
print(len(forks))
"""


def test_no_helper_is_forked_in_a_program_running_threads_threading_does_not_count() -> None:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("helpers are forked only with a second CPU to run them")

    def forks(mode: str) -> int:
        done = subprocess.run([sys.executable, "-c", FORK_PROBE, mode], capture_output=True, text=True,
                              timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return int(done.stdout)

    assert forks("alone") > 0, "a program of one thread gets its helpers"
    assert forks("thread") == 0, "fork copies only the calling thread"


SIGCHLD_PROBE = """
import os, signal, sys, pyss
if sys.argv[1] == "ignored":  # children reap themselves (and the setting outlives exec)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
else:  # a program that reaps every child it is told of, as servers do
    def reap(_signal, _frame):
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
    signal.signal(signal.SIGCHLD, reap)
forks = []
os.register_at_fork(before=lambda: forks.append(1))
pyss.net_connections("all")
list(pyss.sockets("tcp", "sport > :0", processes=True))
pyss.count("tcp", by="process")
print(len(forks))
"""


@pytest.mark.parametrize("sigchld", ["ignored", "reaped"])
def test_children_reaped_by_others_are_no_error(sigchld: str) -> None:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("helpers are forked only with a second CPU to run them")
    done = subprocess.run([sys.executable, "-c", SIGCHLD_PROBE, sigchld], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 0, "helpers were forked"


def test_readers_see_socket_enums(zoo_ns: ZooNamespace) -> None:
    for sock in pyss.sockets("all", netns=zoo_ns.name):
        assert type(sock.family) is socket.AddressFamily and type(sock.type) is socket.SocketKind
        assert isinstance(sock.state, pyss.State)


def test_read_ahead_child_is_not_left_behind(zoo_ns: ZooNamespace) -> None:
    before = children()
    for _ in pyss.sockets("all", netns=zoo_ns.name, processes=True):
        break
    assert children() <= before


def test_raw_sockets_of_another_namespace_as_ss_lists_them(zoo_ns: ZooNamespace) -> None:
    """Without raw_diag the RAW table comes from /proc: it must be the namespace's, not the caller's."""
    counted = sum(pyss.count("raw", by="state", netns=zoo_ns.name).values())
    assert counted == len(ss_rows(zoo_ns, "-w", "-a")) > 0


def test_a_filter_string_escapes_a_space_as_ss_s_command_line_does(tmp_path: Path) -> None:
    """`ss -x 'src /a\\ b'` and pyss's command line read a backslash-escaped space as part of the word; the
    API's filter string once cut it there (and raised FilterError for "/a\\")."""
    path = str(tmp_path / "pyss api esc.sock")
    escaped = path.replace(" ", "\\ ")
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(path)
        listener.listen()
        # (a kind is ss's -A, which reads a bare path as an inet address: unix: names the family)
        listed = subprocess.run(["ss", "-A", "unix_stream", "-lH", f"src unix:{escaped}"], capture_output=True,
                                text=True, check=True)
        assert len(listed.stdout.splitlines()) == 1 and f" {path} " in listed.stdout, listed.stdout
        for text in (f"src unix:{escaped}", f"state listening\nsrc unix:{escaped}", f"  src\tunix:{escaped}  "):
            found = list(pyss.sockets("unix_stream", text))
            assert [entry.laddr for entry in found] == [path], text
        assert list(pyss.sockets("unix_stream", state="listening", filter=f"src unix:{escaped}")) == found
