"""ss's column layout: widths from the buffered rows, padding, and batch boundaries.

ss buffers its output fields in 1 MiB chunks and lays out (and prints) what it
has when it holds five chunks at the end of a row; column widths are the
widest field of each batch. When stdout is a terminal, the spare width of the
screen is shared out between the columns. This module reproduces those rules
as pure functions over rows of strings so that pyss's output matches ss's
byte for byte, including the batch boundaries of very large outputs.
"""

from __future__ import annotations

from _bisect import bisect_right  # bisect's C core: bisect.py itself is an import to spare
from _operator import add, and_
from itertools import accumulate, chain, repeat

from pyss.lite_typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import Any

    TextTable = Mapping[Any, str] | Sequence[str]  # key -> a field's text

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


def longest_above(lengths: bytes, floor: int) -> int:
    """The longest of these lengths if longer than ``floor``, else 0: in C, as few are."""
    return max(lengths.translate(None, _BYTE_VALUES[: floor + 1]), default=0) if floor < 256 else 0


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
        stored = sum(column.total for column in columns) + sum(column.odd for column in columns)
        return self.split_block(stored, len(columns[0].lengths), len(columns), trailing_fields,
                                lambda: list(chain.from_iterable(zip(*(column.lengths for column in columns),
                                                                     strict=True))))

    def split_block(self, stored: int, rows: int, row_fields: int, trailing_fields: int,
                    in_row_order: Callable[[], Sequence[int]]) -> int | None:
        """:meth:`split` for a block whose fields take ``stored`` bytes (see :func:`stored_size`);
        ``in_row_order`` gives their lengths row by row, needed only near a chunk's end."""
        size = stored + _TOKEN_HEADER * (rows * row_fields + trailing_fields * rows)
        if 0 < self.chunks < CHUNKS_PER_BATCH and self.offset + size + 4 < CHUNK_DATA:
            self.offset += size  # the block cannot reach a chunk's end: one step
            return None
        return self._walk(in_row_order(), row_fields, trailing_fields)

    def _walk(self, lengths: Sequence[int], row_fields: int, trailing_fields: int) -> int | None:
        """:meth:`split` field by field (lengths in row order), for a block that may reach a chunk's end.

        Rows that end short of the chunk's end change nothing but the offset: they are stepped over
        together, found by bisecting the block's running row sizes, and only the rows near a chunk's
        end are walked field by field.
        """
        rows = len(lengths) // row_fields
        # each row's size in a chunk, its trailing fields (stored when the next row starts) counted first
        stored = map(add, lengths, map(and_, lengths, repeat(1)))
        sizes = map(add, map(sum, zip(*[stored] * row_fields, strict=True)),
                    repeat(_TOKEN_HEADER * (row_fields + trailing_fields)))
        ends = list(accumulate(sizes, initial=0))  # ends[i]: the rows before row i
        index = 0
        while index < rows:
            if self.chunks >= CHUNKS_PER_BATCH:
                self.reset()
                return index
            if self.chunks and self.pending:
                # rows index..last-1 fit before the chunk's end (and keep 2 bytes spare): one step
                last = bisect_right(ends, ends[index] + CHUNK_DATA - _TOKEN_HEADER - self.offset, index, rows + 1) - 1
                if last > index:
                    self.offset += ends[last] - ends[index]
                    index = last
                    continue
            if self.pending:
                for _ in range(trailing_fields):
                    self._field(0)
            for length in lengths[index * row_fields : (index + 1) * row_fields]:
                self._field(length)
            self.pending = True
            index += 1
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


def stored_size(lengths: bytes) -> int:
    """What fields of these byte lengths take in ss's chunks, less their length headers: each is
    stored padded to an even size. Counted a distinct length at a time (a column holds few)."""
    total = 0
    for _ in range(8):
        if not lengths:
            return total
        value = lengths[0]
        total += (value + (value & 1)) * lengths.count(value)
        lengths = lengths.translate(None, _BYTE_VALUES[value : value + 1])
    return total + sum(lengths) + lengths.translate(_ODD).count(1)


# --- blocks kept as keys until their batch is laid out ------------------------------------------------


