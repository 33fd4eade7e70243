"""The start-up import breakdown: fastest time per module over several -X importtime reports."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
profile_pyss = importlib.import_module("profile_pyss")

RUN_1 = """\
import time: self [us] | cumulative | imported package
import time:       300 |        300 |   typing
import time:      1000 |       5000 | pyss.cli.ss
"""
RUN_2 = """\
import time:       900 |        900 |   typing
import time:       800 |       6000 | pyss.cli.ss
not an import line
"""


def test_fastest_imports_keeps_each_modules_minimum() -> None:
    best = profile_pyss.fastest_imports([RUN_1, RUN_2])
    assert best == {"typing": (300, 300), "pyss.cli.ss": (800, 5000)}


def test_format_imports_sorts_by_cumulative_time_and_cuts() -> None:
    text = profile_pyss.format_imports({"a": (100, 200), "b": (1000, 3000), "c": (5, 5)}, top=2)
    lines = text.splitlines()
    assert lines[0].split() == ["cumulative", "ms", "self", "ms", "module"]
    assert [line.split()[-1] for line in lines[1:]] == ["b", "a"]
    assert lines[1].split()[:2] == ["3.0", "1.0"]
