"""The grammar: tokens, precedence, printing round trips, and errors ss's way."""

from __future__ import annotations

import pytest
from tests.unit.filter.fake_resolver import FakeResolver

from pyss.filter import FilterError, compile_filter
from pyss.filter.ast import And, Autobound, Cond, Node, Not, Or, format_expression
from pyss.filter.compiled import CompiledFilter
from pyss.filter.tokens import file_lines, split_words, tokenize


def compile_words(*words: str, **options: object) -> CompiledFilter:
    return compile_filter(list(words), resolver=FakeResolver(), **options)  # type: ignore[arg-type]


def tree(text: str) -> Node:
    expression = compile_words(*text.split()).expression
    assert expression is not None
    return expression


def shape(node: Node) -> str:
    """The tree's structure with leaves by field name, e.g. 'and(or(sport,sport),dst)'."""
    if isinstance(node, Cond):
        return node.field if node.op == "=" else f"{node.field}{node.op}"
    if isinstance(node, Autobound):
        return "auto"
    if isinstance(node, Not):
        return f"not({shape(node.operand)})"
    kind = "and" if isinstance(node, And) else "or"
    assert isinstance(node, And | Or)
    return f"{kind}({shape(node.left)},{shape(node.right)})"


@pytest.mark.parametrize(("text", "expected"), [
    ("sport = :22 or sport = :80 and dst 10.0.0.1", "and(or(sport,sport),dst)"),
    ("sport = :22 and sport = :80 or dst 10.0.0.1", "or(and(sport,sport),dst)"),
    ("sport = :22 sport = :80 or dst 10.0.0.1", "or(and(sport,sport),dst)"),
    ("sport = :22 or ( sport = :80 and dst 10.0.0.1 )", "or(sport,and(sport,dst))"),
    ("not sport = :22 and autobound", "and(not(sport),auto)"),
    ("! ( sport = :22 || dport = :22 ) && autobound", "and(not(or(sport,dport)),auto)"),
    ("sport > :1 & dport < :2 | dev lo", "or(and(sport>,dport<),dev)"),
    ("dst 10.0.0.1 src 10.0.0.2 autobound", "and(and(dst,src),auto)"),
    ("not not autobound", "not(not(auto))"),
])
def test_precedence_is_left_to_right(text: str, expected: str) -> None:
    assert shape(tree(text)) == expected


@pytest.mark.parametrize(("text", "canonical"), [
    ("dport eq :22", "dport = :22"),
    ("sport == :ssh", "sport = :ssh"),
    ("dst 10.0.0.0/8", "dst = 10.0.0.0/8"),
    ("sport gt :1024 && dport neq :80", "sport > :1024 and dport != :80"),
    ("sport ge :1 || sport le :2 || sport lt :3", "sport >= :1 or sport <= :2 or sport < :3"),
    ("dev != lo", "dev != lo"),
    ("fwmark 0x10/0xff", "fwmark = 0x10/0xff"),
    ("cgroup app", "cgroup = app"),
    ("! autobound", "not autobound"),
    ("not ( autobound or dev lo )", "not ( autobound or dev = lo )"),
    ("autobound and ( dev lo or dev eth0 )", "autobound and ( dev = lo or dev = eth0 )"),
    ("( autobound and dev lo ) or dev eth0", "autobound and dev = lo or dev = eth0"),
    ("src unix:/tmp/a\\ b*", "src = unix:/tmp/a\\ b*"),
])
def test_printing_is_canonical_and_round_trips(text: str, canonical: str) -> None:
    first = compile_words(text).expression
    assert first is not None
    printed = format_expression(first)
    assert printed == canonical
    assert compile_words(printed).expression == first


def test_str_includes_state_words() -> None:
    compiled = compile_words("state", "established", "exclude", "bucket", "(", "sport", "=", ":22", ")")
    assert str(compiled) == "state established exclude bucket sport = :22"


def test_tokens_split_on_spaces_and_tabs_with_backslash_escapes() -> None:
    text, tokens = tokenize(["( sport\t=", ":22 )", "a\\ b\\\\c\\"])
    assert [t.text for t in tokens] == ["(", "sport", "=", ":22", ")", "a b\\c"]
    assert [t.column for t in tokens] == [1, 3, 9, 11, 15, 17]
    assert text == "( sport\t= :22 ) a\\ b\\\\c\\"


def test_file_lines_skip_comments_like_ss() -> None:
    assert file_lines("# comment\nsport = :22\n0 skipped too\n  or dport = :22\n") == [
        "sport = :22", "  or dport = :22", ""]


def test_filter_text_from_a_file() -> None:
    compiled = compile_filter([], file_text="# ssh either way\nsport = :22\nor dport = :22\n", resolver=FakeResolver())
    assert str(compiled) == "sport = :22 or dport = :22"


def test_keywords_after_backslash_are_still_keywords() -> None:
    assert shape(tree("sport = :22 \\or dport = :22")) == "or(sport,dport)"


