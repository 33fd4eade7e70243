"""A count by state whose established TCP sockets the kernel counts (pyss.dump._tcp_counted_runs), against
the real kernel, ss and pyss's own listing.

The count dumps every TCP socket but the established ones and takes the established ones as sockstat's
inuse (the full sockets hashed) less the full sockets that dump holds. A namespace holds TCP sockets in
every state that can be held still, in both families and IPv4-mapped IPv6, including those whose reported
state hides what they are: an orphaned FIN-WAIT-2 socket (a TIME-WAIT socket reporting FIN-WAIT-2, not
counted in inuse) beside a held one (a full socket), and request sockets (SYN-RECV, not counted) beside
the full ESTAB sockets in a listener's accept queue. Every count must equal ss's and the listing's; so
must the counts of the paths that decline the kernel's count (sockstat unreadable, a state selection
that leaves out a hashed state, one family).
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

PAIRS = 40  # established connections per family: more sockets than the other states together

HOLDER = f"""
import socket, sys, time
from socket import AF_INET, AF_INET6, SOL_SOCKET, SO_REUSEADDR, SO_RCVBUF, IPPROTO_TCP, SHUT_WR
held = []
def listener(family, host, port, backlog=64, defer=False, rcvbuf=None):
    sock = socket.socket(family)
    sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    if rcvbuf:
        sock.setsockopt(SOL_SOCKET, SO_RCVBUF, rcvbuf)  # inherited by the sockets it accepts
    if defer:
        sock.setsockopt(IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 60)
    sock.bind((host, port))
    sock.listen(backlog)
    held.append(sock)
    return sock
def connect(server, family=None, host=None, rcvbuf=None, accept=True):
    client = socket.socket(family or server.family)
    if rcvbuf:
        client.setsockopt(SOL_SOCKET, SO_RCVBUF, rcvbuf)
    client.connect((host or server.getsockname()[0], server.getsockname()[1]))
    held.append(client)
    if not accept:
        return client, None
    accepted = server.accept()[0]
    held.append(accepted)
    return client, accepted
def fill(sock):  # write until the peer's window and this socket's buffer are full
    sock.setblocking(False)
    try:
        while True:
            sock.send(bytes(65536))
    except BlockingIOError:
        pass
def let_go(sock):
    held.remove(sock)
    sock.close()
for family, host, port in ((AF_INET, "127.0.0.1", 3000), (AF_INET6, "::1", 3100)):
    server = listener(family, host, port)
    for _ in range({PAIRS}):
        connect(server)
    client, accepted = connect(server)
    client.shutdown(SHUT_WR)  # client FIN-WAIT-2, held; server CLOSE-WAIT
    client, accepted = connect(server)
    let_go(client)  # orphaned in FIN-WAIT-2: a TIME-WAIT socket reporting FIN-WAIT-2; server CLOSE-WAIT
    client, accepted = connect(server)
    let_go(client)
    time.sleep(0.05)
    let_go(accepted)  # the client's side in TIME-WAIT
    slow = listener(family, host, port + 1, rcvbuf=4096)
    client, accepted = connect(slow)
    fill(client)
    client.shutdown(SHUT_WR)  # the FIN queued behind data the server does not read: FIN-WAIT-1
    client, accepted = connect(server, rcvbuf=4096)
    client.shutdown(SHUT_WR)
    fill(accepted)
    accepted.shutdown(SHUT_WR)  # CLOSE-WAIT, then its FIN queued behind unread data: LAST-ACK
    deferred = listener(family, host, port + 2, defer=True)
    for _ in range(2):
        connect(deferred, accept=False)  # no data sent: the server's side stays a request socket
    full = listener(family, host, port + 3, backlog=0)
    connect(full, accept=False)  # fills the accept queue (an ESTAB socket no one accepted)
    waiting = socket.socket(family)
    waiting.setblocking(False)
    waiting.connect_ex((host, port + 3))  # its SYN is dropped: SYN-SENT
    held.append(waiting)
    bound = socket.socket(family)
    bound.bind((host, port + 4))  # bound, neither listening nor connected: listed only when asked for
    held.append(bound)
dual = listener(AF_INET6, "::", 3200)
for _ in range(3):
    connect(dual, AF_INET, "127.0.0.1")  # the accepted side is IPv6, IPv4-mapped
    connect(dual, AF_INET6, "::ffff:127.0.0.1")
time.sleep(0.3)
print("ready", flush=True)
sys.stdin.read()
"""

# The scripts' common start: `used` notes, for each TCP dump of a count, whether the kernel counted its established sockets.
SPY = """
import json, sys
import pyss
from pyss import dump

used = []
counted_runs = dump._tcp_counted_runs
def spy(*args):
    found = counted_runs(*args)
    used.append(found is not None)
    return found
dump._tcp_counted_runs = spy
"""

PROBE = SPY + """
from pyss.system import sockstat
if sys.argv[1] == "unreadable":
    sockstat.tcp_counters_here = lambda *args: None
kind, state = sys.argv[2], sys.argv[3].split(",") if sys.argv[3] else None
listed = {}
for sock in pyss.sockets(kind, state=state):
    listed[str(sock.state)] = listed.get(str(sock.state), 0) + 1
