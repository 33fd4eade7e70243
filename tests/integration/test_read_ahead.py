"""transport's read-ahead against the real kernel: the same dump, received by a child process.

Runs unprivileged on the host: sock_diag lists a user's own sockets, and only
the sockets this test opens are compared.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from itertools import chain

import pytest

from pyss.netlink.constants import AF_INET, IPPROTO_UDP
from pyss.netlink.decode import inet_decoder, walk
from pyss.netlink.requests import inet_request
from pyss.netlink.transport import EarlyDump, dump
from pyss.query import STATES_ALL
from tests.integration.harness import PYSS, TOOL_ENV
from tests.processes import children

SOCKETS = 600  # ~60 kB of replies: the dump spans several buffers, so a child reads most of it


def bound_udp_ports(count: int) -> Iterator[set[int]]:
    """Hold ``count`` UDP sockets bound to loopback ports, and yield those ports."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        yield {sock.getsockname()[1] for sock in sockets}
    finally:
        for sock in sockets:
            sock.close()


@pytest.fixture(scope="module")
def udp_ports() -> Iterator[set[int]]:
    yield from bound_udp_ports(SOCKETS)


def our_sockets(read_ahead: bool, ports: set[int]) -> list[tuple[int, int]]:
    buffers = dump(inet_request(AF_INET, IPPROTO_UDP, STATES_ALL), read_ahead)
    return [(record.sport, record.inode) for record in walk(buffers, inet_decoder(IPPROTO_UDP))
            if record.sport in ports]


def test_a_read_ahead_dump_lists_what_a_direct_one_does(udp_ports: set[int]) -> None:
    direct = our_sockets(False, udp_ports)
    assert {port for port, _inode in direct} == udp_ports
    assert our_sockets(True, udp_ports) == direct


def test_an_abandoned_read_ahead_leaves_no_child_behind(udp_ports: set[int]) -> None:
    before = children()
    buffers = dump(inet_request(AF_INET, IPPROTO_UDP, STATES_ALL), True)
    next(buffers)
    next(buffers)  # the child is reading by now
    assert children() - before, "no child was started"
    started = time.monotonic()
    buffers.close()
    assert time.monotonic() - started < 5
    assert children() - before == set()  # reaped


def test_a_receive_error_in_the_child_reaches_the_decoder() -> None:
    import errno

    from pyss.netlink.decode import DumpError
    from pyss.netlink.transport import _read_ahead

    class FailingSocket:
        def recv(self, size: int) -> bytes:
            raise OSError(errno.ENOBUFS, "No buffer space available")

    def give_up(signum: int, frame: object) -> None:
        raise TimeoutError("the child kept reading after the error")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(10)
    try:
        buffers = list(_read_ahead(FailingSocket()))  # type: ignore[arg-type]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert len(buffers) == 1
    with pytest.raises(DumpError) as raised:
        list(walk(buffers, inet_decoder(IPPROTO_UDP)))
    assert raised.value.errno == errno.ENOBUFS


# --- a dump started ahead (EarlyDump): a child sends the request too ----------------------------

def started_dump(message: bytes) -> EarlyDump:
    started = EarlyDump(message)
    started.start()
    return started


def test_a_started_dump_lists_what_a_direct_one_does(udp_ports: set[int]) -> None:
    started = started_dump(inet_request(AF_INET, IPPROTO_UDP, STATES_ALL))
    records = [(record.sport, record.inode) for record in walk(started.buffers(), inet_decoder(IPPROTO_UDP))
               if record.sport in udp_ports]
    assert records == our_sockets(False, udp_ports)


def test_an_early_dump_never_started_is_dumped_where_it_is_read(udp_ports: set[int]) -> None:
    before = children()
    early = EarlyDump(inet_request(AF_INET, IPPROTO_UDP, STATES_ALL))
    records = [(record.sport, record.inode) for record in walk(early.buffers(), inet_decoder(IPPROTO_UDP))
               if record.sport in udp_ports]
    assert records == our_sockets(False, udp_ports)
    assert children() - before == set()
    with pytest.raises(RuntimeError, match="read once"):
        early.buffers()


@pytest.mark.parametrize("read", [0, 1])
def test_a_started_dump_dropped_or_closed_leaves_no_child_behind(udp_ports: set[int], read: int) -> None:
    before = children()
    started = started_dump(inet_request(AF_INET, IPPROTO_UDP, STATES_ALL))
    assert children() - before, "no child was started"
    buffers = started.buffers()
    for _ in range(read):
        next(buffers)
    begun = time.monotonic()
    if read:
        buffers.close()
    else:
        del started, buffers  # dropped unread
    assert time.monotonic() - begun < 5
    assert children() - before == set()  # reaped


