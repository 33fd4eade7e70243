"""pyss.net_connections / process_net_connections on sockets this test opens itself.

The properties a psutil user relies on (the ones psutil's own connection tests
check): the tuple shapes, socket enums, the forms of empty and UNIX
addresses, statuses, per-kind selection, per-process selection and fds. The
sockets are real: the kernel answers, in whatever namespace the suite runs.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

import pyss
from pyss.api.psutil_compat import pconn

# psutil's CONN_* values (psutil/_common.py), written out: pyss must not import psutil.
STATUSES = {"ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT",
            "LAST_ACK", "LISTEN", "CLOSING", "NONE"}
KIND_SHAPES = {
    "tcp": {(socket.AF_INET, socket.SOCK_STREAM), (socket.AF_INET6, socket.SOCK_STREAM)},
    "tcp4": {(socket.AF_INET, socket.SOCK_STREAM)},
    "tcp6": {(socket.AF_INET6, socket.SOCK_STREAM)},
    "udp": {(socket.AF_INET, socket.SOCK_DGRAM), (socket.AF_INET6, socket.SOCK_DGRAM)},
    "udp4": {(socket.AF_INET, socket.SOCK_DGRAM)},
    "udp6": {(socket.AF_INET6, socket.SOCK_DGRAM)},
    "inet4": {(socket.AF_INET, socket.SOCK_STREAM), (socket.AF_INET, socket.SOCK_DGRAM)},
    "inet6": {(socket.AF_INET6, socket.SOCK_STREAM), (socket.AF_INET6, socket.SOCK_DGRAM)},
    "unix": {(socket.AF_UNIX, kind) for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_SEQPACKET)},
}
KIND_SHAPES["inet"] = KIND_SHAPES["inet4"] | KIND_SHAPES["inet6"]
KIND_SHAPES["all"] = KIND_SHAPES["inet"] | KIND_SHAPES["unix"]


def mine(kind: str) -> list[pconn]:
    return pyss.process_net_connections(os.getpid(), kind)


def by_fd(kind: str) -> dict[int, object]:
    return {conn.fd: conn for conn in mine(kind)}


def assert_well_formed(conn: tuple[object, ...]) -> None:
    fd, family, kind, laddr, raddr, status = conn[:6]
    assert type(family) is socket.AddressFamily and type(kind) is socket.SocketKind
    assert isinstance(fd, int) and fd >= -1 and status in STATUSES
    if family is socket.AF_UNIX:
        assert isinstance(laddr, str) and raddr == "" and status == "NONE"
        return
    assert family in (socket.AF_INET, socket.AF_INET6)
    if kind is socket.SOCK_DGRAM:
        assert status == "NONE"
    for address in (laddr, raddr):
        assert address == () or (isinstance(address, pyss.Addr) and 0 < address.port <= 65535)
        if address:
            socket.inet_pton(family, address.ip)  # the text is an address of the family


@pytest.fixture
def held() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def bound(stack: ExitStack, family: int, kind: int, address: object) -> socket.socket:
    sock = stack.enter_context(socket.socket(family, kind))
    sock.bind(address)
    return sock


def test_an_unknown_kind_is_refused() -> None:
    for call in (lambda: pyss.net_connections("???"), lambda: mine("tcp7"), lambda: pyss.net_connections("raw")):
        with pytest.raises(ValueError, match="valid ones are: all, tcp"):
            call()


def test_every_entry_system_wide_is_well_formed() -> None:
    found = pyss.net_connections("all")
    assert found
    for conn in found:
        assert len(conn) == 7 and (conn.pid is None or isinstance(conn.pid, int))
        assert_well_formed(conn)
        assert (conn.fd == -1) == (conn.pid is None)


@pytest.mark.parametrize(("family", "host"), [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")])
def test_a_listener_has_its_address_and_no_peer(held: ExitStack, family: int, host: str) -> None:
    server = bound(held, family, socket.SOCK_STREAM, (host, 0))
    server.listen()
    conn = by_fd("tcp")[server.fileno()]
    assert conn == (server.fileno(), family, socket.SOCK_STREAM, server.getsockname()[:2], (), "LISTEN")
    assert len(conn) == 6, "one process's entries carry no pid"


@pytest.mark.parametrize(("family", "host"), [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")])
def test_a_bound_udp_socket_has_status_none(held: ExitStack, family: int, host: str) -> None:
    sock = bound(held, family, socket.SOCK_DGRAM, (host, 0))
    assert by_fd("udp")[sock.fileno()] == (sock.fileno(), family, socket.SOCK_DGRAM, sock.getsockname()[:2], (),
                                           "NONE")


@pytest.mark.parametrize("kind", [socket.SOCK_STREAM, socket.SOCK_DGRAM])
def test_a_bound_unix_socket_shows_its_path(held: ExitStack, kind: int) -> None:
    path = os.path.join(held.enter_context(tempfile.TemporaryDirectory()), "sock")
    sock = bound(held, socket.AF_UNIX, kind, path)
    assert by_fd("unix")[sock.fileno()] == (sock.fileno(), socket.AF_UNIX, kind, path, "", "NONE")


def test_a_connected_tcp_pair_is_established_both_ways(held: ExitStack) -> None:
    server = bound(held, socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 0))
    server.listen()
    client = held.enter_context(socket.create_connection(server.getsockname()))
    accepted = held.enter_context(server.accept()[0])
    found = by_fd("tcp4")
    assert found[client.fileno()][3:] == (client.getsockname(), client.getpeername(), "ESTABLISHED")
    assert found[accepted.fileno()][3:] == (accepted.getsockname(), accepted.getpeername(), "ESTABLISHED")
    assert found[server.fileno()][5] == "LISTEN"


def test_a_unix_socketpair_shows_two_unnamed_entries(held: ExitStack) -> None:
    ends = [held.enter_context(end) for end in socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)]
    found = by_fd("unix")
    for end in ends:
        assert found[end.fileno()] == (end.fileno(), socket.AF_UNIX, socket.SOCK_STREAM, "", "", "NONE")


def test_each_kind_selects_its_families_and_types(held: ExitStack) -> None:
    opened = {
        ("tcp", 4): bound(held, socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", 0)),
        ("tcp", 6): bound(held, socket.AF_INET6, socket.SOCK_STREAM, ("::1", 0)),
        ("udp", 4): bound(held, socket.AF_INET, socket.SOCK_DGRAM, ("127.0.0.1", 0)),
        ("udp", 6): bound(held, socket.AF_INET6, socket.SOCK_DGRAM, ("::1", 0)),
    }
    opened[("tcp", 4)].listen()
    opened[("tcp", 6)].listen()
    unix = held.enter_context(socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)[0])
    fds = {sock.fileno() for sock in opened.values()} | {unix.fileno()}
    for kind, shapes in KIND_SHAPES.items():
        found = [conn for conn in mine(kind) if conn.fd in fds]
        assert {(conn.family, conn.type) for conn in found} == shapes & {
            (sock.family, sock.type) for sock in (*opened.values(), unix)}, kind
        assert all((conn.family, conn.type) in shapes for conn in mine(kind)), kind
    assert len([conn for conn in mine("inet") if conn.fd in fds]) == 4


HOLDER = """
import socket, sys, time
kept = []
for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(family, kind)
        s.bind((host, 0))
        if kind == socket.SOCK_STREAM:
            s.listen()
        kept.append(s)
