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
command name is read once per process that holds a socket, and the scan is
split into contiguous shares of /proc order that forked children scan while
the caller dumps (UserScan, UserLookup); for ss -p they send back each
socket's users:(...) text ready to print, keyed by inode.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import marshal
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import compress, repeat
from operator import itemgetter

from pyss.lite_typing import TYPE_CHECKING, NamedTuple
from pyss.system.output import write_all

if TYPE_CHECKING:
    from typing import Any, NoReturn, TypeVar

    Result = TypeVar("Result")

_SOCKET_PREFIX = "socket:["
# Where ss looks for processes: $PROC_ROOT, or /proc (a copy of another host's /proc can be scanned).
_ROOT = os.environ.get("PROC_ROOT", "/proc")


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


def read_head(path: str, size: int) -> bytes | None:
    """The first ``size`` bytes of a small /proc file, or None when it cannot be read (a process gone).

    O_NONBLOCK: under $PROC_ROOT the file may be anything, and a FIFO there must not hang the listing
    (ss waits on it forever); a FIFO reads as empty, which names no process, as an empty stat file does.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, size)
    except OSError:
        return None
    finally:
        os.close(fd)


def may_fork_helpers() -> bool:
    """Whether helper processes may be forked now: :func:`pyss.netlink.transport.may_fork` (no thread of
    threading's or of pyss's own runs), and the kernel counts one thread in this process. Threads that C
    libraries or ``_thread`` start are not in threading's count, and fork copies only the calling thread
    (a lock one of them holds stays held in the child). /proc that cannot tell leaves threading's word."""
    from pyss.netlink.transport import may_fork

    if not may_fork():
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1  # this process's own /proc, whatever PROC_ROOT names
    except OSError:
        return True


def stat_head(pid: int, size: int = 512) -> bytes | None:
    """The first ``size`` bytes of /proc/PID/stat, or None when the process is gone (or was never there)."""
    return read_head(f"{_ROOT}/{pid}/stat", size)


def _comm(pid: str) -> str:
    stat = read_head(f"{_ROOT}/{pid}/stat", 64)
    return parse_comm(stat) if stat is not None else ""  # the process ended: ss prints an empty name then


Links = dict[str, list[tuple[str, str]]]  # "socket:[INODE]" -> [(pid, fd), ...] in scan order
Scan = tuple[Links, dict[str, str]]  # the links, and the command name of each pid holding a socket
# ss's Process-column texts, " users:(BODY)" with the holders newest-found first, kept small (the caller
# holds one for every socket until its last row is written): a socket held through one fd is a code,
# pid << 32 | fd, and its text is its process's head (by pid) and the fd; others are whole texts.
Codes = dict[int, int]  # inode -> pid << 32 | fd
Heads = dict[int, str]  # pid -> ' users:(("COMM",pid=PID,fd='
Texts = tuple[Codes, Heads, dict[int, str]]  # and inode -> the whole text
_USERS_OPEN, _USERS_CLOSE = " users:(", ")"  # around the body
_FD_MASK = (1 << 32) - 1

