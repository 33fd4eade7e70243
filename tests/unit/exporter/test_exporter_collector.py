"""The collector: concurrent scrapes share one dump, problems are counted once per dump and logged once."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from pyss.exporter.collector import SharedCall, SocketCollector
from pyss.exporter.source import FAILED, REFUSED, UNSUPPORTED, VANISHED, Problem, Scrape
from pyss.exporter.tally import NamespaceTally
from pyss.netlink.constants import TCP_ESTABLISHED


class CountedEvent(threading.Event):
    """An Event that counts the calls to wait()."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = 0
        self._count = threading.Lock()

    def wait(self, timeout: float | None = None) -> bool:
        with self._count:
            self.waiting += 1
        return super().wait(timeout)


def test_overlapping_calls_share_one_run() -> None:
    started, release = threading.Event(), threading.Event()
    runs: list[int] = []

    def run() -> int:
        runs.append(1)
        started.set()
        assert release.wait(10)
        return len(runs)

    shared = SharedCall(run)
    results: list[int] = []
    first = threading.Thread(target=lambda: results.append(shared()))
    first.start()
    assert started.wait(10)
    flight = shared._flight
    assert flight is not None
    flight.done = done = CountedEvent()  # counts the callers that wait for the running dump
    # These arrive while the first dump runs: they must wait for it, not start their own.
    waiters = [threading.Thread(target=lambda: results.append(shared())) for _ in range(4)]
    for waiter in waiters:
        waiter.start()
    deadline = time.monotonic() + 10  # how long threads take to start on a loaded host: no fixed sleep
    while done.waiting < len(waiters) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert done.waiting == len(waiters), "a caller did not wait for the running dump"
    assert results == []  # nobody answered before the dump finished
    release.set()
    for thread in (first, *waiters):
        thread.join(10)
    assert results == [1] * 5
    assert len(runs) == 1
    assert shared() == 2  # a call after the dump ended runs a new one


def test_a_failed_run_fails_its_waiters_and_the_next_call_runs_again() -> None:
    calls: list[int] = []

    def run() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return 7

    shared = SharedCall(run)
    with pytest.raises(RuntimeError):
        shared()
    assert shared() == 7


def tally(netns: str = "") -> NamespaceTally:
    result = NamespaceTally(netns)
    result.sockets["tcp", TCP_ESTABLISHED] = 3
    return result


def exposition(collector: SocketCollector) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry).decode()


def test_problems_counted_per_dump_and_logged_once_while_they_last(caplog: pytest.LogCaptureFixture) -> None:
    gone = Problem("blue", VANISHED, 'no network namespace "blue" in /run/netns')
    scrapes = iter([
        Scrape([tally()], [gone], 0.01),
        Scrape([tally()], [gone, Problem("", UNSUPPORTED, "packet: no diag module", "packet")], 0.01),
        Scrape([tally()], [], 0.01),
        Scrape([tally()], [gone], 0.01),
    ])
    collector = SocketCollector(lambda: next(scrapes))
    with caplog.at_level(logging.WARNING, logger="pyss.exporter"):
        texts = [exposition(collector) for _ in range(4)]
    assert 'pyss_exporter_dump_errors_total{reason="vanished"} 1.0' in texts[0]
    assert 'pyss_exporter_dump_errors_total{reason="vanished"} 2.0' in texts[1]
    assert 'pyss_exporter_dump_errors_total{reason="unsupported"} 1.0' in texts[1]
    assert 'pyss_exporter_dump_errors_total{reason="vanished"} 3.0' in texts[3]
    assert all('pyss_sockets{netid="tcp",netns="",state="ESTAB"} 3.0' in text for text in texts)
    logged = [record.getMessage() for record in caplog.records]
    # The vanished namespace is logged when it appears and again when it comes back, not on every scrape.
    assert logged == ['netns "blue": no network namespace "blue" in /run/netns', "packet: no diag module",
                      'netns "blue": no network namespace "blue" in /run/netns']


def test_a_failing_source_still_answers(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> Scrape:
        raise ValueError("unexpected")

    collector = SocketCollector(broken)
    with caplog.at_level(logging.WARNING, logger="pyss.exporter"):
        text = exposition(collector)
        text = exposition(collector)
    assert f'pyss_exporter_dump_errors_total{{reason="{FAILED}"}} 2.0' in text
    assert f'pyss_exporter_dump_errors_total{{reason="{REFUSED}"}} 0.0' in text
    assert "pyss_exporter_sockets_seen 0.0" in text
    assert "scrape failed: ValueError: unexpected" in caplog.text


def test_self_metrics() -> None:
    collector = SocketCollector(lambda: Scrape([tally("a"), tally("b")], [], 0.25))
    text = exposition(collector)
    assert "pyss_exporter_scrape_duration_seconds 0.25" in text
    assert "pyss_exporter_sockets_seen 6.0" in text
