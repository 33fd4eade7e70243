"""The benchmark docs: markdown from a results file, and the plot."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
report = importlib.import_module("report")
suite = importlib.import_module("suite")


def _results() -> dict[str, Any]:
    rows = [
        suite.Row(n, "tan", label, label, rounds=[[t * n / 1000], [t * n / 1000 * 0.9]], rss_kb=4096)
        for n in (1000, 10_000) for label, t in (("pyss -tan", 0.02), ("ss -tan", 0.01))
    ]
    rows.append(suite.Row(1000, "summary", "pyss -s", "pyss -s", status="n/a: exit 1: no | pipes"))
    verdicts = [suite.judge(t, rows, [1000, 10_000]) for t in suite.TARGETS]
    assert any(v.verdict != "n/a" for v in verdicts)
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
    assert "| 10k | tan | pyss -tan | 0.1900 | 0.2000 0.1800 |" in text
    assert "**FAIL**" in text  # pyss at 2x ss misses the 1.0 target
    assert "- kernel: 6.18" in text
    assert "no \\| pipes" in text  # a pipe in a cell must not split the markdown row
    assert "![wall time against N](benchmarks.png)" in text


def test_markdown_without_plot_has_no_image() -> None:
    assert "![" not in report.markdown(_results(), plot_name=None)


def test_write_docs_draws_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="drawing the plot needs matplotlib (the bench extra)")
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


def test_readme_speed_table_is_replaced_between_its_markers_only(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n## Speed\n\n{report.README_BEGIN}\nold figures\n{report.README_END}\n\n## Next\n")
    assert report.write_readme(_results(), readme)
    text = readme.read_text()
    assert "old figures" not in text
    assert text.startswith("# x\n\n## Speed\n\n" + report.README_BEGIN)
    assert text.endswith(report.README_END + "\n\n## Next\n")
    # pyss at 2x ss at 10k misses the -tan target in both rounds; the table says FAIL with both ratios.
    line = next(line for line in text.splitlines() if line.startswith("| pyss -tan <= 0.75 x ss -tan at 10k"))
    assert line.split(" | ")[1:] == ["10k", "0.190 s", "0.095 s", "2.00\N{MULTIPLICATION SIGN}", "2.00\N{MULTIPLICATION SIGN}", "FAIL |"]


def test_an_rss_ratio_row_shows_both_peak_rss_figures_not_a_time() -> None:
    """The --json RSS row once showed the reference command's median time (0.173 s) as its reference."""
    target = next(t for t in suite.TARGETS if t.measure == "rss_ratio")
    n = target.n
    rows = [suite.Row(n, target.comparison, target.subject, target.subject, rounds=[[0.3]], rss_kb=12_902),
            suite.Row(n, target.comparison, target.reference, target.reference, rounds=[[0.173]], rss_kb=21_168)]
    results = {"generated": "2026-01-01T00:00:00+00:00", "machine": {"nproc": 2}, "rows": [r.to_json() for r in rows],
               "targets": [suite.judge(target, rows, [n]).to_json()]}
    [line] = [line for line in report.speed_table(results).splitlines() if line.startswith(f"| {target.text} |")]
    assert line.split(" | ")[2:5] == ["12.6 MB", "20.7 MB", "0.61\N{MULTIPLICATION SIGN}"]


def test_readme_without_markers_is_left_alone(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# x\n")
    assert not report.write_readme(_results(), readme)
    assert readme.read_text() == "# x\n"
    assert not report.write_readme(_results(), tmp_path / "missing.md")


def test_the_project_readme_has_the_speed_table_markers() -> None:
    text = (Path(report.__file__).resolve().parents[1] / "README.md").read_text()
    assert text.count(report.README_BEGIN) == 1
    assert text.index(report.README_BEGIN) < text.index(report.README_END)


def test_start_up_reference_is_the_interpreter_pyss_runs_on_not_a_shim() -> None:
    run = importlib.import_module("run")
    interpreter = run.pyss_interpreter()
    with open(interpreter, "rb") as f:
        assert f.read(4) == b"\x7fELF"  # a binary, not a version manager's shell script
    script = run.resolve("pyss")
    if script is not None:
        with open(script) as f:
            assert f.readline().strip() == f"#!{interpreter}"
