"""Fixtures for the differential tests: a private netns holding the socket zoo.

``zoo_keeper`` (session) owns the namespace and tears it down at the end, even
after failures; ``zoo_ns`` hands each test a namespace young enough that its
TIME-WAIT sockets outlive the test (the zoo is rebuilt when it ages). A test
that itself runs for more than ~20 s should call ``zoo_keeper.get(max_age=...)``
with a smaller age instead.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import ZooKeeper, ZooNamespace, missing_prerequisites

HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    """The tools some tests stop with Ctrl-C (ss -E, pyss -E and --watch, pynetstat -c) must be able to
    stop so. Started with SIGINT ignored (a background job of a shell without job control, nohup, some
    CI runners), pytest would hand that disposition through exec to every tool, and SIGINT would not
    stop them; with a handler here, exec gives each tool the default action instead."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/integration, so `-m "not integration"` deselects them."""
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def zoo_keeper() -> Iterator[ZooKeeper]:
    reason = missing_prerequisites()
    if reason is not None:
        pytest.skip(reason)
    keeper = ZooKeeper()
    try:
        yield keeper
    finally:
        keeper.close()


@pytest.fixture
def zoo_ns(zoo_keeper: ZooKeeper) -> ZooNamespace:
    """The namespace name (``.name``), the zoo's description (``.zoo``) and runners (``.ss()``, ``.pyss()``...)."""
    return zoo_keeper.get()
