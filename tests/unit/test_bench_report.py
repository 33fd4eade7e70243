"""The benchmark docs: markdown from a results file, and the plot."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
report = importlib.import_module("report")
suite = importlib.import_module("suite")


def _results() -> dict[str, Any]:
    rows = [
        suite.Row(n, "tan", label, label, times=[t * n / 1000], rss_kb=4096)
        for n in (1000, 10_000) for label, t in (("pyss -tan", 0.02), ("ss -tan", 0.01))
    ]
    rows.append(suite.Row(1000, "summary", "pyss -s", "pyss -s", status="n/a: exit 1: no | pipes"))
    verdicts = [suite.judge(t, rows, [1000, 10_000]) for t in suite.TARGETS]
    return {
        "generated": "2026-01-01T00:00:00+00:00",
        "seconds": 1.5,
        "machine": {"nproc": 2, "kernel": "6.18"},
        "sizes": [1000, 10_000],
        "rows": [row.to_json() for row in rows],
        "targets": [v.to_json() for v in verdicts],
    }


def test_markdown_has_targets_results_method_and_machine() -> None:
    text = report.markdown(_results())
    for heading in ("# Benchmarks", "## Targets", "## Results", "## Method", "## Machine"):
        assert heading in text
    assert "| 10k | tan | pyss -tan | 0.2000 |" in text
    assert "**FAIL**" in text  # pyss at 2x ss misses the 1.0 target
    assert "- kernel: 6.18" in text
    assert "no \\| pipes" in text  # a pipe in a cell must not split the markdown row
    assert "![wall time against N](benchmarks.png)" in text


def test_markdown_without_plot_has_no_image() -> None:
    assert "![" not in report.markdown(_results(), plot_name=None)


def test_write_docs_draws_a_png(tmp_path: Path) -> None:
    report.write_docs(_results(), tmp_path)
    assert (tmp_path / "benchmarks.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "benchmarks.png" in (tmp_path / "benchmarks.md").read_text()


def test_nothing_to_plot_skips_the_png(tmp_path: Path) -> None:
    results = _results()
    results["rows"] = [r for r in results["rows"] if r["comparison"] == "summary"]
    report.write_docs(results, tmp_path)
    assert not (tmp_path / "benchmarks.png").exists()
    assert "![" not in (tmp_path / "benchmarks.md").read_text()


def test_report_module_does_not_import_matplotlib_until_drawing() -> None:
    source = (Path(report.__file__)).read_text()
    top = source.split("def ", 1)[0]
    assert "matplotlib" not in top.replace("matplotlib is imported only to draw", "")
