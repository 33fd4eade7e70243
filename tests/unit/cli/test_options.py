"""The getopt_long work-alike behind pyss and pynetstat."""

from __future__ import annotations

import pytest

from pyss.cli.options import Option, UsageError, help_text, read_options

OPTIONS = (
    Option("tcp", "t", "tcp", False, "TCP"),
    Option("all", "a", "all", False, "all"),
    Option("numeric", "n", "numeric", False, "numbers"),
    Option("family", "f", "family", True, "family", "FAMILY"),
    Option("context", "Z", "context", False, "ctx"),
    Option("contexts", "z", "contexts", False, "ctxs"),
    Option("query", "A", "query", True, "tables", "QUERY"),
    Option("query", None, "quest", True, "", "QUERY"),  # a second name of --query, as ss's --socket
    Option("afname", None, "inet", False, ""),  # net-tools' --<family>: one option, several names
    Option("afname", None, "inet6", False, ""),
    Option("interfaces", "i", "interfaces", False, ""),
    Option("no-header", "H", "no-header", False, ""),
    Option("no-queues", "Q", "no-queues", False, "", extension=True),
    Option("noise", None, "noise", False, "", extension=True),
    Option("nonsense", None, "nonsense", False, "", extension=True),
)


def parse(argv: list[str]) -> tuple[list[tuple[str, str | None]], list[str]]:
    operands: list[str] = []
    found = [(option.long or option.key, value) for option, value in read_options(argv, OPTIONS, operands)]
    return found, operands


def test_combined_short_flags_and_operands_in_any_order() -> None:
    found, operands = parse(["-tan", "state", "established", "-f", "inet"])
    assert found == [("tcp", None), ("all", None), ("numeric", None), ("family", "inet")]
    assert operands == ["state", "established"]


def test_attached_short_value_and_long_forms() -> None:
    found, _ = parse(["-tfinet6", "--family=unix", "--family", "link", "--family="])
    assert found == [("tcp", None), ("family", "inet6"), ("family", "unix"), ("family", "link"), ("family", "")]


def test_a_value_word_may_look_like_an_option() -> None:
    assert parse(["-f", "-t", "--family", "--all"]) == ([("family", "-t"), ("family", "--all")], [])


def test_unambiguous_prefix_and_exact_match_win() -> None:
    assert parse(["--num", "--context"])[0] == [("numeric", None), ("context", None)]


def test_an_abbreviation_of_one_option_under_two_names_is_not_ambiguous() -> None:
    """glibc: prefix matches that mean the same (key and argument kind) are one option; the first wins."""
    assert parse(["--q", "tcp"])[0] == [("query", "tcp")]
    assert parse(["--ine"])[0] == [("inet", None)]


def test_pyss_own_options_do_not_make_the_tool_s_abbreviations_ambiguous() -> None:
    assert parse(["--no"])[0] == parse(["--no-"])[0] == [("no-header", None)]
    assert parse(["--no-q", "--noi"])[0] == [("no-queues", None), ("noise", None)]


def test_double_dash_ends_options() -> None:
    assert parse(["-t", "--", "-a", "--all"]) == ([("tcp", None)], ["-a", "--all"])


def test_lone_dash_is_an_operand() -> None:
    assert parse(["-"]) == ([], ["-"])


def test_options_are_read_one_at_a_time() -> None:
    """A bad option is reported only when reached: what comes before it was already handed out."""
    operands: list[str] = []
    reading = read_options(["-t", "word", "-k"], OPTIONS, operands)
    assert next(reading)[0].key == "tcp"
    with pytest.raises(UsageError, match="invalid option -- 'k'"):
        next(reading)
    assert operands == ["word"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-k"], "invalid option -- 'k'"),
        (["-tk"], "invalid option -- 'k'"),
        (["--foo"], "unrecognized option '--foo'"),
        (["--foo=1"], "unrecognized option '--foo=1'"),
        (["--con=1"], "option '--con=1' is ambiguous; possibilities: '--context' '--contexts'"),
        (["---"], "unrecognized option '---'"),
        (["-f"], "option requires an argument -- 'f'"),
        (["--family"], "option '--family' requires an argument"),
        (["--tcp=1"], "option '--tcp' doesn't allow an argument"),
        (["--con"], "option '--con' is ambiguous; possibilities: '--context' '--contexts'"),
        # the first match, then every match unlike it, in table order (glibc's list)
        (["--i"], "option '--i' is ambiguous; possibilities: '--inet' '--interfaces'"),
        (["--n"], "option '--n' is ambiguous; possibilities: '--numeric' '--no-header'"),  # not pyss's own
    ],
)
def test_errors_are_one_line_in_getopt_words(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse(argv)
    assert str(raised.value) == message
    assert "\n" not in str(raised.value)


def test_help_lists_every_option_with_help() -> None:
    text = help_text("prog", "[ OPTIONS ]", OPTIONS)
    assert text.startswith("Usage: prog [ OPTIONS ]\n")
    for option in OPTIONS:
        assert (f"--{option.long}" in text) == bool(option.help)
    assert "-f, --family=FAMILY" in text


def test_an_optional_value_is_taken_only_after_equals() -> None:
    options = (Option("watch", None, "watch", True, "", "SECONDS", optional_value=True),
               Option("tcp", "t", "tcp", False, ""))

    def parse_watch(argv: list[str]) -> tuple[list[tuple[str, str | None]], list[str]]:
        operands: list[str] = []
        return [(option.key, value) for option, value in read_options(argv, options, operands)], operands

    assert parse_watch(["--watch", "-t"]) == ([("watch", None), ("tcp", None)], [])
    assert parse_watch(["--watch=2.5", "5"]) == ([("watch", "2.5")], ["5"])
    assert parse_watch(["--wa=1"]) == ([("watch", "1")], [])
    assert "--watch[=SECONDS]" in help_text("p", "", (options[0]._replace(help="h"),))
