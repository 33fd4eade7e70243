"""--count-by's pure parts: key names, ordering, --top, the table and JSON forms."""

from __future__ import annotations

import json

import pytest

from pyss.cli.counting import columns_suffice, key_names
from pyss.render.counts import delta_table, json_array, json_lines, ordered, table


def test_key_names_accept_the_api_keys_and_netns() -> None:
    assert key_names("netns,state") == ("netns", "state")
    assert key_names("peer-address") == ("peer-address",)


@pytest.mark.parametrize(("text", "message"), [
    ("colour", "unknown --count-by key 'colour' (keys: state, netid, local-address, local-port, peer-address, "
               "peer-port, process, pid, uid, interface, netns)"),
    ("state,state", "--count-by names a key twice"),
    ("", "unknown --count-by key ''"),
])
def test_bad_key_names_say_which_keys_exist(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        key_names(text)


def test_columns_hold_the_address_keys_but_not_uid_or_processes() -> None:
    assert columns_suffice(("state", "netid", "local-address", "peer-port", "interface", "netns"))
    assert not columns_suffice(("state", "uid"))
    assert not columns_suffice(("process",))


GROUPS = {("ESTAB",): 12, ("LISTEN",): 3, ("TIME-WAIT",): 12, ("SYN-SENT",): 1}


def test_largest_first_ties_by_value_and_top_cuts() -> None:
    assert ordered(GROUPS, None) == [(("ESTAB",), 12), (("TIME-WAIT",), 12), (("LISTEN",), 3), (("SYN-SENT",), 1)]
    assert ordered(GROUPS, 2) == [(("ESTAB",), 12), (("TIME-WAIT",), 12)]


def test_table_aligns_like_ss_columns() -> None:
    text = table(["state", "local-port"], [(("ESTAB", 22), 120), (("LISTEN", None), 3)])
    assert text == ("Count State  Local Port\n"
                    "  120 ESTAB  22        \n"
                    "    3 LISTEN -         \n")
    assert table(["state"], [], header=False) == ""


def test_json_forms_spell_keys_with_underscores() -> None:
    groups = [(("ESTAB", "10.0.0.1"), 5), (("LISTEN", None), 1)]
    assert json.loads(json_array(["state", "peer-address"], groups)) == [
        {"state": "ESTAB", "peer_address": "10.0.0.1", "count": 5},
        {"state": "LISTEN", "peer_address": None, "count": 1}]
    assert [json.loads(line) for line in json_lines(["state", "peer-address"], groups).splitlines()] == \
        json.loads(json_array(["state", "peer-address"], groups))
    assert json.loads(json_array(["state"], [])) == []


def test_delta_table_signs_the_change() -> None:
    text = delta_table(["state"], [(("ESTAB",), 10), (("CLOSE-WAIT",), 0)], [2, -3])
    assert text.splitlines() == ["Count Change State     ", "   10     +2 ESTAB     ", "    0     -3 CLOSE-WAIT"]
