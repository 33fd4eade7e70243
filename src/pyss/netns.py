"""-N/--net NAME: move the whole process into the named network namespace, as ss does.

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

import os
from typing import TYPE_CHECKING

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
    """The namespace could not be entered; the message is ss's, ready to print."""


def _libc() -> ctypes.CDLL:
    import ctypes  # only on the -N path

    return ctypes.CDLL(None, use_errno=True)


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