# A share of the scan: (pid, first fd, end fd) for each process it reads, in /proc order; a share reads
# the fds numbered first <= fd < end. Shares are contiguous pieces of /proc order (pid, then fd),
# so the shares' results joined in share order are the scan's in /proc order.
Share = list[tuple[str, int, int]]
_ALL_FDS = 1 << 31  # an end beyond every fd number
_FD_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def plan_shares(shares: int) -> list[Share]:
    """Split the scan of every /proc/PID/fd into ``shares`` contiguous shares with about as many fds each.

    A process's fd count is the size stat() reports for its /proc/PID/fd (Linux 6.2 and later);
    a process holding most fds is cut between shares at fd numbers that split its count (fd
    numbers are dense in practice; a skewed cut only unbalances the shares, the partition stays
    exact). Where the kernel reports no counts, each process counts one.
    """
    try:
        pids = [name for name in os.listdir(_ROOT or "/") if name.isdigit()]
    except OSError:
        pids = []
    counts = [_fd_count(pid) for pid in pids]
    if not any(counts):
        counts = [1] * len(pids)
    plan: list[Share] = [[] for _ in range(max(1, shares))]
    per_share = -(-sum(counts) // len(plan))
    share, room = 0, per_share
    for pid, count in zip(pids, counts, strict=True):
        first = 0
        while share < len(plan) - 1 and count - first > room:
            if room > 0:
                plan[share].append((pid, first, first + room))
                first += room
            share, room = share + 1, per_share
        plan[share].append((pid, first, _ALL_FDS))
        room -= count - first
    return plan


def _fd_count(pid: str) -> int:
    try:
        return os.stat(f"{_ROOT}/{pid}/fd").st_size
    except OSError:
        return 0


def _everything() -> Share:
    """The whole scan as one share."""
    return plan_shares(1)[0]


def _socket_fds(share: Share) -> Iterator[tuple[str, list[str], list[str]]]:
    """(pid, fd names, link texts) of the socket fds of each process the share reads, in /proc order
    (fd order within a process). Built a process at a time with C-level passes (map, compress): the
    readlink() calls are most of the scan, and per-fd Python work was a fifth of it."""
    prefix = _SOCKET_PREFIX
    startswith = str.startswith
    for pid, first, end in share:
        # Links are read relative to the fd directory: the kernel then resolves one name per
        # readlink instead of four (~2.8 us an fd instead of ~3.5 us, measured on 16k fds).
        try:
            directory = os.open(f"{_ROOT}/{pid}/fd", _FD_DIRECTORY)
        except OSError:  # gone, or not ours to read
            continue
        try:
            names, links = _fd_links(directory, first, end)
        finally:
            os.close(directory)
        sockets = list(map(startswith, links, repeat(prefix)))
        if not all(sockets):
            if not any(sockets):
                continue
            names, links = list(compress(names, sockets)), list(compress(links, sockets))
        yield pid, names, links


_PROBE_MISSES = 32  # free numbers found in a row before the rest is listed after all
_NUMBERS: list[str] = []  # "0", "1", ...: fd names by number, made once for the largest process seen
_INODE_TEXT = itemgetter(slice(len(_SOCKET_PREFIX), -1))  # "socket:[123]" -> "123"


def _inodes(links: list[str]) -> list[int]:
    """The inode of each "socket:[INODE]" link text."""
    return list(map(int, map(_INODE_TEXT, links)))


def _fd_names(count: int) -> list[str]:
    """The names of fds 0 .. count - 1."""
    if len(_NUMBERS) < count:
        _NUMBERS.extend(map(str, range(len(_NUMBERS), count)))
    return _NUMBERS[:count]


def _fd_links(directory: int, first: int, end: int) -> tuple[list[str], list[str]]:
    """The names and link texts of the fds numbered ``first <= fd < end`` of the fd directory open
    as ``directory``, in fd order (the order the directory lists them in).

    Listing a large fd directory costs the kernel ~0.65 us an fd (a dentry
    lookup each), a fifth of the scan. So fds are found by readlink() of each
    number: a share of a process cut between shares (see plan_shares) reads
    every number below its end; the last share, or a whole process, reads
    each number below the count of open fds that the size of the directory
    gives (Linux 6.2 and later; 0 before) and lists only the numbers from
    there on (a /proc fd directory's position is an fd number plus 2): fds
    are numbered densely from 0 in practice, so that listing is usually
    empty. Many free numbers in a row (sparse numbers, or a process that
    ended) and the rest is listed from the first of them. An fd opened during
    the scan may be missed either way, as ss misses it.
    """
    if end != _ALL_FDS:
        return _read_links(directory, _fd_names(end)[first:])
    count = os.fstat(directory).st_size
    names: list[str] = []
    links: list[str] = []
    low = first
    if count > first:
        probed = _probe(directory, first, count)
        if probed is None:  # not ours to read
            return names, links
        names, links, low = probed
    try:
        if low:
            os.lseek(directory, low + 2, os.SEEK_SET)
        listed = os.listdir(directory)
    except OSError:
        return names, links
    if low:
        listed = [fd for fd in listed if int(fd) >= low]  # (a listing that started over is cut here)
    if not listed:
        return names, links
    found, texts = _read_links(directory, listed)
    return names + found, links + texts


def _probe(directory: int, first: int, end: int) -> tuple[list[str], list[str], int] | None:
    """The fds numbered ``first`` .. ``end - 1`` (see :func:`_fd_links`): their names and link texts,
    and the first number not tried (the rest is to be listed from there); None when the fds may not
    be read."""
    numbers = _fd_names(end)
    links: list[str | None] = []
    misses = 0  # free numbers in a row
    at = first
    while at < end:
        before = len(links)
        try:
            _read_into(directory, numbers[at:end], links)
        except FileNotFoundError:
            misses = 1 if len(links) > before else misses + 1
            links.append(None)
            if misses > _PROBE_MISSES:
                break
        except OSError:
            return None
        at = first + len(links)
    tried = numbers[first : first + len(links)]
    if None not in links:
        found: list[str] = links  # type: ignore[assignment]  # no None in it
        return tried, found, first + len(links)
    return ([name for name, link in zip(tried, links, strict=True) if link is not None],
            [link for link in links if link is not None], first + len(links))


def _read_links(directory: int, names: list[str]) -> tuple[list[str], list[str]]:
    """The names that could be read (fds close meanwhile, numbers are free) and their link texts."""
    links: list[str] = []
    unread: list[int] = []  # positions in names
    while len(links) + len(unread) < len(names):
        try:
            _read_into(directory, names[len(links) + len(unread) :], links)
        except OSError:  # that name is passed; the rest follows
            unread.append(len(links) + len(unread))
    if unread:
        skip = set(unread)
        names = [name for index, name in enumerate(names) if index not in skip]
    return names, links


def _read_at(directory: int, names: list[str], into: list[str] | list[str | None]) -> None:
    """Append the link text of each name of the fd directory open as ``directory`` to ``into``; the
    first that cannot be read raises, the texts before it appended."""
    append = into.append
    readlink = os.readlink
    for name in names:
        append(readlink(name, dir_fd=directory))


def _read_here(directory: int, names: list[str], into: list[str] | list[str | None]) -> None:
    """:func:`_read_at` for a scanning child, whose working directory is its own to change: from the
    fd directory, the names are read by map(), with no Python loop and no keyword argument to parse."""
    os.fchdir(directory)
    into.extend(map(os.readlink, names))  # (extend keeps what was read before an error)


_read_into = _read_at  # a scanning child reads with _read_here (see _child)


def _collect_links(share: Share) -> Scan:
    """The share's socket fds by link text, and the command names of their processes."""
    found: Links = {}
    comms: dict[str, str] = {}
    get = found.get
    for pid, names, links in _socket_fds(share):
        comms[pid] = _comm(pid)
        for fd, target in zip(names, links, strict=True):
            holders = get(target)
            if holders is None:
                found[target] = [(pid, fd)]
            else:
                holders.append((pid, fd))
    return found, comms


def _merge_links(parts: list[Scan]) -> Scan:
    """Join the shares' links in share order, which is /proc order."""
    found, comms = parts[0]
    for links, names in parts[1:]:
        comms.update(names)
        for target in found.keys() & links.keys():  # a socket held in several shares: keep scan order
            links[target] = found[target] + links[target]
        found.update(links)
    return found, comms


def _collect_texts(share: Share) -> Texts:
    """ss's Process-column texts of the share's sockets, by inode (see :data:`Texts`)."""
    codes: Codes = {}
    heads: Heads = {}
    joined: dict[int, str] = {}
    for pid, names, links in _socket_fds(share):
        number = int(pid)
        head = heads[number] = f'{_USERS_OPEN}("{_comm(pid)}",pid={pid},fd='
        inodes, fds = _inodes(links), list(map(int, names))
        own = dict(zip(inodes, map((number << 32).__or__, fds), strict=True))
        if len(own) == len(inodes) and codes.keys().isdisjoint(own) and joined.keys().isdisjoint(own):
            codes.update(own)
            continue
        for inode, fd in zip(inodes, fds, strict=True):  # a socket held through several fds: newest first
            older = joined.pop(inode, None)
            if older is None:
                code = codes.pop(inode, None)
                if code is None:
                    codes[inode] = number << 32 | fd
                    continue
                older = _code_text(code, heads)
            joined[inode] = _joined(f"{head}{fd}){_USERS_CLOSE}", older)
    return codes, heads, joined


def _code_text(code: int, heads: Heads) -> str:
    return f"{heads[code >> 32]}{code & _FD_MASK}){_USERS_CLOSE}"


def users_text(texts: Texts, inode: int) -> str | None:
    """The Process-column text of one socket, or None when no process holds it."""
    codes, heads, joined = texts
    code = codes.get(inode)
    return _code_text(code, heads) if code is not None else joined.get(inode)


def users_texts(texts: Texts, inodes: Iterable[int]) -> list[str]:
    """The Process-column text of each socket ("" where no process holds it)."""
    codes, heads, joined = texts
    code_of, whole = codes.get, joined.get
    mask, close = _FD_MASK, _USERS_CLOSE
    return [f"{heads[code >> 32]}{code & mask}){close}" if (code := code_of(inode)) is not None else whole(inode, "")
            for inode in inodes]


def _body(text: str) -> str:
    """The holders inside a Process-column text."""
    return text[len(_USERS_OPEN) : -len(_USERS_CLOSE)]


def _joined(newer: str, older: str) -> str:
    """One Process-column text for the holders of two, the newer first."""
    return f"{newer[: -len(_USERS_CLOSE)]},{_body(older)}{_USERS_CLOSE}"


def _merge_texts(parts: list[Texts]) -> Texts:
    """Join the shares' texts: a later share's holders were found later, so they come first."""
    codes, heads, joined = parts[0]
    for later in parts[1:]:
        later_codes, later_heads, later_joined = later
        heads.update(later_heads)
        common: set[int] = set()
        for mine in (codes.keys(), joined.keys()):
            common.update(mine & later_codes.keys(), mine & later_joined.keys())
        for inode in common:
            newer, older = users_text(later, inode), users_text((codes, heads, joined), inode)
            assert newer is not None and older is not None  # both hold it
            joined[inode] = _joined(newer, older)
            codes.pop(inode, None)
            later_codes.pop(inode, None)
            later_joined.pop(inode, None)
        codes.update(later_codes)
        joined.update(later_joined)
    return codes, heads, joined


# inode -> (fd, pid) of the first fd of the last process (in /proc order) holding the socket, and, where
# that process holds it through several fds, inode -> each of them [(fd, pid), ...] in fd order: the
# holders psutil reports (the first fd for an inet socket, every fd for a UNIX one).
SocketHolders = tuple[dict[int, tuple[int, int]], dict[int, list[tuple[int, int]]]]


def _collect_holders(share: Share) -> SocketHolders:
    """The share's sockets' holders as psutil picks them, keyed by inode (ints: small to send back)."""
    first: dict[int, tuple[int, int]] = {}
    more: dict[int, list[tuple[int, int]]] = {}
    for pid_text, names, links in _socket_fds(share):
        pid = int(pid_text)
        inodes, fds = _inodes(links), list(map(int, names))
        if more:  # an earlier process's fds of a socket this one holds are not reported
            for inode in more.keys() & inodes:
                del more[inode]
        known = len(first)
        # reversed: where the process holds a socket through several fds, its first fd is kept
        first.update(zip(reversed(inodes), zip(reversed(fds), repeat(pid)), strict=True))
        if len(first) - known < len(inodes) and len(set(inodes)) < len(inodes):  # several fds of one socket
            for inode, fd in zip(inodes, fds, strict=True):
                if first[inode][0] != fd:
                    more.setdefault(inode, [first[inode]]).append((fd, pid))
    return first, more


def _merge_holders(parts: list[SocketHolders]) -> SocketHolders:
    """Join the shares' holders in share order: a later share's process wins, unless it is the same
    process, cut between the shares (then its fds on both sides count, the earlier first)."""
    union: dict[int, tuple[int, int]] = {}
    for part_first, _part_more in parts:
        union.update(part_first)
    if len(union) == sum(len(part_first) for part_first, _part_more in parts):  # no socket in two shares
        extra: dict[int, list[tuple[int, int]]] = {}
        for _part_first, part_more in parts:
            extra.update(part_more)
        return union, extra
    first, more = parts[0]
    for later_first, later_more in parts[1:]:
        for inode in first.keys() & later_first.keys():
            earlier, later = first[inode], later_first[inode]
            if earlier[1] == later[1]:
                later_more[inode] = more.get(inode, [earlier]) + later_more.get(inode, [later])
                later_first[inode] = earlier
            else:
                more.pop(inode, None)
        first.update(later_first)
        more.update(later_more)
    return first, more


def socket_holders() -> SocketHolders:
    """:data:`SocketHolders` of every visible process, scanned here."""
    return _collect_holders(_everything())


def scan_users(inodes: Iterable[int] | None = None) -> UserMap:
    """Map socket inode -> the fds holding it, in ss's /proc scan order (pid order, then fd order).

    With ``inodes``, only those sockets are kept (the caller already knows
    which sockets it will print); the /proc walk itself is the same.
    """
    wanted = None if inodes is None else frozenset(inodes)
    links, comms = _collect_links(_everything())
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
    return UserScan(workers).links() if workers > 0 else _collect_links(_everything())


def process_socket_fds(pid: int) -> list[tuple[int, int]]:
    """(inode, fd) of each socket one process holds, in fd order.

    Raises ProcessLookupError when there is no such process, PermissionError
    when its /proc/PID/fd may not be read (both name the directory).
    """
    path = f"{_ROOT}/{pid}/fd"
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
    sequential one. The scan is planned here (:func:`plan_shares`), before
    any child exists, so no scanner lists another (children hold copies of
    the caller's fds), as many small chunks (:data:`_CHUNKS_PER_SCANNER` for
    each child and the caller); a pipe holds one byte for each chunk, and a
    scanner takes the next chunk by reading one byte (a pipe read is atomic,
    so each chunk goes to exactly one scanner). Each child scans chunks until
    the pipe is empty and sends its results back, tagged with their chunks'
    numbers, through a pipe with marshal (fast, and safe: both ends are this
    program). The caller takes chunks too once it asks for the result, having
    done its own work meanwhile (the dump): so no scanner finishes long
    before another, whatever the processes' sizes and however the CPUs are
    shared (fixed shares, one per child, ended up to 40% apart). The results
    are merged in chunk order, which is /proc order. ``texts`` makes the
    chunks users:(...) bodies by inode (see :meth:`texts`), ``holders``
    psutil's holders, else links. If fork fails the scan runs in-process
    then.
    """

    def __init__(self, workers: int = 2, texts: bool = False, holders: bool = False) -> None:
        self._children: list[tuple[int, int]] = []  # (pid, read end of its pipe)
        self._texts = texts
        self._holders = holders
        self._tokens: int | None = None  # read end of the pipe of chunk numbers
        self._plan: list[Share] = []
        self._stream = False  # whether children send each chunk as it is done (see _gather)
        self._received: _Received | None = None  # their frames, read as they come when they stream
        self._early: list[tuple[int, Any]] = []  # chunks received before the gathering
        if workers <= 0:
            return
        collect: Callable[[Share], Scan | Texts | SocketHolders] = \
            _collect_holders if holders else _collect_texts if texts else _collect_links
        self._plan = plan_shares(min(_CHUNKS_PER_SCANNER * (workers + 1), 256))  # a chunk's number is a byte
        pipes: list[tuple[int, int]] = []
        try:
            self._tokens, tokens_in = os.pipe()
            try:
                os.write(tokens_in, bytes(range(len(self._plan))))
            finally:
                os.close(tokens_in)  # the children inherit only the read end: an empty pipe reads as the end
            self._stream = holders
            for _ in range(workers):
                pipes.append(os.pipe())
                if self._stream:
                    self._stream = _widen(pipes[-1][1])
                self._fork(collect, pipes)
        except BaseException as error:  # a failed fork, or Ctrl-C between two: no child or pipe is left
            self._abandon()
            for read_end, write_end in pipes:
                for end in (read_end, write_end):
                    with contextlib.suppress(OSError):
                        os.close(end)
            if not isinstance(error, OSError):
                raise
            return
        self._received = _Received([read_end for _child, read_end in self._children], self._stream)
        atexit.register(self._abandon)

    def drain(self) -> None:
        """Take in what the children have sent so far, without waiting (a streaming scan's caller calls
        this now and then while it does other work, so that no child waits on a full pipe)."""
        if self._received is not None:
            self._received.take(self._early)

    def _fork(self, collect: Callable[[Share], Scan | Texts | SocketHolders], pipes: list[tuple[int, int]]) -> None:
        """Fork the child for the last pipe; it closes what its older siblings' pipes left it."""
        from pyss.netlink.transport import fork_noted

        read_end, write_end = pipes[-1]
        child = fork_noted(lambda pid: self._children.append((pid, read_end)))  # (known before a Ctrl-C)
        if child == 0:  # pragma: no cover  (child side; checked through the parent's result)
            assert self._tokens is not None
            _child(self._plan, collect, self._tokens, pipes, self._stream)
        os.close(write_end)

    def links(self) -> Scan:
        """Every socket fd's link text -> its holders, and their command names (a links scan)."""
        if self._texts or self._holders:
            raise ValueError("this scan makes texts or holders")
        return self._gather(_collect_links, _merge_links)

    def texts(self) -> Texts:
        """inode -> ss's Process-column text " users:(...)" for every socket a process holds (a texts scan)."""
        if not self._texts:
            raise ValueError("this scan makes links or holders")
        return self._gather(_collect_texts, _merge_texts)

    def holders(self) -> SocketHolders:
        """The holders psutil reports, by inode (a holders scan)."""
        if not self._holders:
            raise ValueError("this scan makes links or texts")
        return self._gather(_collect_holders, _merge_holders)

    def _gather(self, collect: Callable[[Share], Result], merge: Callable[[list[Result]], Result]) -> Result:
        from pyss.netlink.transport import reap

        if not self._children:
            return collect(_everything())
        children, self._children = self._children, []
        atexit.unregister(self._abandon)
        tokens, self._tokens = self._tokens, None
        assert tokens is not None
        received, self._received = self._received, None
        assert received is not None
        failed = False
        try:
            received.take(self._early)
            try:
                parts = _scan_chunks(self._plan, collect, tokens, received.take)  # what the children have not taken
            finally:
                os.close(tokens)
            parts += self._early
            self._early = []  # (held by the scan object beyond this call otherwise: the collector walks them)
            parts += received.rest()
            while children:
                status = reap(children[0][0])
                del children[0]
                failed = failed or bool(status)  # (None: reaped by others; what it sent is judged below)
        except BaseException:  # Ctrl-C, say, in a library caller that lives on: no child or pipe is left
            received.close()
            _stop(children)
            raise
        if failed or not received.complete:
            return collect(_everything())  # a child failed: scan here instead
        parts.sort(key=_CHUNK_NUMBER)
        return merge([part for _number, part in parts])

    def done(self) -> bool:
        """Whether every child has finished scanning (and is sending its chunks back), for a scan that
        does not stream: asking now waits only for the transfer, as the children have taken every chunk."""
        if not self._children:
            return True
        import select  # only when a caller polls (ss -p's deferred rows)

        ends = [read_end for _child, read_end in self._children]
        return len(select.select(ends, [], [], 0)[0]) == len(ends)

    def result(self) -> UserMap:
        """The scan as scan_users() returns it."""
        return _user_map(*self.links())

    def _abandon(self) -> None:
        """At exit without having asked (nothing was listed), or when a fork failed: stop the children
        and reap them."""
        children, self._children = self._children, []
        self._received = None
        tokens, self._tokens = self._tokens, None
        if tokens is not None:
            with contextlib.suppress(OSError):
                os.close(tokens)
        _stop(children)
        for _child, read_end in children:
            with contextlib.suppress(OSError):
                os.close(read_end)


def _stop(children: list[tuple[int, int]]) -> None:
    """Kill and reap the scanning children (pid, read end of its pipe) not reaped yet."""
    for child, _read_end in children:
        import signal  # rare (nothing was listed), and the signal module's enums cost start-up

        with contextlib.suppress(OSError):
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)