class KeyColumn:
    """One column of a :class:`KeyedBlock`: each row's key, the table that gives a key's field, and the
    fields' byte lengths (one byte a row), which the caller had without making the fields.

    ``few``: the table holds few distinct texts, so a padded text per key (and layout) is worth
    keeping; otherwise a field is laid out as its text followed (or preceded) by its padding.
    ``padded_to``: the table's texts are left-aligned in that many characters already (numeric
    ports in 5: the width of any batch that holds a 5-digit port), so a left-aligned column at least
    that wide lays a field out as its text and a fixed padding.
    """

    __slots__ = ("few", "keys", "lengths", "padded_to", "texts")

    def __init__(self, keys: Sequence[Any], texts: TextTable, lengths: bytes, few: bool = True,
                 padded_to: int = 0) -> None:
        self.keys = keys
        self.texts = texts
        self.lengths = lengths
        self.few = few
        self.padded_to = padded_to

    def cut(self, start: int, stop: int | None) -> KeyColumn:
        return KeyColumn(self.keys[start:stop], self.texts, self.lengths[start:stop], self.few, self.padded_to)

    def fields(self) -> list[str]:
        texts = self.texts
        if isinstance(texts, TextList):
            texts.complete((self.keys,))
        fields = map(texts.__getitem__, self.keys)
        return list(map(str.rstrip, fields) if self.padded_to else fields)

    def text(self, key: Any) -> str:
        """One key's field (its text, unpadded)."""
        texts = self.texts
        text = texts[key]
        if text is None and isinstance(texts, TextList):
            texts.complete(((key,),))
            text = texts[key]
        return text.rstrip() if self.padded_to else text


class TextList(list[str]):
    """Texts by small integer key (a port), made in bulk for the keys of a batch before it is laid out
    (:func:`complete_texts`); None marks a key without its text yet. ``make`` gives the texts of the keys
    it is given, in their order. ``every``, when given, makes every key's text at once, cheaper per text
    than ``make``: it is used for batches of ``every_from`` keys."""

    def __init__(self, size: int, make: Callable[[list[int]], Iterable[str]], given: dict[int, str],
                 every: Callable[[], list[str]] | None = None, every_from: int = 0) -> None:
        super().__init__([None] * size)  # type: ignore[list-item]  # None: no text yet (see complete_texts)
        self.make, self.every, self.every_from = make, every, every_from
        self.given = given  # texts ``make`` would not give
        self.made: set[int] | None = set(given)  # None: every key has its text
        for key, text in given.items():
            self[key] = text

    def complete(self, key_columns: Iterable[Sequence[int]]) -> None:
        """Make the texts these keys lack."""
        made = self.made
        if made is None:
            return
        key_columns = list(key_columns)
        if self.every is not None and sum(map(len, key_columns)) >= self.every_from:
            self[:] = self.every()
            for key, text in self.given.items():
                self[key] = text
            self.made = None
            return
        # (difference, not difference_update: that walks ``made``, which grows to thousands of keys,
        # for every block laid out ahead; difference walks the smaller of the two)
        missing = list(set().union(*key_columns).difference(made))
        made.update(missing)
        for key, text in zip(missing, self.make(missing), strict=True):
            self[key] = text


_TWO_DIGITS = [f"{number:02d}" for number in range(100)]


def every_port_text() -> list[str]:
    """Every port's decimal text, 0 to 65535: made a hundred at a time (prefix + two digits, in C), twice
    as fast as str() of each."""
    texts = list(map(str, range(100)))
    for hundreds in range(1, 656):
        texts += map(add, repeat(str(hundreds)), _TWO_DIGITS)
    del texts[65536:]
    return texts


def _decimal(numbers: list[int]) -> Iterable[str]:
    return map(str, numbers)


def port_texts(every_from: int = 1 << 17, width: int = 0) -> TextList:
    """A numeric port's text by port ("*" for 0), left-aligned in ``width`` characters, made as batches
    need them (see :class:`TextList`)."""
    if not width:
        return TextList(65536, _decimal, {0: "*"}, every_port_text, every_from)

    def padded(ports: list[int]) -> Iterable[str]:
        return map(str.ljust, map(str, ports), repeat(width))

    def every() -> list[str]:
        return list(map(str.ljust, every_port_text(), repeat(width)))

    return TextList(65536, padded, {0: "*".ljust(width)}, every, every_from)