if sys.argv[1] == "query":  # a Query no public call makes: every state and bound-inactive, no filter
    from pyss.netlink.constants import AF_INET, AF_INET6, TCP_BOUND_INACTIVE
    from pyss.query import STATES_ALL, TABLE_BIT, Query
    query = Query(tables=TABLE_BIT["tcp"], families=(1 << AF_INET) | (1 << AF_INET6),
                  states=STATES_ALL | (1 << TCP_BOUND_INACTIVE))
    class Sink:
        def __init__(self):
            self.counts = {}
        def add_runs(self, runs):
            for number, many in runs.state_counts().items():
                self.counts[pyss.State(number)] = self.counts.get(pyss.State(number), 0) + many
        def add_records(self, kind, records):
            for record in records:
                self.counts[pyss.State(record.state)] = self.counts.get(pyss.State(record.state), 0) + 1
    sink = Sink()
    for _kind, batches in dump.run_streams(query, states_only=True):
        for batch in batches:
            batch.send(sink)
    counts = sink.counts
else:
    counts = pyss.count(kind, by="state", state=state)
print(json.dumps({"count": {str(state): number for state, number in counts.items()}, "listed": listed,
                  "kernel_counted": any(used)}))
"""


@pytest.fixture(scope="module")
def states_ns() -> Iterator[harness.ZooNamespace]:
    with harness.script_namespace("states", HOLDER) as name:
        yield harness.ZooNamespace(name, {}, 0.0, None)  # type: ignore[arg-type]


def probe(ns: harness.ZooNamespace, mode: str = "plain", kind: str = "tcp", state: str = "") -> dict[str, Any]:
    run = ns.run_in_ns([sys.executable, "-c", PROBE, mode, kind, state])
    assert run.returncode == 0 and not run.stderr, run.stderr.decode()
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def ss_counts(ns: harness.ZooNamespace, *args: str) -> Counter[str]:
    run = ns.ss("-tanH", *args)
    assert run.returncode == 0
    return Counter(line.split()[0] for line in run.text.splitlines())


def test_the_namespace_holds_every_state_that_can_be_held(states_ns: harness.ZooNamespace) -> None:
    counts = ss_counts(states_ns)
    for state in ("ESTAB", "LISTEN", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT",
                  "LAST-ACK", "TIME-WAIT"):
        assert counts[state] >= 2, counts
    assert counts["ESTAB"] > 2 * PAIRS
    assert counts["FIN-WAIT-2"] >= 4  # held ones and orphaned ones (TIME-WAIT sockets) in each family


def test_the_kernel_counted_established_sockets_equal_ss_and_the_listing(states_ns: harness.ZooNamespace) -> None:
    expected = ss_counts(states_ns)
    result = probe(states_ns)
    assert result["kernel_counted"]
    assert Counter(result["count"]) == expected == Counter(result["listed"])


@pytest.mark.parametrize(("mode", "kind", "state", "ss_args"), [
    ("unreadable", "tcp", "", []),  # no sockstat: every socket dumped
    ("plain", "tcp", "connected", ["state", "connected"]),  # leaves out LISTEN: every selected socket dumped
    ("plain", "tcp6", "", ["-6"]),  # one family: sockstat counts both
], ids=["sockstat-unreadable", "connected", "ipv6"])
def test_declined_counts_equal_ss(states_ns: harness.ZooNamespace, mode: str, kind: str, state: str,
                                  ss_args: list[str]) -> None:
    expected = ss_counts(states_ns, *ss_args)
    result = probe(states_ns, mode, kind, state)
    assert not result["kernel_counted"]
    assert len(expected) > 3 and Counter(result["count"]) == expected == Counter(result["listed"])


@pytest.mark.parametrize("mode", ["plain", "query"])
def test_bound_inactive_sockets_asked_for_are_listed(states_ns: harness.ZooNamespace, mode: str) -> None:
    # They are full sockets (reported as CLOSE) that the kernel does not hash, so does not count in inuse.
    # The API selects them with a filter only ("query": a Query with no filter, as the dump layer takes it).
    result = probe(states_ns, mode, "tcp", "all,bound-inactive")
    assert not result["kernel_counted"]
    expected = ss_counts(states_ns) + Counter({"UNCONN": 2})
    assert Counter(result["count"]) == Counter(result["listed"]) == expected


def test_established_alone_are_listed(states_ns: harness.ZooNamespace) -> None:
    result = probe(states_ns, "plain", "tcp", "established")
    assert not result["kernel_counted"]
    expected = ss_counts(states_ns)["ESTAB"]
    assert result["count"] == result["listed"] == {"ESTAB": expected}


def test_count_by_state_on_the_command_line_equals_ss(states_ns: harness.ZooNamespace) -> None:
    run = states_ns.pyss("-tan", "--count-by", "state", "--json")
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.text)
    assert Counter({row["state"]: row["count"] for row in rows}) == ss_counts(states_ns)


THREADED = SPY + """
import threading
found = {}
def count():
    found.update(pyss.count("tcp", by="state", netns=sys.argv[1]))
worker = threading.Thread(target=count)
worker.start()
worker.join()
print(json.dumps({"count": {str(state): number for state, number in found.items()}, "kernel_counted": any(used)}))
"""


def test_a_count_of_another_namespace_from_another_thread_reads_that_namespace_s_counters(
        states_ns: harness.ZooNamespace) -> None:
    # setns() moves the calling thread alone: /proc/self/net would still be the main thread's namespace (this
    # one, which holds none of those sockets), so the kernel's counters must come from /proc/thread-self/net.
    run = harness.run_plain([sys.executable, "-c", THREADED, states_ns.name])
    assert run.returncode == 0 and not run.stderr, run.stderr.decode()
    result = json.loads(run.stdout)
    assert result["kernel_counted"]
    assert Counter(result["count"]) == ss_counts(states_ns)
