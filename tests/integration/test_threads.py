"""-T/--threads against the real ss: sockets held by a process whose threads have names of their own."""

from __future__ import annotations

import json
import re
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


def _ss_threads(line: str) -> list[dict[str, object]]:
    """The holders of one ss -T row, in ss's order, as --json names them."""
    return [{"name": name, "pid": int(pid), "tid": int(tid), "fd": int(fd)}
            for name, pid, tid, fd in re.findall(r'\("([^"]*)",pid=(\d+),tid=(\d+),fd=(\d+)\)', line)]


@pytest.mark.parametrize("format", ["--json", "--json-lines"])
def test_json_names_each_thread_as_ss_does(threaded_holder: ZooNamespace, format: str) -> None:
    """--json with -T carries each holding thread's tid, as ss -T's users:(...) names it (it once listed the
    processes alone, silently less than was asked)."""
    rows = {}
    for line in threaded_holder.ss("-T", "-tuln", "sport", "=", ":46001", "or", "sport", "=", ":46002").text.splitlines()[1:]:
        rows[int(line.split()[4].rsplit(":", 1)[1])] = _ss_threads(line)
    text = threaded_holder.pyss("-T", "-tuln", format, "sport", "=", ":46001", "or", "sport", "=", ":46002").text
    objects = json.loads(text) if format == "--json" else [json.loads(line) for line in text.splitlines()]
    assert {obj["local_port"]: obj["processes"] for obj in objects} == rows
    assert sum(len(holders) for holders in rows.values()) >= 6  # both sockets, the process and its two workers
