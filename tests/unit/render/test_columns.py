"""ss's layout rules as pure functions."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyss.render.columns import (
    CHUNK_DATA,
    LEFT,
    RIGHT,
    BatchTracker,
    Column,
    column_lengths,
    column_widths,
    field_lengths,
    render_block,
)

COLUMNS = (
    Column(LEFT, "State", ""),
    Column(LEFT, "Recv-Q", " "),
    Column(RIGHT, "Local Address:", " "),
    Column(LEFT, "Port", ""),
    Column(LEFT, "Process", ""),
)
ROWS = [
    ("State", "Recv-Q", "Local Address:", "Port", "Process"),
    ("LISTEN", "0     ", "0.0.0.0:", "22", ""),
    ("ESTAB", "12    ", "[::1]:", "40000", ""),
]


def maxima_of(rows: list[tuple[str, ...]], previous: list[int] | None = None) -> list[int]:
    """Each column's longest field, every field measured (what SsWriter keeps between batches)."""
    maxima = list(previous) if previous else [0] * len(rows[0])
    for index, column in enumerate(zip(*rows, strict=True)):
        lengths = column_lengths(column, maxima[index])
        maxima[index] = max(maxima[index], lengths.longest_but_last, lengths.last)
    return maxima


def render(columns: tuple[Column, ...], rows: list[tuple[str, ...]], widths: list[int]) -> str:
    return render_block(columns, widths, list(zip(*rows, strict=True)))


def layout(columns: tuple[Column, ...], rows: list[tuple[str, ...]]) -> str:
    return render(columns, rows, column_widths(columns, maxima_of(rows), None))


def test_compact_layout_pads_like_ss() -> None:
    assert layout(COLUMNS, ROWS) == (
        "State  Recv-Q Local Address:Port Process\n"
        "LISTEN 0            0.0.0.0:22          \n"
        "ESTAB  12             [::1]:40000       \n"
    )


def test_first_visible_column_has_no_delimiter_width() -> None:
    widths = column_widths(COLUMNS, maxima_of(ROWS), None)
    assert widths == [6, 7, 15, 5, 7]


def test_widths_never_shrink_between_batches() -> None:
    first = maxima_of([("a" * 9, "b")])
    assert maxima_of([("c", "d")], first) == [9, 1]


def test_lengths_may_stop_short_of_the_last_field() -> None:
    first, last = column_lengths(["x", "y"]), column_lengths(["short", "an-unmeasured-field"])
    # ("x", "short"), ("y", <unmeasured>): the block's last field is left for the caller to measure later
    assert [max(first.longest_but_last, first.last), last.longest_but_last] == [1, 5]


def test_empty_column_still_prints_its_delimiter() -> None:
    rows = [("a", "", "b")]
    columns = (Column(LEFT, "", ""), Column(LEFT, "", " "), Column(LEFT, "", " "))
    assert layout(columns, rows) == "a  b\n"


def test_terminal_width_is_shared_out_from_the_right() -> None:
    columns = (Column(LEFT, "", ""), Column(LEFT, "", " "), Column(RIGHT, "", " "))
    widths = column_widths(columns, [2, 2, 2], 20)
    # 2 + 3 + 3 = 8 used, 12 spare over 3 columns: 4 each.
    assert widths == [6, 7, 7]
    assert sum(widths) == 20


def test_terminal_too_narrow_breaks_the_line_for_spacing() -> None:
    columns = (Column(LEFT, "", ""), Column(LEFT, "", " "), Column(LEFT, "", " "))
    widths = column_widths(columns, [8, 8, 8], 12)
    # No two columns fit on one 12-wide line: each screen line gets its spare space on its own.
    assert widths == [12, 12, 12]


def naive_split(rows: list[tuple[str, ...]], trailing: int) -> list[int]:
    """Field-by-field accounting, the reference for BatchTracker's block shortcut."""
    tracker = BatchTracker()
    starts = []
    for index, row in enumerate(rows):
        if tracker.chunks >= 5:
            tracker.reset()
            starts.append(index)
        if tracker.pending:
            for _ in range(trailing):
                tracker._field(0)
        for value in row:
            tracker._field(len(value))
        tracker.pending = True
    return starts


def tracked_split(rows: list[tuple[str, ...]], trailing: int, block: int) -> list[int]:
    tracker = BatchTracker()
    starts = []
    done = 0
    while done < len(rows):
        chunk = rows[done : done + block]
        split = tracker.split([column_lengths(column) for column in zip(*chunk, strict=True)], trailing)
        if split is None:
            done += len(chunk)
        else:
            done += split
            starts.append(done)
    return starts


