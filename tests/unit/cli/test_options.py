"""The getopt_long work-alike behind pyss and pynetstat."""

from __future__ import annotations

import pytest

from pyss.cli.options import Option, UsageError, help_text, parse

OPTIONS = (
    Option("tcp", "t", "tcp", False, "TCP"),
    Option("all", "a", "all", False, "all"),
    Option("numeric", "n", "numeric", False, "numbers"),
    Option("family", "f", "family", True, "family", "FAMILY"),
    Option("context", "Z", "context", False, "ctx"),
    Option("contexts", "z", "contexts", False, "ctxs"),
)


def test_combined_short_flags_and_operands_in_any_order() -> None:
    found, operands = parse(["-tan", "state", "established", "-f", "inet"], OPTIONS)
    assert found == [("tcp", None), ("all", None), ("numeric", None), ("family", "inet")]
    assert operands == ["state", "established"]


def test_attached_short_value_and_long_forms() -> None:
    found, _ = parse(["-tfinet6", "--family=unix", "--family", "link"], OPTIONS)
    assert found == [("tcp", None), ("family", "inet6"), ("family", "unix"), ("family", "link")]


def test_unambiguous_prefix_and_exact_match_win() -> None:
    assert parse(["--num", "--context"], OPTIONS)[0] == [("numeric", None), ("context", None)]


def test_double_dash_ends_options() -> None:
    assert parse(["-t", "--", "-a"], OPTIONS) == ([("tcp", None)], ["-a"])


def test_lone_dash_is_an_operand() -> None:
    assert parse(["-"], OPTIONS) == ([], ["-"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-k"], "invalid option -- 'k'"),
        (["-tk"], "invalid option -- 'k'"),
        (["--foo"], "unrecognized option '--foo'"),
        (["-f"], "option requires an argument -- 'f'"),
        (["--family"], "option '--family' requires an argument"),
        (["--tcp=1"], "option '--tcp' doesn't allow an argument"),
        (["--con"], "option '--con' is ambiguous; possibilities: '--context' '--contexts'"),
    ],
)
def test_errors_are_one_line_in_getopt_words(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse(argv, OPTIONS)
    assert str(raised.value) == message
    assert "\n" not in str(raised.value)


def test_help_lists_every_option() -> None:
    text = help_text("prog", "[ OPTIONS ]", OPTIONS)
    assert text.startswith("Usage: prog [ OPTIONS ]\n")
    for option in OPTIONS:
        assert f"--{option.long}" in text


def test_an_optional_value_is_taken_only_after_equals() -> None:
    from pyss.cli.options import Option, parse

    options = (Option("watch", None, "watch", True, "", "SECONDS", optional_value=True),
               Option("tcp", "t", "tcp", False, ""))
    assert parse(["--watch", "-t"], options) == ([("watch", None), ("tcp", None)], [])
    assert parse(["--watch=2.5", "5"], options) == ([("watch", "2.5")], ["5"])
    assert parse(["--wa=1"], options) == ([("watch", "1")], [])
