"""The filter shapes people type, read without pyparsing: the grammar's own tree, or a decline.

Importing pyparsing and building the grammar costs more than ss takes to
answer a filtered query. This module is the fast path in front of it (as
sqlglot keeps a fast tokenizer loop behind one seam): a small recursive
descent over the same synthetic words :func:`pyss.filter.grammar.parse_raw`
reads (keywords as typed, every value word written ``v``), giving the same
tree (:data:`pyss.filter.errors.Raw`). It never reports an error: on anything
it is not sure of (a syntax error, an unknown word, nesting deeper than
:data:`MAX_DEPTH`) it declines, and the caller asks pyparsing, which defines
the language and words the error message. So it cannot accept what the
grammar rejects, nor read a filter differently: tests/unit/filter/
test_filter_recognize.py checks this against pyparsing on filters generated
from the grammar and on random mutations of them.

The keyword spellings (:data:`pyss.filter.tokens.OPERATORS`) and the
comparisons each field takes (:data:`pyss.filter.tokens.FIELD_OPERATORS`)
are the tables the grammar is built from.
"""

from __future__ import annotations

from pyss.filter.tokens import FIELD_OPERATORS, OPERATORS
from pyss.lite_typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyss.filter.errors import Raw

# Parentheses and `not`s nested deeper than this are left to the grammar (and its deep-stack thread).
MAX_DEPTH = 30
VALUE = "v"  # how the synthetic text writes a value word
_JOINERS = frozenset({"and", "or"})
_DECLINED: tuple[bool, Raw | None] = (False, None)


class _Decline(Exception):
    """The words are not a shape this reader is sure of."""


class _Reader:
    __slots__ = ("index", "offsets", "words")

    def __init__(self, words: list[str], offsets: list[int]) -> None:
        self.words, self.offsets, self.index = words, offsets, 0

    def next_word(self) -> str:
        if self.index >= len(self.words):
            raise _Decline
        word = self.words[self.index]
        self.index += 1
        return word

    def expression(self, depth: int) -> Raw:
        """term { [ and | or ] term }, grouped to the left, stopping before ")" or the end."""
        tree = self.term(depth)
        words = self.words
        while self.index < len(words):
            word = words[self.index]
            joiner = OPERATORS.get(word)
            if joiner == ")":
                break
            if joiner in _JOINERS:
                self.index += 1
            else:
                joiner = "and"  # two conditions side by side
            tree = (joiner, tree, self.term(depth))
        return tree

    def term(self, depth: int) -> Raw:
        if depth > MAX_DEPTH:
            raise _Decline
        word = self.next_word()
        canonical = OPERATORS.get(word)
        if canonical == "(":
            tree = self.expression(depth + 1)
            if OPERATORS.get(self.next_word()) != ")":
                raise _Decline
            return tree
        if canonical == "not":
            return ("not", self.term(depth + 1))
        if word == "autobound":
            return ("auto",)
        comparisons = FIELD_OPERATORS.get(word)
        if comparisons is None:
            raise _Decline
        op = "="
        value = self.next_word()
        if value in OPERATORS and OPERATORS[value] in comparisons:
            op = OPERATORS[value]
            value = self.next_word()
        if value != VALUE:
            raise _Decline
        return ("cond", word, op, self.offsets[self.index - 1])


def recognize(synthetic: str) -> tuple[bool, Raw | None]:
    """(True, the grammar's tree) for a filter this reader is sure of, else (False, None): ask the grammar.

    ``synthetic`` is the filter as :func:`pyss.filter.grammar.parse_raw` takes it: its words joined by
    single spaces, each keyword as typed and each value word ``v``; a value's place in the tree is the
    offset of its ``v``.
    """
    if not synthetic:
        return True, None
    words = synthetic.split(" ")
    offsets, offset = [], 0
    for word in words:
        offsets.append(offset)
        offset += len(word) + 1
    reader = _Reader(words, offsets)
    try:
        tree = reader.expression(0)
    except _Decline:
        return _DECLINED
    if reader.index != len(words):
        return _DECLINED
    return True, tree