def complete_texts(blocks: Iterable[object]) -> None:
    """Before a batch is laid out: the texts its keyed blocks' TextLists lack, made in one go per list."""
    wanted: dict[int, tuple[TextList, list[Sequence[int]]]] = {}
    for block in blocks:
        if isinstance(block, KeyedBlock):
            for column in block.columns:
                if isinstance(column.texts, TextList):
                    wanted.setdefault(id(column.texts), (column.texts, []))[1].append(column.keys)
    for texts, keys in wanted.values():
        texts.complete(keys)


class _Padded(dict["Any", str]):  # quoted: typing is imported for type checkers only
    """key -> its field laid out in its column, with fixed texts around it: a cache that fills itself."""

    def __init__(self, texts: TextTable, lay: Callable[[str], str], before: str, after: str) -> None:
        super().__init__()
        self.texts, self.lay, self.before, self.after = texts, lay, before, after

    def __missing__(self, key: Any) -> str:
        text = self[key] = self.before + self.lay(self.texts[key]) + self.after
        return text


def _lay(align: str, room: int) -> Callable[[str], str]:
    """A field's text -> its text padded in its column, as :func:`row_format`'s %-format pads it."""
    if not room:
        return str
    return (lambda text: text.ljust(room)) if align == LEFT else (lambda text: text.rjust(room))


class PaddedTexts:
    """The laid-out texts of a listing's tables, by layout: one per writer, kept from batch to batch."""

    __slots__ = ("_pads", "_tables")

    def __init__(self) -> None:
        self._tables: dict[tuple[int, str, int, str, str, bool], tuple[TextTable, Sequence[str] | _Padded]] = {}
        self._pads: dict[tuple[int, str, str], list[str]] = {}

    def table(self, column: KeyColumn, align: str, room: int, before: str, after: str) -> Sequence[str] | _Padded:
        """key -> field laid out: a list by byte value for a column keyed by bytes, else a dict."""
        texts = column.texts
        by_byte = isinstance(column.keys, bytes)
        key = (id(texts), align, room, before, after, by_byte)
        found = self._tables.get(key)
        if found is not None and found[0] is texts:
            return found[1]
        padded = _Padded(texts, _lay(align, room), before, after)
        table: Sequence[str] | _Padded = list(map(padded.__getitem__, range(len(texts)))) if by_byte else padded
        self._tables[key] = (texts, table)
        return table

    def pads(self, room: int, before: str, after: str) -> list[str]:
        """field length -> the padding that lays it out in ``room``, with the fixed texts around it."""
        key = (room, before, after)
        pads = self._pads.get(key)
        if pads is None:
            pads = self._pads[key] = [before + " " * max(room - length, 0) + after for length in range(256)]
        return pads


class _Piece:
    """One part of every row of a block as it is laid out: a fixed text, or a column's fields."""

    __slots__ = ("after", "align", "before", "column", "room", "wide")

    def __init__(self, column: KeyColumn | None, align: str = LEFT, room: int = 0, before: str = "") -> None:
        self.column, self.align, self.room = column, align, room
        self.before, self.after = before, ""
        self.wide = False  # the column's texts are padded to its room (or less, the rest being fixed text)

    def takes_after(self) -> bool:
        return self.column is not None and not self.wide and (self.column.few or self.align == LEFT)

    def takes_before(self) -> bool:
        return self.column is not None and not self.wide and (self.column.few or self.align != LEFT)


