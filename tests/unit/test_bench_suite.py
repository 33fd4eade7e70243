"""The benchmark suite's arithmetic: run order, medians, ratios, target verdicts, tables."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
suite = importlib.import_module("suite")


def test_schedule_warms_up_each_command_once_then_interleaves() -> None:
    order = suite.schedule(["A", "B", "C"], 2)
    assert order == [("A", False), ("B", False), ("C", False),
                     ("A", True), ("B", True), ("C", True), ("A", True), ("B", True), ("C", True)]


def test_schedule_with_no_repeats_is_only_the_warm_up() -> None:
    assert suite.schedule(["A"], 0) == [("A", False)]


def test_median_of_odd_and_even_counts_and_of_nothing() -> None:
    assert suite.median([3.0, 1.0, 2.0]) == 2.0
    assert suite.median([4.0, 1.0, 2.0, 3.0]) == 2.5
    assert suite.median([]) is None


@pytest.mark.parametrize(("a", "b", "expected"), [(1.0, 2.0, 0.5), (3.0, 1.5, 2.0), (None, 1.0, None),
                                                  (1.0, None, None), (1.0, 0.0, None)])
def test_ratio(a: float | None, b: float | None, expected: float | None) -> None:
    assert suite.ratio(a, b) == expected


@pytest.mark.parametrize(("text", "n"), [("0", 0), ("1k", 1000), ("100K", 100_000), ("2.5k", 2500), ("1m", 10**6)])
def test_parse_size(text: str, n: int) -> None:
    assert suite.parse_size(text) == n


def test_parse_sizes_sorts_and_dedups() -> None:
    assert suite.parse_sizes("100k,0,1k,1000") == [0, 1000, 100_000]


def test_fewer_repetitions_as_runs_get_longer() -> None:
    counts = [suite.repetitions(n, slow=False) for n in (0, 1000, 10_000, 100_000)]
    assert counts == sorted(counts, reverse=True)
    assert suite.repetitions(100_000, slow=True) < suite.repetitions(100_000, slow=False)
    assert suite.repetitions(100_000, slow=True) >= 3
    assert suite.repetitions(100_000, slow=True, override=1) == 1


def _row(n: int, comparison: str, command: str, times: list[float], rss: int | None = None,
         status: str = "ok", *more_rounds: list[float]) -> Any:
    rounds = [times, *more_rounds] if times or more_rounds else []
    return suite.Row(n, comparison, command, command, status=status, rounds=rounds, rss_kb=rss)


def test_row_median_is_none_when_not_measured() -> None:
    assert _row(0, "tan", "x", [1.0, 3.0, 2.0]).median == 2.0
    assert _row(0, "tan", "x", [], status="n/a: exit 1").median is None


def test_row_round_trips_through_json() -> None:
    row = _row(1000, "tan", "ss -tan", [0.1, 0.2], 3000, "ok", [0.3])
    again = suite.Row.from_json(row.to_json())
    assert again == row
    assert again.times == [0.1, 0.2, 0.3]


def test_results_from_before_rounds_read_as_one_round() -> None:
    old = {"n": 0, "comparison": "tan", "command": "x", "argv": "x", "status": "ok", "times": [0.1, 0.3],
           "median": 0.2, "rss_kb": None}
    assert suite.Row.from_json(old).rounds == [[0.1, 0.3]]


TAN = suite.Target("t", "pyss <= ss", "tan", "pyss -tan", "ss -tan", 1.0, 100_000)


def test_judge_passes_and_fails_on_the_median_ratio() -> None:
    fast = [_row(100_000, "tan", "pyss -tan", [0.3, 0.4, 0.5]), _row(100_000, "tan", "ss -tan", [0.5, 0.5, 0.5])]
    slow = [_row(100_000, "tan", "pyss -tan", [0.6, 0.7]), _row(100_000, "tan", "ss -tan", [0.5, 0.5])]
    good = suite.judge(TAN, fast, [100_000])
    assert (good.verdict, good.n, good.value) == ("PASS", 100_000, pytest.approx(0.8))
    assert suite.judge(TAN, slow, [100_000]).verdict == "FAIL"


def test_judge_holds_a_target_to_its_worst_round_and_shows_the_best() -> None:
    # Round 2 is lucky (0.5x), round 1 unlucky (1.2x): a target of 1.0 fails on round 1.
    rows = [_row(100_000, "tan", "pyss -tan", [0.6, 0.6], None, "ok", [0.25, 0.25], [0.4]),
            _row(100_000, "tan", "ss -tan", [0.5, 0.5], None, "ok", [0.5, 0.5], [0.5])]
    verdict = suite.judge(TAN, rows, [100_000])
    assert verdict.verdict == "FAIL"
    assert (verdict.value, verdict.best, verdict.rounds) == (pytest.approx(1.2), pytest.approx(0.5), 3)
    assert suite.round_ratios(rows[0], rows[1]) == [pytest.approx(1.2), pytest.approx(0.5), pytest.approx(0.8)]


def test_ratios_pair_rounds_and_skip_a_round_one_side_lacks() -> None:
    subject = _row(0, "tan", "a", [1.0], None, "ok", [2.0])
    reference = _row(0, "tan", "b", [2.0])
    assert suite.round_ratios(subject, reference) == [0.5]


def test_tan_targets_hold_at_every_size() -> None:
    sizes = {t.n for t in suite.TARGETS if t.comparison == "tan" and t.reference == "ss -tan"}
    assert sizes == {10_000, 50_000, 100_000}
    assert len({t.key for t in suite.TARGETS}) == len(suite.TARGETS)


def test_headline_comparisons_run_in_every_round() -> None:
    headline = {c.key for c in suite.COMPARISONS if c.headline}
    assert {"tan", "filter", "tanp", "netstat", suite.STARTUP} <= headline
    assert "summary" not in headline


def test_judge_falls_back_to_the_largest_size_and_says_so() -> None:
    rows = [_row(1000, "tan", "pyss -tan", [0.1]), _row(1000, "tan", "ss -tan", [0.2])]
    verdict = suite.judge(TAN, rows, [0, 1000])
    assert verdict.n == 1000
    assert "N=100000" in verdict.note


def test_judge_is_na_when_a_command_was_not_available() -> None:
    rows = [_row(100_000, "tan", "pyss -tan", [], status="n/a: exit 2"), _row(100_000, "tan", "ss -tan", [0.2])]
    verdict = suite.judge(TAN, rows, [100_000])
    assert verdict.verdict == "n/a"
    assert "exit 2" in verdict.note


def test_judge_startup_needs_the_empty_namespace_run() -> None:
    target = next(t for t in suite.TARGETS if t.key == "startup")
    assert suite.judge(target, [], [1000]).verdict == "n/a"


def test_judge_rss_limits_and_growth() -> None:
    rss = suite.Target("r", "rss", "tan", "pyss -tan", None, 80.0, 100_000, "rss_mb")
    flat = suite.Target("f", "flat", "tan", "pyss -tan", None, 1.5, 100_000, "rss_growth")
    rows = [_row(0, "tan", "pyss -tan", [0.1], rss=10 * 1024), _row(100_000, "tan", "pyss -tan", [0.1], rss=90 * 1024)]
    assert suite.judge(rss, rows, [0, 100_000]).value == pytest.approx(90.0)
    assert suite.judge(rss, rows, [0, 100_000]).verdict == "FAIL"
    growth = suite.judge(flat, rows, [0, 100_000])
    assert (growth.value, growth.verdict) == (pytest.approx(9.0), "FAIL")
    assert suite.judge(flat, rows[1:], [100_000]).verdict == "n/a"


def test_every_target_names_commands_of_its_comparison() -> None:
    labels = {c.key: set(c.labels()) for c in suite.COMPARISONS}
    for target in suite.TARGETS:
        assert target.subject in labels[target.comparison], target.key
        assert target.reference is None or target.reference in labels[target.comparison], target.key


def test_table_gives_first_over_this_ratios_and_na_reasons() -> None:
    rows = [
        _row(1000, "tan", "pyss -tan", [0.2], rss=2048),
        _row(1000, "tan", "ss -tan", [0.1]),
        _row(1000, "tan", "netstat -tan", [], status="n/a: timeout after 60 s"),
    ]
    lines = suite.table_rows(rows)
    assert lines[0][:7] == ["N", "comparison", "command", "median s", "round medians s", "first/this worst", "best"]
    assert lines[1] == ["1k", "tan", "pyss -tan", "0.2000", "", "", "", "2.0", "1"]
    assert lines[2][3:7] == ["0.1000", "", "2.00", ""]
    assert lines[3][3] == "n/a: timeout after 60 s"
    text = suite.format_table(lines)
    assert len(text.splitlines()) == 4
    assert text.splitlines()[2].endswith("1")


def test_table_shows_each_round_and_the_worst_and_best_ratio() -> None:
    rows = [_row(0, "tan", "pyss -tan", [0.2], None, "ok", [0.1]), _row(0, "tan", "ss -tan", [0.1], None, "ok", [0.1])]
    line = suite.table_rows(rows)[2]
    assert line[4:7] == ["0.1000 0.1000", "2.00", "1.00"]


def test_verdict_table_lists_every_target() -> None:
    verdicts = [suite.judge(t, [], [1000]) for t in suite.TARGETS]
    text = suite.format_verdicts(verdicts)
    assert len(text.splitlines()) == 1 + len(suite.TARGETS)


def test_output_check_catches_a_command_that_skipped_the_work() -> None:
    tanp = suite.Command("x -tanp", ("x",), expect="users:((")
    assert suite.output_problem(tanp, "State Recv-Q\nESTAB 0 0 a b\n", probes=10) == "output lacks 'users:(('"
    assert suite.output_problem(tanp, 'ESTAB 0 0 a b users:(("python",pid=1,fd=3))\n', probes=10) is None


def test_output_check_counts_filtered_lines_against_the_probe() -> None:
    filtered = suite.Command("x filter", ("x",), header_lines=1)
    eleven = "header\n" + "row\n" * 10
    assert suite.output_problem(filtered, eleven, probes=10) is None
    assert suite.output_problem(filtered, eleven + "extra\n", probes=10) == "printed 12 lines, expected 11"


def test_output_is_not_checked_without_a_load() -> None:
    command = suite.Command("x", ("x",), expect="users:((", header_lines=1)
    assert suite.output_problem(command, "", probes=0) is None


def test_slow_comparisons_repeat_less_at_every_size() -> None:
    for n in (0, 1000, 10_000, 100_000):
        assert 3 <= suite.repetitions(n, slow=True) < suite.repetitions(n, slow=False)


def test_a_comparison_may_ask_for_more_runs_but_repeat_wins() -> None:
    for n in (0, 10_000, 100_000):
        assert suite.repetitions(n, slow=True, minimum=suite.LIB_RUNS) == max(suite.LIB_RUNS,
                                                                            suite.repetitions(n, slow=True))
    assert suite.repetitions(100_000, slow=True, minimum=3) == suite.repetitions(100_000, slow=True)
    assert suite.repetitions(100_000, slow=True, override=1, minimum=9) == 1
    library = [c for c in suite.COMPARISONS if c.key in ("lib", "lib-conn", "lib-count")]
    assert len(library) == 3 and all(c.min_runs == suite.LIB_RUNS for c in library)
