"""A small on-disk cache of filter parse trees, keyed by the filter's words.

Importing pyparsing takes ~45 ms, twice what ss needs to answer a filtered
query; the grammar's answer depends only on the words, and the same filter
tends to come back. A hit costs one small file read.

The file (``filters`` in :mod:`pyss.system.user_cache`'s directory, which
decides whom to trust) is read by a decoder written for hostile input: a
fixed header with a format version and pyss's version, length-prefixed
entries whose every length is checked against what is left, a CRC-32 over
the whole, and trees in postfix form rebuilt on an explicit stack. Any input
is decoded in time and memory linear in its size (itself capped), and
anything unexpected is a miss. The layout, all integers little-endian::

    MAGIC  u16 format  u8 n  pyss-version[n]  u16 count
    count x ( u32 key-length  key  u32 tree-length  tree )
    u32 crc32 of all the bytes before it

A key is the filter's synthetic text (keywords and ``v``: ASCII). A tree is a
postfix program: ``c`` field op position(u32) pushes a condition, ``a``
pushes autobound, ``n`` replaces the top with its negation, ``&``/``|``
replace the top two with their conjunction/disjunction; it must leave one
tree. An empty program is the empty filter. A condition's position must be
where a value word stands in the key.
"""

from __future__ import annotations

import zlib

from pyss import __version__
from pyss.filter.errors import Raw
from pyss.system import user_cache

FILE_NAME = "filters"
MAGIC = b"pyss filter trees\n"
FORMAT = 2  # 1 was marshal
MAX_BYTES = 1 << 20  # the whole file
MAX_ENTRIES = 64  # filters kept, the least recently stored dropped first
_VERSION = __version__.encode("ascii", "replace")[:255]
_HEADER = MAGIC + FORMAT.to_bytes(2, "little") + bytes([len(_VERSION)]) + _VERSION
_FIELDS = ("dst", "src", "dport", "sport", "dev", "fwmark", "cgroup")
_OPS = ("=", "!=", ">=", "<=", ">", "<")
_COND, _AUTO, _NOT, _AND, _OR = ord("c"), ord("a"), ord("n"), ord("&"), ord("|")
_JOINERS = {_AND: "and", _OR: "or"}
_MISS: tuple[bool, Raw | None] = (False, None)

Entries = list[tuple[bytes, bytes]]  # (key, encoded tree), oldest first


class Damaged(Exception):
    """The bytes are not a cache file of this format."""


# --- the tree programs ---------------------------------------------------------------------

def encode_tree(raw: Raw | None) -> bytes:
    """The postfix program of a tree (iterative: trees can be thousands of levels deep)."""
    out = bytearray()
    pending: list[tuple[Raw, bool]] = [] if raw is None else [(raw, False)]
    while pending:
        node, expanded = pending.pop()
        tag = node[0]
        if tag == "cond":
            out += bytes((_COND, _FIELDS.index(node[1]), _OPS.index(node[2]))) + node[3].to_bytes(4, "little")
        elif tag == "auto":
            out.append(_AUTO)
        elif expanded:
            out.append(_NOT if tag == "not" else _AND if tag == "and" else _OR)
        else:
            pending.append((node, True))
            pending.extend((child, False) for child in reversed(node[1:]))
    return bytes(out)


def decode_tree(program: bytes, value_positions: frozenset[int]) -> Raw | None:
    """The tree of a postfix program; raises Damaged for anything but a well-formed one."""
    stack: list[Raw] = []
    index, size = 0, len(program)
    while index < size:
        code = program[index]
        if code == _COND:
            if index + 7 > size or program[index + 1] >= len(_FIELDS) or program[index + 2] >= len(_OPS):
                raise Damaged
            position = int.from_bytes(program[index + 3:index + 7], "little")
            if position not in value_positions:
                raise Damaged
            stack.append(("cond", _FIELDS[program[index + 1]], _OPS[program[index + 2]], position))
            index += 7
            continue
        if code == _AUTO:
            stack.append(("auto",))
        elif code == _NOT and stack:
            stack.append(("not", stack.pop()))
        elif code in _JOINERS and len(stack) >= 2:
            right = stack.pop()
            stack.append((_JOINERS[code], stack.pop(), right))
        else:
            raise Damaged
        index += 1
    if len(stack) > 1:
        raise Damaged
    return stack[0] if stack else None


def value_positions(synthetic: str) -> frozenset[int]:
    """Where the value words (written ``v``) start in a synthetic text."""
    positions, offset = [], 0
    for word in synthetic.split(" "):
        if word == "v":
            positions.append(offset)
        offset += len(word) + 1
    return frozenset(positions)


# --- the file ------------------------------------------------------------------------------

def encode_file(entries: Entries) -> bytes:
    body = bytearray(_HEADER)
    body += len(entries).to_bytes(2, "little")
    for key, tree in entries:
        body += len(key).to_bytes(4, "little") + key + len(tree).to_bytes(4, "little") + tree
    return bytes(body) + zlib.crc32(body).to_bytes(4, "little")


def decode_file(data: bytes) -> Entries:
    """The entries of a file; raises Damaged unless it is whole, of this format and this pyss."""
    if len(data) < len(_HEADER) + 6 or not data.startswith(_HEADER):
        raise Damaged
    body, checksum = data[:-4], data[-4:]
    if zlib.crc32(body).to_bytes(4, "little") != checksum:
        raise Damaged
    count = int.from_bytes(body[len(_HEADER):len(_HEADER) + 2], "little")
    index = len(_HEADER) + 2
    entries: Entries = []
    for _ in range(min(count, MAX_ENTRIES)):
        key, index = _chunk(body, index)
        tree, index = _chunk(body, index)
        entries.append((key, tree))
    if index != len(body) or len(entries) != count:
        raise Damaged
    return entries


def _chunk(body: bytes, index: int) -> tuple[bytes, int]:
    if index + 4 > len(body):
        raise Damaged
    size = int.from_bytes(body[index:index + 4], "little")
    end = index + 4 + size
    if end > len(body):
        raise Damaged
    return body[index + 4:end], end


def _entries() -> Entries:
    data = user_cache.read(FILE_NAME, MAX_BYTES)
    if data is None:
        return []
    try:
        return decode_file(data)
    except Damaged:
        return []


def lookup(synthetic: str) -> tuple[bool, Raw | None]:
    """(True, tree) when the cache holds the tree of this filter, else (False, None)."""
    key = synthetic.encode("ascii", "replace")
    for stored, tree in _entries():
        if stored == key:
            try:
                return True, decode_tree(tree, value_positions(synthetic))
            except Damaged:
                return _MISS
    return _MISS


def store(synthetic: str, raw: Raw | None) -> None:
    if not user_cache.enabled():
        return
    key = synthetic.encode("ascii", "replace")
    entries = [(stored, tree) for stored, tree in _entries() if stored != key]
    entries.append((key, encode_tree(raw)))
    entries = entries[-MAX_ENTRIES:]
    data = encode_file(entries)
    while len(data) > MAX_BYTES and len(entries) > 1:
        entries = entries[len(entries) // 2:]  # the newest half, until it fits
        data = encode_file(entries)
    if len(data) <= MAX_BYTES:
        user_cache.write(FILE_NAME, data)
