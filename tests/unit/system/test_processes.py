"""pyss.system.processes: the /proc scan behind -p, on this test process's own sockets (no root needed)."""

from __future__ import annotations

import itertools
import os
import socket
import time
from collections.abc import Iterator

import pytest
from tests.processes import children, interrupted_fork

from pyss.system import processes
from pyss.system.processes import User, UserLookup, UserScan, parse_comm, scan_users


def inode_of(sock: socket.socket) -> int:
    return os.fstat(sock.fileno()).st_ino


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    left, right = socket.socketpair()
    try:
        yield left, right
    finally:
        left.close()
        right.close()


def own_comm() -> str:
    with open("/proc/self/stat", "rb") as stat:
        return parse_comm(stat.read())


def test_finds_this_process_socket(pair: tuple[socket.socket, socket.socket]) -> None:
    left, _ = pair
    found = scan_users()
    assert found[inode_of(left)] == [User(own_comm(), os.getpid(), left.fileno())]


def test_every_holder_listed_newest_first_as_ss_does(pair: tuple[socket.socket, socket.socket]) -> None:
    left, _ = pair
    duplicate = os.dup(left.fileno())
    try:
        found = scan_users()
        entries = found[inode_of(left)]
        assert [user.fd for user in entries] == sorted([left.fileno(), duplicate])  # scan order: fd order
        comm = own_comm()
        assert UserLookup(workers=0)(inode_of(left)) == (
            f'("{comm}",pid={os.getpid()},fd={max(left.fileno(), duplicate)}),'
            f'("{comm}",pid={os.getpid()},fd={min(left.fileno(), duplicate)})'
        )
    finally:
        os.close(duplicate)