def test_a_refused_request_of_a_started_dump_reaches_the_decoder() -> None:
    import errno

    from pyss.netlink.decode import DumpError

    bad = bytearray(inet_request(AF_INET, IPPROTO_UDP, STATES_ALL))
    bad[16] = 250  # sdiag_family: no such family, so the kernel refuses the dump
    with pytest.raises(DumpError) as raised:
        list(walk(started_dump(bytes(bad)).buffers(), inet_decoder(IPPROTO_UDP)))
    assert raised.value.errno in (errno.EINVAL, errno.ENOENT, errno.EAFNOSUPPORT)

def following_dump(ports: set[int]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """A dump read ahead and the same request as the EarlyDump following it, started as the first is read
    ahead: both listings of our sockets."""
    request = inet_request(AF_INET, IPPROTO_UDP, STATES_ALL)
    following = EarlyDump(request)
    first = [(record.sport, record.inode) for record in walk(dump(request, True, following), inet_decoder(IPPROTO_UDP))
             if record.sport in ports]
    second = [(record.sport, record.inode) for record in walk(following.buffers(), inet_decoder(IPPROTO_UDP))
              if record.sport in ports]
    return first, second


def test_a_following_dump_started_early_lists_what_a_direct_one_does(udp_ports: set[int]) -> None:
    direct = our_sockets(False, udp_ports)
    before = children()
    first, second = following_dump(udp_ports)
    assert first == direct
    assert second == direct
    assert children() - before == set()  # both children reaped


def test_a_following_dump_never_read_leaves_no_child_behind(udp_ports: set[int]) -> None:
    before = children()
    request = inet_request(AF_INET, IPPROTO_UDP, STATES_ALL)
    following = EarlyDump(request)
    buffers = dump(request, True, following)
    next(buffers)
    next(buffers)  # the read-ahead child is reading, and the following dump's child started
    assert len(children() - before) == 2
    buffers.close()
    del following
    assert children() - before == set()


def test_a_child_that_dies_mid_dump_leaves_a_dump_cut_short(udp_ports: set[int]) -> None:
    from pyss.netlink.decode import MalformedMessage
    from pyss.netlink.transport import _Relay

    first = next(dump(inet_request(AF_INET, IPPROTO_UDP, STATES_ALL)))  # a real buffer that does not end the dump
    kernel, feed = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with kernel, feed:
        feed.send(first)  # the child relays it, then waits in recv() for more, which never comes
        before = children()
        relay = _Relay(kernel)
        (child,) = children() - before
        buffers = relay.buffers()
        assert next(buffers) == first
        os.kill(int(child), signal.SIGKILL)
        with pytest.raises(MalformedMessage, match="without NLMSG_DONE"):
            list(walk(chain((first,), buffers), inet_decoder(IPPROTO_UDP)))
    assert children() - before == set()


def test_a_request_error_in_the_early_child_reaches_the_decoder() -> None:
    import errno

    from pyss.netlink.decode import DumpError
    from pyss.netlink.transport import _Relay

    class RefusingSocket:
        def sendto(self, message: bytes, address: tuple[int, int]) -> int:
            raise OSError(errno.ENOBUFS, "No buffer space available")

    buffers = list(_Relay(RefusingSocket(), b"request").buffers())  # type: ignore[arg-type]
    assert len(buffers) == 1
    with pytest.raises(DumpError) as raised:
        list(walk(buffers, inet_decoder(IPPROTO_UDP)))
    assert raised.value.errno == errno.ENOBUFS


def column_listing(buffers: Iterator[bytes]) -> list[tuple[int, int, int]]:
    from pyss.columnar import InetColumns, inet_batches

    rows = []
    for batch in inet_batches(buffers, IPPROTO_UDP):
        assert isinstance(batch, InetColumns)
        rows += zip(batch.sports, batch.inodes, batch.states, strict=True)
    return rows


MANY = 4000  # ~400 kB of replies: more than the pair between a child and this process holds


@pytest.fixture(scope="module")
def many_udp_ports() -> Iterator[set[int]]:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < MANY + 200:
        if hard != resource.RLIM_INFINITY and hard < MANY + 200:
            pytest.skip(f"needs {MANY + 200} file descriptors, the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (MANY + 200, hard))
    try:
        yield from bound_udp_ports(MANY)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_buffers_worked_on_by_the_child_give_the_same_columns(many_udp_ports: set[int]) -> None:
    from pyss.columnar import column_fixed
    from pyss.netlink.transport import Worked

    request = inet_request(AF_INET, IPPROTO_UDP, STATES_ALL)
    direct = [row for row in column_listing(dump(request)) if row[0] in many_udp_ports]
    assert {row[0] for row in direct} == many_udp_ports
    kinds: list[type] = []

    def noted(buffers: Iterator[bytes]) -> Iterator[bytes]:
        for buf in buffers:
            kinds.append(type(buf))
            time.sleep(0.02)  # a slow consumer: the child works on what waits for it
            yield buf

    def work(buf: bytes) -> bytes | None:
        return column_fixed(buf, IPPROTO_UDP)

    worked = [row for row in column_listing(noted(dump(request, True, work=work))) if row[0] in many_udp_ports]
    assert worked == direct
    assert Worked in kinds  # the child sent its work for the buffers it held...
    assert kinds[0] is bytes and kinds[-1] is bytes  # ...not for the first (read here) nor the one that ends the dump


def test_the_child_receives_the_whole_dump_while_the_consumer_is_behind() -> None:
    """The kernel's walk runs in the child's recv(): it must not wait while this process is busy."""
    from pyss.netlink.transport import _Relay

    buffers_sent = 40  # ~1.3 MB: several times what the pair between the two processes holds
    full = struct.pack("=IHHII", 32768, 20, 2, 0, 0) + bytes(32768 - 16)  # one large SOCK_DIAG_BY_FAMILY message
    done = struct.pack("=IHHIIi", 20, 3, 2, 0, 0, 0)  # NLMSG_DONE
    received, noted = os.pipe()

    class Replies:
        def __init__(self) -> None:
            self.left = buffers_sent

        def recv(self, size: int) -> bytes:
            os.write(noted, b".")
            self.left -= 1
            return full if self.left else done

    with open(received, "rb", buffering=0) as reads, open(noted, "wb", buffering=0):
        buffers = _Relay(Replies()).buffers()  # type: ignore[arg-type]
        assert next(buffers) == full  # then this process falls behind
        count = 0
        deadline = time.monotonic() + 10
        poll = select.poll()  # (select() cannot watch the high descriptors other tests' fixtures leave)
        poll.register(reads, select.POLLIN)
        while count < buffers_sent and poll.poll(max(deadline - time.monotonic(), 0) * 1000):
            count += len(reads.read(buffers_sent))
        assert count == buffers_sent  # every buffer was received while only one was read here
        rest = list(buffers)
    assert len(rest) == buffers_sent - 1 and rest[-1] == done


def test_a_failing_work_lets_the_buffer_through_whole(udp_ports: set[int]) -> None:
    def work(buf: bytes) -> bytes | None:
        raise ValueError("a bug in the child's work")

    assert our_sockets(False, udp_ports) == [
        (record.sport, record.inode)
        for record in walk(dump(inet_request(AF_INET, IPPROTO_UDP, STATES_ALL), True, work=work),
                           inet_decoder(IPPROTO_UDP))
        if record.sport in udp_ports]


def test_a_kernel_buffer_that_starts_with_a_zero_word_comes_through_unchanged() -> None:
    from pyss.netlink.transport import _Relay

    odd = bytes(4) + b"W\0\0\0" + b"rest of a malformed buffer"
    done = struct.pack("=IHHIIi", 20, 3, 2, 0, 0, 0)  # NLMSG_DONE

    class Replies:
        def __init__(self) -> None:
            self.left = [odd, done]

        def recv(self, size: int) -> bytes:
            return self.left.pop(0)

    assert list(_Relay(Replies()).buffers()) == [odd, done]  # type: ignore[arg-type]


# --- a split dump (TCP's two families out of one TCPDIAG_GETSOCK dump) ----------------------------

LISTENERS = 300  # per family: ~80 kB of replies, several buffers with both families in each


@pytest.fixture(scope="module")
def tcp_listeners() -> Iterator[set[int]]:
    sockets = []
    try:
        for index in range(2 * LISTENERS):
            family, host = (socket.AF_INET, "127.0.0.1") if index % 2 else (socket.AF_INET6, "::1")
            sock = socket.socket(family)
            sock.bind((host, 0))
            sock.listen(1)
            sockets.append(sock)
        yield {sock.getsockname()[1] for sock in sockets}
    finally:
        for sock in sockets:
            sock.close()


def tcp_records(buffers: Iterator[bytes], ports: set[int]) -> list[tuple[int, int, int]]:
    from pyss.netlink.constants import IPPROTO_TCP

    return [(record.family, record.sport, record.inode) for record in walk(buffers, inet_decoder(IPPROTO_TCP))
            if record.sport in ports]


@pytest.mark.parametrize("read_ahead", [False, True])
def test_a_split_dump_reads_as_each_familys_own_dump(tcp_listeners: set[int], read_ahead: bool) -> None:
    from pyss.netlink.constants import AF_INET6, IPPROTO_TCP
    from pyss.netlink.requests import tcpdiag_request
    from pyss.netlink.tcpdiag import split_families
    from pyss.netlink.transport import SplitStreams

    ipv4, ipv6 = (tcp_records(dump(inet_request(family, IPPROTO_TCP, STATES_ALL)), tcp_listeners)
                  for family in (AF_INET, AF_INET6))
    assert len(ipv4) == len(ipv6) == LISTENERS
    before = children()
    streams = SplitStreams(dump(tcpdiag_request(STATES_ALL), read_ahead, split=split_families))
    assert tcp_records(streams.first(), tcp_listeners) == ipv4
    assert tcp_records(streams.second(), tcp_listeners) == ipv6
    assert children() - before == set()


def test_a_relayed_split_dump_sends_what_is_held_after_the_ending() -> None:
    from pyss.netlink.transport import _Relay

    done = struct.pack("=IHHIIi", 20, 3, 2, 0, 0, 0)  # NLMSG_DONE

    def split(buf: bytes) -> tuple[bytes, bytes, bytes]:  # "n..." goes on, "h..." is held, "d" ends
        return (buf[1:], b"", b"") if buf[:1] == b"n" else (b"", buf[1:], b"") if buf[:1] == b"h" else (b"", b"", done)

    class Replies:
        def __init__(self) -> None:
            self.left = [b"n1", b"h2", b"n3", b"h4", b"d"]

        def recv(self, size: int) -> bytes:
            return self.left.pop(0)

    relayed = list(_Relay(Replies(), split=split, held=[b"0"]).buffers())  # type: ignore[arg-type]
    assert relayed == [b"1", b"3", done, b"024", done]  # the held parts, this process's first, in one buffer


# --- a plain listing's TCP dump, started before the listing's modules are imported -----------------

DUMPS_PROBE = """
import os, socket, sys
from pyss.netlink import transport

listeners = []
for _ in range(int(os.environ.get("PROBE_LISTENERS", "0"))):  # sockets for sockstat to count
    listeners.append(socket.socket())
    listeners[-1].bind(("0.0.0.0", 0))
    listeners[-1].listen()

sent = []
relay_init, request = transport._Relay.__init__, transport.DiagSocket.request

def noted_relay(self, sock, message=None, *more, **named):
    if message is not None:
        sent.append(("child", int.from_bytes(message[4:6], sys.byteorder)))
    relay_init(self, sock, message, *more, **named)

def noted_request(self, message, *more, **named):
    sent.append(("here", int.from_bytes(message[4:6], sys.byteorder)))
    return request(self, message, *more, **named)

transport._Relay.__init__, transport.DiagSocket.request = noted_relay, noted_request
from pyss.cli.ss import main
status = main(sys.argv[1:])
sys.stderr.write(repr(sent))
sys.exit(status)
"""


def dumps_sent(args: list[str], cpus: str | None = None, listeners: int = 300) -> list[tuple[str, int]]:
    """The dump requests `pyss ARGS` sends, and where from: ("child", type) or ("here", type), in a
    private network namespace holding ``listeners`` listening TCP sockets."""
    import ast
    import shutil
    import subprocess
    import sys

    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare for a network namespace of its own")
    prefix = ["unshare", "-n"]
    if cpus is not None:
        if shutil.which("taskset") is None:
            pytest.skip("needs taskset")
        prefix += ["taskset", "-c", cpus]
    done = subprocess.run([*prefix, sys.executable, "-c", DUMPS_PROBE, *args], capture_output=True, check=True,
                          timeout=60, env={**os.environ, "PROBE_LISTENERS": str(listeners)})
    return ast.literal_eval(done.stderr.decode())  # type: ignore[no-any-return]


def test_a_plain_tcp_listing_sends_one_dump_from_a_child_started_early() -> None:
    from pyss.netlink.constants import TCPDIAG_GETSOCK

    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs: with one, no child is started")
    assert dumps_sent(["-tan"]) == [("child", TCPDIAG_GETSOCK)]
    assert dumps_sent(["-tn"]) == [("child", TCPDIAG_GETSOCK)]


def test_a_plain_tcp_listing_of_a_few_sockets_sends_its_one_dump_itself() -> None:
    """Below ~one reply buffer of sockets (sockstat's count) the early child would cost more than it saves."""
    from pyss.netlink.constants import TCPDIAG_GETSOCK

    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs: with one, no child is started anyway")
    assert dumps_sent(["-tan"], listeners=0) == [("here", TCPDIAG_GETSOCK)]
    assert dumps_sent(["-tan"], listeners=150) == [("here", TCPDIAG_GETSOCK)]


def test_on_one_cpu_a_plain_tcp_listing_sends_its_one_dump_itself() -> None:
    from pyss.netlink.constants import TCPDIAG_GETSOCK

    assert dumps_sent(["-tan"], cpus=str(min(os.sched_getaffinity(0)))) == [("here", TCPDIAG_GETSOCK)]


def test_listings_the_early_dump_does_not_fit_send_their_own() -> None:
    from pyss.netlink.constants import SOCK_DIAG_BY_FAMILY, TCPDIAG_GETSOCK

    assert dumps_sent(["-tan", "-4"]) == [("here", SOCK_DIAG_BY_FAMILY)]  # one family: its own dump
    assert [kind for _where, kind in dumps_sent(["-tane"])] == [TCPDIAG_GETSOCK]  # records: not started early
    assert dumps_sent(["-tan", "-e"])[0][0] == "here"


def test_an_in_process_listing_lets_its_rows_go(capsys: pytest.CaptureFixture[str]) -> None:
    """The console script keeps its last listing to the process's end, which frees nothing; main() called
    in-process gives the memory back, and collects cycles again."""
    import gc

    from pyss.cli import ss as cli

    assert gc.isenabled()
    assert cli.main(["-tan"]) == 0
    assert capsys.readouterr().out.startswith("State")
    assert cli._LISTED == []
    assert gc.isenabled()  # turned off for the listing only


def test_an_in_process_listing_that_raises_gives_the_collector_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """A caller's own stdout that fails in its own way (a closed stream raises ValueError, not an output
    error pyss reports): the error is the caller's, and so is the collector, on again as it was."""
    import gc
    import io

    from pyss.cli import ss as cli

    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stdout", closed)
    assert gc.isenabled()
    with pytest.raises(ValueError, match="closed file"):
        cli.main(["-tan"])
    collecting = gc.isenabled()
    gc.enable()  # (for the tests after this one, whatever this one finds)
    assert collecting
    assert cli._LISTED == []


@pytest.mark.parametrize(("options", "output"), [
    ([], "State"), (["--json"], "["), (["--json-lines"], ""), (["--all-netns"], "Netns"),
], ids=["table", "json", "json-lines", "all-netns"])
def test_an_in_process_listing_of_no_socket_leaves_no_scanner(capsys: pytest.CaptureFixture[str], options: list[str],
                                                              output: str) -> None:
    """-p's /proc scan starts in children before the dump; a listing that shows no socket never asks for it.
    A program that calls main() lives on after it: the children must be stopped and reaped by then, in
    every output form that starts the scan."""
    from pyss.cli import ss as cli

    before = children()
    for _ in range(3):
        assert cli.main(["-tanp", *options, "sport", "=", ":1"]) == 0
    assert capsys.readouterr().out.startswith(output)
    assert children() <= before


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")  # (raised as the dump is freed)
def test_a_read_ahead_child_reaped_by_the_kernel_is_no_error(udp_ports: set[int]) -> None:
    """With SIGCHLD ignored (a setting that outlives exec: a daemon's children inherit it) the kernel reaps
    each child itself, and waiting for it fails with ECHILD: that is the child gone, not a fault."""
    direct = our_sockets(False, udp_ports)
    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        assert our_sockets(True, udp_ports) == direct
    finally:
        signal.signal(signal.SIGCHLD, previous)


def test_the_command_line_started_with_sigchld_ignored_lists_as_usual(udp_ports: set[int]) -> None:
    def listed(ignored: bool) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(PYSS), "-uanp", "sport", ">", ":0"], capture_output=True, text=True, timeout=60,
                              check=False, env=TOOL_ENV,
                              preexec_fn=(lambda: signal.signal(signal.SIGCHLD, signal.SIG_IGN)) if ignored else None)

    usual, ignored = listed(False), listed(True)
    assert (ignored.returncode, ignored.stderr) == (0, "")
    assert sorted(ignored.stdout.splitlines()) == sorted(usual.stdout.splitlines())
