"""A TCP dump split into parts dumped side by side (pyss.netlink.split), against the real kernel.

A namespace whose ephemeral range is 40000-40999 (cut at 40500 into two parts) holds sockets whose
higher port lies below, on and above that bound and the bounds of a four-part cut, in both families,
listening, connected, in TIME-WAIT and SYN-RECV (request sockets, kept by TCP_DEFER_ACCEPT), and more of
them than the first receive buffer of a dump holds, so that a count splits. The parts' dumps together
must hold every socket of the one unfiltered dump exactly once, each part only its own keys; counts
must equal the one dump's and ss's, also when the kernel refuses the parts' programs. A count by state
splits only the dump of the sockets other than established ones (the kernel counts those), and that
only with many TIME-WAIT sockets: the tests lower that bound to 0.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration import harness

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: holds sockets in a private network namespace"),
    pytest.mark.skipif(shutil.which("ss", path=harness.TOOL_ENV["PATH"]) is None, reason="needs iproute2's ss"),
]

BOUND = 40500  # the middle of the namespace's ephemeral range 40000-40999
FOUR_PARTS = [40250, 40500, 40750]  # the cut of that range into four
AUTO_PAIRS = 60  # connections on ephemeral ports: with the rest, several receive buffers

HOLDER = f"""
import socket, sys, time
with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as sysctl:
    sysctl.write("40000 40999")
held = []
def listener(family, host, port, defer=False):
    sock = socket.socket(family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if defer:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 60)
    sock.bind((host, port))
    sock.listen(64)
    held.append(sock)
    return sock
def connect(family, server, local_port=0, accept=True):
    client = socket.socket(family)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    client.bind((server.getsockname()[0], local_port))
    client.connect(server.getsockname()[:2])
    held.append(client)
    if accept:
        held.append(server.accept()[0])
    return client
for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    low = listener(family, host, 3000)
    for port in (40249, 40250, 40251, 40499, {BOUND}, 40501, 40749, 40750, 40751, 30000, 50000):
        connect(family, low, port)  # the client's key is its own port, the server side's its peer port
    for port in (40501, 40499, {BOUND}):  # a listener's key is its own port; so is its connections'
        high = listener(family, host, port)
        for client_port in (2000, 2001):
            connect(family, high, client_port)
    closing = listener(family, host, 3004)
    for port in (40498, 40502, 40749):  # closed by the client first: the client side stays in TIME-WAIT
        client = connect(family, closing, port)
        server = held.pop()
        held.remove(client)
        client.close()
        time.sleep(0.05)
        server.close()
    for port in (2002, 2003):  # closed by the server first: its side, port {BOUND}, stays in TIME-WAIT
        client = connect(family, high, port)
        server = held.pop()
        server.close()
        time.sleep(0.05)
        held.remove(client)
        client.close()
    deferred = listener(family, host, 3003, defer=True)
    for port in (40497, 40750):  # no data sent: the server side stays a request socket (SYN-RECV)
        connect(family, deferred, port, accept=False)
    for _ in range({AUTO_PAIRS}):
        connect(family, low)
time.sleep(0.2)
print("ready", flush=True)
sys.stdin.read()
"""

# Run inside the namespace: the dumps and counts the tests compare.
PROBE = """
import json, sys
import pyss
from pyss import dump
from pyss.columnar import RecordBatch, inet_runs
from pyss.netlink import split, requests, transport
from pyss.netlink.constants import IPPROTO_TCP, TCPDIAG_GETSOCK

ALL_STATES = 0xFFF

def rows(batches):
    found = []
    for batch in batches:
        records = batch.records if isinstance(batch, RecordBatch) else batch.records()
        found += [[r.family, r.state, r.sport, r.dport, r.src.hex(), r.dst.hex()] for r in records]
    return found

def one_dump(bytecode=None):
    return rows(inet_runs(transport.dump(requests.tcpdiag_request(ALL_STATES, bytecode)), IPPROTO_TCP,
                          TCPDIAG_GETSOCK))

def consume(buffers):
    return iter([rows(inet_runs(buffers, IPPROTO_TCP, TCPDIAG_GETSOCK))])

result = {"single": one_dump(), "parts": {}, "together": {}}
for bounds in ([BOUND], FOUR_PARTS):
    programs = split.part_programs(bounds)
    result["parts"][str(bounds)] = [one_dump(program) for program in programs]
    messages = [requests.tcpdiag_request(ALL_STATES, program) for program in programs]
    result["together"][str(bounds)] = [row for part in split.dump_parts(messages, consume) for row in part]

class StateSink:  # a RunSink reading whole runs, as a consumer that reads more than states does
    def __init__(self):
        self.counts = {}
    def add(self, state, number):
        word = str(pyss.State(state))
        self.counts[word] = self.counts.get(word, 0) + number
    def add_runs(self, runs):
        for state, number in runs.state_counts().items():
            self.add(state, number)
    def add_records(self, kind, records):
        for record in records:
            self.add(record.state, 1)

def listed_count():
    from pyss.api.listing import plan, table_streams
    sink = StateSink()
    for _kind, batches in table_streams(plan("tcp", None, False, (), None), runs=True):
        for batch in batches:
            batch.send(sink)
    return sink.counts

calls = []
dump_parts = split.dump_parts
split.dump_parts = lambda *args: calls.append(args) or dump_parts(*args)
split.part_count = lambda: int(sys.argv[1])
dump._SPLIT_TIMEWAIT = 0
if sys.argv[2] == "refused":
    split.part_programs = lambda bounds: [bytes(4)] * (len(bounds) + 1)  # yes = 0: the verifier refuses it
if sys.argv[3] == "counted":
    result["count"] = {str(state): number for state, number in pyss.count("tcp", by="state").items()}
