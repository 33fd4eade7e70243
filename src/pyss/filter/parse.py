"""The pass that turns a filter's words into an expression tree (pyparsing only for shapes the recognizer declines).

ss's lexer reads value words as it meets them and exits at the first one it
cannot read; its parser stops at the first token that cannot continue the
expression. Which comes first decides ss's message and exit status, so
:func:`parse` first finds the syntax error position (if any), then reads the
value words up to it in order, and reports whichever problem ss would.

The grammar's part depends only on the keywords and where the values stand.
Importing pyparsing costs more than ss takes to answer a filtered query, so
the common shapes are read by :mod:`pyss.filter.recognize` (the grammar's tree
without pyparsing, or a decline); only what it declines goes to the grammar
(:func:`pyss.filter.grammar.parse_raw`), whose answer is cached per shape
(:mod:`pyss.filter.cache`): the same filter tends to come back (watch loops,
scripts, monitoring).
"""

from __future__ import annotations

from pyss.filter.ast import And, Autobound, Cond, Node, Not, Or, Value
from pyss.filter.errors import END, EXIT_SYNTAX, EXIT_VALUE, FilterError, Raw, SyntaxAt
from pyss.filter.recognize import recognize
from pyss.filter.tokens import KEYWORDS, Token, field_context
from pyss.filter.values import (
    HostSpec,
    ValueContext,
    ValueProblem,
    parse_cgroup,
    parse_dev,
    parse_host,
    parse_mark,
)
from pyss.lite_typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence


def _escape(word: str) -> str:
    return "".join("\\" + ch if ch in " \t\n\r\f\v\\" else ch for ch in word)


def _raw_tree(synthetic: str) -> Raw | None:
    recognized, raw = recognize(synthetic)
    if recognized:
        return raw
    # A shape the recognizer is not sure of (or a syntax error): the grammar decides, once per shape.
    from pyss.filter import cache

    found, raw = cache.lookup(synthetic)
    if found:
        return raw
    from pyss.filter.grammar import parse_raw

    raw = parse_raw(synthetic)
    cache.store(synthetic, raw)
    return raw


def _synthetic(tokens: Sequence[Token]) -> tuple[str, list[int]]:
    """The words as the grammar reads them, and where each starts.

    A value word is written as "v": the grammar only asks whether a word is
    a keyword, so filters that differ only in their values (``dport = :22``,
    ``dport = :443``) share one parse, and one cache entry.
    """
    offsets, parts, offset = [], [], 0
    for token in tokens:
        offsets.append(offset)
        escaped = _escape(token.text) if token.text in KEYWORDS else "v"
        parts.append(escaped)
        offset += len(escaped) + 1
    return " ".join(parts), offsets


def _token_at(loc: int, offsets: list[int], size: int) -> int:
    """Index of the token at or after synthetic position loc (len(offsets): the end)."""
    if loc >= size:
        return len(offsets)
    from bisect import bisect_left  # error path only

    return bisect_left(offsets, loc)


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
        raw = _raw_tree(synthetic)
    except SyntaxAt as error:
        failed = True
        error_index = _token_at(error.loc, offsets, len(synthetic))
        expected = error.expected
        if expected == END:
            expected = f"and, or, a condition or {END}" if error_index else "a condition"
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
