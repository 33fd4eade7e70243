"""Split filter text into words the way ss's lexer does, remembering columns.

ss separates words with spaces and tabs only (so ``(`` and ``)`` need spaces
around them) and a backslash makes the next character part of the word. Each
argv word is split on its own; ``-F FILE`` lines follow the argv words, with
ss's comment rule. Keyword classification lives here too, because whether a
value word is read as an address, a port, a device, a mark or a cgroup depends
only on the last keyword before it, never on the grammar.
"""

from __future__ import annotations

from pyss.filter.errors import EXIT_SYNTAX, FilterError
from pyss.lite_typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Final

# ss reads filter files with a 1024-byte line buffer (fgets) and refuses a line that fills 1023 bytes of
# it, its newline counted: a filter file line is at most this many bytes, with its newline if it has one.
MAX_FILE_LINE: Final = 1022

# Every operator word, mapped to its canonical spelling.
OPERATORS: Final[dict[str, str]] = {
    "!": "not", "not": "not",
    "&": "and", "&&": "and", "and": "and",
    "|": "or", "||": "or", "or": "or",
    "(": "(", ")": ")",
    ">=": ">=", "ge": ">=", "geq": ">=",
    "<=": "<=", "le": "<=", "leq": "<=",
    "!=": "!=", "ne": "!=", "neq": "!=",
    "=": "=", "==": "=", "eq": "=",
    ">": ">", "gt": ">",
    "<": "<", "lt": "<",
}
# The comparisons each condition's field takes (canonical spellings); a field written without one
# compares with "=". The grammar (pyss.filter.grammar) and the recognizer (pyss.filter.recognize) both
# read this table.
_ORDER: Final = (">=", "<=", ">", "<", "!=", "=")
FIELD_OPERATORS: Final[dict[str, tuple[str, ...]]] = {
    "dst": ("=",), "src": ("=",),
    "dport": _ORDER, "sport": _ORDER,
    "dev": ("!=", "="), "fwmark": ("!=", "="), "cgroup": ("!=", "="),
}
# Keywords that name what the following value words mean (autobound stands alone: it takes no value).
FIELDS: Final = (*FIELD_OPERATORS, "autobound")
KEYWORDS: Final = frozenset(OPERATORS) | frozenset(FIELDS)


class Token(NamedTuple):
    text: str  # the word with backslash escapes removed
    column: int  # 1-based column of the word's first character in the joined text
    raw: str  # the word as typed


def _split(source: str, offset: int) -> list[Token]:
    tokens: list[Token] = []
    index, size = 0, len(source)
    while index < size:
        if source[index] in " \t":
            index += 1
            continue
        start, chars = index, []
        while index < size and source[index] not in " \t":
            if source[index] == "\\":
                index += 1
                if index == size:
                    break
            chars.append(source[index])
            index += 1
        tokens.append(Token("".join(chars), offset + start + 1, source[start:index]))
    return tokens


_LINE_BREAKS: Final = str.maketrans("\n\r\f\v", "    ")


def split_words(text: str) -> list[str]:
    """A filter given as one string cut into words as a shell cuts an unquoted command line for ss: at
    spaces, tabs and line breaks, except where a backslash escapes one (``src /run/my\\ app.sock``);
    each word as typed, its escapes kept for :func:`tokenize`."""
    return [token.raw for token in _split(text.translate(_LINE_BREAKS), 0)]


def file_lines(text: str) -> list[str]:
    """The lines of a ``-F`` file that ss reads as filter text.

    ss skips lines starting with ``#`` and, by an accident of its code that
    pyss keeps for compatibility, lines starting with ``0``.
    """
    lines = []
    if "\0" in text:
        # ss's fgets-based reader would silently drop the rest of the line; say so instead.
        line = text[text.rfind("\n", 0, text.index("\0")) + 1:].split("\n", 1)[0]
        raise FilterError("a filter file line holds a NUL byte", line[:60],
                          line.index("\0") + 1, EXIT_SYNTAX)
    parts = text.split("\n")
    for number, line in enumerate(parts, 1):
        if len(line.encode("utf-8", "surrogateescape")) + (number < len(parts)) > MAX_FILE_LINE:
            raise FilterError("a filter file line is longer than ss reads (1022 bytes with its newline)",
                              line[:40] + "...", 1023, EXIT_SYNTAX)
        if line.startswith(("#", "0")):
            continue
        lines.append(line)
    return lines


def tokenize(words: Sequence[str]) -> tuple[str, list[Token]]:
    """(joined text, tokens) for filter words; columns index the joined text."""
    tokens: list[Token] = []
    offset = 0
    for word in words:
        tokens.extend(_split(word, offset))
        offset += len(word) + 1
    return " ".join(words), tokens


def field_context(tokens: Sequence[Token]) -> list[str | None]:
    """For each token, the field keyword in force when ss's lexer reads it (None before any)."""
    context: list[str | None] = []
    current: str | None = None
    for token in tokens:
        if token.text in FIELDS:
            current = token.text
        context.append(current)
    return context