def test_inode_set_keeps_only_those(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    found = scan_users({inode_of(left)})
    assert inode_of(left) in found
    assert inode_of(right) not in found


def test_split_scans_equal_the_plain_scan(pair: tuple[socket.socket, socket.socket]) -> None:
    """Children splitting the fds between them, merged back: same holders, same order, no scanner listed."""
    left, right = pair
    extra = [os.dup(left.fileno()) for _ in range(5)]
    try:
        plain = scan_users()
        for workers in (1, 2, 3):
            split = UserScan(workers).result()
            for sock in (left, right):
                assert split[inode_of(sock)] == plain[inode_of(sock)]
        assert [user.fd for user in plain[inode_of(left)]] == sorted([left.fileno(), *extra])
    finally:
        for fd in extra:
            os.close(fd)


def test_abandoned_scan_leaves_no_child() -> None:
    scan = UserScan(2)
    children = [pid for pid, _ in scan._children]
    assert len(children) == 2
    scan._abandon()
    for pid in children:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_background_scan_and_lookup(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    assert inode_of(left) in UserScan().result()
    for workers in (None, 0, 1, 2):
        lookup = UserLookup(workers)
        assert lookup(inode_of(right)) == f'("{own_comm()}",pid={os.getpid()},fd={right.fileno()})'
        assert lookup(0) is None
        assert lookup(1) is None  # no socket has inode 1


@pytest.mark.parametrize(("cpus", "limit", "workers"), [(1, 2, 0), (2, 2, 1), (3, 2, 2), (8, 2, 2), (8, 0, 0), (8, 5, 5)])
def test_scan_workers_one_for_each_further_cpu(monkeypatch: pytest.MonkeyPatch, cpus: int, limit: int,
                                               workers: int) -> None:
    monkeypatch.setattr(processes.os, "sched_getaffinity", lambda _pid: set(range(cpus)))
    assert processes.scan_workers(limit) == workers


def test_vanishing_fds_and_processes_are_skipped(pair: tuple[socket.socket, socket.socket],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    left, right = pair
    real_readlink = os.readlink
    mine = f"/proc/{os.getpid()}/fd"

    def flaky(path: str, *, dir_fd: int | None = None) -> str:
        # the scan reads links relative to each /proc/PID/fd directory it opened
        if dir_fd is not None and path == str(right.fileno()) and real_readlink(f"/proc/self/fd/{dir_fd}") == mine:
            raise FileNotFoundError(path)
        return real_readlink(path, dir_fd=dir_fd)

    monkeypatch.setattr(processes.os, "readlink", flaky)
    found = scan_users()
    assert inode_of(left) in found
    assert inode_of(right) not in found


@pytest.mark.parametrize("call", ["open", "listdir"])
def test_unreadable_fd_directories_are_skipped(call: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real = getattr(os, call)

    def denied(path: str | int = ".", *args: object, **kwargs: object) -> object:
        # the scan opens each /proc/PID/fd directory, then lists it through its fd
        if isinstance(path, int) or path.rstrip("/").endswith("/fd"):
            raise PermissionError(13, "Permission denied", path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(processes.os, call, denied)
    if call == "listdir":  # a directory whose entries may not be read: its links may not be read either
        real_readlink = os.readlink

        def unreadable(path: str, *, dir_fd: int | None = None) -> str:
            if dir_fd is not None:
                raise PermissionError(13, "Permission denied", path)
            return real_readlink(path)

        monkeypatch.setattr(processes.os, "readlink", unreadable)
    assert scan_users() == {}


@pytest.mark.parametrize(("stat", "comm"), [
    (b"1234 (sshd) S 1 1234 1234 0", "sshd"),
    (b"77 (a b) R 1", "a b"),
    (b"78 (odd)name) S 1", "odd"),  # ss stops at the first ')'
    (b"79 () S 1", ""),
    (b"garbage", ""),
])
def test_comm_parsing_follows_ss(stat: bytes, comm: str) -> None:
    assert parse_comm(stat) == comm


def test_thread_lookup_names_each_thread(pair: tuple[socket.socket, socket.socket]) -> None:
    import ctypes
    import threading

    left, _ = pair
    named, stop = threading.Event(), threading.Event()
    tids: list[int] = []

    def worker() -> None:
        ctypes.CDLL(None).prctl(15, b"pyss-t-unit", 0, 0, 0)  # PR_SET_NAME
        tids.append(threading.get_native_id())
        named.set()
        stop.wait()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        named.wait(5)
        text = processes.ThreadLookup()(inode_of(left))
    finally:
        stop.set()
        thread.join()
    pid, fd = os.getpid(), left.fileno()
    assert text is not None
    entries = text.split("),(")
    # the named thread, and last (ss lists the newest found first) the process itself as tid=pid
    assert f'("pyss-t-unit",pid={pid},tid={tids[0]},fd={fd})' in text
    assert entries[-1].endswith(f'pid={pid},tid={pid},fd={fd})')


def test_thread_lookup_knows_no_holder_for_inode_zero() -> None:
    assert processes.ThreadLookup()(0) is None


@pytest.mark.parametrize("shares", [1, 2, 3, 7])
def test_shares_cover_every_fd_once_in_proc_order(shares: int) -> None:
    plan = processes.plan_shares(shares)
    assert len(plan) == shares
    flat = [entry for share in plan for entry in share]
    pids = [pid for pid, _, _ in flat]
    assert pids == sorted(pids, key=int)  # /proc order, share after share
    for pid in dict.fromkeys(pids):
        ranges = [(first, end) for p, first, end in flat if p == pid]
        assert ranges[0][0] == 0
        assert ranges[-1][1] == processes._ALL_FDS
        assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))  # contiguous, no overlap


def test_a_process_with_most_fds_is_cut_between_shares(monkeypatch: pytest.MonkeyPatch) -> None:
    counts = {"1": 10, "2": 1000, "3": 10}
    monkeypatch.setattr(processes.os, "listdir", lambda path: list(counts) if path == "/proc" else [])
    monkeypatch.setattr(processes, "_fd_count", counts.__getitem__)
    plan = processes.plan_shares(3)
    assert plan == [[("1", 0, processes._ALL_FDS), ("2", 0, 330)], [("2", 330, 670)],
                    [("2", 670, processes._ALL_FDS), ("3", 0, processes._ALL_FDS)]]


def test_without_fd_counts_each_process_weighs_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes.os, "listdir", lambda path: ["1", "2", "3", "4"] if path == "/proc" else [])
    monkeypatch.setattr(processes, "_fd_count", lambda pid: 0)
    assert [[pid for pid, _, _ in share] for share in processes.plan_shares(2)] == [["1", "2"], ["3", "4"]]


def test_texts_of_a_socket_split_between_shares_keep_ss_order(pair: tuple[socket.socket, socket.socket]) -> None:
    """A socket whose holders fall in several shares: joined, the newest-found holder still comes first."""
    left, right = pair
    extra = [os.dup(left.fileno()) for _ in range(4)]
    try:
        me = str(os.getpid())
        fds = sorted([left.fileno(), *extra])
        cuts = [0, fds[1], fds[3], processes._ALL_FDS]  # holders in three shares: 1, 2 and 2 of them
        shares = [[(me, cuts[i], cuts[i + 1])] for i in range(3)]
        whole = processes._collect_texts([(me, 0, processes._ALL_FDS)])
        joined = processes._merge_texts([processes._collect_texts(share) for share in shares])
        comm = own_comm()
        body = ",".join(f'("{comm}",pid={me},fd={fd})' for fd in reversed(fds))
        assert processes.users_text(whole, inode_of(left)) == f" users:({body})"
        for sock in (left, right):
            assert processes.users_text(joined, inode_of(sock)) == processes.users_text(whole, inode_of(sock))
        links = processes._merge_links([processes._collect_links(share) for share in shares])[0]
        assert links[f"socket:[{inode_of(left)}]"] == [(me, str(fd)) for fd in fds]
    finally:
        for fd in extra:
            os.close(fd)


def test_texts_scan_split_over_children_equals_the_in_process_one(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    plain = processes._collect_texts(processes._everything())
    for workers in (1, 2, 3):
        texts = UserScan(workers, texts=True).texts()
        for sock in (left, right):
            assert processes.users_text(texts, inode_of(sock)) == processes.users_text(plain, inode_of(sock))
            assert processes.users_text(texts, inode_of(sock)) is not None
    with pytest.raises(ValueError, match="texts"):
        UserScan(0, texts=True).links()


def _listed_links(directory: int) -> list[tuple[str, str]]:
    found = []
    for fd in sorted(os.listdir(directory), key=int):
        try:
            found.append((fd, os.readlink(fd, dir_fd=directory)))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("holes", [0, 5, 100])
def test_fds_found_by_number_are_the_listed_ones_in_order(holes: int) -> None:
    held = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(450)]
    try:
        for sock in held[10 : 10 + holes]:  # free numbers among the fds: a few are stepped over, many are listed
            sock.close()
        directory = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
        try:
            assert os.fstat(directory).st_size >= len(held) - holes  # the kernel gives the count
            expected = [(fd, link) for fd, link in _listed_links(directory) if fd != str(directory)]
            found = [(fd, link) for fd, link in zip(*processes._fd_links(directory, 0, processes._ALL_FDS), strict=True)
                     if fd != str(directory)]
            assert found == expected
            assert sum(link.startswith("socket:[") for _fd, link in found) >= len(held) - holes
            for first, end in ((50, 120), (0, 300), (120, processes._ALL_FDS), (7, processes._ALL_FDS)):
                # a cut process's shares: numbers read below the end (free ones among them), the last listed
                cut = [(fd, link) for fd, link in zip(*processes._fd_links(directory, first, end), strict=True)
                       if fd != str(directory)]
                assert cut == [(fd, link) for fd, link in expected if first <= int(fd) < end]
        finally:
            os.close(directory)
    finally:
        for sock in held:
            sock.close()


def test_holders_are_the_last_process_s_fds_even_across_a_cut_process() -> None:
    earlier: processes.SocketHolders = ({1: (3, 100), 2: (4, 100)}, {})
    # the same process 100, cut between the shares, holds socket 2 through fd 7 too; process 200 holds socket 1
    later: processes.SocketHolders = ({1: (5, 200), 2: (7, 100)}, {})
    first, more = processes._merge_holders([earlier, later])
    assert first == {1: (5, 200), 2: (4, 100)}
    assert more == {2: [(4, 100), (7, 100)]}
    first, more = processes._merge_holders([({9: (3, 100)}, {9: [(3, 100), (8, 100)]}), ({9: (1, 300)}, {})])
    assert (first, more) == ({9: (1, 300)}, {})  # a later process: only its fds


def test_holders_of_this_process_s_socket(pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    first, more = processes.socket_holders()
    assert first[inode_of(left)] == (left.fileno(), os.getpid())
    assert first[inode_of(right)] == (right.fileno(), os.getpid())
    assert inode_of(left) not in more


def test_holders_of_a_socket_held_through_several_fds_are_each_fd_the_first_reported(
        pair: tuple[socket.socket, socket.socket]) -> None:
    left, right = pair
    extra = sorted(os.dup(left.fileno()) for _ in range(3))
    try:
        first, more = processes.socket_holders()
        me = os.getpid()
        assert first[inode_of(left)] == (left.fileno(), me)
        assert more[inode_of(left)] == [(fd, me) for fd in sorted([left.fileno(), *extra])]
        assert inode_of(right) not in more
    finally:
        for fd in extra:
            os.close(fd)


def test_a_later_process_holding_a_socket_is_its_reported_holder(pair: tuple[socket.socket, socket.socket]) -> None:
    """psutil reports the last process in /proc order; the one before it and its other fds drop out."""
    left, right = pair
    extra = os.dup(left.fileno())
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child only holds the inherited fds until told to go
        os.close(write_end)
        os.read(read_end, 1)
        os._exit(0)
    os.close(read_end)
    try:
        order = [int(name) for name in os.listdir("/proc") if name.isdigit()]
        later = max((os.getpid(), child), key=order.index)
        first, more = processes.socket_holders()
        assert first[inode_of(left)] == (left.fileno(), later)
        assert first[inode_of(right)] == (right.fileno(), later)
        assert more[inode_of(left)] == [(left.fileno(), later), (extra, later)]
        texts = processes._collect_texts(processes._everything())
        holders = [f"pid={pid}" for pid in (later, os.getpid() + child - later)]
        text = processes.users_text(texts, inode_of(right))
        assert text is not None
        assert [part.split(",")[1] for part in text.split("),(")] == holders
    finally:
        os.close(write_end)
        os.waitpid(child, 0)
        os.close(extra)


def test_a_lookup_says_when_its_scanners_are_done(pair: tuple[socket.socket, socket.socket]) -> None:
    left, _right = pair
    assert UserLookup(workers=0).ready()  # no scanners: a lookup scans here, without waiting for anyone
    lookup = UserLookup()
    deadline = time.monotonic() + 60
    while not lookup.ready():
        assert time.monotonic() < deadline, "the scanners never finished"
        time.sleep(0.005)
    assert lookup(inode_of(left)) == f'("{own_comm()}",pid={os.getpid()},fd={left.fileno()})'
    assert lookup.fields([inode_of(left), 0]) == [f' users:(("{own_comm()}",pid={os.getpid()},fd={left.fileno()}))', ""]


def test_a_scanner_takes_each_chunk_left_once_in_the_order_written() -> None:
    """The chunk numbers in the pipe go one to each read: what another scanner took is not scanned again."""
    plan: list[processes.Share] = [[(str(number), 0, processes._ALL_FDS)] for number in range(5)]
    tokens, tokens_in = os.pipe()
    os.write(tokens_in, bytes(range(len(plan))))
    os.close(tokens_in)
    try:
        assert os.read(tokens, 1) == b"\x00"  # another scanner took chunk 0
        taken = processes._scan_chunks(plan, lambda share: share[0][0], tokens)
        assert taken == [(1, "1"), (2, "2"), (3, "3"), (4, "4")]
        assert processes._scan_chunks(plan, lambda share: share[0][0], tokens) == []  # nothing left
    finally:
        os.close(tokens)


@pytest.mark.parametrize("workers", [1, 2])
def test_holders_scanned_in_chunks_by_children_and_caller_equal_the_plain_scan(
        pair: tuple[socket.socket, socket.socket], workers: int) -> None:
    left, right = pair
    extra = [os.dup(left.fileno()) for _ in range(3)]  # several fds of one socket: psutil's first, and all in more
    try:
        plain_first, plain_more = processes.socket_holders()
        first, more = UserScan(workers, holders=True).holders()
        for sock in (left, right):
            assert first[inode_of(sock)] == plain_first[inode_of(sock)]
        assert first[inode_of(left)] == (min(left.fileno(), *extra), os.getpid())
        assert more[inode_of(left)] == plain_more[inode_of(left)]
        assert [fd for fd, _pid in more[inode_of(left)]] == sorted([left.fileno(), *extra])
    finally:
        for fd in extra:
            os.close(fd)


def test_holders_of_disjoint_shares_are_their_union() -> None:
    parts: list[processes.SocketHolders] = [({1: (3, 100)}, {1: [(3, 100), (4, 100)]}), ({2: (5, 200)}, {}),
                                            ({7: (9, 300)}, {7: [(9, 300), (11, 300)]})]
    first, more = processes._merge_holders(parts)
    assert first == {1: (3, 100), 2: (5, 200), 7: (9, 300)}
    assert more == {1: [(3, 100), (4, 100)], 7: [(9, 300), (11, 300)]}


def test_fds_numbered_above_the_count_are_listed() -> None:
    """Numbers are read up to the count of open fds, and the rest is listed: a high fd is still found."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        high = os.dup2(sock.fileno(), 5000)
        try:
            directory = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
            try:
                assert os.fstat(directory).st_size < high
                expected = [(fd, link) for fd, link in _listed_links(directory) if fd != str(directory)]
                for first in (0, 3, 4999, 5000):
                    found = [(fd, link) for fd, link in
                             zip(*processes._fd_links(directory, first, processes._ALL_FDS), strict=True)
                             if fd != str(directory)]
                    assert found == [(fd, link) for fd, link in expected if int(fd) >= first]
                    assert (str(high), f"socket:[{os.fstat(sock.fileno()).st_ino}]") in found
            finally:
                os.close(directory)
        finally:
            os.close(high)


def test_frames_are_read_whole_however_the_pipe_cuts_them() -> None:
    read_end, write_end = os.pipe()
    received = processes._Received([read_end], stream=True)
    data = processes._frame([(0, {1: (3, 100)})]) + processes._frame([(2, {5: (4, 100)})])
    parts: list[tuple[int, object]] = []
    os.write(write_end, data[:7])  # the first frame cut short: nothing yet
    received.take(parts)
    assert parts == []
    os.write(write_end, data[7:])
    received.take(parts)
    assert parts == [(0, {1: (3, 100)}), (2, {5: (4, 100)})]
    os.write(write_end, processes._frame([(3, {})])[:5])  # a child that ended in the middle of a frame
    os.close(write_end)
    assert received.rest() == []
    assert not received.complete


def test_holders_within_a_share_are_the_last_process_s_fds(monkeypatch: pytest.MonkeyPatch) -> None:
    found = [("100", ["3", "4", "5"], ["socket:[1]", "socket:[1]", "socket:[2]"]),
             ("200", ["7"], ["socket:[1]"]),
             ("300", ["8", "9", "10"], ["socket:[2]", "socket:[2]", "socket:[6]"])]
    monkeypatch.setattr(processes, "_socket_fds", lambda share: iter(found))
    first, more = processes._collect_holders([])
    assert first == {1: (7, 200), 2: (8, 300), 6: (10, 300)}
    assert more == {2: [(8, 300), (9, 300)]}  # process 100's two fds of socket 1 are not reported


def test_many_scanners_still_number_their_chunks_in_a_byte(pair: tuple[socket.socket, socket.socket]) -> None:
    left, _right = pair
    scan = UserScan(20, holders=True)
    assert len(scan._plan) == 256
    assert scan.holders()[0][inode_of(left)] == (left.fileno(), os.getpid())


@pytest.mark.parametrize("scan", ["links", "texts", "holders"])
def test_a_gathering_interrupted_leaves_no_child_and_no_pipe(monkeypatch: pytest.MonkeyPatch, scan: str) -> None:
    # A library caller (pyss.net_connections, pyss.sockets(processes=True)) may be interrupted by Ctrl-C while
    # it waits for the scanners: it lives on, and must keep neither a child (running, or unreaped) nor a pipe.
    import signal

    scan_chunks = processes._scan_chunks

    def interrupted(*args: object, **kwargs: object) -> object:
        os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, raised as the caller takes its chunks
        return scan_chunks(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(processes, "_scan_chunks", interrupted)
    fds_before = set(os.listdir("/proc/self/fd"))
    user_scan = UserScan(2, texts=scan == "texts", holders=scan == "holders")
    children = [pid for pid, _ in user_scan._children]
    assert len(children) == 2
    with pytest.raises(KeyboardInterrupt):
        getattr(user_scan, scan)()
    user_scan._abandon()  # what the callers do once the scan is given up (psutil_rows, at exit)
    for pid in children:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    assert set(os.listdir("/proc/self/fd")) <= fds_before


def test_a_scan_interrupted_while_it_forks_leaves_no_child(monkeypatch: pytest.MonkeyPatch) -> None:
    # Ctrl-C right after the first scanner is forked (`pyss -tanp` interrupted early left an unreaped child).
    import signal

    fork = UserScan._fork

    def interrupted(scan: UserScan, *args: object) -> None:
        fork(scan, *args)  # type: ignore[arg-type]
        os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, raised before the next scanner is forked

    monkeypatch.setattr(UserScan, "_fork", interrupted)
    before, fds_before = children(), set(os.listdir("/proc/self/fd"))
    with pytest.raises(KeyboardInterrupt):
        UserScan(2)
    assert children() <= before
    assert set(os.listdir("/proc/self/fd")) <= fds_before


def test_a_ctrl_c_while_a_scanner_is_forked_leaves_no_child(monkeypatch: pytest.MonkeyPatch) -> None:
    # The SIGINT comes while fork() runs (as a real one does, the kernel's fork being the slow part): raised
    # as KeyboardInterrupt once fork returns, it must not lose the child it made.
    monkeypatch.setattr(os, "fork", interrupted_fork())
    before = children()
    with pytest.raises(KeyboardInterrupt):
        UserScan(2)
    assert children() <= before
