"""ss's column layout: widths from the buffered rows, padding, and batch boundaries.

ss buffers its output fields in 1 MiB chunks and lays out (and prints) what it
has when it holds five chunks at the end of a row; column widths are the
widest field of each batch. When stdout is a terminal, the spare width of the
screen is shared out between the columns. This module reproduces those rules
as pure functions over rows of strings so that pyss's output matches ss's
byte for byte, including the batch boundaries of very large outputs.
"""

from __future__ import annotations

from itertools import chain

from pyss.lite_typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

LEFT, RIGHT = "L", "R"

CHUNK_DATA = 1024 * 1024 - 16  # a chunk's data area: 1 MiB less its two-pointer header
CHUNKS_PER_BATCH = 5
_TOKEN_HEADER = 2  # each field is stored behind a 16-bit length


class Column(NamedTuple):
    align: str
    header: str
    delimiter: str  # printed before the field unless it starts the line


def column_widths(columns: Sequence[Column], maxima: Sequence[int], screen_width: int | None) -> list[int]:
    """Width of each column (delimiter included, except for the line's first column)."""
    widths = []
    first = True
    for column, longest in zip(columns, maxima, strict=True):
        width = longest + len(column.delimiter) if not first and longest else longest
        if screen_width is not None:
            width = min(width, screen_width)
        if width:
            first = False
        widths.append(width)
    if screen_width is not None:
        _spread(widths, screen_width)
    return widths


def _spread(widths: list[int], screen_width: int) -> None:
    """Share the screen's spare width between the columns of each screen line, as ss does."""
    line_start = 0
    used = 0
    count = 0
    index = 0
    while index < len(widths):
        if not widths[index]:
            index += 1
            continue
        count += 1
        used += widths[index]
        is_last = not any(widths[index + 1 :])
        if not is_last and used < screen_width:
            index += 1
            continue
        if used != screen_width:
            if used > screen_width:
                used -= widths[index]
                index -= 1
                count -= 1
            pad = screen_width - used
            spacing, remainder = divmod(pad, count) if count else (0, 0)
            for j in range(index, line_start - 1, -1):
                if not widths[j]:
                    continue
                widths[j] += spacing
                if remainder:
                    widths[j] += 1
                    remainder -= 1
        line_start = index + 1
        used = 0
        count = 0
        index += 1


def row_format(columns: Sequence[Column], widths: Sequence[int]) -> str:
    """A %-format string that lays out one row with the given widths."""
    parts = []
    first = True
    for column, width in zip(columns, widths, strict=True):
        delimiter = "" if first else column.delimiter
        first = False
        room = max(width - len(delimiter), 0) if width else 0
        flag = "-" if column.align == LEFT else ""
        parts.append(delimiter.replace("%", "%%") + (f"%{flag}{room}s" if room else "%s"))
    return "".join(parts)


def byte_length(text: str) -> int:
    """The length ss measures: bytes as written (pyss's text decodes the kernel's bytes as UTF-8, surrogates kept)."""
    return len(text.encode("utf-8", "surrogateescape"))


def field_lengths(fields: Iterable[str], joined: str) -> list[int]:
    """Lengths of ``fields`` in bytes; ``joined`` is their concatenation, whose ASCII flag CPython keeps for free."""
    return list(map(len if joined.isascii() else byte_length, fields))


class ColumnLengths(NamedTuple):
    """What the layout needs of one column of a block: its fields' byte lengths, summed up."""

    total: int  # bytes of all fields
    odd: int  # fields of odd length (ss pads each stored field to an even size)
    longest_but_last: int  # the longest field but the block's last, if longer than the floor asked about
    last: int
    lengths: Sequence[int]


_ODD = b"\x00\x01" * 128  # byte value -> its low bit
# bytes(range(256))[:n + 1] are the byte values up to n: a slice costs nothing at start-up, where
# a table of the 256 prefixes took ~6M instructions (a sixth of what `python -c pass` takes).
_BYTE_VALUES = bytes(range(256))


def column_lengths(column: Sequence[str], floor: int = 0, known: bytes | None = None) -> ColumnLengths:
    """Sum up a column's field lengths; runs once per column of every block, in C as far as it can.

    Lengths are kept as bytes, one a field, so that the sum, the odd count
    and the longest (only fields longer than ``floor``, the column's width
    so far, are looked at) are each one C-level pass. ``known`` gives the
    lengths when the caller has them without measuring (texts from a table).
    """
    if known is not None:
        lengths = known
        total = sum(known)
    else:
        joined = "".join(column)
        ascii_only = joined.isascii()
        try:
            lengths = bytes(map(len if ascii_only else byte_length, column))
        except ValueError:  # a field of 256 bytes or more
            return _long_column_lengths(list(map(len if ascii_only else byte_length, column)))
        total = len(joined) if ascii_only else sum(lengths)
    but_last = lengths[:-1]
    above = but_last.translate(None, _BYTE_VALUES[:floor + 1]) if floor < 256 else b""
    return ColumnLengths(total, lengths.translate(_ODD).count(1), max(above, default=0), lengths[-1], lengths)


