"""``netns=``: which namespace an API call names, and entering it on the calling thread only.

The command line's ``-N`` moves the whole process (and remounts /sys); a
library must not. The API enters the namespace with :func:`pyss.system.netns.inside`
(setns on the calling thread, always undone) just for as long as it opens a
dump socket or looks up an interface name: a socket stays in the namespace it
was created in, so the dump is then read from the thread's own namespace and
the caller's code never runs inside the other one.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from pyss.system.netns import NETNS_RUN_DIR, Namespace, NamespaceError, inside

NamespaceName = str | int | os.PathLike[str]


def namespace_path(netns: NamespaceName) -> str:
    """The file naming a namespace: a pid's /proc/PID/ns/net, a path as given, or /run/netns/NAME."""
    if isinstance(netns, int) and not isinstance(netns, bool):
        return f"/proc/{netns}/ns/net"
    text = os.fspath(netns) if isinstance(netns, str | os.PathLike) else None
    if not isinstance(text, str):  # bool, float, bytes (a bytes path too: the names are str)
        raise TypeError(f"netns must be a name, a path or a pid, not {type(netns).__name__}")
    return text if "/" in text else f"{NETNS_RUN_DIR}/{text}"


def find_namespace(netns: NamespaceName) -> Namespace:
    """The namespace ``netns`` names, entered once to be sure it can be.

    Raises FileNotFoundError when there is none, PermissionError when it may
    not be opened or entered (both name it).
    """
    path = namespace_path(netns)
    try:
        # O_NONBLOCK: a FIFO planted at the path must not hang us; entering it then fails.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError as error:
        raise FileNotFoundError(error.errno, f"no network namespace {netns!r}", path) from None
    except PermissionError as error:
        raise PermissionError(error.errno, f"no permission to open network namespace {netns!r}", path) from None
    try:
        status = os.fstat(fd)
    finally:
        os.close(fd)
    namespace = Namespace(str(netns), status.st_dev, status.st_ino, path)
    with entered(namespace):
        pass
    return namespace


@contextmanager
def entered(namespace: Namespace) -> Iterator[None]:
    """:func:`pyss.system.netns.inside`, a refusal raised as PermissionError, a namespace gone since it was found
    (the dump starts after the call) as FileNotFoundError, both naming it, and a file that is no network
    namespace as ValueError."""
    stack = ExitStack()
    try:
        stack.enter_context(inside(namespace))
    except NamespaceError as error:
        if error.errno in (errno.EPERM, errno.EACCES):
            raise PermissionError(error.errno, str(error), namespace.path) from None
        if error.errno == errno.ENOENT:
            raise FileNotFoundError(errno.ENOENT, str(error), namespace.path) from None
        raise ValueError(f"{namespace.path} is not a network namespace ({error})") from None
    with stack:
        yield