kept.append(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
kept[-1].bind(sys.argv[1])
print("ready", flush=True)
sys.stdin.read()
"""


def test_other_processes_are_told_apart(tmp_path: Path) -> None:
    children = []
    try:
        for number in range(3):
            child = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / f"s{number}")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
            children.append(child)
        system = pyss.net_connections("all")
        for number, child in enumerate(children):
            theirs = [conn for conn in system if conn.pid == child.pid]
            assert len(theirs) == 5
            assert {conn.laddr for conn in theirs if conn.family is socket.AF_UNIX} == {str(tmp_path / f"s{number}")}
            own = pyss.process_net_connections(child.pid, "all")
            assert sorted(own) == sorted(tuple(conn)[:6] for conn in theirs)
            assert len(pyss.process_net_connections(child.pid, "tcp")) == 2
            assert len(pyss.process_net_connections(child.pid, "udp6")) == 1
    finally:
        for child in children:
            child.communicate("")


def test_a_process_that_ended_is_a_lookup_error() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child.pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(ProcessLookupError) as raised:
        pyss.process_net_connections(child.pid)
    assert raised.value.errno == errno.ESRCH and raised.value.filename == f"/proc/{child.pid}/fd"


def test_a_process_without_sockets_has_none() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert pyss.process_net_connections(child.pid, "all") == []
    finally:
        child.communicate(b"")


# Names /proc/net/unix prints on one line with white space around them, or over several lines (the kernel
# writes the name as it is): psutil reads the line's first token after the inode, or "" for several.
ODD_UNIX_NAMES = [" lead", "trail ", "a\rb", "c\r\nd", "e\nf", "\x85g", "h i", "j\tk", "nb\xa0sp", "x\x1cy"]


def test_unix_names_with_white_space_or_line_breaks_as_psutil_reads_them(
        held: ExitStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    psutil = pytest.importorskip("psutil", reason="psutil comes with the bench extra")
    monkeypatch.chdir(tmp_path)  # relative names: a leading space stays the name's first character
    fds = {bound(held, socket.AF_UNIX, socket.SOCK_STREAM, name).fileno() for name in ODD_UNIX_NAMES}
    theirs = {tuple(conn) for conn in psutil.Process().net_connections("unix") if conn.fd in fds}
    ours = {tuple(conn) for conn in mine("unix") if conn.fd in fds}
    assert ours == theirs
    assert {conn[3] for conn in ours} == {"lead", "trail", "a", "c", "e", "g", ""}
    system = {tuple(conn) for conn in pyss.net_connections("unix") if conn.pid == os.getpid() and conn.fd in fds}
    assert system == {(*conn, os.getpid()) for conn in theirs}
