"""Which processes hold which sockets: one pass over /proc/*/fd (ss -p).

The scan is ss's (user_ent_hash_build) with the same visible result: every
process directory /proc/PID (threads are not visited), every fd whose link
reads ``socket:[INODE]``, the command name from /proc/PID/stat up to the first
')'. For one inode ss lists the holders newest-first (it pushes each find on
the front of a hash chain), so :func:`format_users` prints them in reverse
scan order.

Processes and fds come and go during the scan, and an unprivileged user may
not read other users' fds: each such error skips what cannot be seen, as ss
does. Speed comes from doing only the work that answers the question: no
per-fd path building beyond an f-string, the command name read once per
process that holds a socket, and an optional inode set that keeps entries for
sockets the caller will print only.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
from collections.abc import Callable, Iterable
from typing import NamedTuple, TypeVar

_SOCKET_PREFIX = "socket:["


class User(NamedTuple):
    """One fd of one process that refers to a socket."""

    comm: str
    pid: int
    fd: int


UserMap = dict[int, list[User]]
Item = TypeVar("Item")
Result = TypeVar("Result")


def parse_comm(stat: bytes) -> str:
    """The command name as ss reads /proc/PID/stat: between '(' and the first ')' (not the last)."""
    start = stat.find(b"(")
    if start < 0:
        return ""
    end = stat.find(b")", start + 1)
    name = stat[start + 1 : end] if end >= 0 else stat[start + 1 :]
    return name.decode("utf-8", "surrogateescape")


def _comm(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return parse_comm(stat.read(64))
    except OSError:  # the process ended: ss prints an empty name then
        return ""


_CHUNK = 1024  # fds per work item: small enough to balance a few huge processes over the workers


def _list_fds(pid: str) -> list[str] | None:
    try:
        return os.listdir(f"/proc/{pid}/fd")
    except OSError:  # gone, or not ours to read
        return None


def _read_links(item: tuple[str, list[str]]) -> list[tuple[str, str]]:
    """(link text, fd) for each fd of the chunk that is a socket; fds that vanish are skipped.

    The link text ("socket:[INODE]") is kept as read: it serves as the map key, so the
    inode is parsed only for the sockets that end up printed.
    """
    pid, fds = item
    found: list[tuple[str, str]] = []
    append = found.append
    readlink = os.readlink
    prefix = f"/proc/{pid}/fd/"
    for fd in fds:
        try:
            target = readlink(prefix + fd)
        except OSError:
            continue
        if target.startswith(_SOCKET_PREFIX):
            append((target, fd))
    return found


def _parallel_map(function: Callable[[Item], Result], items: list[Item], workers: int) -> list[Result]:
    """map() over threads, results in input order; readlink on /proc releases the GIL, so the
    kernel-side work of the scan (most of it) runs on every core."""
    results: list[Result | None] = [None] * len(items)
    counter = itertools.count()
    total = len(items)

    def work() -> None:
        while (index := next(counter)) < total:  # next() on a count is atomic under the GIL
            results[index] = function(items[index])

    threads = [threading.Thread(target=work, daemon=True) for _ in range(max(0, min(workers, total) - 1))]
    for thread in threads:
        thread.start()
    work()
    for thread in threads:
        thread.join()
    return results  # type: ignore[return-value]  # every slot was filled by a worker


Links = dict[str, list[tuple[str, str]]]  # "socket:[INODE]" -> [(pid, fd), ...] in scan order


def _scan_links(workers: int) -> tuple[Links, dict[str, str]]:
    """Every socket fd of every visible process, and the command name of each process holding one."""
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return {}, {}
    listings = _parallel_map(_list_fds, pids, workers)
    chunks = [(pid, fds[i : i + _CHUNK]) for pid, fds in zip(pids, listings, strict=True) if fds
              for i in range(0, len(fds), _CHUNK)]
    found: Links = {}
    comms: dict[str, str] = {}
    get = found.get
    for (pid, _fds), links in zip(chunks, _parallel_map(_read_links, chunks, workers), strict=True):
        if links and pid not in comms:
            comms[pid] = _comm(pid)
        for target, fd in links:
            holders = get(target)
            if holders is None:
                found[target] = [(pid, fd)]
            else:
                holders.append((pid, fd))
    return found, comms


def scan_users(inodes: Iterable[int] | None = None, workers: int = 2) -> UserMap:
    """Map socket inode -> the fds holding it, in ss's /proc scan order (pid order, then fd order).

    With ``inodes``, only those sockets are kept (the caller already knows
    which sockets it will print); the /proc walk itself is the same.
    """
    wanted = None if inodes is None else frozenset(inodes)
    links, comms = _scan_links(workers)
    found: UserMap = {}
    for target, holders in links.items():
        inode = int(target[8:-1])
        if wanted is None or inode in wanted:
            found[inode] = [User(comms[pid], int(pid), int(fd)) for pid, fd in holders]
    return found


class UserScan:
    """The /proc scan running in a background thread, so it overlaps the socket dump.

    The scan spends most of its time inside readlink(), with the GIL released,
    while the dump spends its time decoding in Python: together they take
    little longer than the slower of the two.
    """

    def __init__(self, workers: int = 2) -> None:
        self._result: tuple[Links, dict[str, str]] = ({}, {})
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(workers,), daemon=True)
        self._thread.start()

    def _run(self, workers: int) -> None:
        try:
            self._result = _scan_links(workers)
        except BaseException as error:  # handed to the caller of result()
            self._error = error

    def links(self) -> tuple[Links, dict[str, str]]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result

    def result(self) -> UserMap:
        """The scan as scan_users() returns it."""
        links, comms = self.links()
        return {int(target[8:-1]): [User(comms[pid], int(pid), int(fd)) for pid, fd in holders]
                for target, holders in links.items()}


class UserLookup:
    """inode -> users:(...) body for the renderer, from a scan started when this is created.

    Create it before the dump starts: the scan then runs in a thread while the
    dump decodes (see UserScan); the first lookup waits for it, and if no
    socket is ever listed nothing waits at all. Only the sockets printed are
    formatted.
    """

    def __init__(self, workers: int = 2) -> None:
        self._scan: UserScan | None = UserScan(workers)
        self._links: Links = {}
        self._comms: dict[str, str] = {}

    def __call__(self, inode: int) -> str | None:
        if self._scan is not None:
            self._links, self._comms = self._scan.links()
            self._scan = None
        if not inode:
            return None
        holders = self._links.get(f"socket:[{inode}]")
        if not holders:
            return None
        comms = self._comms
        return ",".join([f'("{comms[pid]}",pid={pid},fd={fd})' for pid, fd in reversed(holders)])


def format_users(entries: list[User]) -> str:
    """The body of ss's ``users:(...)``: ("comm",pid=P,fd=F),... newest-found first."""
    return ",".join([f'("{u.comm}",pid={u.pid},fd={u.fd})' for u in reversed(entries)])