class KeyedBlock:
    """Rows of a block given as :class:`KeyColumn` s: the fields are made only when the batch is laid out.

    Laid out, a row is joined from a piece for each column that varies in the block: a padded text
    per key for a column of few texts, else the field's text and its padding (found by the field's
    length). The columns that do not vary in the block, and the delimiters, are fixed texts put into
    the pieces beside them. Rows of non-ASCII fields are laid out as :func:`render_block` lays them.
    """

    __slots__ = ("columns", "rows")

    def __init__(self, columns: list[KeyColumn], rows: int) -> None:
        self.columns = columns
        self.rows = rows

    def cut(self, start: int, stop: int | None = None) -> KeyedBlock:
        return KeyedBlock([column.cut(start, stop) for column in self.columns], len(range(self.rows)[start:stop]))

    def stored_size(self) -> int:
        """What the block's fields take in ss's chunks, length headers left out."""
        return sum([stored_size(column.lengths) for column in self.columns])

    def row_order_lengths(self) -> list[int]:
        return list(chain.from_iterable(zip(*(column.lengths for column in self.columns), strict=True)))

    def fields(self) -> list[list[str]]:
        return [column.fields() for column in self.columns]

    def render(self, layout: Sequence[Column], widths: Sequence[int], padded: PaddedTexts) -> str:
        try:
            text = self._joined(layout, widths, padded)
        except TypeError:  # a TextList without some of the block's texts yet: they are made, then laid out
            lists = [column for column in self.columns if isinstance(column.texts, TextList)]
            if not lists:
                raise
            for column in lists:
                column.texts.complete((column.keys,))  # type: ignore[union-attr]
            text = self._joined(layout, widths, padded)
        if text.isascii():
            return text
        return render_block(layout, widths, self.fields())

    def _joined(self, layout: Sequence[Column], widths: Sequence[int], padded: PaddedTexts) -> str:
        """The rows' text: the pieces' texts put into their places in one list (a stepped slice each), joined."""
        pieces = self._rows(layout, widths, padded)
        count = len(pieces)
        texts: list[str | None] = [None] * (count * self.rows)
        for index, piece in enumerate(pieces):
            texts[index::count] = piece
        return "".join(texts)  # type: ignore[arg-type]  # None where a TextList lacked a text: TypeError

    def _rows(self, layout: Sequence[Column], widths: Sequence[int], padded: PaddedTexts) -> list[Iterable[str]]:
        """The row's pieces, each an iterable of its texts row by row."""
        rows: list[Iterable[str]] = []
        for piece in self._pieces(layout, widths):
            column = piece.column
            if column is None:
                rows.append([piece.before] * self.rows)
            elif piece.wide:
                rows.append(map(column.texts.__getitem__, column.keys))
            elif column.few:
                rows.append(map(padded.table(column, piece.align, piece.room, piece.before, piece.after).__getitem__,
                                column.keys))
            else:
                pads = map(padded.pads(piece.room, piece.before, piece.after).__getitem__, column.lengths)
                texts = map(column.texts.__getitem__, column.keys)
                if column.padded_to:  # a column narrower than its texts' padding
                    texts = map(str.rstrip, texts)
                rows += (texts, pads) if piece.align == LEFT else (pads, texts)
        return rows

    def _pieces(self, layout: Sequence[Column], widths: Sequence[int]) -> list[_Piece]:
        """The row as pieces: each fixed text (a column that does not vary, a delimiter) goes into the
        piece before it when that piece can take it, else into the one after, else stands alone."""
        pieces: list[_Piece] = []
        fixed = ""
        for index, (column, width, keyed) in enumerate(zip(layout, widths, self.columns, strict=True)):
            delimiter = column.delimiter if index else ""
            room = max(width - len(delimiter), 0) if width else 0
            keys = keyed.keys
            first = keys[0]
            if first == keys[-1] and keys.count(first) == self.rows:
                fixed += delimiter + _lay(column.align, room)(keyed.text(first))
                continue
            fixed += delimiter
            piece = _Piece(keyed, column.align, room)
            wide = keyed.padded_to and column.align == LEFT and room >= keyed.padded_to
            if wide:  # texts padded already: the piece takes no fixed text; the rest of its padding follows it
                piece.wide = True
            if fixed:
                if pieces and pieces[-1].takes_after():
                    pieces[-1].after += fixed
                elif piece.takes_before():
                    piece.before = fixed
                else:
                    pieces.append(_Piece(None, before=fixed))
                fixed = ""
            pieces.append(piece)
            if wide:
                fixed = " " * (room - keyed.padded_to)
        fixed += "\n"
        if pieces and pieces[-1].takes_after():
            pieces[-1].after += fixed
        else:
            pieces.append(_Piece(None, before=fixed))
        return pieces
