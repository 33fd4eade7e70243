"""The parse-tree cache: a hit gives what parsing gives, and anything doubtful is a miss."""

from __future__ import annotations

import marshal
from pathlib import Path

import pytest

from pyss.filter import FilterError, cache, compile_filter

FILTERS = [
    ["dport", "=", ":22"],
    ["(", "sport", ">=", ":1024", "and", "not", "dst", "10.0.0.0/8", ")", "or", "autobound"],
    ["dev", "!=", "lo", "fwmark", "=", "0x1/0xff"],
]


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("PYSS_FILTER_CACHE", raising=False)
    return tmp_path / "pyss" / "filters"


def compiled(words: list[str]) -> tuple[object, ...]:
    found = compile_filter(["state", "established", *words])
    return (found.expression, found.states, found.families, found.kernel_bytecode)


@pytest.mark.parametrize("words", FILTERS)
def test_a_cached_parse_compiles_to_the_same_filter(cache_dir: Path, words: list[str]) -> None:
    first = compiled(words)
    assert cache_dir.exists()
    assert compiled(words) == first


def test_filters_differing_only_in_values_share_an_entry(cache_dir: Path) -> None:
    compiled(["dport", "=", ":22"])
    (synthetic,) = [key for key in cache._load(str(cache_dir)) if isinstance(key, str)]
    assert synthetic == "dport = v"  # values written as "v"; "state established" is read before the grammar
    assert compiled(["dport", "=", ":443"]) != compiled(["dport", "=", ":22"])


def test_syntax_errors_are_not_cached_and_still_point_at_the_token(cache_dir: Path) -> None:
    for _ in range(2):
        with pytest.raises(FilterError, match="column 27"):
            compile_filter(["state", "established", "dport", "=", "="])
    assert not cache_dir.exists()


@pytest.mark.parametrize("damage", [b"garbage", b"", b"\xe3" + bytes(40)])
def test_a_damaged_file_is_a_miss(cache_dir: Path, damage: bytes) -> None:
    expected = compiled(FILTERS[1])
    cache_dir.write_bytes(damage)
    assert compiled(FILTERS[1]) == expected


def test_a_tree_that_does_not_fit_the_filter_is_a_miss(cache_dir: Path) -> None:
    compiled(["dport", "=", ":22"])
    entries = cache._load(str(cache_dir))
    entries["dport = v"] = ("cond", "dport", "=", 999)  # a value position past the end
    cache_dir.write_bytes(marshal.dumps(entries))
    assert cache.lookup("dport = v") == (False, None)
    assert compiled(["dport", "=", ":22"])[0] is not None


def test_a_file_others_can_write_is_not_read(cache_dir: Path) -> None:
    compiled(["dport", "=", ":22"])
    assert cache.lookup("dport = v")[0]
    cache_dir.chmod(0o666)
    assert cache.lookup("dport = v") == (False, None)


def test_a_symlink_is_not_followed(cache_dir: Path, tmp_path: Path) -> None:
    compiled(["dport", "=", ":22"])
    real = tmp_path / "elsewhere"
    cache_dir.rename(real)
    cache_dir.symlink_to(real)
    assert cache.lookup("dport = v") == (False, None)


def test_the_cache_can_be_turned_off(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYSS_FILTER_CACHE", "0")
    compiled(["dport", "=", ":22"])
    assert not cache_dir.exists()


def test_an_unwritable_cache_is_only_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where the directory should be
    assert compiled(["dport", "=", ":22"])[0] is not None


def test_a_tree_too_deep_to_store_is_left_out(cache_dir: Path) -> None:
    words = ["dport", "=", ":1"]
    for port in range(2, 3000):
        words += ["or", "dport", "=", f":{port}"]
    assert compiled(words)[0] is not None
    assert not cache_dir.exists() or len(cache._load(str(cache_dir))) <= 1
