"""Read the small files the kernel and the system publish (/proc/net/*, /proc/sys/*, /etc/services ...).

Every file is untrusted: reads are bounded, a FIFO or device put in a file's
place is refused rather than waited on, and a file that cannot be read is
None for the caller to explain (ss and netstat each have their words for it).
"""

from __future__ import annotations

import os
import stat

# Far above any real /proc/net table or /etc file (a 50k-socket /proc/net/tcp is ~8 MiB).
MAX_FILE_BYTES = 64 << 20
# The local port range ss assumes when /proc/sys/net/ipv4/ip_local_port_range cannot be read.
DEFAULT_EPHEMERAL_RANGE = (1024, 4999)


def read_bytes(path: str, limit: int = MAX_FILE_BYTES) -> bytes | None:
    """The whole file, or None when it cannot be read, is not a regular file, or is longer than ``limit``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except (OSError, ValueError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, 1 << 16):  # /proc files report size 0: read to the end
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def read_text(path: str, limit: int = MAX_FILE_BYTES) -> str | None:
    """:func:`read_bytes` as text (UTF-8, bad bytes replaced, line ends made ``\\n`` as text files read them)."""
    data = read_bytes(path, limit)
    if data is None:
        return None
    text = data.decode("utf-8", "replace")
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def proc_file(variable: str, name: str) -> str:
    """Where ss reads a /proc file: the file its environment variable names, else $PROC_ROOT/NAME
    (PROC_ROOT defaulting to /proc)."""
    path = os.environ.get(variable)
    return path if path is not None else f"{os.environ.get('PROC_ROOT', '/proc')}/{name}"


_EPHEMERAL: list[tuple[int, int]] = []  # read once (a plain list: functools costs ~10M instructions)


def ephemeral_port_range() -> tuple[int, int]:
    """The kernel's local (ephemeral) port range, or ss's fallback when it cannot be read."""
    if not _EPHEMERAL:
        _EPHEMERAL.append(_read_ephemeral_port_range())
    return _EPHEMERAL[0]


def _read_ephemeral_port_range() -> tuple[int, int]:
    text = read_text(proc_file("PROC_IP_LOCAL_PORT_RANGE", "sys/net/ipv4/ip_local_port_range"), limit=4096)
    try:
        low, high = (text or "").split()[:2]
        return int(low), int(high)
    except ValueError:
        return DEFAULT_EPHEMERAL_RANGE
