"""ss's filter grammar in pyparsing.

The grammar (see grammar/ss-filter.ebnf) reads ss's tokens: every word is a
whole token, so keywords match whole words only. ``and``/``or`` and the
implicit ``and`` share one precedence and group left to right, exactly as
ss's yacc grammar does (``a or b and c`` is ``(a or b) and c``).

:func:`parse_raw` gives the tree's shape with value words left as their
positions; :mod:`pyss.filter.parse` reads the values and builds the tree.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import pyparsing as pp

from pyss.filter.errors import END, Raw, SyntaxAt
from pyss.filter.tokens import FIELD_OPERATORS, KEYWORDS, OPERATORS

_WORD = r"(?:\\.|[^\s\\])+"


def _unescape(word: str) -> str:
    out, index = [], 0
    while index < len(word):
        if word[index] == "\\" and index + 1 < len(word):
            index += 1
        out.append(word[index])
        index += 1
    return "".join(out)


def _keyword(canonical: str, name: str) -> pp.ParserElement:
    spellings = {word for word, canon in OPERATORS.items() if canon == canonical} or {canonical}
    element = pp.Regex(_WORD).add_condition(lambda toks: _unescape(toks[0]) in spellings, message=f"Expected {name}")
    return element.add_parse_action(pp.replace_with(canonical)).set_name(name)


@lru_cache(maxsize=1)
def _grammar() -> pp.ParserElement:
    value = pp.Regex(_WORD).add_condition(lambda toks: _unescape(toks[0]) not in KEYWORDS,
                                          message="Expected a value")
    value = value.add_parse_action(lambda _s, loc, _t: [loc]).set_name("a value")
    expr = pp.Forward()
    expr_list = pp.Forward()

    def cond(fields: Sequence[str], ops: Sequence[str]) -> pp.ParserElement:
        field = pp.MatchFirst([_keyword(f, f'"{f}"') for f in fields])
        op = pp.MatchFirst([_keyword(canonical, f'"{canonical}"') for canonical in ops])
        return pp.Group(field - pp.Optional(op, default="=") - value).set_parse_action(
            lambda t: ("cond", t[0][0], t[0][1], t[0][2]))

    # Fields that take the same comparisons form one alternative: (dst, src), (dport, sport), (dev, fwmark, cgroup).
    by_operators: dict[tuple[str, ...], list[str]] = {}
    for field, ops in FIELD_OPERATORS.items():
        by_operators.setdefault(ops, []).append(field)
    conditions = [cond(fields, ops) for ops, fields in by_operators.items()]
    auto = _keyword("autobound", "\"autobound\"").add_parse_action(lambda: ("auto",))
    paren = pp.Suppress(_keyword("(", '"("')) - expr_list - pp.Suppress(_keyword(")", '")"'))
    negation = pp.Group(pp.Suppress(_keyword("not", '"not"')) - expr).set_parse_action(lambda t: ("not", t[0][0]))
    expr <<= pp.MatchFirst([paren, negation, *conditions, auto]).set_name("a condition")
    joiner = _keyword("and", '"and"') | _keyword("or", '"or"')
    expr_list <<= pp.Group(expr + pp.ZeroOrMore((joiner - expr) | expr)).set_parse_action(_fold)
    return pp.Optional(expr_list) + pp.StringEnd().set_name(END)


def _fold(tokens: pp.ParseResults) -> Raw:
    items = list(tokens[0])
    tree: Raw = items[0]
    index = 1
    while index < len(items):
        joiner = "and"
        if isinstance(items[index], str):
            joiner = items[index]
            index += 1
        tree = (joiner, tree, items[index])
        index += 1
    return tree


def parse_raw(synthetic: str) -> Raw | None:
    """The tree of a filter written as its escaped tokens joined by spaces; value words are their positions.

    Raises SyntaxAt where the grammar cannot go on.
    """
    try:
        results = _grammar().parse_string(synthetic, parse_all=True)
    except pp.ParseBaseException as exc:
        raise SyntaxAt(exc.loc, exc.msg.removeprefix("Expected ")) from None
    return results[0] if len(results) else None
