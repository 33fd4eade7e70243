"""The load generator's plan: how N sockets are apportioned by kind and over worker processes."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
loadgen = importlib.import_module("loadgen")


def test_empty_load_has_no_workers() -> None:
    plan = loadgen.plan(0)
    assert plan.workers == ()
    assert set(plan.expected().values()) == {0}


def test_default_mix_counts_each_kind() -> None:
    expected = loadgen.plan(1000).expected()
    assert expected == {"ESTAB": 960, "LISTEN": 8 + 1 + 10, "TIME-WAIT": 10, "CLOSE-WAIT": 5, "FIN-WAIT-2": 5,
                        "UNCONN": 10}


def test_probe_port_gets_exactly_probe_count_connections() -> None:
    plan = loadgen.plan(100_000)
    assert sum(w.probe for w in plan.workers) == loadgen.PROBE_COUNT
    assert [w.index for w in plan.workers if w.probe] == [0]


@pytest.mark.parametrize("n", [1, 999, 20_000, 100_000, 250_000])
def test_no_worker_exceeds_the_fd_budget(n: int) -> None:
    plan = loadgen.plan(n)
    assert all(w.fds <= loadgen.FD_BUDGET for w in plan.workers)


def test_100k_needs_several_workers_and_keeps_all_sockets() -> None:
    plan = loadgen.plan(100_000)
    assert 5 <= len(plan.workers) <= 8
    assert plan.expected()["ESTAB"] == 96_000


def test_workers_listen_on_distinct_ports_below_the_ephemeral_range() -> None:
    plan = loadgen.plan(100_000)
    ports = [p for w in plan.workers for p in w.ports]
    assert len(ports) == len(set(ports))
    low = int(loadgen.EPHEMERAL_RANGE.split()[0])
    extra = [loadgen.EXTRA_LISTEN_BASE + w.listen_offset + i for w in plan.workers for i in range(w.listen)]
    assert max([*ports, *extra, loadgen.PROBE_PORT]) < low
    assert not set(extra) & {*ports, loadgen.PROBE_PORT}


def test_only_established_mix() -> None:
    plan = loadgen.plan(1000, loadgen.parse_mix("established=1"))
    assert plan.expected()["ESTAB"] == 1000
    assert plan.expected()["TIME-WAIT"] == plan.expected()["UNCONN"] == 0


def test_parse_mix_fills_missing_kinds_with_zero() -> None:
    assert loadgen.parse_mix("udp=0.5, listen=0.1") == {"established": 0.0, "listen": 0.1, "time-wait": 0.0,
                                                        "close-wait": 0.0, "udp": 0.5}


@pytest.mark.parametrize("text", ["bogus=0.1", "udp", "udp=2", "udp=x"])
def test_parse_mix_rejects_bad_items(text: str) -> None:
    with pytest.raises(ValueError):
        loadgen.parse_mix(text)


def test_negative_n_is_refused() -> None:
    with pytest.raises(ValueError):
        loadgen.plan(-1)


def test_plan_round_trips_through_json() -> None:
    plan = loadgen.plan(30_000)
    assert loadgen.Plan.from_json(plan.to_json()) == plan
