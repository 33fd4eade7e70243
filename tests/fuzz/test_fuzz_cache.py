"""Random and mutated bytes as the filter cache's file, and random trees through its encoding.

Default suite: 200 examples per test; `nox -s fuzz`: 10,000.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyss.filter import cache
from tests.fuzz.budget import allocation_cap, budget

EXAMPLES = budget(200, 10_000)
SYNTHETIC = "( dport = v or not sport >= v ) autobound"
POSITIONS = sorted(cache.value_positions(SYNTHETIC))
GOOD = cache.encode_file([(b"dport = v", cache.encode_tree(("cond", "dport", "=", 8))),
                          (SYNTHETIC.encode(), cache.encode_tree(
                              ("and", ("or", ("cond", "dport", "=", POSITIONS[0]),
                                       ("not", ("cond", "sport", ">=", POSITIONS[1]))), ("auto",))))])


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg"
    (home / "pyss").mkdir(parents=True, mode=0o700)
    home.chmod(0o700)
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.delenv("PYSS_FILTER_CACHE", raising=False)
    return home


@st.composite
def mutated_file(draw: st.DrawFn) -> bytes:
    data = bytearray(GOOD)
    for _ in range(draw(st.integers(1, 6))):
        index = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            data[index] ^= draw(st.integers(1, 255))
        elif action == "cut":
            del data[index:index + draw(st.integers(1, 8))]
        else:
            data[index:index] = draw(st.binary(min_size=1, max_size=8))
        if not data:
            break
    return bytes(data)


def trees(positions: list[int]) -> st.SearchStrategy[tuple[object, ...]]:
    conds = st.builds(lambda field, op, position: ("cond", field, op, position),
                      st.sampled_from(["dst", "src", "dport", "sport", "dev", "fwmark", "cgroup"]),
                      st.sampled_from(["=", "!=", ">=", "<=", ">", "<"]), st.sampled_from(positions))
    leaves = st.one_of(conds, st.just(("auto",)))
    return st.recursive(leaves, lambda inner: st.one_of(
        st.builds(lambda node: ("not", node), inner),
        st.builds(lambda kind, left, right: (kind, left, right), st.sampled_from(["and", "or"]), inner, inner)),
        max_leaves=40)


@EXAMPLES
@given(st.one_of(st.binary(max_size=300), mutated_file(), st.just(GOOD)))
def test_any_bytes_as_the_file_are_a_miss_or_a_tree_of_the_filter(cache_home: Path, data: bytes) -> None:
    (cache_home / "pyss" / "filters").write_bytes(data)
    with allocation_cap((64 << 10) + 64 * len(data)):
        for key in ("dport = v", SYNTHETIC):
            found, tree = cache.lookup(key)
            if found and tree is not None:
                # a hit is a tree whose conditions sit on the filter's value words
                program = cache.encode_tree(tree)
                assert cache.decode_tree(program, cache.value_positions(key)) == tree


@EXAMPLES
@given(st.binary(max_size=200))
def test_any_program_decodes_to_a_tree_or_is_damaged(program: bytes) -> None:
    with allocation_cap(64 << 10):
        try:
            tree = cache.decode_tree(program, frozenset(POSITIONS))
        except cache.Damaged:
            return
    assert cache.encode_tree(tree) == program  # a program the decoder takes is exactly one tree's


@EXAMPLES
@given(trees(POSITIONS))
def test_every_tree_round_trips(tree: tuple[object, ...]) -> None:
    program = cache.encode_tree(tree)
    assert cache.decode_tree(program, frozenset(POSITIONS)) == tree
    data = cache.encode_file([(SYNTHETIC.encode(), program)])
    assert cache.decode_file(data) == [(SYNTHETIC.encode(), program)]
