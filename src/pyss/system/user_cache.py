"""Files in pyss's cache directory (``$XDG_CACHE_HOME/pyss``, default ``~/.cache/pyss``), kept so
that nobody but the effective user can feed pyss a file or redirect its writes.

A cache is an optimisation, so every doubt is a plain miss (``None``) or a
skipped write, never an error and never a wait:

* The directory is reached by opening each path component relative to the
  one before (``openat``) with ``O_NOFOLLOW | O_DIRECTORY | O_NONBLOCK``: a
  symlink anywhere in the chain, planted before or during the walk, ends it.
* Every directory of the chain is checked on its open descriptor (no race
  between check and use): owned by root or the effective user, and writable
  by no one else, except a root-owned sticky directory such as ``/tmp``
  (others cannot rename or remove what is ours there). The ``pyss``
  directory itself must be the effective user's. So ``sudo pyss`` with a
  user's ``XDG_CACHE_HOME`` or ``HOME`` finds a chain that is not root's
  own, and root uses no cache at all.
* A cache file must be a regular file of the effective user that no one else
  can write, no longer than the caller's limit; it is opened with
  ``O_NONBLOCK`` so a FIFO or device planted in its place cannot block.
* Writes go to a fresh ``O_EXCL`` temporary file inside the verified
  directory descriptor, renamed over the old file within that descriptor.

Missing directories are created (mode 0700) below the deepest one that
exists, then checked like the others. ``PYSS_FILTER_CACHE=0`` turns the
cache off.
"""

from __future__ import annotations

import contextlib
import os
import stat

from pyss.system.output import write_all

_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH
_APP = "pyss"


def enabled() -> bool:
    return os.environ.get("PYSS_FILTER_CACHE") != "0"


def directory_components() -> list[str] | None:
    """The cache directory as components from ``/``, or None when it has no safe absolute spelling."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.environ.get("HOME") or "/nonexistent", ".cache")
    if not os.path.isabs(base):
        return None  # the XDG spec says to ignore a relative value
    parts = [part for part in base.split("/") if part not in ("", ".")]
    return None if ".." in parts else [*parts, _APP]


def _trusted_directory(fd: int, own: bool) -> bool:
    status = os.fstat(fd)
    euid = os.geteuid()
    if not stat.S_ISDIR(status.st_mode) or status.st_uid not in (euid, 0) or (own and status.st_uid != euid):
        return False
    if status.st_mode & _OTHERS_WRITE:
        # /tmp and its like: others may add entries, but not replace or remove ours
        return not own and status.st_uid == 0 and bool(status.st_mode & stat.S_ISVTX)
    return True


def _open_directory(create: bool) -> int | None:
    """A descriptor of the verified cache directory, or None."""
    parts = directory_components() if enabled() else None
    if parts is None:
        return None
    try:
        fd = os.open("/", _DIRECTORY_FLAGS)
    except OSError:
        return None
    try:
        if not _trusted_directory(fd, own=False):
            return None
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            try:
                child = os.open(part, _DIRECTORY_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    return None
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o700, dir_fd=fd)
                child = os.open(part, _DIRECTORY_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
            if not _trusted_directory(fd, own=last):
                return None
        found, fd = fd, -1
        return found
    except (OSError, ValueError):
        return None
    finally:
        if fd >= 0:
            os.close(fd)


def read(name: str, limit: int) -> bytes | None:
    """The file's bytes, or None: no trusted directory, no such file, not ours, too long, unreadable."""
    directory = _open_directory(create=False)
    if directory is None:
        return None
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=directory)
    except OSError:
        return None
    finally:
        os.close(directory)
    try:
        status = os.fstat(fd)
        if (not stat.S_ISREG(status.st_mode) or status.st_uid != os.geteuid() or status.st_mode & _OTHERS_WRITE
                or status.st_size > limit):
            return None
        data = os.read(fd, status.st_size + 1)  # not limit + 1: os.read allocates what it is asked for
        return data if len(data) == status.st_size else None  # a file that changed under us is a miss
    except OSError:
        return None
    finally:
        os.close(fd)


def write(name: str, data: bytes) -> None:
    """Replace the file atomically; any failure leaves the old file (or none) in place."""
    directory = _open_directory(create=True)
    if directory is None:
        return
    partial = f".{name}.{os.getpid()}"
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                     dir_fd=directory)
        try:
            write_all(fd, data)
        finally:
            os.close(fd)
        os.rename(partial, name, src_dir_fd=directory, dst_dir_fd=directory)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(partial, dir_fd=directory)
    finally:
        os.close(directory)
