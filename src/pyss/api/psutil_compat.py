"""psutil's ``net_connections`` shapes, served from sock_diag instead of /proc/net text.

psutil (on Linux) reads /proc/net/{tcp,tcp6,udp,udp6,unix} and maps each
socket's inode to the processes holding it by a scan of /proc/*/fd. What a
caller sees, and what this module reproduces, is:

* ``sconn(fd, family, type, laddr, raddr, status, pid)`` system-wide,
  ``pconn`` (no pid) for one process; ``family`` and ``type`` are
  ``socket`` enum members.
* An inet address with port 0 is ``()``; otherwise ``addr(ip, port)``.
  A UNIX socket's ``laddr`` is its path as psutil's line splitting reads it
  (up to a line break, stripped; ``""`` if unbound, or if white space is left
  inside it), ``raddr`` ``""``.
* ``status`` is a ``CONN_*`` string for TCP, ``"NONE"`` for everything else.
* The holder of an inet socket is the first fd of the last process (in
  /proc order) holding it; a UNIX socket gives one entry for each fd of that
  process. A socket no visible process holds has ``fd`` -1 and ``pid`` None.
* Identical entries appear once (psutil collects them in a set).
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import socket

    from pyss.api.record import Addr
    from pyss.system.processes import UserScan

# psutil's kinds, as pyss kinds that list the same tables (psutil's "all" has no RAW, packet or netlink).
PSUTIL_KINDS: dict[str, tuple[str, ...]] = {
    "all": ("tcp", "udp", "unix"),
    "tcp": ("tcp",),
    "tcp4": ("tcp4",),
    "tcp6": ("tcp6",),
    "udp": ("udp",),
    "udp4": ("udp4",),
    "udp6": ("udp6",),
    "unix": ("unix",),
    "inet": ("tcp", "udp"),
    "inet4": ("tcp4", "udp4"),
    "inet6": ("tcp6", "udp6"),
}


class sconn(NamedTuple):  # noqa: N801 - psutil's name
    """A system-wide connection, as psutil.net_connections() gives it."""

    fd: int
    family: socket.AddressFamily
    type: socket.SocketKind
    laddr: Addr | tuple[()] | str
    raddr: Addr | tuple[()] | str
    status: str
    pid: int | None


class pconn(NamedTuple):  # noqa: N801 - psutil's name
    """One process's connection, as psutil.Process.net_connections() gives it."""

    fd: int
    family: socket.AddressFamily
    type: socket.SocketKind
    laddr: Addr | tuple[()] | str
    raddr: Addr | tuple[()] | str
    status: str

def check_kind(kind: str) -> tuple[str, ...]:
    if kind not in PSUTIL_KINDS:
        raise ValueError(f"invalid kind argument {kind!r}; valid ones are: {', '.join(PSUTIL_KINDS)}")
    return PSUTIL_KINDS[kind]



def net_connections(kind: str = "inet") -> list[sconn]:
    """What ``psutil.net_connections(kind)`` returns, read through sock_diag.

    Child processes scan /proc (when they may) while this one dumps: they
    are forked first, before the modules that read and build the dump are
    imported (~5 ms that the scan then overlaps). TCP and UDP buffers are kept
    as columns and made into sconns in bulk once the holders are known;
    other tables as records. The scanners fill every further CPU, so the
    dump reads its replies here, without the read-ahead child that would
    only take turns with them (~10% more CPU for the hand-over of every
    buffer).
    """
    check_kind(kind)
    scan = _holders_scan()
    from pyss.api.psutil_rows import system_connections

    return system_connections(kind, scan)


def _holders_scan() -> UserScan | None:
    """The /proc scan in child processes (one for each further CPU: this process dumps meanwhile, then
    scans what they have not taken yet), or None where it runs here (one CPU, or a program with threads)."""
    from pyss.system.processes import UserScan, may_fork_helpers, scan_workers

    workers = scan_workers()
    if not (workers and may_fork_helpers()):
        return None
    return UserScan(workers, holders=True)


def process_net_connections(pid: int, kind: str = "inet") -> list[pconn]:
    """What ``psutil.Process(pid).net_connections(kind)`` returns, read through sock_diag.

    Raises ProcessLookupError when there is no process ``pid`` and
    PermissionError when its /proc/PID/fd may not be read.
    """
    from pyss.api.listing import records
    from pyss.api.psutil_rows import connections, dump_plan
    from pyss.system.processes import process_socket_fds

    check_kind(kind)
    if isinstance(pid, bool) or not isinstance(pid, int) or pid < 0:
        raise ValueError(f"pid must be a non-negative int, not {pid!r}")
    fds = process_socket_fds(pid)
    if not fds:
        return []
    first: dict[int, tuple[int, int]] = {}
    more: dict[int, list[tuple[int, int]]] = {}
    for inode, fd in fds:
        if inode in first:
            more.setdefault(inode, [first[inode]]).append((fd, pid))
        else:
            first[inode] = (fd, pid)
    mine = (record for record in records(dump_plan(kind)) if record.inode in first)
    found = dict.fromkeys(new_pconn(tuple(entry)[:6]) for entry in connections(mine, (first, more)))
    if not os.path.exists(f"/proc/{pid}"):  # psutil checks that the process outlived the reading
        raise ProcessLookupError(errno.ESRCH, f"no process {pid}", f"/proc/{pid}")
    return list(found)


def new_pconn(entry: tuple[object, ...]) -> pconn:
    result: pconn = tuple.__new__(pconn, entry)
    return result