# Chunks of the scan for each scanner (the children and the caller): enough that the last chunk each
# scanner takes is short (so they finish within a few ms of each other), few enough that the
# per-chunk work (a pipe read, a directory opened again where a process is cut) stays small.
_CHUNKS_PER_SCANNER = 16
_CHUNK_NUMBER = itemgetter(0)


def _scan_chunks(plan: list[Share], collect: Callable[[Share], Result], tokens: int,
                 between: Callable[[list[tuple[int, Any]]], None] | None = None) -> list[tuple[int, Result]]:
    """Scan chunks of the plan, each taken by reading its number from the ``tokens`` pipe, until it is
    empty; ``between`` is given the parts after each chunk (it may add to them, or send them away)."""
    parts: list[tuple[int, Result]] = []
    while token := os.read(tokens, 1):
        parts.append((token[0], collect(plan[token[0]])))
        if between is not None:
            between(parts)
    return parts


# A child's result is a series of frames, each the length (4 bytes, little-endian) and then the marshal
# of a list of (chunk number, part); the pipe's end (EOF) follows the last.
_LENGTH = 4
_PIPE_SIZE = 1 << 20  # a streaming child's whole result fits (~17 bytes a socket): it never waits on the caller
_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ, without importing fcntl


def _frame(parts: list[tuple[int, Any]]) -> bytes:
    data = marshal.dumps(parts)
    return len(data).to_bytes(_LENGTH, "little") + data


