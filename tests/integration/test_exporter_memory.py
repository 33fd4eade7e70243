"""1,000 scrapes leave pyss-exporter's resident memory flat (the issue's "no growth over 1,000 scrapes")."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from pyss.system.netns import Namespace
from tests.integration.exporter import delete_namespace, make_namespace, running_exporter
from tests.integration.harness import ZooNamespace, missing_prerequisites

pytestmark = pytest.mark.skipif(missing_prerequisites() is not None, reason=str(missing_prerequisites()))

WARM_UP = 100  # first scrapes: imports finish, allocator arenas and caches reach their working size
SCRAPES = 1000
# A leak of one object per socket or per scrape would pass this within a few hundred scrapes: the zoo's
# ~100 sockets times 1,000 scrapes is 100k objects, megabytes. What is allowed is allocator noise.
MAX_GROWTH_KB = 512
TIME_LIMIT = 240.0


@pytest.fixture
def exporter_ns() -> Iterator[Namespace]:
    namespace = make_namespace("memory")
    try:
        yield namespace
    finally:
        delete_namespace(namespace)


def resident_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS line")


def test_rss_flat_over_1000_scrapes(exporter_ns: Namespace, zoo_ns: ZooNamespace) -> None:
    with running_exporter(exporter_ns, "--netns", zoo_ns.name, "--tcp-info") as exporter:
        deadline = time.monotonic() + TIME_LIMIT
        for _ in range(WARM_UP):
            assert exporter.get()[0] == 200
        samples = [resident_kb(exporter.process.pid)]
        for index in range(SCRAPES):
            status, body = exporter.get()
            assert status == 200 and "pyss_sockets{" in body
            if index % 100 == 99:
                samples.append(resident_kb(exporter.process.pid))
            assert time.monotonic() < deadline, f"{index + 1} scrapes took over {TIME_LIMIT} s"
    growth = samples[-1] - samples[0]
    assert growth <= MAX_GROWTH_KB, f"RSS grew {growth} kB over {SCRAPES} scrapes: {samples}"
    print(f"RSS over {SCRAPES} scrapes (kB, every 100): {samples}")