def users_text(found: UserMap, inode: int) -> str | None:
    """format_users for one socket, or None when no visible process holds it (or inode 0)."""
    if not inode:
        return None
    entries = found.get(inode)
    return format_users(entries) if entries else None


def selinux_enabled() -> bool:
    """What libselinux's is_selinux_enabled() reports: selinuxfs mounted with a policy loaded."""
    return os.path.exists("/sys/fs/selinux/enforce")


# --- cgroup v2 ids -> paths (ss -e / --cgroup) -------------------------------------------

def _cgroup2_mount() -> str | None:
    """The first cgroup2 mount point in /proc/mounts, as iproute2's find_fs_mount finds it."""
    try:
        with open("/proc/mounts", encoding="utf-8", errors="surrogateescape") as mounts:
            for line in mounts:
                fields = line.split()
                if len(fields) >= 3 and fields[2] == "cgroup2":
                    return fields[1].replace("\\040", " ")
    except OSError:
        return None
    return None


def _walk_cgroups(mount: str) -> dict[int, str]:
    """cgroup id (the directory's inode in cgroup2fs) -> path under the mount, root as '/'."""
    paths: dict[int, str] = {}
    try:
        root_dev = os.stat(mount).st_dev
    except OSError:
        return paths
    for directory, subdirs, _files in os.walk(mount):
        try:
            info = os.stat(directory)
        except OSError:
            continue
        if info.st_dev != root_dev:  # iproute2 walks with FTW_MOUNT: stay on this mount
            subdirs.clear()
            continue
        paths[info.st_ino] = directory[len(mount):] or "/"
    return paths


class CgroupNames:
    """cgroup id -> path, from one walk of the cgroup2 mount made on first use (iproute2's cg_map)."""

    def __init__(self) -> None:
        self._paths: dict[int, str] | None = None

    def __call__(self, cgroup_id: int) -> str:
        if self._paths is None:
            mount = _cgroup2_mount()
            if mount is None:
                # ss says this on every lookup; once is enough to explain the 'unreachable' paths.
                sys.stderr.write("Failed to find cgroup2 mount\n")
            self._paths = _walk_cgroups(mount) if mount is not None else {}
        path = self._paths.get(cgroup_id)
        return path if path is not None else f"unreachable:{cgroup_id:x}"


cgroup_path = CgroupNames()
"""The cgroup v2 path for an INET_DIAG_CGROUP_ID, or ss's 'unreachable:ID' when it is unknown."""
