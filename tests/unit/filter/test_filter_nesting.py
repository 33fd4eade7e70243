"""Deep nesting (issue 15, case 9): ss accepts up to ~10,000 nested parentheses or `not`s; so must
pyss, through every stage that walks the tree (grammar, tree builder, cache, lowering, bytecode,
predicate, printing), without a RecursionError or a crash, and refuse beyond with ss's status."""

from __future__ import annotations

import sys

import pytest
from tests.unit.filter import kernel_model

from pyss.filter import MAX_NESTING, FilterError, compile_filter
from pyss.filter.ast import And, Cond, Node, Not, Or, format_expression
from pyss.filter.predicate import UNIX_VIEW, depth, jump_program
from pyss.netlink.constants import AF_INET
from pyss.records import UnixSocket


def parenthesised(levels: int, inner: str) -> list[str]:
    return ("( " * levels + inner + " )" * levels).split()


def entry(sport: int, dport: int = 40000) -> kernel_model.Entry:
    return kernel_model.Entry(AF_INET, sport, dport, bytes(4), bytes(4))


@pytest.mark.parametrize("levels", [100, 1000, 5000])
def test_nested_parentheses_ss_accepts_compile_and_judge(levels: int) -> None:
    found = compile_filter(parenthesised(levels, "sport = :22 or dport = :22"))
    assert found(kernel_model.record_for(entry(22))) and not found(kernel_model.record_for(entry(23)))
    assert str(found) == "sport = :22 or dport = :22"


@pytest.mark.parametrize("levels", [1000, 3000])
def test_nested_nots_and_alternating_operators_compile_and_judge(levels: int) -> None:
    # `not ( sport = :1 or not ( sport = :2 and not ( ... ) ) )`: every level a different node,
    # so nothing flattens and the predicate is as deep as the filter
    words: list[str] = []
    for level in range(levels):
        words += ["not", "(", f"sport = :{level + 1}", "or" if level % 2 else "and"]
    words = " ".join(words).split() + ["autobound"] + [")"] * levels
    found = compile_filter(words)
    assert found.expression is not None
    assert format_expression(found.expression).count("not ( ") == levels
    expected = _oracle(found.expression)
    for port in (1, 2, 3, 7, levels, levels + 1):
        record = kernel_model.record_for(entry(port))
        assert found(record) == expected(record)
    if found.kernel_bytecode is not None:
        assert kernel_model.run(found.kernel_bytecode, entry(1)) == found(kernel_model.record_for(entry(1)))


def _oracle(node: Node) -> object:
    """The expression judged by a straightforward evaluator with an explicit stack (no short cuts)."""
    autobound = compile_filter(["autobound"])

    def decide(record: object) -> bool:
        results: dict[int, bool] = {}
        pending: list[tuple[Node, bool]] = [(node, False)]
        while pending:
            current, ready = pending.pop()
            if isinstance(current, Cond):
                assert current.field == "sport" and current.op == "="  # all this test writes
                results[id(current)] = record.sport == current.value.port  # type: ignore[attr-defined,union-attr]
            elif isinstance(current, Not | And | Or) and not ready:
                pending.append((current, True))
                pending.extend((child, False) for child in (
                    (current.operand,) if isinstance(current, Not) else (current.left, current.right)))
            elif isinstance(current, Not):
                results[id(current)] = not results[id(current.operand)]
            elif isinstance(current, And):
                results[id(current)] = results[id(current.left)] and results[id(current.right)]
            elif isinstance(current, Or):
                results[id(current)] = results[id(current.left)] or results[id(current.right)]
            else:
                results[id(current)] = autobound(record)  # type: ignore[arg-type]
        return results[id(node)]
    return decide


def test_as_many_levels_as_ss_and_no_more() -> None:
    assert compile_filter(parenthesised(MAX_NESTING, "autobound")).expression is not None
    with pytest.raises(FilterError) as caught:
        compile_filter(parenthesised(MAX_NESTING + 1, "autobound"))
    assert caught.value.status == 255 and "10000 levels" in caught.value.message


def test_the_recursion_limit_is_restored() -> None:
    before = sys.getrecursionlimit()
    compile_filter(parenthesised(2000, "autobound"))
    with pytest.raises(FilterError):
        compile_filter(parenthesised(MAX_NESTING + 1, "autobound"))
    assert sys.getrecursionlimit() == before


def test_a_deep_cached_filter_is_served_from_the_cache(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("PYSS_FILTER_CACHE", raising=False)
    words = parenthesised(3000, "not ( sport = :22 and not dport = :80 )")
    first = compile_filter(words)
    sys.modules.pop("pyss.filter.grammar", None)
    again = compile_filter(words)
    assert "pyss.filter.grammar" not in sys.modules  # the cached tree served it
    assert str(again) == str(first) == "not ( sport = :22 and not dport = :80 )"


def test_the_jump_program_judges_as_the_closures_do() -> None:
    # unix records: names are cheap to vary, and every view field is defined
    words = ["(", "src", "*a*", "or", "not", "src", "*b*", ")", "and", "not", "(", "src", "*c*", "and", "src", "*d*", ")", "or", "src", "*e*"]
    found = compile_filter(words, preferred_family=1)
    from pyss.filter.ast import lower

    prim = lower(found.expression)  # type: ignore[arg-type]
    program = jump_program(prim, UNIX_VIEW)
    for name in ("a", "b", "c", "cd", "ab", "e", "bcd", "", "z", "acd", "bce"):
        record = UnixSocket(1, 1, 1, 0, name, 0, 0, 0, b"")
        assert program(record) == found(record), name
    assert depth(prim) == 5  # or > and > or > not > condition
