"""What a bad filter raises, and the shapes the grammar hands on (importable without pyparsing)."""

from __future__ import annotations

from pyss.lite_typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

# ss's exit statuses for the two kinds of bad filter it distinguishes.
EXIT_SYNTAX = 255  # syntax errors, wrong state names, incomplete `state`
EXIT_VALUE = 1  # an address, port, device, mark or cgroup that does not parse


class FilterError(ValueError):
    """A filter expression that ss would reject.

    ``text`` is the whole expression as the user gave it, ``column`` the
    1-based column of the offending token in it (``len(text) + 1`` for "the
    end"), and ``status`` the exit status ss uses for the same mistake.
    """

    def __init__(self, message: str, text: str, column: int, status: int = EXIT_SYNTAX) -> None:
        super().__init__(message, text, column)
        self.message = message
        self.text = text
        self.column = column
        self.status = status

    def __str__(self) -> str:
        # one line whatever the words hold (a -F file's control characters, an argv word with a newline)
        quoted = printable(excerpt(self.text, self.column))
        return f'bad filter at column {self.column}: "{quoted}": {printable(self.message)}'


# A long expression (a generated -F file of thousands of alternatives) is quoted only this many
# characters either side of the column pointed at, so that the one line stays one a person can read.
QUOTED_AROUND = 60


def excerpt(text: str, column: int) -> str:
    """text, or the part of it around the 1-based ``column`` with "..." where it is cut."""
    if len(text) <= 2 * QUOTED_AROUND:
        return text
    start = max(column - 1 - QUOTED_AROUND, 0)
    end = column - 1 + QUOTED_AROUND
    return ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")


_ESCAPES = {0: "\\0", 9: "\\t", 10: "\\n", 13: "\\r"} | {
    code: f"\\x{code:02x}" for code in [*range(1, 9), 11, 12, *range(14, 32), 127]}


def printable(text: str) -> str:
    """text with control characters written as C escapes."""
    return text.translate(_ESCAPES)


END = "the end of the filter"  # what the grammar calls the end of the words
# A parse before the value words are read: nested tuples, each value word given by its position.
Raw = tuple["Any", ...]  # quoted: Any exists for type checkers only


class SyntaxAt(Exception):
    """The grammar cannot go on at ``loc`` of the synthetic text; ``expected`` says what could."""

    def __init__(self, loc: int, expected: str) -> None:
        super().__init__(loc, expected)
        self.loc = loc
        self.expected = expected
