"""--watch's pure parts: the interval, what counts as the same socket, and what is printed for a change."""

from __future__ import annotations

import io
import json

import pytest

from pyss.cli.watch import SocketWatch, Watch, interval_seconds, summary
from pyss.records import InetSocket
from pyss.render.columns import LEFT, Column


@pytest.mark.parametrize(("text", "seconds"), [(None, 1.0), ("2", 2.0), ("0.25", 0.25)])
def test_intervals(text: str | None, seconds: float) -> None:
    assert interval_seconds(text) == seconds


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "soon", ""])
def test_bad_intervals(text: str) -> None:
    with pytest.raises(ValueError, match="--watch interval must be"):
        interval_seconds(text)


def inet(sport: int, state: int = 1, cookie: int = 1, rqueue: int = 0) -> InetSocket:
    return InetSocket(2, state, 0, 0, sport, 80, b"\x7f\0\0\1", b"\x7f\0\0\1", 0, cookie, 0, rqueue, 0, 0,
                      1000 + cookie, 6, b"")


def dump(watch: SocketWatch, records: list[InetSocket], when: float) -> None:
    watch.add(InetSocket, iter(records), None, lambda record: (str(record.sport), str(record.state)))
    watch.finish(when)


def test_rows_appear_and_go_with_a_summary() -> None:
    out = io.StringIO()
    watch = SocketWatch(out, (Column(LEFT, "Port", ""), Column(LEFT, "State", " ")))
    dump(watch, [inet(1, cookie=1), inet(2, cookie=2)], 0)  # the baseline: a summary only
    dump(watch, [inet(1, cookie=1, rqueue=5), inet(3, state=10, cookie=3)], 1)  # 2 went, 3 came; 1 only changed
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("ESTAB 2 (+2)  total 2 (+2)")
    assert lines[1:3] == ["+ 3 10", "- 2 1 "]
    assert lines[3].endswith("ESTAB 1 (-1)  LISTEN 1 (+1)  total 2 (+0)")


def test_a_state_change_is_not_a_new_socket_but_a_new_cookie_is() -> None:
    out = io.StringIO()
    watch = SocketWatch(out, None)
    form = lambda record: json.dumps({"sport": record.sport}) + "\n"  # noqa: E731
    for records in ([inet(1, cookie=1)], [inet(1, state=8, cookie=1)], [inet(1, state=8, cookie=9)]):
        watch.add(InetSocket, iter(records), None, form)
        watch.finish(5.0)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [event["event"] for event in events] == ["open", "close"]
    assert events[0] == {"event": "open", "time": 5.0, "sport": 1}


def test_memory_holds_only_live_sockets() -> None:
    watch = SocketWatch(io.StringIO(), None)
    for round_ in range(5):
        watch.add(InetSocket, iter([inet(port, cookie=round_ * 100 + port) for port in range(50)]), "ns",
                  lambda record: "{}\n")
        watch.finish(0)
    assert sum(map(len, watch.forms.values())) == 50


def test_summary_orders_by_count() -> None:
    from collections import Counter

    text = summary(Counter({1: 3, 10: 5}), Counter({1: 4}), 0)
    assert text.split("  ", 1)[1] == "LISTEN 5 (+5)  ESTAB 3 (-1)  total 8 (+4)\n"


def test_ctrl_c_ends_the_loop_with_status_0() -> None:
    calls: list[int] = []

    def step() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt

    assert Watch(0.5, io.StringIO(), clock=lambda: 0.0, sleep=lambda seconds: None).run(step) == 0
    assert len(calls) == 3
