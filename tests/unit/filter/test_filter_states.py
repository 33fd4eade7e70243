"""State names, groups and the leading state/exclude words (ss's scan_state and main loop)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pyss.filter import FilterError
from pyss.filter.states import ALL, GROUPS, leading_states, state_mask
from pyss.netlink.constants import (
    TCP_CLOSE,
    TCP_ESTABLISHED,
    TCP_LISTEN,
    TCP_SYN_RECV,
    TCP_SYN_SENT,
    TCP_TIME_WAIT,
)


def bit(state: int) -> int:
    return 1 << state


@pytest.mark.parametrize(("name", "mask"), [
    ("established", bit(TCP_ESTABLISHED)), ("ESTABLISHED", bit(TCP_ESTABLISHED)),
    ("syn-rcv", bit(TCP_SYN_RECV)), ("syn-recv", bit(TCP_SYN_RECV)), ("close", bit(TCP_CLOSE)),
    ("closed", bit(TCP_CLOSE)), ("unconnected", bit(TCP_CLOSE)), ("listening", bit(TCP_LISTEN)),
    ("unknown", 1), ("all", (1 << 12) - 1), ("bucket", bit(TCP_SYN_RECV) | bit(TCP_TIME_WAIT)),
    ("connected", ALL & ~(bit(TCP_CLOSE) | bit(TCP_LISTEN))),
    ("synchronized", ALL & ~(bit(TCP_CLOSE) | bit(TCP_LISTEN) | bit(TCP_SYN_SENT))),
    ("big", ALL & ~(bit(TCP_SYN_RECV) | bit(TCP_TIME_WAIT))),
])
def test_names_and_groups(name: str, mask: int) -> None:
    assert state_mask(name) == mask


@pytest.mark.parametrize("name", ["listen", "estab", "time_wait", ""])
def test_unknown_names(name: str) -> None:
    assert state_mask(name) is None


def test_state_words_accumulate_and_exclude_starts_from_all() -> None:
    assert leading_states(["state", "established", "state", "listening", "dport", "=", ":22"]) == (
        bit(TCP_ESTABLISHED) | bit(TCP_LISTEN), 4)
    assert leading_states(["exclude", "listening", "excl", "established"]) == (
        ALL & ~bit(TCP_LISTEN) & ~bit(TCP_ESTABLISHED), 4)
    assert leading_states(["state", "all", "exclude", "bucket"]) == (GROUPS["big"], 4)
    assert leading_states(["exclude", "all"]) == (0, 2)
    assert leading_states(["dport", "=", ":22"]) == (None, 0)


def test_keywords_are_case_sensitive_and_leading_only() -> None:
    assert leading_states(["State", "established"]) == (None, 0)
    assert leading_states(["state established"]) == (None, 0)  # one argv word: ss hands it to the parser
    assert leading_states(["sport", "=", ":22", "state", "listening"]) == (None, 0)


def test_bad_state_name_exits_255_and_points_at_it() -> None:
    with pytest.raises(FilterError) as caught:
        leading_states(["state", "established", "state", "bogus"])
    assert caught.value.status == 255
    assert caught.value.column == len("state established state ") + 1
    assert '"bogus" is not a state name' in str(caught.value)


def test_state_without_name() -> None:
    with pytest.raises(FilterError) as caught:
        leading_states(["state"])
    assert caught.value.status == 255


def test_importing_states_does_not_import_pyparsing() -> None:
    code = "import sys, pyss.filter, pyss.filter.states; sys.exit('pyparsing' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
