"""pyss-exporter's options against the real ss in the zoo: --all-netns, --processes, --tcp-info (via --textfile)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pyss.system.netns import Namespace, inside
from tests.integration.exporter import EXPORTER, delete_namespace, make_namespace
from tests.integration.harness import TOOL_ENV, ZooNamespace
from tests.integration.test_exporter_prometheus import ss_counts
from tests.integration.zoo import COMM, NL_FIXED_PORTID

Labels = tuple[tuple[str, str], ...]


@pytest.fixture
def exporter_ns() -> Iterator[Namespace]:
    namespace = make_namespace("options")
    try:
        yield namespace
    finally:
        delete_namespace(namespace)


def exposition(namespace: Namespace, tmp_path: Path, *args: str) -> dict[str, dict[Labels, float]]:
    """sample name -> {labels: value} of one --textfile run in ``namespace``."""
    target = tmp_path / "pyss.prom"
    run = subprocess.run(["ip", "netns", "exec", namespace.name, str(EXPORTER), *args, "--textfile", str(target)],
                         stdin=subprocess.DEVNULL, capture_output=True, timeout=60, env=TOOL_ENV, check=False)
    assert run.returncode == 0, run.stderr.decode()
    samples: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(target.read_text()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def sockets_of(samples: dict[str, dict[Labels, float]], netns: str) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for labels, value in samples["pyss_sockets"].items():
        names = dict(labels)
        if names["netns"] == netns:
            found[names["netid"], names["state"]] = int(value)
    return found


def test_all_netns_includes_the_zoo_as_ss_lists_it(exporter_ns: Namespace, zoo_ns: ZooNamespace,
                                                   tmp_path: Path) -> None:
    samples = exposition(exporter_ns, tmp_path, "--all-netns")
    assert sockets_of(samples, zoo_ns.name) == ss_counts(zoo_ns)
    own = sockets_of(samples, "")
    assert own[("tcp", "ESTAB")] == 0 and own[("nl", "UNCONN")] >= 1  # the exporter's own, nearly empty namespace


def test_processes_as_ss_p_shows_them(exporter_ns: Namespace, zoo_ns: ZooNamespace, tmp_path: Path) -> None:
    samples = exposition(exporter_ns, tmp_path, "--netns", zoo_ns.name, "--processes")
    # Counting through the public API (this option's path) still gives ss's counts.
    assert sockets_of(samples, zoo_ns.name) == ss_counts(zoo_ns)
    run = zoo_ns.ss("-anpH")
    held: Counter[str] = Counter(fields[1] for fields in map(str.split, run.text.splitlines())
                                 if fields and f'(("{COMM}",' in fields[-1])
    # ss -p names no holder on netlink rows: ss without -n shows the holder in the local address instead
    # ("rtnl:pyss-zoo-holder/PID"), but for the port id that is no pid. The exporter counts them (as UNCONN).
    netlink = zoo_ns.ss("-aH", "-A", "netlink")
    held["UNCONN"] += sum(1 for fields in map(str.split, netlink.text.splitlines())
                          if fields and (f":{COMM}/" in fields[3] or fields[3].endswith(f":{NL_FIXED_PORTID}")))
    exported = {dict(labels)["state"]: int(value) for labels, value in samples["pyss_process_sockets"].items()
                if dict(labels)["process"] == COMM}
    assert held and exported == dict(held)


def test_tcp_info_covers_every_established_tcp_socket(exporter_ns: Namespace, zoo_ns: ZooNamespace,
                                                      tmp_path: Path) -> None:
    samples = exposition(exporter_ns, tmp_path, "--netns", zoo_ns.name, "--tcp-info")
    established = ss_counts(zoo_ns)[("tcp", "ESTAB")]
    labels = (("netns", zoo_ns.name),)
    assert established > 0
    assert samples["pyss_tcp_rtt_seconds_gcount"][labels] == established
    assert samples["pyss_tcp_rtt_seconds_bucket"][(("le", "+Inf"), *labels)] == established
    assert samples["pyss_tcp_retransmitted_segments"][labels] >= 0


HOLDER = """
import os, socket, sys
with open("/proc/self/comm", "wb") as comm:
    comm.write(bytes.fromhex(sys.argv[1]))
server = socket.create_server(("127.0.0.1", 0))
print("ready", flush=True)
sys.stdin.read()
"""


def test_a_process_name_that_is_not_utf8_is_a_valid_label(exporter_ns: Namespace, tmp_path: Path) -> None:
    # Any user can name its process with any bytes (/proc/self/comm): that must not fail every scrape.
    name = b"\xff\xfe\"q\\ \n"
    holder = subprocess.Popen(["ip", "netns", "exec", exporter_ns.name, sys.executable, "-c", HOLDER, name.hex()],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=TOOL_ENV)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"ready\n"
        samples = exposition(exporter_ns, tmp_path, "--processes")
    finally:
        holder.communicate(timeout=10)
    exported = {dict(labels)["process"]: value for labels, value in samples["pyss_process_sockets"].items()
                if dict(labels)["state"] == "LISTEN"}
    assert exported.get('\\xff\\xfe"q\\ \n') == 1, exported


def listener_key(local: str) -> tuple[str, str]:
    """(address, port) labels of an `ss -ltn` Local Address:Port ("*" is the IPv6 wildcard ss shows
    for a dual-stack listener; a link-local address carries its %interface)."""
    address, _, port = local.rpartition(":")
    address = address.split("%")[0].strip("[]")
    return ("::" if address == "*" else address), port


def test_listener_series_as_ss_shows_them(exporter_ns: Namespace, zoo_ns: ZooNamespace, tmp_path: Path) -> None:
    status = os.stat(f"/run/netns/{zoo_ns.name}")
    with inside(Namespace(zoo_ns.name, status.st_dev, status.st_ino, f"/run/netns/{zoo_ns.name}")):
        backlogged = socket.create_server(("127.0.0.1", 0), backlog=4)  # two connections left unaccepted
        clients = [socket.create_connection(backlogged.getsockname()) for _ in range(2)]
    try:
        samples = exposition(exporter_ns, tmp_path, "--netns", zoo_ns.name)
        listing = zoo_ns.ss("-ltnH").text
        connections = zoo_ns.ss("-tnH", "state", "established").text
    finally:
        for sock in (backlogged, *clients):
            sock.close()
    assert " 2 " in listing  # the unaccepted connections are in a queue
    queues: Counter[tuple[str, str]] = Counter()
    limits: Counter[tuple[str, str]] = Counter()
    for fields in map(str.split, listing.splitlines()):
        queues[listener_key(fields[3])] += int(fields[1])
        limits[listener_key(fields[3])] += int(fields[2])
    def exported(name: str) -> dict[tuple[str, str], int]:
        return {(labels["address"], labels["port"]): int(value)
                for labels, value in ((dict(key), value) for key, value in samples[name].items())}
    assert exported("pyss_listen_queue_length") == dict(queues)
    assert exported("pyss_listen_queue_limit") == dict(limits)
    ports = {port for _, port in queues}
    established: Counter[str] = Counter()
    for fields in map(str.split, connections.splitlines()):
        port = fields[2].rpartition(":")[2]
        if port in ports:
            established[port] += 1
    got = {dict(key)["port"]: int(value) for key, value in samples["pyss_listen_port_established"].items()}
    assert {port: count for port, count in got.items() if count} == dict(established)
