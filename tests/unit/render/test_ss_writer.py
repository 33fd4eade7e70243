"""SsWriter: ss's batching and width rules applied to a stream of rows."""

from __future__ import annotations

import io

from pyss.render.columns import LEFT, Column
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