else:
    result["count"] = listed_count()
result["split"] = len(calls)
print(json.dumps(result))
""".replace("BOUND", str(BOUND)).replace("FOUR_PARTS", str(FOUR_PARTS))


@pytest.fixture(scope="module")
def split_ns() -> Iterator[harness.ZooNamespace]:
    with harness.script_namespace("split", HOLDER) as name:
        yield harness.ZooNamespace(name, {}, 0.0, None)  # type: ignore[arg-type]


def probe(ns: harness.ZooNamespace, parts: int = 2, mode: str = "plain", count: str = "listed") -> dict[str, Any]:
    run = ns.run_in_ns([sys.executable, "-c", PROBE, str(parts), mode, count])
    assert run.returncode == 0 and not run.stderr, run.stderr.decode()
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def key(row: list[Any]) -> int:
    return max(row[2], row[3])


def multiset(rows: list[list[Any]]) -> Counter[tuple[Any, ...]]:
    return Counter(map(tuple, rows))


def test_the_population_lies_on_both_sides_of_each_bound(split_ns: harness.ZooNamespace) -> None:
    single = probe(split_ns)["single"]
    keys = Counter(map(key, single))
    for bound in [BOUND, *FOUR_PARTS]:
        assert keys[bound] >= 4 and keys[bound - 1] >= 2 and keys[bound + 1] >= 2, (bound, keys)
    states = Counter(row[1] for row in single)
    assert states[10] >= 8 and states[1] >= 100 and states[6] >= 4 and states[3] >= 2, states  # LISTEN ESTAB TW SYN-RECV
    assert {row[0] for row in single} == {2, 10}  # both families


@pytest.mark.parametrize("bounds", [[BOUND], FOUR_PARTS])
def test_each_socket_is_in_exactly_one_part(split_ns: harness.ZooNamespace, bounds: list[int]) -> None:
    result = probe(split_ns)
    single = multiset(result["single"])
    parts = result["parts"][str(bounds)]
    edges = [0, *bounds, 65536]
    for index, part in enumerate(parts):
        assert all(edges[index] <= key(row) < edges[index + 1] for row in part), (index, part)
    assert sum(map(multiset, parts), Counter()) == single
    assert multiset(result["together"][str(bounds)]) == single  # the same, dumped side by side


def ss_state_counts(ns: harness.ZooNamespace) -> Counter[str]:
    run = ns.ss("-tan")
    assert run.returncode == 0
    return Counter(line.split()[0] for line in run.text.splitlines()[1:])


# State names are ss's words; a dump splits only when it has more than one part to run. "listed": every
# socket dumped (a consumer reading more than states, as the exporter does); "counted": pyss.count, whose
# established sockets the kernel counts and whose other sockets are dumped (split, with the bound at 0).
@pytest.mark.parametrize("count", ["listed", "counted"])
@pytest.mark.parametrize(("parts", "mode", "splits"), [(2, "plain", 1), (4, "plain", 1), (1, "plain", 0),
                                                       (2, "refused", 1)])
def test_a_split_count_equals_ss(split_ns: harness.ZooNamespace, parts: int, mode: str, splits: int,
                                 count: str) -> None:
    expected = ss_state_counts(split_ns)
    result = probe(split_ns, parts, mode, count)
    assert result["split"] == splits
    assert Counter(result["count"]) == expected
    assert sum(expected.values()) > 150


# The start of the scripts below: `calls` notes each split dump; two parts, split even for few TIME-WAIT sockets.
SPLIT_SPY = """
import json, os, sys
from pyss import dump
from pyss.netlink import split
calls = []
dump_parts = split.dump_parts
split.dump_parts = lambda *args: calls.append(args) or dump_parts(*args)
split.part_count = lambda: 2
dump._SPLIT_TIMEWAIT = 0
"""

NETNS_COUNT = SPLIT_SPY + """
import pyss
counts = pyss.count("tcp", by="state", netns=sys.argv[1])
print(json.dumps({"count": {str(state): number for state, number in counts.items()}, "split": len(calls)}))
"""


def test_a_split_count_of_another_namespace_opens_every_part_there(split_ns: harness.ZooNamespace) -> None:
    # Run from this namespace: the parts' sockets must be opened, and the kernel's counters read, inside
    # the one asked for, or they would count this namespace's sockets (none of the namespace's 300 or so).
    run = harness.run_plain([sys.executable, "-c", NETNS_COUNT, split_ns.name])
    assert run.returncode == 0 and not run.stderr, run.stderr.decode()
    result = json.loads(run.stdout)
    assert result["split"] == 1
    assert Counter(result["count"]) == ss_state_counts(split_ns)


CLI_SPLITS = SPLIT_SPY + """
os.environ["PYSS_WATCH_ROUNDS"] = "2"
from pyss.cli import ss
with open(os.devnull, "w") as sink:
    sys.stdout, out = sink, sys.stdout
    status = ss.main(sys.argv[1:])
    sys.stdout = out
print(json.dumps({"status": status, "split": len(calls)}))
"""


# A --watch interval does Python work on every buffer (each socket's identity), under the GIL a part's
# thread needs to decode its own buffers: it reads TCP as one dump (A/B at 100k: 0.81x the interval's time).
@pytest.mark.parametrize(("args", "splits"), [(["-tan", "--count-by", "state"], 1),
                                              (["-tan", "--watch=0.000001"], 0)], ids=["count-by", "watch"])
def test_counts_split_and_watch_intervals_do_not(split_ns: harness.ZooNamespace, args: list[str], splits: int) -> None:
    run = split_ns.run_in_ns([sys.executable, "-c", CLI_SPLITS, *args])
    assert run.returncode == 0 and not run.stderr, run.stderr.decode()
    assert json.loads(run.stdout) == {"status": 0, "split": splits}
