"""Start-up is part of the cost: `pyss -tan` must not load what only other commands need."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Each is measured here at 5-47 ms of import (typer ~47 ms, pyparsing ~45 ms, pyroute2 ~300 ms,
# dataclasses ~7 ms), against ~28 ms for the whole of `pyss -tan` on an idle host. The standard
# library's typing (with re, enum, contextlib: ~41M instructions), socket (~34M, with enum and
# selectors) and signal (~20M) each cost about as much as `python -c pass` itself (~39M, callgrind):
# pyss.lite_typing, _socket and _signal stand in for them on this path.
HEAVY = ("pyparsing", "pyroute2", "typer", "click", "dataclasses", "json", "ipaddress", "threading",
         "typing", "re", "enum", "contextlib", "socket", "signal", "selectors")
# Lighter, but together a fifth of what `python -c pass` costs (callgrind): collections (~7M instructions
# with operator, reprlib and keyword; `from collections.abc import ...` loads it, so such imports sit under
# TYPE_CHECKING), functools (~3.5M with types; its lru_cache is replaced by plain dicts) and namedtuple's
# eval (pyss.lite_typing builds its tuples without it).
LEAN = (*HEAVY, "collections", "functools", "operator", "types")

PROBE = """
import io, sys
sys.stdout = io.StringIO()
from pyss.cli.ss import run
status = run(sys.argv[1:])
loaded = [name for name in {heavy!r} if name in sys.modules]
sys.stderr.write(",".join(loaded))
raise SystemExit(status)
"""


def loaded_by(*argv: str, cache: Path | None = None, heavy: tuple[str, ...] = HEAVY) -> list[str]:
    env = {**os.environ, "PYSS_FILTER_CACHE": "0"} if cache is None else {**os.environ, "XDG_CACHE_HOME": str(cache)}
    result = subprocess.run([sys.executable, "-c", PROBE.format(heavy=heavy), *argv], capture_output=True,
                            text=True, check=False, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    return [name for name in result.stderr.split(",") if name]


@pytest.mark.parametrize("argv", [("-tan",), ("-uan",), ("-tln",), ("-tanH",)])
def test_plain_listing_loads_nothing_heavy(argv: tuple[str, ...]) -> None:
    assert loaded_by(*argv, heavy=LEAN) == []


# Other commands' fixed cost: the summary, the detail flags (their SCTP and XDP decoders once imported
# socket and typing), the JSON outputs (json, with re and enum, only when a line needs it).
@pytest.mark.parametrize("argv", [("-s",), ("-tane",), ("-tanoemi",), ("-xa",), ("-tan", "--json"),
                                  ("-tan", "--json-lines"), ("-uan", "--json")])
def test_other_commands_load_nothing_heavy(argv: tuple[str, ...]) -> None:
    assert loaded_by(*argv, heavy=LEAN) == []


@pytest.mark.parametrize("words", [("dport", "=", ":22"), ("state", "established", "( dport = :22 )"),
                                   ("( sport = :22 or dport geq :1024 ) and not dst 10.0.0.0/8 dev lo",)])
def test_a_filter_the_recognizer_reads_loads_nothing_heavy_even_uncached(words: tuple[str, ...]) -> None:
    assert loaded_by("-tan", *words, heavy=LEAN) == []


def nested(levels: int, port: str) -> str:
    return "( " * levels + f"dport = :{port}" + " )" * levels


def test_only_a_shape_the_recognizer_declines_loads_pyparsing() -> None:
    from pyss.filter.recognize import MAX_DEPTH

    assert "pyparsing" in loaded_by("-tan", nested(MAX_DEPTH + 1, "22"))
    assert "pyparsing" not in loaded_by("-tan", nested(MAX_DEPTH, "22"))


def test_a_declined_shape_seen_before_skips_pyparsing(tmp_path: Path) -> None:
    from pyss.filter.recognize import MAX_DEPTH

    deep = MAX_DEPTH + 1
    assert "pyparsing" in loaded_by("-tan", nested(deep, "22"), cache=tmp_path)
    # the same keywords with other values: the cached parse serves it
    assert "pyparsing" not in loaded_by("-tan", nested(deep, "443"), cache=tmp_path)
    assert "pyparsing" in loaded_by("-tan", nested(deep, "443").replace("dport", "sport"), cache=tmp_path)


NETSTAT_PROBE = """
import io, sys
sys.stdout = io.StringIO()
from pyss.cli.netstat import main
status = main(sys.argv[1:])
sys.stderr.write(",".join(name for name in {heavy!r} if name in sys.modules))
raise SystemExit(status)
"""


@pytest.mark.parametrize("argv", [("-tan",), ("-uan",), ("-s",), ("-tane",)])
def test_pynetstat_listing_loads_nothing_heavy(argv: tuple[str, ...]) -> None:
    result = subprocess.run([sys.executable, "-c", NETSTAT_PROBE.format(heavy=LEAN), *argv], capture_output=True,
                            text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
