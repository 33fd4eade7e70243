"""Start-up is part of the cost: `pyss -tan` must not load what only other commands need."""

from __future__ import annotations

import subprocess
import sys

# Each is measured here at 5-47 ms of import (typer ~47 ms, pyparsing ~45 ms, pyroute2 ~300 ms,
# dataclasses ~7 ms), against ~28 ms for the whole of `pyss -tan` on an idle host.
HEAVY = ("pyparsing", "pyroute2", "typer", "click", "dataclasses", "json", "ipaddress", "threading")

PROBE = """
import io, sys
sys.stdout = io.StringIO()
from pyss.cli.ss import run
status = run(sys.argv[1:])
loaded = [name for name in {heavy!r} if name in sys.modules]
sys.stderr.write(",".join(loaded))
raise SystemExit(status)
"""


def loaded_by(*argv: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *argv], capture_output=True,
                            text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    return [name for name in result.stderr.split(",") if name]


def test_plain_listing_loads_nothing_heavy() -> None:
    assert loaded_by("-tan") == []


def test_a_filter_loads_pyparsing_and_only_then() -> None:
    assert "pyparsing" in loaded_by("-tan", "dport", "=", ":22")
