"""The real Prometheus scrapes pyss-exporter, and pyss_sockets equals what the real ss lists, per kind and state.

The zoo lives in its own namespace; pyss-exporter (--netns ZOO) and Prometheus
run in a second private namespace and talk over its loopback, so their own
TCP sockets never mix with the zoo's. Only the netlink table holds a socket
of each tool's own (the diag socket it dumps with, one each), which is why it
compares equal too.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyss.system.netns import Namespace
from tests.integration.exporter import (
    delete_namespace,
    make_namespace,
    running_exporter,
    running_prometheus,
    wait_until,
)
from tests.integration.harness import ZooKeeper, ZooNamespace

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None,
                                reason="needs Debian's prometheus server (.ci/run installs it)")

SCRAPE_WAIT = 60.0  # Prometheus scrapes every second; its start-up is the slow part


@pytest.fixture
def exporter_ns() -> Iterator[Namespace]:
    namespace = make_namespace("exporter")
    try:
        yield namespace
    finally:
        delete_namespace(namespace)


def ss_counts(zoo: ZooNamespace) -> Counter[tuple[str, str]]:
    """(netid, state) -> rows of `ss -anH`: every socket of every kind, as ss lists them."""
    run = zoo.ss("-anH")
    assert run.returncode == 0, run.stderr
    return Counter((fields[0], fields[1]) for fields in map(str.split, run.text.splitlines()) if fields)


def test_prometheus_sees_what_ss_lists(zoo_keeper: ZooKeeper, exporter_ns: Namespace, tmp_path: Path) -> None:
    zoo = zoo_keeper.get(max_age=10.0)  # this test takes a while: a fresh zoo keeps its TIME-WAIT sockets
    with running_exporter(exporter_ns, "--netns", zoo.name) as exporter, \
            running_prometheus(exporter_ns, f"127.0.0.1:{exporter.port}", tmp_path) as prometheus:
        wait_until(lambda: prometheus.query(f'up{{job="pyss"}} == 1 and on() '
                                            f'count(pyss_sockets{{netns="{zoo.name}"}}) > 0'),
                   SCRAPE_WAIT, "Prometheus's first scrape of pyss-exporter")
        series = prometheus.query(f'pyss_sockets{{netns="{zoo.name}"}}')
        expected = ss_counts(zoo)
        assert exporter.process.poll() is None, "pyss-exporter died"
    scraped = Counter({(item["metric"]["netid"], item["metric"]["state"]): int(item["value"][1]) for item in series})
    assert scraped == expected
    # The zoo holds every kind: a comparison of a few rows would prove little.
    assert {netid for netid, _ in expected} >= {"tcp", "udp", "raw", "u_str", "u_dgr", "u_seq", "p_raw", "p_dgr", "nl"}
    assert {state for netid, state in expected if netid == "tcp"} >= {"LISTEN", "ESTAB", "TIME-WAIT", "CLOSE-WAIT"}
