"""Listings large enough to be read ahead, against ss and netstat: the same bytes on stdout.

The zoo's dumps fit in one receive buffer, so they never start a read-ahead
child. Here a namespace holds ~1,600 IPv4 TCP sockets (a dump of several
buffers: the IPv4 dump goes to a read-ahead child and the IPv6 dump after it
is started early by a child of its own) and a few IPv6 ones, listening and
connected, so that the IPv6 rows come through that early child. With one
CPU (`nox -s tests-one-cpu`) no child is started and the same outputs must
come out.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.integration import harness

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: holds sockets in a private network namespace"),
    pytest.mark.skipif(shutil.which("ss", path=harness.TOOL_ENV["PATH"]) is None
                       or shutil.which("netstat", path=harness.TOOL_ENV["PATH"]) is None,
                       reason="needs iproute2's ss and net-tools' netstat"),
]

PAIRS = 800  # 1,600 sockets: ~200 kB of IPv4 replies, several buffers

HOLDER = f"""
import socket, sys
held = []
for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    listener = socket.socket(family)
    listener.bind((host, 0))
    listener.listen(4096)
    held.append(listener)
    for _ in range({PAIRS} if family == socket.AF_INET else 5):
        client = socket.socket(family)
        client.connect(listener.getsockname()[:2])
        server, _ = listener.accept()
        held += [client, server]
wild = socket.socket(socket.AF_INET6)
wild.bind(("::", 0))
wild.listen(1)
held.append(wild)
print("ready", flush=True)
sys.stdin.read()
"""


@pytest.fixture(scope="module")
def large_ns() -> Iterator[harness.ZooNamespace]:
    with harness.script_namespace("large", HOLDER) as name:
        yield harness.ZooNamespace(name, {}, 0.0, None)  # type: ignore[arg-type]


@pytest.mark.parametrize("args", ["-tan", "-tn", "-4tan", "-tan -6", "-ltn"])
def test_pyss_lists_what_ss_lists(large_ns: harness.ZooNamespace, args: str) -> None:
    harness.assert_matches_reference(large_ns.ss, large_ns.pyss, args.split())


@pytest.mark.parametrize("args", ["-tan", "-tn"])
def test_pynetstat_lists_what_netstat_lists(large_ns: harness.ZooNamespace, args: str) -> None:
    harness.assert_matches_reference(large_ns.netstat, large_ns.pynetstat, args.split())
