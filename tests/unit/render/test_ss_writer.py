"""SsWriter: ss's batching and width rules applied to a stream of rows."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from pyss.render.columns import LEFT, RIGHT, Column
from pyss.render.ss import SsWriter

COLUMNS = (Column(LEFT, "State", ""), Column(LEFT, "Process", " "))


def written(rows: list[tuple[str, str]], block: int = SsWriter.BLOCK) -> str:
    out = io.StringIO()
    writer = SsWriter(out, COLUMNS, None)
    writer.BLOCK = block
    writer.write_all(rows)
    return out.getvalue()


def test_the_last_field_of_the_output_does_not_widen_its_column() -> None:
    rows = [("State", "Process"), ("ESTAB", "x"), ("LISTEN", "a-much-longer-process-field")]
    assert written(rows) == (
        "State  Process\n"
        "ESTAB  x      \n"
        "LISTEN a-much-longer-process-field\n"
    )


def test_block_size_does_not_change_the_layout() -> None:
    rows = [("State", "Process")] + [(f"S{i % 7}", "p" * (i % 13)) for i in range(2000)]
    assert written(rows, block=1) == written(rows, block=7) == written(rows)


def test_widths_carry_over_from_one_batch_to_the_next() -> None:
    # ~30 kB a row: ss's five 1 MiB chunks fill after ~170 rows, so the narrow rows land in a later batch.
    rows = [("State", "Process")] + [("S", "P" * 30_000)] * 200 + [("S", "q"), ("S", "q")]
    out = io.StringIO()
    writer = SsWriter(out, COLUMNS, None)
    writer.BLOCK = 16  # account as the rows come, so the first batch is written before close()
    writer.extend(rows)
    first_batch = out.getvalue()
    writer.close()
    lines = out.getvalue().splitlines()
    assert first_batch and first_batch.count("\n") < len(rows), "the rows did not span two batches"
    # a row of the later batch is still padded to the width the first batch set
    assert len(lines[-2]) == len(lines[1]) == len("State") + 1 + 30_000


def test_columns_and_rows_lay_out_alike() -> None:
    rows = [("State", "Process")] + [(f"S{i % 7}", "p" * (i % 13)) for i in range(1000)]
    out = io.StringIO()
    writer = SsWriter(out, COLUMNS, None)
    for start in range(0, len(rows), 333):
        block = rows[start : start + 333]
        writer.add_columns([[row[0] for row in block], [row[1] for row in block]])
    writer.close()
    assert out.getvalue() == written(rows)


# --- laying out ahead: SsWriter.lay_ahead, called while pyss would wait for the kernel's next buffer ---

WIDE_COLUMNS = (Column(LEFT, "State", ""), Column(RIGHT, "Address:", " "), Column(LEFT, "Port", ""),
                Column(LEFT, "Process", ""))
FIELD = st.text(alphabet="ab9:.", max_size=12)
ROW = st.tuples(FIELD, FIELD, FIELD, st.sampled_from(["", "", "users:(x)"]))


def laid_ahead(blocks: list[list[tuple[str, ...]]], steps: list[int]) -> str:
    """The blocks written with ``steps[i]`` calls of lay_ahead after block i (a caller waiting that long)."""
    out = io.StringIO()
    writer = SsWriter(out, WIDE_COLUMNS, None)
    writer.add_header(tuple(column.header for column in WIDE_COLUMNS))
    for block, step in zip(blocks, steps, strict=True):
        writer.add_columns([list(fields) for fields in zip(*block, strict=True)])
        for _ in range(step):
            writer.lay_ahead()
    writer.close()
    return out.getvalue()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(ROW, min_size=1, max_size=6), min_size=1, max_size=8), st.data())
def test_laying_out_ahead_changes_no_byte(blocks: list[list[tuple[str, ...]]], data: st.DataObject) -> None:
    """Whatever widths grow after blocks were laid out ahead with narrower ones, the output is the plain layout's."""
    steps = data.draw(st.lists(st.integers(0, 12), min_size=len(blocks), max_size=len(blocks)))
    assert laid_ahead(blocks, steps) == laid_ahead(blocks, [0] * len(blocks))


def test_a_wider_row_in_the_last_block_lays_out_again_what_was_laid_out_ahead() -> None:
    narrow = [("ESTAB", "10.0.0.1:", "22", "")] * 3
    wide = [("ESTAB", "192.168.100.200:", "65535", "")]
    plain = laid_ahead([narrow, narrow, wide], [0, 0, 0])
    assert laid_ahead([narrow, narrow, wide], [5, 5, 5]) == plain
    assert plain.splitlines()[1] == "ESTAB        10.0.0.1:22          "  # in the last row's widths


def test_lay_ahead_lays_each_block_once_while_the_widths_hold() -> None:
    out = io.StringIO()
    writer = SsWriter(out, WIDE_COLUMNS, None)
    assert not writer.lay_ahead()  # nothing held
    writer.add_columns([["ESTAB"] * 2, ["10.0.0.1:"] * 2, ["22", "80"], ["", ""]])
    writer.add_columns([["LISTEN"], ["10.0.0.2:"], ["443"], [""]])
    assert writer.lay_ahead() and writer.lay_ahead()
    assert not writer.lay_ahead()  # both blocks laid out with the widths known now
    laid = list(writer.laid)
    writer.add_columns([["ESTAB"], ["10.0.0.3:"], ["8"], [""]])  # no width grows
    assert writer.lay_ahead() and writer.laid[:2] == laid
    writer.add_columns([["ESTAB"], ["10.0.0.100:"], ["8"], [""]])  # the address column grows
    assert writer.lay_ahead() and len(writer.laid) == 1  # laid out again from the first block
    writer.close()
    assert out.getvalue().splitlines()[0] == "ESTAB    10.0.0.1:22 "  # in the widths of the whole batch
    assert not writer.laid and not writer.batch


def test_a_batch_boundary_keeps_what_was_laid_out_ahead_with_its_widths() -> None:
    """~30 kB rows fill ss's five chunks after ~170 rows: the first batch is written mid-stream, with the texts
    laid out ahead, and the next batch is laid out ahead again."""
    rows = [("S", "P" * 30_000)] * 200 + [("S", "q")] * 3
    out = io.StringIO()
    writer = SsWriter(out, COLUMNS, None)
    for start in range(0, len(rows), 16):
        block = rows[start : start + 16]
        writer.add_columns([[row[0] for row in block], [row[1] for row in block]])
        while writer.lay_ahead():
            pass
    writer.close()
    assert out.getvalue() == written(rows, block=16)
