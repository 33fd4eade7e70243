"""The recognizer against the grammar that defines the language (pyparsing).

For any synthetic filter text the recognizer either declines or gives exactly the tree
pyparsing gives; it never accepts what pyparsing rejects. Filters come from the grammar itself
(every spelling of every keyword, optional comparisons, implicit `and`, nesting), from random
mutations of those, and from random word sequences. Every filter the grammar generates within
the recognizer's depth must be recognized: the fast path covers the whole language but its
deepest nests.

Default suite: 300 examples per test; `nox -s fuzz`: 10,000.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.fuzz.budget import budget

from pyss.filter.errors import Raw, SyntaxAt
from pyss.filter.grammar import parse_raw
from pyss.filter.recognize import MAX_DEPTH, VALUE, recognize
from pyss.filter.tokens import FIELD_OPERATORS, FIELDS, OPERATORS

EXAMPLES = budget(300, 10_000)


def spellings(canonical: str) -> list[str]:
    return sorted(word for word, canon in OPERATORS.items() if canon == canonical)


VOCABULARY = sorted({*OPERATORS, *FIELDS, VALUE, "state", "x", "vv"})


@st.composite
def conditions(draw: st.DrawFn) -> list[str]:
    field = draw(st.sampled_from([*FIELD_OPERATORS, "autobound"]))
    if field == "autobound":
        return [field]
    comparison = draw(st.none() | st.sampled_from(FIELD_OPERATORS[field]))
    written = [] if comparison is None else [draw(st.sampled_from(spellings(comparison)))]
    return [field, *written, VALUE]


def _expressions(terms: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[str]]:
    joined = st.tuples(st.sampled_from(["", *spellings("and"), *spellings("or")]), terms)

    @st.composite
    def expression(draw: st.DrawFn) -> list[str]:
        words = draw(terms)
        for joiner, term in draw(st.lists(joined, max_size=4)):
            words += ([joiner] if joiner else []) + term
        return words

    return expression()


def _extend(inner: st.SearchStrategy[list[str]]) -> st.SearchStrategy[list[str]]:
    negated = st.tuples(st.sampled_from(spellings("not")), inner).map(lambda pair: [pair[0], *pair[1]])
    grouped = _expressions(inner).map(lambda words: ["(", *words, ")"])
    return negated | grouped


terms = st.recursive(conditions(), _extend, max_leaves=12)
filters = _expressions(terms)


@st.composite
def mutated(draw: st.DrawFn) -> list[str]:
    words = draw(filters)
    for _ in range(draw(st.integers(1, 3))):
        edit = draw(st.sampled_from(["delete", "insert", "replace", "swap"]))
        place = draw(st.integers(0, max(len(words) - 1, 0)))
        if edit == "delete" and words:
            del words[place]
        elif edit == "insert":
            words.insert(place, draw(st.sampled_from(VOCABULARY)))
        elif edit == "replace" and words:
            words[place] = draw(st.sampled_from(VOCABULARY))
        elif edit == "swap" and len(words) > 1:
            other = draw(st.integers(0, len(words) - 1))
            words[place], words[other] = words[other], words[place]
    return words


def grammar_tree(synthetic: str) -> tuple[bool, Raw | None]:
    try:
        return True, parse_raw(synthetic)
    except SyntaxAt:
        return False, None


def agrees(words: list[str]) -> bool:
    """Whether the recognizer took the words; fails if it took them differently from the grammar."""
    synthetic = " ".join(words)
    recognized, tree = recognize(synthetic)
    if recognized:
        assert grammar_tree(synthetic) == (True, tree), synthetic
    return recognized


def depth(words: list[str]) -> int:
    deepest = level = 0
    for word in words:
        canonical = OPERATORS.get(word)
        if canonical in ("(", "not"):
            level += 1
            deepest = max(deepest, level)
        elif canonical == ")":
            level -= 1
    return deepest


@EXAMPLES
@given(filters)
def test_every_filter_of_the_grammar_is_recognized_as_the_grammar_reads_it(words: list[str]) -> None:
    assert agrees(words) or depth(words) > MAX_DEPTH, " ".join(words)


@EXAMPLES
@given(mutated())
def test_a_mutated_filter_is_declined_or_read_as_the_grammar_reads_it(words: list[str]) -> None:
    agrees(words)


@EXAMPLES
@given(st.lists(st.sampled_from(VOCABULARY), max_size=16))
def test_random_words_are_declined_or_read_as_the_grammar_reads_them(words: list[str]) -> None:
    agrees(words)


@pytest.mark.parametrize("synthetic", [
    "dport = v", "state", "v", "dst = = v", "( dport = v", "dport = v )", "dst != v", "dport", "( )", "not",
    "dport = v and", "and dport = v", "dport = v or or sport = v", "dev >= v", "autobound v",
])
def test_known_shapes_and_mistakes(synthetic: str) -> None:
    agrees(synthetic.split(" "))


def test_nesting_past_its_depth_is_left_to_the_grammar() -> None:
    shallow = "( " * MAX_DEPTH + "dport = v" + " )" * MAX_DEPTH
    deep = "( " * (MAX_DEPTH + 2) + "dport = v" + " )" * (MAX_DEPTH + 2)
    assert recognize(shallow) == grammar_tree(shallow)
    assert recognize(deep) == (False, None)


def test_the_common_shapes_are_recognized() -> None:
    for synthetic in ["dport = v", "( dport = v )", "( sport = v or dport = v )", "dst v and not src v",
                      "! ( dport geq v && dport le v )", "dev eq v fwmark != v cgroup v", "autobound"]:
        assert recognize(synthetic) == grammar_tree(synthetic), synthetic
