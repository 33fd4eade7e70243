"""A getopt_long work-alike: the command-line rules ss and netstat users' fingers know.

Short flags combine (``-tan``), a short option takes its argument attached or
as the next word (``-fINET``, ``-f inet``), long options take ``=value`` or the
next word and may be abbreviated, options and operands may be interleaved, and
``--`` ends the options. typer/click would reject some of these forms and cost
more start-up time than pyss's whole budget (see docs/design.md), so both CLIs
use this small parser over their own option table.

It follows glibc's getopt_long where the tools' behaviour shows through:

- options are read one at a time (:func:`read_options` is a generator), so a
  tool that acts on an option at once (ss's ``-h``, netstat's ``-V``) never
  sees a bad option after it, just as ss and netstat do not;
- an exact long name wins, the first in table order; an abbreviation is
  ambiguous only when the options it matches differ (another key, or another
  kind of argument), and the message names the first match and every match
  unlike it, in table order — so the table lists options in the tool's order;
- options pyss adds (``extension=True``) never make an abbreviation of the
  tool's own options ambiguous: ``--no`` is still ss's ``--no-header``.
"""

from __future__ import annotations

from pyss.lite_typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence


class Option(NamedTuple):
    key: str  # what the caller dispatches on; options with one key and argument kind are one option
    short: str | None  # one character, or None
    long: str | None  # without the dashes, or None
    takes_value: bool
    help: str
    metavar: str = ""
    optional_value: bool = False  # takes a value only as --long=VALUE (getopt's optional_argument)
    extension: bool = False  # pyss's own: abbreviations find it only when none of the tool's options match


class UsageError(Exception):
    """A malformed command line; the message is one line, in getopt's words."""


def read_options(argv: Sequence[str], options: Sequence[Option], operands: list[str]) \
        -> Iterator[tuple[Option, str | None]]:
    """Each option of argv with its value, in order; the words that are not options are appended
    to ``operands`` as they are passed (all of them once the iteration ends). A malformed option
    raises UsageError when the reading reaches it."""
    by_short = {option.short: option for option in options if option.short}
    index = 0
    while index < len(argv):
        word = argv[index]
        index += 1
        if word == "--":
            operands.extend(argv[index:])
            return
        if word.startswith("--"):
            name, has_value, value = word[2:].partition("=")
            option = _long_option(name, word, options)
            if has_value and not option.takes_value:
                raise UsageError(f"option '--{option.long}' doesn't allow an argument")
            if has_value or not option.takes_value or option.optional_value:
                yield option, value if has_value else None
                continue
            if index >= len(argv):
                raise UsageError(f"option '--{option.long}' requires an argument")
            index += 1
            yield option, argv[index - 1]
        elif word.startswith("-") and len(word) > 1:
            for position, letter in enumerate(word[1:], 2):
                short = by_short.get(letter)
                if short is None:
                    raise UsageError(f"invalid option -- '{letter}'")
                if not short.takes_value:
                    yield short, None
                    continue
                if position < len(word):  # the rest of the word is its value
                    yield short, word[position:]
                    break
                if index >= len(argv):
                    raise UsageError(f"option requires an argument -- '{letter}'")
                index += 1
                yield short, argv[index - 1]
        else:
            operands.append(word)


def _long_option(name: str, word: str, options: Sequence[Option]) -> Option:
    """The option ``--name`` means: an exact name, else the one option its abbreviation matches
    (getopt's complaints quote the whole word, ``=value`` included)."""
    for option in options:
        if option.long == name:
            return option
    matches = [option for option in options if option.long and option.long.startswith(name)]
    own = [option for option in matches if not option.extension]
    matches = own or matches
    if not matches:
        raise UsageError(f"unrecognized option '{word}'")
    first = matches[0]
    unlike = [option for option in matches[1:] if _meaning(option) != _meaning(first)]
    if unlike:
        names = " ".join(f"'--{option.long}'" for option in (first, *unlike))
        raise UsageError(f"option '{word}' is ambiguous; possibilities: {names}")
    return first


def _meaning(option: Option) -> tuple[str, bool, bool]:
    return option.key, option.takes_value, option.optional_value


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
