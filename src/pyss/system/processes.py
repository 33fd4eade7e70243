"""Which processes hold which sockets: one pass over /proc/*/fd (ss -p).

The scan is ss's (user_ent_hash_build) with the same visible result: every
process directory /proc/PID (threads are not visited), every fd whose link
reads ``socket:[INODE]``, the command name from /proc/PID/stat up to the first
')'. For one inode ss lists the holders newest-first (it pushes each find on
the front of a hash chain), so :class:`UserLookup` prints them in reverse
scan order.

Processes and fds come and go during the scan, and an unprivileged user may
not read other users' fds: each such error skips what cannot be seen, as ss
does. Speed comes from doing only the work that answers the question: the
link text is the map key (an inode is parsed only for sockets printed), the
command name is read once per process that holds a socket, and the scan can
run in a forked child while the caller dumps (UserScan, UserLookup).
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import marshal
import os
from collections.abc import Iterable

from pyss.lite_typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from typing import NoReturn

_SOCKET_PREFIX = "socket:["


class User(NamedTuple):
    """One fd of one process that refers to a socket."""

    comm: str
    pid: int
    fd: int


UserMap = dict[int, list[User]]


def parse_comm(stat: bytes) -> str:
    """The command name as ss reads /proc/PID/stat: between '(' and the first ')' (not the last)."""
    start = stat.find(b"(")
    if start < 0:
        return ""
    end = stat.find(b")", start + 1)
    name = stat[start + 1 : end] if end >= 0 else stat[start + 1 :]
    return name.decode("utf-8", "surrogateescape")


def stat_head(pid: int, size: int = 512) -> bytes | None:
    """The first ``size`` bytes of /proc/PID/stat, or None when the process is gone (or was never there)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read(size)
    except OSError:
        return None


