"""-T/--threads against the real ss: sockets held by a process whose threads have names of their own."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from tests.integration.harness import TOOL_ENV, ZooNamespace, assert_matches_reference, wait_ready

# A process in the zoo's namespace holding a TCP listener, a UDP socket and a UNIX pair, with two
# extra threads named through prctl(PR_SET_NAME): ss -T names each thread by its own comm.
HOLDER = textwrap.dedent(
    """
    import ctypes, json, socket, sys, threading
    PR_SET_NAME = 15
    libc = ctypes.CDLL(None, use_errno=True)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 46001))
    listener.listen()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 46002))
    pair = socket.socketpair()
    started = threading.Barrier(3)
    stop = threading.Event()

    def worker(name):
        libc.prctl(PR_SET_NAME, name.encode(), 0, 0, 0)
        started.wait()
        stop.wait()

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("pyss-worker-a", "pyss-worker-b")]
    for thread in threads:
        thread.start()
    started.wait()
    sys.stdout.write("READY " + json.dumps({"pid": __import__("os").getpid()}) + "\\n")
    sys.stdout.flush()
    sys.stdin.read()
    stop.set()
    """
)


@pytest.fixture
def threaded_holder(zoo_ns: ZooNamespace) -> Iterator[ZooNamespace]:
    holder = subprocess.Popen(["ip", "netns", "exec", zoo_ns.name, sys.executable, "-c", HOLDER],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=TOOL_ENV)
    try:
        wait_ready(holder)
        yield zoo_ns
    finally:
        holder.communicate(b"", timeout=10)


@pytest.mark.parametrize("argv", [
    ["-T", "-tuln"],
    ["--threads", "-tnl", "sport", "=", ":46001"],
    ["-Tp", "-un"],
    ["-T", "-xa"],
    ["-T", "-e", "-tuan", "sport", "=", ":46001", "or", "sport", "=", ":46002"],  # zoo timers would move
])
def test_threads_like_ss(threaded_holder: ZooNamespace, argv: list[str]) -> None:
    assert_matches_reference(threaded_holder.ss, threaded_holder.pyss, argv)


def test_threads_name_every_thread(threaded_holder: ZooNamespace) -> None:
    """The comparison above must see threads at all: each named worker holds the listener."""
    listing = threaded_holder.pyss("-T", "-tnl", "sport", "=", ":46001").text
    assert listing.count("pyss-worker-") == 2, listing
    assert "tid=" in listing