def _widen(write_end: int) -> bool:
    """Make a pipe hold a streaming child's whole result; False where the system does not allow it."""
    import fcntl  # only for streaming scans

    try:
        return fcntl.fcntl(write_end, _F_SETPIPE_SZ, _PIPE_SIZE) >= _PIPE_SIZE
    except OSError:
        return False


def _child(plan: list[Share], collect: Callable[[Share], Scan | Texts | SocketHolders], tokens: int,
           pipes: list[tuple[int, int]], stream: bool) -> NoReturn:  # pragma: no cover
    """A scanning child (of the last pipe): scan chunks while there are any, send them back (``stream``:
    each as soon as it is done), exit."""
    status = 1
    try:
        import gc

        gc.disable()  # nothing it makes can form a cycle, and it ends with os._exit
        for read_end, _write_end in pipes[:-1]:  # older siblings' read ends (their write ends are closed)
            with contextlib.suppress(OSError):
                os.close(read_end)
        os.close(pipes[-1][0])
        write_end = pipes[-1][1]
        if _ROOT.startswith("/"):  # no path this child opens is relative to its working directory
            global _read_into  # noqa: PLW0603 - this process's own copy of the module
            _read_into = _read_here

        def send(parts: list[tuple[int, Any]]) -> None:
            write_all(write_end, _frame(parts))
            parts.clear()

        parts = _scan_chunks(plan, collect, tokens, send if stream else None)
        if parts:
            send(parts)
        status = 0
    finally:
        os._exit(status)


