"""Tallies -> Prometheus metric families, every label set bounded (pure: no I/O).

The series and their labels are documented in docs/exporter.md; that page's
worst-case series count follows from the bounds here: netid and state come
from fixed tables, and every label whose values come from the host (listening
address and port, process name) keeps its ``max_series`` largest values per
namespace and sums the rest under the value ``other``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from typing import TypeVar

from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric

from pyss.exporter.tally import NamespaceTally
from pyss.render.ss import STATE_NAMES

OTHER = "other"  # the label value that sums whatever did not fit under --max-series
DEFAULT_MAX_SERIES = 100

Key = TypeVar("Key", bound=Hashable)


def top(counts: Mapping[Key, int], limit: int) -> tuple[list[tuple[Key, int]], int | None]:
    """The ``limit`` largest entries (ties by key, so a scrape is stable), and the sum of the rest (None: no rest)."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
    rest = ranked[limit:]
    return ranked[:limit], (sum(value for _, value in rest) if rest else None)


def label_value(text: str) -> str:
    """A name from the host as a label value, which must be UTF-8: names come as the kernel's bytes
    decoded with surrogateescape (any user can name its process b"\\xff"), and a byte that is not
    UTF-8 is written as ``\\xNN``. Without this one such name failed every scrape."""
    return text if text.isascii() else text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def families(tallies: Sequence[NamespaceTally], max_series: int = DEFAULT_MAX_SERIES) -> Iterator[Metric]:
    """Every socket metric family for these namespaces."""
    yield socket_counts(tallies)
    yield from listener_queues(tallies, max_series)
    yield listening_port_connections(tallies, max_series)
    if any(tally.processes for tally in tallies):
        yield process_sockets(tallies, max_series)
    if any(tally.tcp is not None for tally in tallies):
        yield from tcp_info(tallies)


def socket_counts(tallies: Iterable[NamespaceTally]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "pyss_sockets", "Sockets per network namespace, kind (ss's Netid) and state (as ss spells it).",
        labels=["netns", "netid", "state"])
    for tally in tallies:
        for (netid, state), count in sorted(tally.sockets.items()):
            family.add_metric([label_value(tally.netns), netid, state_name(state)], count)
    return family


def state_name(state: int) -> str:
    return STATE_NAMES[state] if 0 <= state < len(STATE_NAMES) else "UNKNOWN"


def listener_queues(tallies: Iterable[NamespaceTally], max_series: int) -> tuple[GaugeMetricFamily, ...]:
    """Accept-queue length and limit per listening address and port (SO_REUSEPORT groups summed).

    The ``max_series`` fullest queues (relative to their limit) keep their own
    series; the rest are summed under address="other", port="other".
    """
    labels = ["netns", "address", "port"]
    length = GaugeMetricFamily(
        "pyss_listen_queue_length",
        "Connections waiting for accept() on a listening TCP socket (ss's Recv-Q of a LISTEN socket).", labels=labels)
    limit = GaugeMetricFamily(
        "pyss_listen_queue_limit",
        "The accept-queue limit (backlog) of a listening TCP socket (ss's Send-Q of a LISTEN socket).", labels=labels)
    for tally in tallies:
        netns = label_value(tally.netns)
        queues: Counter[tuple[str, str]] = Counter()
        limits: Counter[tuple[str, str]] = Counter()
        for listener in tally.listeners:
            key = (listener.address, str(listener.port))
            queues[key] += listener.queue
            limits[key] += listener.limit
        fullness = {key: queues[key] * 1_000_000 // max(limits[key], 1) for key in queues}
        kept, rest = top(fullness, max_series)
        for key, _ in kept:
            length.add_metric([netns, *key], queues[key])
            limit.add_metric([netns, *key], limits[key])
        if rest is not None:
            kept_keys = {key for key, _ in kept}
            length.add_metric([netns, OTHER, OTHER], sum(v for k, v in queues.items() if k not in kept_keys))
            limit.add_metric([netns, OTHER, OTHER], sum(v for k, v in limits.items() if k not in kept_keys))
    return length, limit


def listening_port_connections(tallies: Iterable[NamespaceTally], max_series: int) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "pyss_listen_port_established",
        "Established TCP connections whose local port is a listening port: connections accepted per service.",
        labels=["netns", "port"])
    for tally in tallies:
        kept, rest = top(tally.listening_ports(), max_series)
        for port, count in kept:
            family.add_metric([label_value(tally.netns), str(port)], count)
        if rest is not None:
            family.add_metric([label_value(tally.netns), OTHER], rest)
    return family


def process_sockets(tallies: Iterable[NamespaceTally], max_series: int) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "pyss_process_sockets",
        "Sockets per holding process's command name and state (--processes; the rest under process=\"other\").",
        labels=["netns", "process", "state"])
    for tally in tallies:
        totals: Counter[str] = Counter()
        for (name, _state), count in tally.processes.items():
            totals[label_value(name)] += count
        kept, _ = top(totals, max_series)
        kept_names = {name for name, _ in kept}
        merged: Counter[tuple[str, int]] = Counter()
        for (name, state), count in tally.processes.items():
            merged[label_value(name) if label_value(name) in kept_names else OTHER, state] += count
        for (name, state), count in sorted(merged.items()):
            family.add_metric([label_value(tally.netns), name, state_name(state)], count)
    return family


def tcp_info(tallies: Iterable[NamespaceTally]) -> tuple[Metric, ...]:
    retransmitted = GaugeMetricFamily(
        "pyss_tcp_retransmitted_segments",
        "Segments retransmitted over the life of the established TCP sockets now open (sum of tcpi_total_retrans).",
        labels=["netns"])
    lost = GaugeMetricFamily(
        "pyss_tcp_lost_segments", "Segments presumed lost now, across established TCP sockets (sum of tcpi_lost).",
        labels=["netns"])
    rtt = GaugeHistogramMetricFamily(
        "pyss_tcp_rtt_seconds", "Smoothed round-trip time of the established TCP sockets (tcpi_rtt), now.",
        labels=["netns"])
    for tally in tallies:
        if tally.tcp is None:
            continue
        netns = label_value(tally.netns)
        retransmitted.add_metric([netns], tally.tcp.retransmits)
        lost.add_metric([netns], tally.tcp.lost)
        rtt.add_metric([netns], tally.tcp.cumulative(), gsum_value=tally.tcp.rtt_sum)
    return retransmitted, lost, rtt

