"""A small on-disk cache of filter parse trees, keyed by the filter's words.

Importing pyparsing takes ~45 ms, twice what ss needs to answer a filtered
query; the grammar's answer depends only on the words, and the same filter
tends to come back. A hit costs one small file read.

The cache is ``$XDG_CACHE_HOME/pyss/filters`` (default ``~/.cache``) and
``PYSS_FILTER_CACHE=0`` turns it off. The file is read only when it belongs
to the effective user and no one else can write it (``sudo pyss`` keeping a
user's HOME must not trust that user's file), and never through a symlink.
Whatever goes wrong reading or writing it is a miss, never an error.
"""

from __future__ import annotations

import contextlib
import marshal
import os

from pyss import __version__
from pyss.filter.errors import Raw

_FORMAT = f"pyss {__version__} filter trees 1"
_FORMAT_KEY = 0  # entries are keyed by str: an int key cannot clash with a filter
_LIMIT = 64  # filters kept, the least recently stored dropped first
_MAX_BYTES = 1 << 20
_MISS: tuple[bool, Raw | None] = (False, None)
_TAGS = {"cond": 4, "auto": 1, "not": 2, "and": 3, "or": 3}  # a node's tag -> its tuple's length


def lookup(synthetic: str) -> tuple[bool, Raw | None]:
    """(True, tree) when the cache holds the tree of this filter, else (False, None)."""
    path = _path()
    if path is None:
        return _MISS
    entries = _load(path)
    if synthetic not in entries:
        return _MISS
    raw = entries[synthetic]
    if raw is None:
        return True, None
    return (True, raw) if isinstance(raw, tuple) and _well_formed(raw, len(synthetic)) else _MISS


def store(synthetic: str, raw: Raw | None) -> None:
    path = _path()
    if path is None:
        return
    entries = _load(path)
    entries.pop(synthetic, None)
    entries[synthetic] = raw
    for old in [key for key in entries if key != _FORMAT_KEY][:-_LIMIT]:
        del entries[old]
    entries[_FORMAT_KEY] = _FORMAT
    try:
        data = marshal.dumps(entries)
    except ValueError:  # a tree nested too deeply for marshal: leave it out
        return
    _write(path, data)


def _path() -> str | None:
    if os.environ.get("PYSS_FILTER_CACHE") == "0":
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "pyss", "filters") if os.path.isabs(base) else None


def _load(path: str) -> dict[object, object]:
    try:
        with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb") as source:
            status = os.fstat(source.fileno())
            if status.st_uid != os.geteuid() or status.st_mode & 0o022 or status.st_size > _MAX_BYTES:
                return {}
            data = source.read(_MAX_BYTES + 1)
    except OSError:
        return {}
    try:
        entries = marshal.loads(data)
    except (EOFError, ValueError, TypeError):
        return {}
    return entries if isinstance(entries, dict) and entries.get(_FORMAT_KEY) == _FORMAT else {}


def _write(path: str, data: bytes) -> None:
    partial = f"{path}.{os.getpid()}"
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(partial, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(partial)


def _well_formed(raw: object, size: int) -> bool:
    """A tree of the grammar's shapes whose value positions fall inside the filter (a hand-edited or
    damaged file must not reach the tree builder)."""
    pending = [raw]
    while pending:
        node = pending.pop()
        if not isinstance(node, tuple) or not node or _TAGS.get(node[0]) != len(node):
            return False
        tag = node[0]
        if tag == "cond":
            if not (isinstance(node[1], str) and isinstance(node[2], str) and isinstance(node[3], int)
                    and 0 <= node[3] < size):
                return False
        elif tag != "auto":
            pending.extend(node[1:])
    return True
