"""How many examples each fuzz test runs: a few in the default suite, many in `nox -s fuzz`.

``PYSS_FUZZ=long`` (set by the fuzz session) selects the long counts. The counts are part of
the contract (docs/testing.md lists them); hypothesis keeps failing examples in its database,
so a failure found by a long run is replayed by every later default run on the same checkout.
"""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings

LONG = os.environ.get("PYSS_FUZZ") == "long"

F = TypeVar("F", bound=Callable[..., Any])


def budget(default: int, long: int) -> Callable[[F], F]:
    """hypothesis settings with ``default`` examples in the suite and ``long`` in the fuzz session."""
    return settings(max_examples=long if LONG else default, deadline=None, derandomize=not LONG,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


@contextmanager
def allocation_cap(limit: int) -> Iterator[None]:
    """Fail if the block's peak of Python allocations passes ``limit`` bytes (no unbounded allocation)."""
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak()
    baseline = tracemalloc.get_traced_memory()[0]
    try:
        yield
    finally:
        peak = tracemalloc.get_traced_memory()[1] - baseline
        if started:
            tracemalloc.stop()
    assert peak <= limit, f"allocated {peak} bytes at peak, more than {limit}"