class _Received:
    """The children's frames, read from their pipes: between the caller's own chunks (``take``, without
    waiting, when they stream) and then to the end (``rest``)."""

    def __init__(self, ends: list[int], stream: bool) -> None:
        self._ends = ends
        self._pending = {end: bytearray() for end in ends}
        self._parts: list[tuple[int, Any]] = []
        self._stream = stream
        self._open = list(ends)  # the ends rest() has not closed yet
        self.complete = True  # no frame was cut short
        if stream:
            for end in ends:
                os.set_blocking(end, False)

    def take(self, parts: list[tuple[int, Any]]) -> None:
        if not self._stream:
            return
        for end in self._ends:
            try:
                while data := os.read(end, _PIPE_SIZE):
                    self._pending[end] += data
            except BlockingIOError:
                pass
            self._unframe(end)
        parts += self._parts
        self._parts = []

    def rest(self) -> list[tuple[int, Any]]:
        for end in self._ends:
            os.set_blocking(end, True)
            with os.fdopen(end, "rb") as pipe:
                self._open.remove(end)
                self._pending[end] += pipe.read()
            self._unframe(end)
            self.complete = self.complete and not self._pending[end]
        parts, self._parts = self._parts, []
        return parts

    def close(self) -> None:
        """Close the ends not read to their end (a gathering given up)."""
        ends, self._open = self._open, []
        for end in ends:
            with contextlib.suppress(OSError):
                os.close(end)

    def _unframe(self, end: int) -> None:
        pending = self._pending[end]
        at = 0
        while len(pending) - at >= _LENGTH:
            size = int.from_bytes(pending[at : at + _LENGTH], "little")
            if len(pending) - at - _LENGTH < size:
                break
            self._parts += marshal.loads(pending[at + _LENGTH : at + _LENGTH + size])
            at += _LENGTH + size
        del pending[:at]


