"""Network namespaces: -N/--net NAME as ss does it, and every namespace on the host (--all-netns).

-N moves the whole process into the named network namespace, as ss does.
ss (iproute2's netns_switch) opens /run/netns/NAME, joins it with setns(2),
then gives itself a private mount namespace in which /sys is remounted for
the new network namespace and the files of /etc/netns/NAME are bound over
/etc. The remount matters for output, not only for tidiness: the cgroup2
mount under /sys disappears with it, which turns ss -e's cgroup paths into
'unreachable:ID'; and /etc/netns/NAME/hosts or services change the names
printed. pyss does the same steps so that its output matches ss's.

Only the C library is needed (setns, unshare, mount, umount2; the os module
has setns/unshare only from Python 3.12). pyroute2 is not used: its import
alone costs ~0.3 s, and it would still leave the mount steps to us.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import ctypes

NETNS_RUN_DIR = "/run/netns"
NETNS_ETC_DIR = "/etc/netns"

# linux/sched.h and linux/mount.h
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 0x1
MS_BIND = 0x1000
MS_REC = 0x4000
MS_SLAVE = 1 << 19
MNT_DETACH = 0x2
ST_RDONLY = 0x1


class NamespaceError(Exception):
    """The namespace could not be entered; the message is ss's, ready to print. ``errno``: why (ENOENT when
    it is gone), or None."""

    def __init__(self, message: str, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


_LIBC: list[ctypes.CDLL] = []


def _libc() -> ctypes.CDLL:
    if not _LIBC:
        import ctypes  # only on the -N / --all-netns paths

        _LIBC.append(ctypes.CDLL(None, use_errno=True))
    return _LIBC[0]


def _errno_text() -> str:
    import ctypes

    return os.strerror(ctypes.get_errno())


def enter_namespace(name: str) -> None:
    """Join /run/netns/NAME and remount /sys (and /etc/netns/NAME binds) as ss does; raise NamespaceError."""
    path = f"{NETNS_RUN_DIR}/{name}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as error:
        raise NamespaceError(f'Cannot open network namespace "{name}": {error.strerror}') from None
    libc = _libc()
    try:
        if libc.setns(fd, CLONE_NEWNET) < 0:
            raise NamespaceError(f'setting the network namespace "{name}" failed: {_errno_text()}')
    finally:
        os.close(fd)
    _private_mounts(libc, name)


def _private_mounts(libc: ctypes.CDLL, name: str) -> None:
    if libc.unshare(CLONE_NEWNS) < 0:
        raise NamespaceError(f"unshare failed: {_errno_text()}")
    # Keep our remounts from propagating back to the parent namespace.
    if libc.mount(b"", b"/", b"none", MS_SLAVE | MS_REC, None) != 0:
        raise NamespaceError(f'"mount --make-rslave /" failed: {_errno_text()}')
    flags = 0
    if libc.umount2(b"/sys", MNT_DETACH) < 0:
        # Could not unmount: overlay it, read-only if the old one was (a read-only sysfs cannot be shadowed rw).
        try:
            if os.statvfs("/sys").f_flag & ST_RDONLY:
                flags = MS_RDONLY
        except OSError:
            pass
    if libc.mount(os.fsencode(name), b"/sys", b"sysfs", flags, None) < 0:
        raise NamespaceError(f"mount of /sys failed: {_errno_text()}")
    _bind_etc(libc, name)


def _bind_etc(libc: ctypes.CDLL, name: str) -> None:
    """Bind each /etc/netns/NAME/FILE over /etc/FILE; failures are reported and skipped, as ss does."""
    import sys

    directory = f"{NETNS_ETC_DIR}/{name}"
    try:
        entries = os.listdir(directory)
    except OSError:
        return
    for entry in entries:
        source, target = f"{directory}/{entry}", f"/etc/{entry}"
        if libc.mount(os.fsencode(source), os.fsencode(target), b"none", MS_BIND, None) < 0:
            sys.stderr.write(f"Bind {source} -> {target} failed: {_errno_text()}\n")


# --all-netns: every network namespace on the host, and a way to work inside each.
#
# A namespace is entered with setns(2) on the calling thread and left again through a descriptor of the
# thread's own namespace, opened before leaving: the netlink socket a dump opens stays bound to the
# namespace it was created in, and every other thread of the process (the exporter's HTTP server, for
# one) never moves. Forking a child per namespace would isolate the switch too, but costs a fork, a
# pipe and a re-encoding of every record per namespace; setns there and back costs two system calls
# (benchmarks/netns_bench.py measures both: the fork is ~30x dearer per namespace).

PROC_ROOT = "/proc"
_SHOWN_PIDS = 5  # a refusal names this many processes, then counts the rest


class Namespace(NamedTuple):
    """One network namespace: how it is named in listings, its identity, and the file that enters it."""

    name: str  # the name under /run/netns, or "pid:N" for one held only by processes (the lowest such pid)
    device: int  # st_dev and st_ino of the nsfs file: the namespace's identity
    inode: int
    path: str  # /run/netns/NAME or /proc/N/ns/net


# How the refusal of the processes whose namespaces may not be looked at begins (their pids follow).
DENIED_PROCESSES = "the network namespace of process "


class Enumeration(NamedTuple):
    namespaces: list[Namespace]
    refused: list[str]  # one line per namespace (or group of processes) that could not be inspected


def all_namespaces(run_dir: str = NETNS_RUN_DIR, proc_root: str = PROC_ROOT) -> Enumeration:
    """The named namespaces (sorted by name), then the ones only processes hold (by lowest pid).

    Namespaces are told apart by their nsfs inode, so a named namespace that processes also hold is
    listed once, by its name. The namespace the caller runs in is among them like any other.
    """
    nsfs = _nsfs_device(proc_root)
    found: dict[tuple[int, int], Namespace] = {}
    refused: list[str] = []
    for name in _listdir(run_dir):
        path = f"{run_dir}/{name}"
        identity = file_identity(path)
        if identity is None or identity[0] != nsfs:
            refused.append(f'network namespace "{name}": {path} is not a namespace (a stale or foreign file)')
            continue
        found.setdefault(identity, Namespace(name, identity[0], identity[1], path))
    denied: list[int] = []
    for pid in sorted(int(entry) for entry in _listdir(proc_root) if entry.isdigit()):
        path = f"{proc_root}/{pid}/ns/net"
        try:
            status = os.stat(path)
        except PermissionError:
            denied.append(pid)
            continue
        except OSError:
            continue  # the process ended, or is a zombie whose namespaces are gone
        identity = (status.st_dev, status.st_ino)
        if identity[0] == nsfs and identity not in found:
            found[identity] = Namespace(f"pid:{pid}", identity[0], identity[1], path)
    if denied:
        shown = ", ".join(map(str, denied[:_SHOWN_PIDS])) + (f" and {len(denied) - _SHOWN_PIDS} more"
                                                              if len(denied) > _SHOWN_PIDS else "")
        refused.append(f"{DENIED_PROCESSES}{shown}: permission denied")
    return Enumeration(list(found.values()), refused)


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def file_identity(path: str) -> tuple[int, int] | None:
    """(st_dev, st_ino) of ``path`` (a namespace's identity when it is an nsfs file), None when it cannot be
    looked at."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def own_identity(proc_root: str = PROC_ROOT) -> tuple[int, int] | None:
    """The identity of the calling thread's network namespace."""
    return file_identity(f"{proc_root}/thread-self/ns/net") or file_identity(f"{proc_root}/self/ns/net")


def named_namespace(name: str, run_dir: str = NETNS_RUN_DIR) -> Namespace | None:
    """/run/netns/NAME as a Namespace, or None when there is no such namespace (or NAME is no plain name)."""
    if "/" in name or name in ("", ".", ".."):
        return None
    path = f"{run_dir}/{name}"
    identity = file_identity(path)
    return None if identity is None else Namespace(name, identity[0], identity[1], path)


def _nsfs_device(proc_root: str) -> int:
    """The device of the namespace filesystem: a file under /run/netns on any other is not a namespace."""
    identity = own_identity(proc_root)
    return identity[0] if identity is not None else -1


@contextmanager
def inside(namespace: Namespace) -> Iterator[None]:
    """Run the body with the calling thread in ``namespace``, and always bring it back.

    Raises NamespaceError (before the body runs) when the namespace cannot be entered: gone, replaced
    by another under the same path, or refused. Should the way back fail, the process is in the wrong
    namespace and anything it printed next would be wrong, so it exits at once with status 1.
    """
    own = os.open(f"{PROC_ROOT}/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _enter(namespace)
        try:
            yield
        finally:
            _return(own)
    finally:
        os.close(own)


def _enter(namespace: Namespace) -> None:
    label = f'network namespace "{namespace.name}"'
    try:
        # O_NONBLOCK: an impostor FIFO at the path must not hang us; the identity check rejects it.
        fd = os.open(namespace.path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as error:
        raise NamespaceError(f"cannot open {label}: {error.strerror}", error.errno) from None
    try:
        status = os.fstat(fd)
        if (status.st_dev, status.st_ino) != (namespace.device, namespace.inode):
            raise NamespaceError(f"{label} is gone (its path now names another)", errno.ENOENT)
        if _libc().setns(fd, CLONE_NEWNET) < 0:
            import ctypes

            raise NamespaceError(f"cannot enter {label}: {_errno_text()}", ctypes.get_errno())
    finally:
        os.close(fd)


def _return(own: int) -> None:
    if _libc().setns(own, CLONE_NEWNET) < 0:
        import sys

        sys.stderr.write(f"pyss: cannot return to the original network namespace: {_errno_text()}\n")
        sys.stderr.flush()
        os._exit(1)
