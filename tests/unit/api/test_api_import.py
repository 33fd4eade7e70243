"""`import pyss` is cheap, and its public names are exactly __all__."""

from __future__ import annotations

import subprocess
import sys

import pyss

HEAVY = ("pyparsing", "pyroute2", "json", "dataclasses", "threading", "pyss.dump", "pyss.api.listing")


def test_importing_pyss_loads_nothing_heavy() -> None:
    probe = f"import sys, pyss; print(','.join(n for n in {HEAVY!r} if n in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == ""


def test_every_public_name_resolves_and_nothing_else_is_offered() -> None:
    for name in pyss.__all__:
        assert getattr(pyss, name) is not None, name
    assert sorted(pyss.__all__) == sorted(set(pyss.__all__))
    assert set(dir(pyss)) == {*pyss.__all__, "__version__"}
    try:
        pyss.dump_everything  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as error:
        assert "dump_everything" in str(error)
    else:
        raise AssertionError("an unknown name resolved")


def test_filter_error_is_a_value_error_with_a_column() -> None:
    try:
        pyss.sockets("tcp", "dport = = :22")
    except pyss.FilterError as error:
        assert isinstance(error, ValueError) and error.column == len("dport = ") + 1
    else:
        raise AssertionError("a malformed filter was accepted")


def test_the_package_ships_its_type_marker() -> None:
    import tomllib
    from importlib.resources import files
    from pathlib import Path

    assert files("pyss").joinpath("py.typed").is_file()
    pyproject = tomllib.loads((Path(__file__).resolve().parents[3] / "pyproject.toml").read_text())
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["pyss"]
