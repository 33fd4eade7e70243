"""The prometheus_client collector: one dump per scrape, shared by the scrapes that overlap it.

prometheus_client serves each HTTP request on a thread of its own and calls
``collect()`` there. Two scrapes that arrive together must not run two dumps
(each costs the kernel a walk over every socket): the first to arrive runs
the dump, and any scrape arriving while it runs waits for it and is answered
from the same result. Problems are counted and logged once per dump, by the
scrape that ran it, so a shared dump is not counted twice.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pyss.exporter import metrics
from pyss.exporter.source import FAILED, REASONS, Problem, Scrape

LOG = logging.getLogger("pyss.exporter")

Result = TypeVar("Result")


class _Flight(Generic[Result]):
    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Result | None = None
        self.error: BaseException | None = None


class SharedCall(Generic[Result]):
    """Calls ``run`` for whoever asks; whoever asks while a call is running gets that call's result."""

    def __init__(self, run: Callable[[], Result]) -> None:
        self._run = run
        self._lock = threading.Lock()
        self._flight: _Flight[Result] | None = None

    def __call__(self) -> Result:
        with self._lock:
            flight = self._flight
            leader = flight is None
            if flight is None:
                flight = self._flight = _Flight()
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            assert flight.result is not None
            return flight.result
        try:
            flight.result = self._run()
        except BaseException as error:
            flight.error = error
            raise
        finally:
            with self._lock:
                self._flight = None
            flight.done.set()
        return flight.result


class SocketCollector(Collector):
    """Socket series plus the exporter's own: scrape duration, sockets seen, dump errors by reason."""

    def __init__(self, source: Callable[[], Scrape], max_series: int = metrics.DEFAULT_MAX_SERIES) -> None:
        self.max_series = max_series
        self.errors: Counter[str] = Counter({reason: 0 for reason in REASONS})
        self._reported: set[tuple[str, str]] = set()
        self._source = source
        self._shared = SharedCall(self._scrape)

    def _scrape(self) -> Scrape:
        try:
            result = self._source()
        except Exception as error:  # a defect, not a fault of the host: still answer, count and log it
            result = Scrape([], [Problem("", FAILED, f"scrape failed: {type(error).__name__}: {error}")], 0.0)
        self.account(result.problems)
        return result

    def account(self, problems: list[Problem]) -> None:
        """Count every problem; log the ones the previous dump did not have (a lasting fault logs once)."""
        current = {(problem.netns, problem.message) for problem in problems}
        for problem in problems:
            self.errors[problem.reason] += 1
            if (problem.netns, problem.message) not in self._reported:
                where = f'netns "{problem.netns}": ' if problem.netns else ""
                LOG.warning("%s%s", where, problem.message)
        self._reported = current

    def collect(self) -> Iterator[Metric]:
        result = self._shared()
        yield from metrics.families(result.tallies, self.max_series)
        yield from self.self_metrics(result)

    def self_metrics(self, result: Scrape) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "pyss_exporter_scrape_duration_seconds", "Seconds the last dump of every namespace took.",
            value=result.seconds)
        yield GaugeMetricFamily(
            "pyss_exporter_sockets_seen", "Sockets counted by the last dump, over every namespace.",
            value=sum(tally.seen for tally in result.tallies))
        errors = CounterMetricFamily(
            "pyss_exporter_dump_errors", "Dumps that went wrong, by reason (each is also logged).", labels=["reason"])
        for reason in REASONS:
            errors.add_metric([reason], self.errors[reason])
        yield errors