def test_empty_filter_and_state_only() -> None:
    assert compile_words().expression is None
    compiled = compile_words("state", "listening")
    assert compiled.expression is None and compiled.states == 1 << 10
    assert compiled.bytecode(2, 6) is None


@pytest.mark.parametrize(("words", "status", "column", "fragment"), [
    (["dport", "=", ":bogus"], 1, 9, '"bogus" is not a port'),
    ([")", "dport", "=", ":bogus"], 255, 1, '")" is not expected'),
    (["dport", "=", ":bogus", ")"], 1, 9, "is not a port"),
    (["dst"], 255, 4, "ends where a value"),
    (["(sport"], 1, 1, "is not an address"),
    (["10.0.0.1"], 255, 1, "expected a condition"),
    (["dst", "10.0.0.1", "5.6.7.8"], 255, 14, '"5.6.7.8" is not expected'),
    (["dst", "10.0.0.1", "bogus.invalid"], 1, 14, "is not an address"),
    (["(", "sport", "=", ":22"], 255, 14, 'where ")" should'),
    (["sport", "=", ":22", "and"], 255, 16, "a condition"),
    (["dst", "!=", "10.0.0.1"], 255, 5, '"!=" is not expected'),
    (["dst", "[::1"], 1, 5, 'closing "]"'),
    (["src", "1.2.3.4/33"], 1, 5, "is not an address"),
    (["fwmark", "=", "5/"], 1, 10, "not a mark"),
    (["dev", "nosuch"], 1, 5, "not a device"),
    (["cgroup", "/nonexistent"], 1, 8, "not a cgroup2 path"),
    (["sport", "=", ":odd"], 1, 9, "different ports"),
    (["state", "established", "dport", "="], 255, 26, "ends where a value"),
])
def test_errors_like_ss(words: list[str], status: int, column: int, fragment: str) -> None:
    with pytest.raises(FilterError) as caught:
        compile_words(*words)
    error = caught.value
    assert (error.status, error.column) == (status, column), str(error)
    assert fragment in error.message
    assert "\n" not in str(error)
    assert str(error).startswith(f'bad filter at column {column}: "{" ".join(words)}": ')


def test_service_lookup_follows_the_dumped_tables() -> None:
    compiled = compile_words("sport", "=", ":odd", service_protocols=("tcp",))
    assert isinstance(compiled.expression, Cond)
    assert compiled.expression.value.port == 1000  # type: ignore[union-attr]
    with pytest.raises(FilterError):
        compile_words("sport", "=", ":http", service_protocols=("udp",))


def test_family_prefixes_limit_the_dump() -> None:
    assert compile_words("src", "unix:/tmp/*").families == 1 << 1
    assert compile_words("src", "inet6:[::1]", "or", "src", "[::2]").families == 1 << 10
    with pytest.raises(FilterError):  # read as IPv6 after the inet6: prefix, as ss does
        compile_words("src", "inet6:[::1]", "or", "src", "10.0.0.1")
    assert compile_words("src", "10.0.0.1").families is None
    assert compile_words("src", "10.0.0.1", preferred_family=2).families == 1 << 2


def test_preferred_unix_family_reads_paths() -> None:
    compiled = compile_words("src", "*stream*", preferred_family=1)
    assert isinstance(compiled.expression, Cond)
    assert compiled.expression.value.pattern == "*stream*"  # type: ignore[union-attr]


def test_a_family_prefix_switches_the_family_of_later_values() -> None:
    compiled = compile_words("src", "unix:/nonexistent", "or", "src", "*stream*")
    assert isinstance(compiled.expression, Or)
    assert compiled.expression.right.value.pattern == "*stream*"  # type: ignore[union-attr]
    with pytest.raises(FilterError) as caught:
        compile_words("src", "inet:127.0.0.1", "or", "src", "*stream*", preferred_family=1)
    assert caught.value.status == 1


def test_words_and_file_text_together() -> None:
    compiled = compile_filter(["state", "listening", "sport", ">", ":1"], file_text="# more\nor dport = :2\n",
                              resolver=FakeResolver())
    assert compiled.states == 1 << 10
    assert str(compiled) == "state listening sport > :1 or dport = :2"


@pytest.mark.parametrize(("text", "words"), [
    ("src /a\\ b.sock", ["src", "/a\\ b.sock"]),  # an escaped space stays in its word, escaped
    ("  state\tlistening\nsport = :22 ", ["state", "listening", "sport", "=", ":22"]),
    ("src a\\\tb", ["src", "a\\\tb"]),
    ("dev = eth0\u00a0x", ["dev", "=", "eth0\u00a0x"]),  # no-break space is no separator for ss's lexer either
    ("", []),
])
def test_a_filter_string_is_cut_into_words_as_a_shell_cuts_them(text: str, words: list[str]) -> None:
    assert split_words(text) == words
