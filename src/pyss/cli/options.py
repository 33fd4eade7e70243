"""A getopt_long-style argument parser: the rules ss and netstat users' fingers know.

Short flags combine (``-tan``), a short option takes its argument attached or
as the next word (``-fINET``, ``-f inet``), long options take ``=value`` or the
next word and may be abbreviated to any unambiguous prefix, options and
operands may be interleaved, and ``--`` ends the options. typer/click would
reject some of these forms and cost more start-up time than pyss's whole
budget (see docs/design.md), so the CLI uses this small parser.
"""

from __future__ import annotations

from pyss.lite_typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Sequence


class Option(NamedTuple):
    key: str  # what the caller dispatches on
    short: str | None  # one character, or None
    long: str | None  # without the dashes, or None
    takes_value: bool
    help: str
    metavar: str = ""
    optional_value: bool = False  # takes a value only as --long=VALUE (getopt's optional_argument)


class UsageError(Exception):
    """A malformed command line; the message is one line, in getopt's words."""


def parse(argv: Sequence[str], options: Sequence[Option]) -> tuple[list[tuple[str, str | None]], list[str]]:
    """Split argv into [(key, value)] in order and the operands (the words that are not options)."""
    by_short = {option.short: option for option in options if option.short}
    by_long = {option.long: option for option in options if option.long}
    found: list[tuple[str, str | None]] = []
    operands: list[str] = []
    index = 0
    while index < len(argv):
        word = argv[index]
        index += 1
        if word == "--":
            operands.extend(argv[index:])
            break
        if word.startswith("--"):
            index = _parse_long(word[2:], argv, index, by_long, found)
        elif word.startswith("-") and len(word) > 1:
            index = _parse_short(word[1:], argv, index, by_short, found)
        else:
            operands.append(word)
    return found, operands


def _parse_long(
    text: str, argv: Sequence[str], index: int, by_long: dict[str, Option], found: list[tuple[str, str | None]]
) -> int:
    name, has_value, value = text.partition("=")
    option = by_long.get(name)
    if option is None:
        matches = sorted({by_long[candidate] for candidate in by_long if candidate.startswith(name)},
                         key=lambda o: o.long or "")
        if not matches:
            raise UsageError(f"unrecognized option '--{name}'")
        if len(matches) > 1:
            names = " ".join(f"'--{m.long}'" for m in matches)
            raise UsageError(f"option '--{name}' is ambiguous; possibilities: {names}")
        option = matches[0]
    if not option.takes_value:
        if has_value:
            raise UsageError(f"option '--{option.long}' doesn't allow an argument")
        found.append((option.key, None))
        return index
    if not has_value:
        if option.optional_value:
            found.append((option.key, None))
            return index
        if index >= len(argv):
            raise UsageError(f"option '--{option.long}' requires an argument")
        value = argv[index]
        index += 1
    found.append((option.key, value))
    return index


def _parse_short(
    letters: str, argv: Sequence[str], index: int, by_short: dict[str, Option], found: list[tuple[str, str | None]]
) -> int:
    for position, letter in enumerate(letters):
        option = by_short.get(letter)
        if option is None:
            raise UsageError(f"invalid option -- '{letter}'")
        if not option.takes_value:
            found.append((option.key, None))
            continue
        rest = letters[position + 1 :]
        if rest:
            found.append((option.key, rest))
            return index
        if index >= len(argv):
            raise UsageError(f"option requires an argument -- '{letter}'")
        found.append((option.key, argv[index]))
        return index + 1
    return index


def help_text(program: str, synopsis: str, options: Sequence[Option]) -> str:
    """A --help listing of the options, one line each."""
    lines = [f"Usage: {program} {synopsis}", ""]
    for option in options:
        if not option.help:
            continue
        short = f"-{option.short}," if option.short else "   "
        long = f"--{option.long}" if option.long else ""
        if option.takes_value and option.metavar:
            long += f"[={option.metavar}]" if option.optional_value else \
                f"={option.metavar}" if option.long else f" {option.metavar}"
        lines.append(f"  {short} {long:<24} {option.help}")
    return "\n".join(lines) + "\n"
