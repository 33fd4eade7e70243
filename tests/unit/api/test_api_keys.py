"""Group keys: names, and the raw fast path agreeing with the Socket path on every key it serves."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Hashable

import pytest

from pyss.api.keys import KEYS, key_names, needs_processes, raw_inet_key, socket_key
from pyss.api.record import Process, State, converter
from pyss.netlink.constants import IPPROTO_TCP, IPPROTO_UDP
from pyss.records import InetSocket

V4 = socket.inet_pton(socket.AF_INET, "127.0.0.1")


def record(state: int, sport: int, dport: int, protocol: int = IPPROTO_TCP, uid: int = 0) -> InetSocket:
    return InetSocket(socket.AF_INET, state, 0, 0, sport, dport, V4, V4, 0, 1, 0, 0, 0, uid, 5, protocol, b"")


RECORDS = [record(1, 22, 5000), record(1, 22, 5001), record(10, 22, 0), record(7, 53, 0, IPPROTO_UDP, 100),
           record(1, 40000, 22, uid=100)]


def test_key_names_accept_a_comma_list_or_a_sequence() -> None:
    assert key_names("state") == ("state",)
    assert key_names("state, local-port") == ("state", "local-port")
    assert key_names(["netid", "uid"]) == ("netid", "uid")
    with pytest.raises(ValueError, match="known keys: state, netid"):
        key_names("color")


def test_the_key_set_is_the_documented_one() -> None:
    assert list(KEYS) == ["state", "netid", "local-address", "local-port", "peer-address", "peer-port", "process",
                          "pid", "uid", "interface"]
    assert needs_processes(["state", "pid"]) and not needs_processes(["state", "uid"])


@pytest.mark.parametrize("by", ["state", "netid", "local-port", "peer-port", "uid", "state,local-port",
                                "netid,uid,peer-port"])
def test_raw_counts_translate_to_the_socket_path_counts(by: str) -> None:
    names = key_names(by)
    raw = raw_inet_key(names)
    assert raw is not None
    getter, translate = raw
    fast: Counter[Hashable] = Counter()
    for value, number in Counter(map(getter, RECORDS)).items():
        fast[translate(value)] += number
    slow = Counter(map(socket_key(names), map(converter(lambda _: None), RECORDS)))
    assert fast == slow


def test_raw_path_refused_for_keys_that_need_text_or_lookups() -> None:
    for by in ("local-address", "process", "interface", "state,peer-address"):
        assert raw_inet_key(key_names(by)) is None


def test_socket_keys_of_several_names_are_tuples() -> None:
    sockets = list(map(converter(lambda _: None, lambda inode: (Process(9, 3, "x"),)), RECORDS))
    counts = Counter(map(socket_key(("state", "process", "pid")), sockets))
    assert counts[(State.ESTAB, "x", 9)] == 3
    assert Counter(map(socket_key(("local-address",)), sockets)) == {"127.0.0.1": 5}