@settings(max_examples=8, deadline=None)
@given(st.integers(min_value=20, max_value=120), st.integers(min_value=1, max_value=700), st.integers(0, 2**32))
def test_block_accounting_matches_field_by_field(width: int, block: int, seed: int) -> None:
    rnd = random.Random(seed)
    rows = [tuple("x" * rnd.randint(0, width) for _ in range(6)) for _ in range(45_000)]
    assert tracked_split(rows, 1, block) == naive_split(rows, 1)


def test_batches_start_after_five_chunks() -> None:
    row = ("y" * 99,) * 10
    rows = [row] * 30_000  # ~3 MB per 10k rows: about two batches
    starts = naive_split(rows, 1)
    assert starts, "ss would have laid out more than one batch"
    per_row = 10 * (2 + 100) + 2
    assert abs(starts[0] - 5 * CHUNK_DATA // per_row) < 10 + CHUNK_DATA // per_row


def test_non_ascii_fields_are_measured_and_padded_in_bytes_like_ss() -> None:
    columns = (Column(RIGHT, "", ""), Column(LEFT, "", " "), Column(LEFT, "", " "))
    rows = [("/tmp/é.sock", "1", "x"), ("/tmp/a.sock", "22", "y")]
    maxima = maxima_of(rows)
    assert maxima == [12, 2, 1]  # "é" is two bytes
    text = render(columns, rows, column_widths(columns, maxima, None))
    assert text.encode() == "/tmp/é.sock 1  x\n/tmp/a.sock 22 y\n".encode().replace(b"/tmp/a", b" /tmp/a")


def test_undecodable_bytes_count_once_each() -> None:
    raw = b"/run/\xff.sock".decode("utf-8", "surrogateescape")
    assert field_lengths([raw], raw) == [11]


@pytest.mark.parametrize("floor", [0, 3, 40, 300])
@pytest.mark.parametrize(
    "column",
    [["a", "bb", "ccc", ""], ["x" * 300, "y", "zz"], ["é", "ab", "/run/\udcff"], ["only"], ["", ""]],
)
def test_column_lengths_sum_up_the_byte_lengths(column: list[str], floor: int) -> None:
    lengths = [len(value.encode("utf-8", "surrogateescape")) for value in column]
    summed = column_lengths(column, floor)
    assert list(summed.lengths) == lengths
    assert (summed.total, summed.odd, summed.last) == (sum(lengths), sum(n % 2 for n in lengths), lengths[-1])
    longest = max(lengths[:-1], default=0)
    # only fields longer than the floor need be seen: a smaller answer means "not above the floor"
    assert summed.longest_but_last == longest or (longest <= floor and summed.longest_but_last <= floor)


def _row_by_row(columns: tuple[Column, ...], widths: list[int], rows: list[tuple[str, ...]]) -> str:
    """The layout one %-format per row gives: what render_block must give, whatever it folds."""
    from pyss.render.columns import row_format

    return "".join((row_format(columns, widths) + "\n") % row for row in rows)


_FIELD = st.sampled_from(["", "0", "0     ", "%", "%s", "a%%b", "127.0.0.1:", "[::1]:", "5000", "*", "ESTAB"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_FIELD, _FIELD, _FIELD, _FIELD, _FIELD), min_size=1, max_size=12),
       st.lists(st.integers(0, 14), min_size=5, max_size=5), st.booleans())
def test_a_block_lays_out_as_one_format_per_row(rows: list[tuple[str, ...]], widths: list[int], same: bool) -> None:
    """Columns that do not vary in a block (some, all or none; with "%" in them) are laid out once."""
    if same:
        rows = [rows[0]] * len(rows)
    block = [list(column) for column in zip(*rows, strict=True)]
    assert render_block(COLUMNS, widths, block) == _row_by_row(COLUMNS, widths, rows)


_LONG = ["x" * size for size in (CHUNK_DATA // 3, CHUNK_DATA - 3, CHUNK_DATA, CHUNK_DATA + 5)]


@settings(max_examples=10, deadline=None)
@given(st.integers(min_value=1, max_value=64), st.integers(0, 2**32))
def test_block_accounting_with_fields_near_a_chunk_in_size(block: int, seed: int) -> None:
    """Fields as long as a chunk (ss moves them to a chunk of their own) amid short ones, rows stepped over
    in blocks: the same batch starts as field by field."""
    rnd = random.Random(seed)
    rows = [tuple(rnd.choice(_LONG) if rnd.random() < 0.01 else "y" * rnd.randint(0, 40) for _ in range(4))
            for _ in range(3000)]
    assert tracked_split(rows, 1, block) == naive_split(rows, 1)
