"""Kernel structs as field tables: the struct.Struct a decoder unpacks and each field's offset, from one list.

A layout is written once, field by field in the kernel's order, with the
kernel's ``sizeof``. The decoders unpack with :attr:`Layout.struct`; the
columnar fast path reads single fields of many messages at once through
strided memoryviews at :meth:`Layout.offset`. Both come from the same table,
and the table is checked when it is built, at import: the fields must add up
to the kernel's size and each must sit on its natural alignment (a missing
padding field shows up as a misaligned one), so a wrong table fails loudly
instead of reading the wrong bytes.
"""

from __future__ import annotations

import struct

from pyss.lite_typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

Field = tuple[str, str]  # (name, struct code without byte order: "B", "H", "I", "16s", "2I", "4s12x" ...)


class LayoutError(Exception):
    """A field table that does not match the struct it describes."""


def _alignment(code: str) -> int:
    """The natural alignment of a field: that of its element type (1 for bytes and padding)."""
    element = code.lstrip("0123456789")[:1]
    return struct.calcsize(f"={element}") if element in "HhIiQq" else 1


class Layout:
    """One C struct: ``fields`` in order, ``size`` its sizeof in the kernel headers."""

    def __init__(self, name: str, fields: Sequence[Field], size: int) -> None:
        self.name = name
        self.fields = tuple(fields)
        self.size = size
        self._offsets: dict[str, int] = {}
        at = 0
        for field, code in self.fields:
            if at % _alignment(code):
                raise LayoutError(f"{name}.{field} ({code}) at offset {at} is not aligned: a padding field is missing")
            self._offsets[field] = at
            at += struct.calcsize(f"={code}")
        if at != size:
            raise LayoutError(f"{name}: the fields add up to {at} bytes, the kernel's struct has {size}")
        self.struct = struct.Struct("=" + "".join(code for _field, code in self.fields))

    def offset(self, field: str) -> int:
        """Where ``field`` starts, in bytes from the start of the struct."""
        return self._offsets[field]

    def variant(self, codes: Mapping[str, str]) -> Layout:
        """The same struct with some fields read another way (same sizes, or the check fails)."""
        fields = [(field, codes.get(field, code)) for field, code in self.fields]
        return Layout(self.name, fields, self.size)

    def prefix(self, last: str) -> struct.Struct:
        """A Struct of the fields up to and including ``last`` (for reading only a header's start)."""
        names = [field for field, _code in self.fields]
        return struct.Struct("=" + "".join(code for _field, code in self.fields[: names.index(last) + 1]))
