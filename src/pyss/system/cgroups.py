"""cgroup v2: where the hierarchy is mounted, and ids <-> paths (ss -e and --cgroup, the filter's cgroup)."""

from __future__ import annotations

import os
import sys

from pyss.system.procfs import read_text

_OCTAL_DIGITS = frozenset("01234567")


def unescape_mount_field(field: str) -> str:
    """A /proc/mounts field with getmntent's octal escapes (``\\040`` for a space) undone: each backslash
    followed by three octal digits, left to right. Without re, which brings enum and more start-up than
    the details' whole own."""
    if "\\" not in field:
        return field
    first, *rest = field.split("\\")
    parts = [first]
    for part in rest:
        if len(part) >= 3 and _OCTAL_DIGITS.issuperset(part[:3]):
            parts.append(chr(int(part[:3], 8)) + part[3:])
        else:
            parts.append("\\" + part)
    return "".join(parts)


def cgroup2_mount(mounts_path: str = "/proc/mounts") -> str | None:
    """The first cgroup2 mount point, as iproute2's find_fs_mount finds it (getmntent's octal escapes undone)."""
    for line in (read_text(mounts_path) or "").splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == "cgroup2":
            return unescape_mount_field(fields[1])
    return None


def cgroup_id(path: str) -> int | None:
    """The id of a cgroup given as a path, as iproute2 reads it: the 8-byte file handle of the path as given
    (a cgroup2 directory's handle is its id), else the cgroup of that name under the cgroup2 mount (its
    directory's inode). None when neither names one: a path on a file system without such handles (sysfs,
    procfs) is only a cgroup's name, whatever inode it has."""
    handle = _file_handle(path)
    if handle is not None:
        return handle
    relative = path.lstrip("/")
    mount = cgroup2_mount()
    if not relative or mount is None:
        return None
    try:
        return os.stat(os.path.join(mount, relative)).st_ino
    except (OSError, ValueError):
        return None


_AT_FDCWD = -100  # fcntl.h


def _file_handle(path: str) -> int | None:
    """name_to_handle_at(2)'s handle of ``path`` as a number, if it is 8 bytes long (ss reads no other), else
    None. ctypes only here: a cgroup filter is rare, and the os module has no name_to_handle_at."""
    import ctypes

    class FileHandle(ctypes.Structure):
        _fields_ = (("handle_bytes", ctypes.c_uint), ("handle_type", ctypes.c_int),
                    ("f_handle", ctypes.c_ubyte * 8))

    encoded = os.fsencode(path)
    if b"\0" in encoded:
        return None
    handle = FileHandle(8, 0)
    mount_id = ctypes.c_int(0)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.name_to_handle_at(_AT_FDCWD, encoded, ctypes.byref(handle), ctypes.byref(mount_id), 0) != 0:
        return None
    return int.from_bytes(bytes(handle.f_handle), sys.byteorder) if handle.handle_bytes == 8 else None


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
            mount = cgroup2_mount()
            if mount is None:
                # ss says this on every lookup; once is enough to explain the 'unreachable' paths.
                sys.stderr.write("Failed to find cgroup2 mount\n")
            self._paths = _walk_cgroups(mount) if mount is not None else {}
        path = self._paths.get(cgroup_id)
        return path if path is not None else f"unreachable:{cgroup_id:x}"


cgroup_path = CgroupNames()
"""The cgroup v2 path for an INET_DIAG_CGROUP_ID, or ss's 'unreachable:ID' when it is unknown."""