def scan_workers(limit: int = 2) -> int:
    """Scanning children worth forking beside this process: one for each further CPU it may run on,
    at most ``limit`` (none on one CPU, where a child could only take turns with this process).

    The count of tasks runnable at this instant (/proc/loadavg) is no guide: on a host with
    anything else briefly runnable it said "no core free" and the whole scan ran after the dump,
    which is what the benchmark's -tanp rows measured (0.49 s at 100k, ~0.3 s of it the scan). On a
    busy host a child costs only its fork and the transfer of its result.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except OSError:
        return 0
    return max(0, min(limit, cpus - 1))


class UserLookup:
    """inode -> users:(...) body for the renderer, from a scan started when this is created.

    Create it before the dump starts: the scan then runs in child processes
    while the dump decodes (see UserScan); a lookup waits for it, and if no
    socket is ever listed nothing waits at all. A caller with rows to format
    meanwhile asks :meth:`ready` first and keeps them until it says so. The
    scanners format each socket's text where they find it, so a lookup is one
    dict access by inode. ``workers=None`` forks one more scanner than
    :func:`scan_workers` (none on one CPU: the scan then runs here, at the
    first lookup): this process formats the dump meanwhile, and at its first
    lookup scans what the children have not taken yet.
    """

    def __init__(self, workers: int | None = None) -> None:
        count = scan_workers() if workers is None else workers
        if workers is None and count:
            count += 1
        self._scan: UserScan | None = UserScan(count, texts=True) \
            if count > 0 else None
        self._texts: Texts | None = None

    def __call__(self, inode: int) -> str | None:
        text = users_text(self._ready(), inode) if inode else None
        return _body(text) if text is not None else None

    def ready(self) -> bool:
        """Whether a lookup answers now: the scanners are done (or there are none and it scans here)."""
        return self._texts is not None or self._scan is None or self._scan.done()

    def fields(self, inodes: Sequence[int]) -> list[str]:
        """ss's Process-column text of each socket when -p is the only detail: " users:(...)" or ""."""
        return users_texts(self._ready(), inodes)

    def close(self) -> None:
        """Stop the scanners if no lookup was made (nothing was listed): now, not when the program exits."""
        scan, self._scan = self._scan, None
        if scan is not None:
            scan._abandon()

    def _ready(self) -> Texts:
        texts = self._texts
        if texts is None:
            texts = self._texts = self._scan.texts() if self._scan is not None else _collect_texts(_everything())
            self._scan = None
        return texts


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
        holders = self._holders(inode)
        if not holders:
            return None
        return ",".join([f'("{comm}",pid={pid},tid={tid},fd={fd})' for comm, pid, tid, fd in reversed(holders)])

    def holders(self, inode: int) -> list[tuple[str, int, int, int]]:
        """(command, pid, fd, tid) of each thread holding the socket, in the order ss prints them."""
        return [(comm, int(pid), int(fd), int(tid)) for comm, pid, tid, fd in reversed(self._holders(inode))]

    def _holders(self, inode: int) -> list[tuple[str, str, str, str]]:
        if self._links is None:
            self._links = _scan_thread_links()
        return self._links.get(f"socket:[{inode}]", []) if inode else []


def _scan_thread_links() -> dict[str, list[tuple[str, str, str, str]]]:
    """"socket:[INODE]" -> [(comm, pid, tid, fd), ...] in ss's scan order: pid, its own fds, then its threads'."""
    found: dict[str, list[tuple[str, str, str, str]]] = {}
    try:
        pids = [name for name in os.listdir(_ROOT or "/") if name.isdigit()]
    except OSError:
        return found
    for pid in pids:
        _scan_task_links(pid, pid, found)
        try:
            tids = [name for name in os.listdir(f"{_ROOT}/{pid}/task") if name.isdigit() and name != pid]
        except OSError:
            continue
        for tid in tids:
            _scan_task_links(pid, tid, found)
    return found


def _scan_task_links(pid: str, tid: str, found: dict[str, list[tuple[str, str, str, str]]]) -> None:
    try:
        directory = os.open(f"{_ROOT}/{tid}/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
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
