"""ss's filter grammar in pyparsing, and the pass that turns words into a tree.

The grammar (see grammar/ss-filter.ebnf) reads ss's tokens: every word is a
whole token, so keywords match whole words only. ``and``/``or`` and the
implicit ``and`` share one precedence and group left to right, exactly as
ss's yacc grammar does (``a or b and c`` is ``(a or b) and c``).

ss's lexer reads value words as it meets them and exits at the first one it
cannot read; its parser stops at the first token that cannot continue the
expression. Which comes first decides ss's message and exit status, so
:func:`parse` first finds the syntax error position (if any), then reads the
value words up to it in order, and reports whichever problem ss would.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import pyparsing as pp

from pyss.filter.ast import And, Autobound, Cond, Node, Not, Or, Value
from pyss.filter.errors import EXIT_SYNTAX, EXIT_VALUE, FilterError
from pyss.filter.tokens import KEYWORDS, OPERATORS, Token, field_context
from pyss.filter.values import (
    HostSpec,
    ValueContext,
    ValueProblem,
    parse_cgroup,
    parse_dev,
    parse_host,
    parse_mark,
)

_WORD = r"(?:\\.|[^\s\\])+"
_END = "the end of the filter"
# Parse results before the value words are read: nested tuples holding token indexes.
Raw = tuple[Any, ...]


def _unescape(word: str) -> str:
    out, index = [], 0
    while index < len(word):
        if word[index] == "\\" and index + 1 < len(word):
            index += 1
        out.append(word[index])
        index += 1
    return "".join(out)


def _escape(word: str) -> str:
    return "".join("\\" + ch if ch in " \t\n\r\f\v\\" else ch for ch in word)


def _keyword(canonical: str, name: str) -> pp.ParserElement:
    spellings = {word for word, canon in OPERATORS.items() if canon == canonical} or {canonical}
    element = pp.Regex(_WORD).add_condition(lambda toks: _unescape(toks[0]) in spellings, message=f"Expected {name}")
    return element.add_parse_action(pp.replace_with(canonical)).set_name(name)


@lru_cache(maxsize=1)
def _grammar() -> pp.ParserElement:
    value = pp.Regex(_WORD).add_condition(lambda toks: _unescape(toks[0]) not in KEYWORDS,
                                          message="Expected a value")
    value = value.add_parse_action(lambda _s, loc, _t: [loc]).set_name("a value")
    eq, neq = _keyword("=", '"="'), _keyword("!=", '"!="')
    order = pp.MatchFirst([_keyword(op, f'"{op}"') for op in (">=", "<=", ">", "<")] + [neq, eq])
    expr = pp.Forward()
    expr_list = pp.Forward()

    def cond(fields: Sequence[str], ops: pp.ParserElement) -> pp.ParserElement:
        field = pp.MatchFirst([_keyword(f, f'"{f}"') for f in fields])
        return pp.Group(field - pp.Optional(ops, default="=") - value).set_parse_action(
            lambda t: ("cond", t[0][0], t[0][1], t[0][2]))

    host = cond(("dst", "src"), eq)
    port = cond(("dport", "sport"), order)
    other = cond(("dev", "fwmark", "cgroup"), neq | eq)
    auto = _keyword("autobound", "\"autobound\"").add_parse_action(lambda: ("auto",))
    paren = pp.Suppress(_keyword("(", '"("')) - expr_list - pp.Suppress(_keyword(")", '")"'))
    negation = pp.Group(pp.Suppress(_keyword("not", '"not"')) - expr).set_parse_action(lambda t: ("not", t[0][0]))
    expr <<= (paren | negation | host | port | other | auto).set_name("a condition")
    joiner = _keyword("and", '"and"') | _keyword("or", '"or"')
    expr_list <<= pp.Group(expr + pp.ZeroOrMore((joiner - expr) | expr)).set_parse_action(_fold)
    return pp.Optional(expr_list) + pp.StringEnd().set_name(_END)


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


def _synthetic(tokens: Sequence[Token]) -> tuple[str, list[int]]:
    offsets, parts, offset = [], [], 0
    for token in tokens:
        offsets.append(offset)
        escaped = _escape(token.text)
        parts.append(escaped)
        offset += len(escaped) + 1
    return " ".join(parts), offsets


def _token_at(loc: int, offsets: list[int], size: int) -> int:
    """Index of the token at or after synthetic position loc (len(offsets): the end)."""
    if loc >= size:
        return len(offsets)
    return bisect.bisect_left(offsets, loc)


def _read_value(token: Token, field: str | None, context: ValueContext) -> Value:
    if field == "dev":
        return parse_dev(token.text, context)
    if field == "fwmark":
        return parse_mark(token.text)
    if field == "cgroup":
        return parse_cgroup(token.text, context)
    return parse_host(token.text, field in ("sport", "dport"), context)


def _build(raw: Raw, values: dict[int, Value]) -> Node:
    kind = raw[0]
    if kind == "cond":
        return Cond(raw[1], raw[2], values[raw[3]])
    if kind == "auto":
        return Autobound()
    if kind == "not":
        return Not(_build(raw[1], values))
    # A chain of and/or grows to the left; build it iteratively (a filter may list thousands of ports).
    spine: list[Raw] = []
    while raw[0] in ("and", "or"):
        spine.append(raw)
        raw = raw[1]
    node = _build(raw, values)
    for link in reversed(spine):
        right = _build(link[2], values)
        node = And(node, right) if link[0] == "and" else Or(node, right)
    return node


def _paren_hint(word: str) -> str:
    return " (ss needs spaces around parentheses)" if len(word) > 1 and ("(" in word or ")" in word) else ""


def _syntax_message(tokens: Sequence[Token], index: int, expected: str) -> str:
    if index >= len(tokens):
        return f"the filter ends where {expected} should follow"
    found = tokens[index].text
    return f'"{found}" is not expected here; expected {expected}{_paren_hint(found)}'


def parse(text: str, tokens: Sequence[Token], context: ValueContext) -> tuple[Node | None, int | None]:
    """(expression tree or None, family mask the values limit the dump to, or None)."""
    synthetic, offsets = _synthetic(tokens)
    raw: Raw | None = None
    error_index, expected = len(tokens), ""
    failed = False
    try:
        results = _grammar().parse_string(synthetic, parse_all=True)
        raw = results[0] if len(results) else None
    except pp.ParseBaseException as exc:
        failed = True
        error_index = _token_at(exc.loc, offsets, len(synthetic))
        expected = exc.msg.removeprefix("Expected ")
        if expected == _END:
            expected = f"and, or, a condition or {_END}" if error_index else "a condition"
    fields = field_context(tokens)
    values: dict[int, Value] = {}
    families: int | None = None
    for index in range(min(error_index + 1, len(tokens))):
        token = tokens[index]
        if token.text in KEYWORDS:
            continue
        try:
            value = _read_value(token, fields[index], context)
        except ValueProblem as problem:
            raise FilterError(str(problem) + _paren_hint(token.text), text, token.column, EXIT_VALUE) from None
        if isinstance(value, HostSpec) and value.scope:
            # ss narrows the dump to the value's family and reads later bare values in it.
            families = 1 << value.scope
            context.preferred_family = value.scope
        values[offsets[index]] = value
    if failed:
        column = tokens[error_index].column if error_index < len(tokens) else len(text) + 1
        raise FilterError(_syntax_message(tokens, error_index, expected), text, column, EXIT_SYNTAX)
    return (None if raw is None else _build(raw, values)), families
