"""Metric families from tallies: names, labels, values, and the --max-series bounds (pure)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from pyss.exporter.metrics import OTHER, families, top
from pyss.exporter.tally import RTT_BUCKETS, Listener, NamespaceTally
from pyss.netlink.constants import TCP_CLOSE, TCP_CLOSE_WAIT, TCP_ESTABLISHED, TCP_LISTEN, TCP_TIME_WAIT
from pyss.render.ss import STATE_NAMES


def samples(metrics: list[Metric], name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(sample.labels.items())): sample.value
            for metric in metrics for sample in metric.samples if sample.name == name}


def test_socket_counts_spell_states_as_ss() -> None:
    tally = NamespaceTally("blue")
    tally.sockets.update({("tcp", TCP_ESTABLISHED): 5, ("tcp", TCP_CLOSE_WAIT): 2, ("udp", TCP_CLOSE): 1,
                          ("tcp", TCP_TIME_WAIT): 1, ("u_str", TCP_LISTEN): 3})
    got = samples(list(families([tally])), "pyss_sockets")
    assert got == {
        (("netid", "tcp"), ("netns", "blue"), ("state", "ESTAB")): 5,
        (("netid", "tcp"), ("netns", "blue"), ("state", "CLOSE-WAIT")): 2,
        (("netid", "tcp"), ("netns", "blue"), ("state", "TIME-WAIT")): 1,
        (("netid", "udp"), ("netns", "blue"), ("state", "UNCONN")): 1,
        (("netid", "u_str"), ("netns", "blue"), ("state", "LISTEN")): 3,
    }


def test_listener_queues_and_established_per_port() -> None:
    tally = NamespaceTally("")
    tally.listeners += [Listener("0.0.0.0", 80, 7, 128), Listener("0.0.0.0", 80, 1, 128),  # SO_REUSEPORT pair
                        Listener("::", 22, 0, 128)]
    tally.established_ports.update({80: 40, 22: 2, 50000: 9})
    metrics = list(families([tally]))
    assert samples(metrics, "pyss_listen_queue_length") == {
        (("address", "0.0.0.0"), ("netns", ""), ("port", "80")): 8,
        (("address", "::"), ("netns", ""), ("port", "22")): 0,
    }
    assert samples(metrics, "pyss_listen_queue_limit")[(("address", "0.0.0.0"), ("netns", ""), ("port", "80"))] == 256
    assert samples(metrics, "pyss_listen_port_established") == {
        (("netns", ""), ("port", "80")): 40, (("netns", ""), ("port", "22")): 2}


def test_top_keeps_the_largest_and_sums_the_rest() -> None:
    kept, rest = top({"a": 1, "b": 5, "c": 3, "d": 3}, 2)
    assert kept == [("b", 5), ("c", 3)]
    assert rest == 4
    assert top({"a": 1}, 2) == ([("a", 1)], None)


def test_max_series_bounds_listeners_keeping_the_fullest_queues() -> None:
    tally = NamespaceTally("")
    tally.listeners += [Listener("10.0.0.1", port, 0, 128) for port in range(1000, 1500)]
    tally.listeners.append(Listener("10.0.0.2", 8080, 120, 128))  # nearly overflowing: must keep its own series
    tally.established_ports.update({port: 1 for port in range(1000, 1500)})
    metrics = list(families([tally], max_series=10))
    lengths = samples(metrics, "pyss_listen_queue_length")
    limits = samples(metrics, "pyss_listen_queue_limit")
    assert len(lengths) == len(limits) == 11
    assert lengths[(("address", "10.0.0.2"), ("netns", ""), ("port", "8080"))] == 120
    assert limits[(("address", OTHER), ("netns", ""), ("port", OTHER))] == 128 * 491
    ports = samples(metrics, "pyss_listen_port_established")
    assert len(ports) == 11
    assert sum(ports.values()) == 500  # nothing is lost, only summed


def test_processes_bounded_with_other() -> None:
    tally = NamespaceTally("")
    for index in range(50):
        tally.processes[f"worker{index:02}", TCP_ESTABLISHED] = 100 - index
    tally.processes["worker00", TCP_LISTEN] = 1
    got = samples(list(families([tally], max_series=3)), "pyss_process_sockets")
    names = {dict(labels)["process"] for labels in got}
    assert names == {"worker00", "worker01", "worker02", OTHER}
    assert got[(("netns", ""), ("process", "worker00"), ("state", "LISTEN"))] == 1
    assert sum(got.values()) == sum(tally.processes.values())


def test_tcp_info_families_only_with_the_option() -> None:
    plain = [metric.name for metric in families([NamespaceTally("")])]
    assert not any(name.startswith("pyss_tcp_") for name in plain)
    assert "pyss_process_sockets" not in plain
    tally = NamespaceTally("", tcp_info=True)
    assert tally.tcp is not None
    tally.tcp.add(4, 1, 300)
    metrics = list(families([tally]))
    assert samples(metrics, "pyss_tcp_retransmitted_segments") == {(("netns", ""),): 4}
    assert samples(metrics, "pyss_tcp_lost_segments") == {(("netns", ""),): 1}
    buckets = samples(metrics, "pyss_tcp_rtt_seconds_bucket")
    assert len(buckets) == len(RTT_BUCKETS) + 1
    assert buckets[(("le", "+Inf"), ("netns", ""))] == 1


# The figure docs/exporter.md quotes for one namespace at the default --max-series 100.
NETIDS = 9  # tcp udp raw u_str u_dgr u_seq p_raw p_dgr nl
DOCUMENTED_WORST_CASE = NETIDS * len(STATE_NAMES) + 3 * 101 + 101 * len(STATE_NAMES) + 2 + len(RTT_BUCKETS) + 3


def test_worst_case_series_at_100k_sockets_is_what_the_docs_say() -> None:
    """100k sockets, every one a distinct listener, port and process: the series count stays bounded."""
    tally = NamespaceTally("", tcp_info=True)
    for netid in ("tcp", "udp", "raw", "u_str", "u_dgr", "u_seq", "p_raw", "p_dgr", "nl"):
        for state in range(len(STATE_NAMES)):
            tally.sockets[netid, state] = 1
    for index in range(100_000):
        tally.listeners.append(Listener(f"10.{index >> 16}.{(index >> 8) & 255}.{index & 255}", index % 65536, 1, 2))
        tally.processes[f"p{index}", index % len(STATE_NAMES)] += 1
        tally.established_ports[index % 65536] += 1
    assert tally.tcp is not None
    for rtt in (1, 10**7):
        tally.tcp.add(0, 0, rtt)
    series = sum(len(metric.samples) for metric in families([tally]))
    assert series <= DOCUMENTED_WORST_CASE == 1640


def test_label_values_from_undecodable_names_are_utf8_with_the_bytes_escaped() -> None:
    # Names reach the tally as the kernel's bytes decoded with surrogateescape; the exposition is UTF-8.
    tally = NamespaceTally("ns\udcff")
    tally.processes["\udcffx\udcfe", TCP_LISTEN] = 1
    tally.processes["caf\u00e9", TCP_LISTEN] = 2
    tally.sockets["tcp", TCP_LISTEN] = 3
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Fixed(list(families([tally]))))
    parsed = {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
              for family in text_string_to_metric_families(generate_latest(registry).decode())
              for sample in family.samples}
    assert parsed[("pyss_process_sockets", (("netns", "ns\\xff"), ("process", "\\xffx\\xfe"), ("state", "LISTEN")))] == 1
    assert parsed[("pyss_process_sockets", (("netns", "ns\\xff"), ("process", "caf\u00e9"), ("state", "LISTEN")))] == 2
    assert parsed[("pyss_sockets", (("netid", "tcp"), ("netns", "ns\\xff"), ("state", "LISTEN")))] == 3


class Fixed(Collector):
    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return iter(self.metrics)
