"""``netns=``: run a step of a dump in another network namespace, on the calling thread only.

The command line's ``-N`` moves the whole process (and remounts /sys, see
:mod:`pyss.netns`); a library must not. Here only the calling thread joins
the namespace with setns(2), for as long as it opens a dump socket or looks
up an interface name, and always returns to the namespace it came from: a
socket stays in the namespace it was created in, so the dump is then read
from the thread's own namespace.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from pyss.netns import CLONE_NEWNET, NETNS_RUN_DIR


def namespace_path(netns: str | int | os.PathLike[str]) -> str:
    """The file naming a namespace: a pid's /proc/PID/ns/net, a path as given, or /run/netns/NAME."""
    if isinstance(netns, bool):
        raise TypeError("netns must be a name, a path or a pid")
    if isinstance(netns, int):
        return f"/proc/{netns}/ns/net"
    text = os.fspath(netns)
    return text if "/" in text else f"{NETNS_RUN_DIR}/{text}"


def open_namespace(netns: str | int | os.PathLike[str]) -> int:
    """An fd for the namespace; FileNotFoundError or PermissionError naming it when it cannot be opened."""
    path = namespace_path(netns)
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError as error:
        raise FileNotFoundError(error.errno, f"no network namespace {netns!r}", path) from None
    except PermissionError as error:
        raise PermissionError(error.errno, f"no permission to open network namespace {netns!r}", path) from None


def _setns(fd: int, what: str) -> None:
    setns = getattr(os, "setns", None)  # Python 3.12+
    if setns is not None:
        try:
            setns(fd, CLONE_NEWNET)
        except PermissionError as error:
            raise PermissionError(error.errno, f"no permission to enter network namespace {what}") from None
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"cannot enter network namespace {what}: {os.strerror(code)}")


@contextmanager
def inside(fd: int, what: str) -> Iterator[None]:
    """Run the block with the calling thread in the namespace ``fd``; the thread's own is restored after."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(fd, what)
        try:
            yield
        finally:
            _setns(own, "of the calling thread")
    finally:
        os.close(own)