def _comm(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return parse_comm(stat.read(64))
    except OSError:  # the process ended: ss prints an empty name then
        return ""


Links = dict[str, list[tuple[str, str]]]  # "socket:[INODE]" -> [(pid, fd), ...] in scan order
Scan = tuple[Links, dict[str, str]]  # the links, and the command name of each pid holding a socket


def _scan_links(share: int = 0, shares: int = 1, skip: frozenset[str] = frozenset()) -> Scan:
    """Every socket fd of every visible process (but ``skip``), in /proc order (pid, then fd).

    With ``shares`` > 1 only the fds whose number is ``share`` modulo ``shares``
    are read, so that several processes can split one scan evenly even when a
    few processes hold nearly all the sockets. The link text ("socket:[INODE]")
    is kept as read: it is the map key, and the inode is parsed only for the
    sockets that end up printed.
    """
    found: Links = {}
    comms: dict[str, str] = {}
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit() and name not in skip]
    except OSError:
        return found, comms
    readlink, listdir, get = os.readlink, os.listdir, found.get
    for pid in pids:
        # Links are read relative to the fd directory: the kernel then resolves one name per
        # readlink instead of four (~2.8 us an fd instead of ~3.5 us, measured on 16k fds).
        try:
            directory = os.open(f"/proc/{pid}/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:  # gone, or not ours to read
            continue
        try:
            fds = listdir(directory)
        except OSError:
            fds = []
        for fd in fds:
            if shares > 1 and int(fd) % shares != share:
                continue
            try:
                target = readlink(fd, dir_fd=directory)
            except OSError:
                continue
            if not target.startswith(_SOCKET_PREFIX):
                continue
            if pid not in comms:
                comms[pid] = _comm(pid)
            holders = get(target)
            if holders is None:
                found[target] = [(pid, fd)]
            else:
                holders.append((pid, fd))
        os.close(directory)
    return found, comms


def _merge(parts: list[Scan]) -> Scan:
    """Join the shares of a split scan back into /proc order."""
    if len(parts) == 1:
        return parts[0]
    found, comms = parts[0]
    for links, names in parts[1:]:
        comms.update(names)
        for target, holders in links.items():
            mine = found.get(target)
            if mine is None:
                found[target] = holders
            else:  # a socket held by fds in several shares: restore pid-then-fd order
                mine.extend(holders)
                mine.sort(key=lambda holder: (int(holder[0]), int(holder[1])))
    return found, comms


def scan_users(inodes: Iterable[int] | None = None) -> UserMap:
    """Map socket inode -> the fds holding it, in ss's /proc scan order (pid order, then fd order).

    With ``inodes``, only those sockets are kept (the caller already knows
    which sockets it will print); the /proc walk itself is the same.
    """
    wanted = None if inodes is None else frozenset(inodes)
    links, comms = _scan_links()
    return _user_map(links, comms, wanted)


def _user_map(links: Links, comms: dict[str, str], wanted: frozenset[int] | None = None) -> UserMap:
    found: UserMap = {}
    for target, holders in links.items():
        inode = int(target[8:-1])
        if wanted is None or inode in wanted:
            found[inode] = [User(comms[pid], int(pid), int(fd)) for pid, fd in holders]
    return found


def socket_links(workers: int = 0) -> Scan:
    """Every socket fd of every visible process (the scan ss -p makes), split over ``workers`` forked
    children when more than 0; processes and fds this user may not read are skipped."""
    return UserScan(workers).links() if workers > 0 else _scan_links()


def process_socket_fds(pid: int) -> list[tuple[int, int]]:
    """(inode, fd) of each socket one process holds, in fd order.

    Raises ProcessLookupError when there is no such process, PermissionError
    when its /proc/PID/fd may not be read (both name the directory).
    """
    path = f"/proc/{pid}/fd"
    try:
        directory = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ProcessLookupError(errno.ESRCH, f"no process {pid}", path) from None
    except PermissionError as error:
        raise PermissionError(error.errno, f"cannot read the sockets of process {pid}", path) from None
    found: list[tuple[int, int]] = []
    try:
        fds = sorted(map(int, os.listdir(directory)))
        for fd in fds:
            try:
                target = os.readlink(str(fd), dir_fd=directory)
            except OSError:
                continue
            if target.startswith(_SOCKET_PREFIX):
                found.append((int(target[8:-1]), fd))
    except PermissionError as error:
        raise PermissionError(error.errno, f"cannot read the sockets of process {pid}", path) from None
    finally:
        os.close(directory)
    return found


class UserScan:
    """The /proc scan, split over forked child processes and the caller, started before the dump.

    Processes, not threads: the scan is mostly readlink() calls, and the dump
    is pure Python holding the GIL; a thread that drops the GIL for every
    syscall then waits up to a switch interval to get it back (CPython's
    convoy effect), which made an overlapped threaded scan slower than a
    sequential one. Each child reads every ``workers``-th fd of each process
    and sends its share back through a pipe with marshal (fast, and safe: both
    ends are this program). The children leave themselves out of the scan
    (they hold copies of the caller's fds). The caller scans one more share
    itself when it first asks for the result: the first row that shows a
    process asks before most of the dump is read, and the caller would
    otherwise only wait. A caller with work of its own to do meanwhile (the
    library's net_connections decodes the dump) passes ``caller_share=False``
    and the children split the whole scan. If fork fails the scan runs
    in-process then.
    """

    def __init__(self, workers: int = 2, caller_share: bool = True) -> None:
        self._children: list[tuple[int, int]] = []  # (pid, read end of its pipe)
        self._caller_share = caller_share
        pipes: list[tuple[int, int]] = []
        try:
            pipes = [os.pipe() for _ in range(max(1, workers))]
            self._fork(pipes)
        except OSError:
            self._abandon()
            for read_end, write_end in pipes:
                for end in (read_end, write_end):
                    with contextlib.suppress(OSError):
                        os.close(end)
            self._children = []
            return
        atexit.register(self._abandon)

    def _fork(self, pipes: list[tuple[int, int]]) -> None:
        """Fork one child per pipe; each learns all scanner pids before scanning (to skip them)."""
        ready = [os.pipe() for _ in pipes]
        try:
            first = 1 if self._caller_share else 0  # share 0 is the caller's, if it takes one
            shares = len(pipes) + first
            for mine, (read_end, write_end) in enumerate(pipes):
                child = os.fork()
                if child == 0:  # pragma: no cover  (child side; checked through the parent's result)
                    _child(first + mine, shares, mine, pipes, ready)
                os.close(write_end)
                self._children.append((child, read_end))
            # Every child holds copies of our fds: tell each which pids are scanners.
            names = " ".join(str(pid) for pid, _ in self._children).encode()
            for _ready_read, ready_write in ready:
                os.write(ready_write, names)
        finally:
            for ready_read, ready_write in ready:
                os.close(ready_read)
                os.close(ready_write)

    def links(self) -> Scan:
        if not self._children:
            return _scan_links()
        children, self._children = self._children, []
        atexit.unregister(self._abandon)
        parts = [_scan_links(0, len(children) + 1, frozenset(str(pid) for pid, _ in children))] \
            if self._caller_share else []
        failed = False
        for child, read_end in children:
            with os.fdopen(read_end, "rb") as pipe:
                data = pipe.read()
            _pid, status = os.waitpid(child, 0)
            if status != 0 or not data:
                failed = True
            else:
                parts.append(marshal.loads(data))
        if failed:
            return _scan_links()  # a child failed: scan here instead
        return _merge(parts)

    def result(self) -> UserMap:
        """The scan as scan_users() returns it."""
        return _user_map(*self.links())

    def _abandon(self) -> None:
        """At exit without having asked (nothing was listed): stop the children and reap them."""
        children, self._children = self._children, []
        for child, read_end in children:
            import signal  # rare (nothing was listed), and the signal module's enums cost start-up

            with contextlib.suppress(OSError):
                os.kill(child, signal.SIGKILL)
                os.waitpid(child, 0)
            with contextlib.suppress(OSError):
                os.close(read_end)


def _child(share: int, shares: int, mine: int, pipes: list[tuple[int, int]],
           ready: list[tuple[int, int]]) -> NoReturn:  # pragma: no cover
    """A scanning child: wait for the scanner pids, scan its share of ``shares``, send it back, exit.

    ``mine`` is the index of this child's pipes.
    """
    status = 1
    try:
        for index, ((read_end, write_end), (ready_read, ready_write)) in enumerate(zip(pipes, ready, strict=True)):
            os.close(read_end)
            os.close(ready_write)
            if index != mine:
                with contextlib.suppress(OSError):  # earlier siblings' ends are already closed
                    os.close(write_end)
                os.close(ready_read)
        names = b""
        while chunk := os.read(ready[mine][0], 4096):  # until the parent closes its end
            names += chunk
        skip = frozenset(name.decode() for name in names.split())
        data = marshal.dumps(_scan_links(share, shares, skip))
        view = memoryview(data)
        write_end = pipes[mine][1]
        while view:
            view = view[os.write(write_end, view) :]
        status = 0
    finally:
        os._exit(status)


def idle_cores(limit: int = 2) -> int:
    """Cores left free beyond the one this process uses (at most ``limit``), by the tasks running now.

    /proc/loadavg's "running/total" field counts the runnable tasks at this
    instant, this process included. The load averages lag by a minute: on a
    host that just ran other commands (a watch loop, a benchmark) they
    still count them, and a scan that could have run beside the dump would
    run after it instead.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except OSError:
        return 0
    running = _running_tasks()
    return max(0, min(limit, cores - running))


def _running_tasks() -> int:
    """Runnable tasks now, this process included (1 when /proc/loadavg cannot say)."""
    try:
        with open("/proc/loadavg", "rb") as loadavg:
            fields = loadavg.read(128).split()
        return max(1, int(fields[3].split(b"/")[0]))
    except (OSError, IndexError, ValueError):
        return 1


class UserLookup:
    """inode -> users:(...) body for the renderer, from a scan started when this is created.

    Create it before the dump starts: the scan then runs in child processes
    while the dump decodes (see UserScan); the first lookup waits for it, and
    if no socket is ever listed nothing waits at all. Only the sockets printed
    are formatted. ``workers=None`` forks one scanner per idle core (none on
    a saturated host, where a child would only compete with the dump: the scan
    then runs here, after it).
    """

    def __init__(self, workers: int | None = None) -> None:
        count = idle_cores() if workers is None else workers
        self._scan: UserScan | None = UserScan(count) if count > 0 else None
        self._links: Links = {}
        self._comms: dict[str, str] = {}
        self._scanned = False

    def __call__(self, inode: int) -> str | None:
        if not self._scanned:
            self._links, self._comms = self._scan.links() if self._scan is not None else _scan_links()
            self._scan, self._scanned = None, True
        if not inode:
            return None
        holders = self._links.get(f"socket:[{inode}]")
        if not holders:
            return None
        comms = self._comms
        return ",".join([f'("{comms[pid]}",pid={pid},fd={fd})' for pid, fd in reversed(holders)])


class ThreadLookup:
    """inode -> users:(...) body naming each holder's thread too (ss -T), from a scan made on first use.

    ss -T visits every process as -p does (as its own thread, tid = pid) and
    then each of its other threads through /proc/TID, which lists the fds and
    command name the thread sees. Threads usually share their process's fd
    table, so a socket is listed once per thread; a thread's command name is
    its own (prctl PR_SET_NAME). No fork here: -T is rare and the scan is
    its whole cost.
    """

    def __init__(self) -> None:
        self._links: dict[str, list[tuple[str, str, str, str]]] | None = None

    def __call__(self, inode: int) -> str | None:
        if self._links is None:
            self._links = _scan_thread_links()
        if not inode:
            return None
        holders = self._links.get(f"socket:[{inode}]")
        if not holders:
            return None
        return ",".join([f'("{comm}",pid={pid},tid={tid},fd={fd})' for comm, pid, tid, fd in reversed(holders)])


def _scan_thread_links() -> dict[str, list[tuple[str, str, str, str]]]:
    """"socket:[INODE]" -> [(comm, pid, tid, fd), ...] in ss's scan order: pid, its own fds, then its threads'."""
    found: dict[str, list[tuple[str, str, str, str]]] = {}
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return found
    for pid in pids:
        _scan_task_links(pid, pid, found)
        try:
            tids = [name for name in os.listdir(f"/proc/{pid}/task") if name.isdigit() and name != pid]
        except OSError:
            continue
        for tid in tids:
            _scan_task_links(pid, tid, found)
    return found


def _scan_task_links(pid: str, tid: str, found: dict[str, list[tuple[str, str, str, str]]]) -> None:
    try:
        directory = os.open(f"/proc/{tid}/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:  # gone, or not ours to read
        return
    try:
        fds = os.listdir(directory)
        comm: str | None = None
        for fd in fds:
            try:
                target = os.readlink(fd, dir_fd=directory)
            except OSError:
                continue
            if not target.startswith(_SOCKET_PREFIX):
                continue
            if comm is None:
                comm = _comm(tid)
            found.setdefault(target, []).append((comm, pid, tid, fd))
    except OSError:
        pass
    finally:
        os.close(directory)