def _long_column_lengths(lengths: list[int]) -> ColumnLengths:
    odd = sum(map((1).__and__, lengths))
    return ColumnLengths(sum(lengths), odd, max(lengths[:-1], default=0), lengths[-1], lengths)


def render_block(columns: Sequence[Column], widths: Sequence[int], block: Sequence[Sequence[str]]) -> str:
    """Lay out a block of rows given column by column.

    A column whose field is the same in every row of the block (the queues of idle sockets, an empty
    Process column) is laid out once, into the block's %-format string, so that each row formats
    only the fields that vary. %-formatting pads by characters; rows holding non-ASCII text (a UTF-8
    socket path, a process name) are padded again by bytes, as ss pads them.
    """
    parts = []
    varying = []
    for index, (column, width, fields) in enumerate(zip(columns, widths, block, strict=True)):
        delimiter = column.delimiter if index else ""
        room = max(width - len(delimiter), 0) if width else 0
        first = fields[0]
        if first == fields[-1] and fields.count(first) == len(fields):
            laid = first.ljust(room) if column.align == LEFT else first.rjust(room)
            parts.append((delimiter + laid).replace("%", "%%"))
        else:
            flag = "-" if column.align == LEFT else ""
            parts.append(delimiter.replace("%", "%%") + (f"%{flag}{room}s" if room else "%s"))
            varying.append(fields)
    row = "".join(parts) + "\n"
    text = "".join(map(row.__mod__, zip(*varying, strict=True))) if varying else (row % ()) * len(block[0])
    if text.isascii():
        return text
    return "".join([_byte_padded(columns, widths, row) for row in zip(*block, strict=True)])


def _byte_padded(columns: Sequence[Column], widths: Sequence[int], row: Sequence[str]) -> str:
    parts = []
    for index, (column, width, value) in enumerate(zip(columns, widths, row, strict=True)):
        delimiter = column.delimiter if index else ""
        room = max(width - len(delimiter), 0) if width else 0
        padding = " " * max(room - byte_length(value), 0)
        parts.append(delimiter + (value + padding if column.align == LEFT else padding + value))
    return "".join(parts) + "\n"


class BatchTracker:
    """Follows ss's chunk accounting to find where ss would lay out and flush a batch.

    ss renders when, at the start of a row, five chunks are in use. Rows are
    fed in blocks; a block that cannot reach a chunk's end is accounted for
    in one step, and only blocks near a boundary are walked field by field.
    """

    __slots__ = ("chunks", "offset", "pending")

    def __init__(self) -> None:
        self.chunks = 0
        self.offset = 0  # where the current field's length header sits in the current chunk
        self.pending = False  # the previous row's trailing fields are stored when the next row starts

    def reset(self) -> None:
        self.chunks = 0
        self.offset = 0
        self.pending = False

    def split(self, columns: Sequence[ColumnLengths], trailing_fields: int) -> int | None:
        """Account for a block of rows given by each column's field lengths.

        Returns the index of the row that starts a new batch, if one starts
        among them. ``trailing_fields`` counts the always-empty fields ss
        stores after each row.
        """
        rows = len(columns[0].lengths)
        size = (sum(column.total for column in columns) + sum(column.odd for column in columns)
                + _TOKEN_HEADER * (rows * len(columns) + trailing_fields * rows))
        if 0 < self.chunks < CHUNKS_PER_BATCH and self.offset + size + 4 < CHUNK_DATA:
            self.offset += size  # the block cannot reach a chunk's end: one step
            return None
        in_row_order = list(chain.from_iterable(zip(*(column.lengths for column in columns), strict=True)))
        return self._walk(in_row_order, len(columns), trailing_fields)

    def _walk(self, lengths: Sequence[int], row_fields: int, trailing_fields: int) -> int | None:
        """:meth:`split` field by field (lengths in row order), for a block that may reach a chunk's end."""
        rows = len(lengths) // row_fields
        for index in range(rows):
            if self.chunks >= CHUNKS_PER_BATCH:
                self.reset()
                return index
            if self.pending:
                for _ in range(trailing_fields):
                    self._field(0)
            for length in lengths[index * row_fields : (index + 1) * row_fields]:
                self._field(length)
            self.pending = True
        return None

    def _field(self, length: int) -> None:
        if not self.chunks:
            self.chunks = 1
            self.offset = 0
        end = self.offset + _TOKEN_HEADER + length
        if length >= CHUNK_DATA - (self.offset + _TOKEN_HEADER) and self.offset:
            self.chunks += 1
            end = _TOKEN_HEADER + length
        padded = end + (length & 1)
        if CHUNK_DATA - padded < _TOKEN_HEADER:
            self.chunks += 1
            self.offset = 0
        else:
            self.offset = padded
