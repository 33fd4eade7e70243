"""The API's keyword shortcuts (state=, src=, dst=, sport=, dport=) build the tree the filter string builds."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pyss.api.listing import Shortcuts, plan
from pyss.filter import FilterError


def selected(kind: str, filter: str | None = None, **shortcuts: object) -> tuple[object, ...]:
    (query,) = plan(kind, filter, False, (), None, Shortcuts(**shortcuts)).queries  # type: ignore[arg-type]
    assert query.filter is not None
    compiled = query.filter
    return (compiled.expression, compiled.states, compiled.families, query.states,  # type: ignore[attr-defined]
            query.families, compiled.kernel_bytecode)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("shortcuts", "text"), [
    ({"state": "established"}, "state established"),
    ({"state": ["established", "time-wait"]}, "state established state time-wait"),
    ({"src": "127.0.0.1"}, "src = 127.0.0.1"),
    ({"dst": "10.0.0.0/8"}, "dst = 10.0.0.0/8"),
    ({"sport": 22}, "sport = :22"),
    ({"dport": 443}, "dport = :443"),
    ({"dport": ":https"}, "dport = :https"),
    ({"dst": "[::1]:22"}, "dst = [::1]:22"),
    ({"state": "listening", "sport": 22, "dst": "*"}, "state listening dst = * and sport = :22"),
])
def test_each_shortcut_gives_the_tree_of_its_filter_string(shortcuts: dict[str, object], text: str) -> None:
    assert selected("tcp", **shortcuts) == selected("tcp", text)


def test_shortcuts_and_a_filter_string_are_joined_by_and() -> None:
    assert selected("tcp", "state listening ( sport = :22 or sport = :80 )", dport=443, state="established") == \
        selected("tcp", "state established state listening dport = :443 and ( ( sport = :22 or sport = :80 ) )")


def test_a_value_is_one_word_whatever_it_holds() -> None:
    with pytest.raises(FilterError) as raised:
        selected("tcp", dst="10.0.0.1 or dport = :22")
    # one value word (read as a host), not a condition joined to another
    assert raised.value.column == len("dst = ") + 1 and "10.0.0.1 or dport" in raised.value.message


def test_shortcuts_do_not_load_pyparsing() -> None:
    probe = ("import sys, pyss; from pyss.api.listing import Shortcuts, plan; "
             "plan('tcp', None, False, (), None, Shortcuts(state='established', dport=443, src='127.0.0.1')); "
             "print('pyparsing' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "False"
