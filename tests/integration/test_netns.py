"""pyss.system.netns against real namespaces: all_namespaces() finds named and process-held ones, inside() enters and returns."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyss.system.netns import Namespace, NamespaceError, all_namespaces, inside
from tests.integration.harness import NS_PREFIX, TOOL_ENV, ip

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None,
    reason="needs root, ip and unshare: creates network namespaces",
)

# Listens on PORT in whatever namespace it runs in, says READY, and holds on until stdin closes.
LISTENER = """
import socket, subprocess, sys
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
server = socket.socket()
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen()
print("READY", flush=True)
sys.stdin.read()
"""


class Holder:
    """A listener process in a namespace; ``name`` is the namespace's name, or None for an unnamed one."""

    def __init__(self, argv: list[str], name: str | None, port: int) -> None:
        self.name, self.port = name, port
        self.process = subprocess.Popen([*argv, sys.executable, "-c", LISTENER, str(port)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, env=TOOL_ENV)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line == b"READY\n", f"listener did not start: {line!r}"
        self.inode = os.stat(f"/proc/{self.process.pid}/ns/net").st_ino

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture(scope="module")
def holders() -> Iterator[list[Holder]]:
    """Listeners on 7101 and 7102 in two named namespaces, on 7103 in one that only its process holds."""
    names = [f"{NS_PREFIX}{os.getpid()}-netns-{letter}" for letter in "ab"]
    started: list[Holder] = []
    try:
        for port, name in zip((7101, 7102), names, strict=True):
            ip("netns", "add", name)
            started.append(Holder(["ip", "netns", "exec", name], name, port))
        # unshare execs the command in the new namespace, so the holder's pid is the namespace's only one.
        started.append(Holder(["unshare", "-n"], None, 7103))
        yield started
    finally:
        for holder in started:
            holder.stop()
        for name in names:
            ip("netns", "del", name, check=False)


def _own_inode() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


def test_all_namespaces_names_each_namespace_once(holders: list[Holder]) -> None:
    enumeration = all_namespaces()
    by_inode = {namespace.inode: namespace for namespace in enumeration.namespaces}
    assert len(by_inode) == len(enumeration.namespaces), "a namespace is listed twice"
    named_a, named_b, unnamed = holders
    # The named ones keep their names although their listeners' processes hold them too.
    assert by_inode[named_a.inode].name == named_a.name
    assert by_inode[named_b.inode].name == named_b.name
    assert by_inode[unnamed.inode].name == f"pid:{unnamed.process.pid}"
    assert by_inode[unnamed.inode].path == f"/proc/{unnamed.process.pid}/ns/net"
    assert _own_inode() in by_inode, "the caller's own namespace is one of the host's"


def test_pid_name_is_the_lowest_pid(holders: list[Holder]) -> None:
    unnamed = holders[2]
    # A second process joins the unnamed namespace; it has a higher pid, so the name stays.
    joiner = subprocess.Popen(["nsenter", f"--net=/proc/{unnamed.process.pid}/ns/net", "sleep", "30"])
    try:
        names = {namespace.inode: namespace.name for namespace in all_namespaces().namespaces}
        assert names[unnamed.inode] == f"pid:{min(unnamed.process.pid, joiner.pid)}"
    finally:
        joiner.kill()
        joiner.wait()


def test_inside_dumps_the_namespace_and_comes_back(holders: list[Holder]) -> None:
    from pyss.dump import sockets
    from pyss.netlink.constants import AF_INET, TCP_LISTEN
    from pyss.query import TABLE_BIT, Query

    own = _own_inode()
    query = Query(tables=TABLE_BIT["tcp"], families=1 << AF_INET, states=1 << TCP_LISTEN)
    for holder in holders:
        namespace = next(n for n in all_namespaces().namespaces if n.inode == holder.inode)
        with inside(namespace):
            assert _own_inode() == holder.inode
            ports = {record.sport for record in sockets(query)}  # type: ignore[union-attr]
        assert _own_inode() == own
        assert ports == {holder.port}, f"{namespace.name} lists {ports}"


def test_inside_returns_after_an_exception(holders: list[Holder]) -> None:
    own = _own_inode()
    namespace = next(n for n in all_namespaces().namespaces if n.inode == holders[0].inode)
    with pytest.raises(KeyError), inside(namespace):
        raise KeyError("boom")
    assert _own_inode() == own


def test_a_vanished_namespace_is_refused_before_entering() -> None:
    name = f"{NS_PREFIX}{os.getpid()}-netns-gone"
    ip("netns", "add", name)
    try:
        namespace = next(n for n in all_namespaces().namespaces if n.name == name)
    finally:
        ip("netns", "del", name)
    own = _own_inode()
    with pytest.raises(NamespaceError, match=f'cannot open network namespace "{name}"'), inside(namespace):
        pytest.fail("entered a deleted namespace")
    assert _own_inode() == own


def test_a_path_reused_by_another_namespace_is_refused(holders: list[Holder]) -> None:
    real = next(n for n in all_namespaces().namespaces if n.inode == holders[0].inode)
    impostor = Namespace(real.name, real.device, real.inode + 1, real.path)  # as if deleted and re-added
    with pytest.raises(NamespaceError, match="is gone"), inside(impostor):
        pytest.fail("entered a namespace that is not the one enumerated")


def test_files_that_are_not_namespaces_are_refused_without_hanging(tmp_path: Path) -> None:
    run_dir = tmp_path / "netns"
    run_dir.mkdir()
    (run_dir / "stale").write_bytes(b"")  # what a failed `ip netns add` leaves
    os.mkfifo(run_dir / "fifo")
    enumeration = all_namespaces(run_dir=str(run_dir))
    assert not {"stale", "fifo"} & {namespace.name for namespace in enumeration.namespaces}
    files = [line.split('"')[1] for line in enumeration.refused if line.startswith("network namespace")]
    assert sorted(files) == ["fifo", "stale"]


# --- pyss --all-netns -----------------------------------------------------------------------------

def pyss(*args: str) -> subprocess.CompletedProcess[str]:
    from tests.integration.harness import PYSS

    return subprocess.run([str(PYSS), *args], capture_output=True, text=True, env=TOOL_ENV, timeout=60, check=False)


def labels(holders: list[Holder]) -> dict[int, str]:
    """Each holder's listening port -> the name pyss must tag its namespace with."""
    return {holder.port: holder.name or f"pid:{holder.process.pid}" for holder in holders}


def test_all_netns_tags_each_listener_with_its_namespace(holders: list[Holder]) -> None:
    run = pyss("-tln", "--all-netns")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split()[:2] == ["Netns", "State"]
    found = {int(line.split()[4].rpartition(":")[2]): line.split()[0] for line in lines[1:]
             if line.split()[4].rpartition(":")[2] in ("7101", "7102", "7103")}
    assert found == labels(holders)


def test_all_netns_json_has_the_netns_key_and_processes_from_inside(holders: list[Holder]) -> None:
    run = pyss("-tlnp", "--all-netns", "--json")
    assert run.returncode == 0, run.stderr
    objects = [fields for fields in json.loads(run.stdout) if fields["local_port"] in (7101, 7102, 7103)]
    assert {fields["local_port"]: fields["netns"] for fields in objects} == labels(holders)
    pids = {fields["local_port"]: [process["pid"] for process in fields["processes"]] for fields in objects}
    assert pids == {holder.port: [holder.process.pid] for holder in holders}


def test_all_netns_counts_by_netns_and_state(holders: list[Holder]) -> None:
    run = pyss("-tln", "--all-netns", "--count-by", "netns,state", "--json")
    assert run.returncode == 0, run.stderr
    groups = {(group["netns"], group["state"]): group["count"] for group in json.loads(run.stdout)}
    for name in labels(holders).values():
        assert groups[(name, "LISTEN")] == 1


def test_a_namespace_gone_before_its_turn_is_named_once_and_skipped(holders: list[Holder],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The enumeration is taken, then one namespace is deleted before it is entered."""
    from pyss.cli import views
    from pyss.netlink.constants import AF_INET, TCP_LISTEN
    from pyss.query import TABLE_BIT, Query
    from pyss.system import netns

    name = f"{NS_PREFIX}{os.getpid()}-netns-brief"
    ip("netns", "add", name)
    try:
        enumeration = netns.all_namespaces()
    finally:
        ip("netns", "del", name)
    monkeypatch.setattr(netns, "all_namespaces", lambda: enumeration)
    warnings: list[str] = []
    query = Query(tables=TABLE_BIT["tcp"], families=1 << AF_INET, states=1 << TCP_LISTEN)
    streams = views.NamespaceStreams(query, None, warnings.append, all_netns=True)
    seen: dict[str | None, int] = {}
    for _kind, items in streams:
        seen[streams.current] = seen.get(streams.current, 0) + len(list(items))
    assert [line for line in warnings if name in line] == [
        f'cannot open network namespace "{name}": No such file or directory: not listed']
    assert name not in seen
    assert all(label in seen for label in labels(holders).values())
