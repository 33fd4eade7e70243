"""Kernel-side filtering vs predicate-only filtering vs ss, on ~50k TCP sockets.

Usage (root): ``python benchmarks/filter_bench.py [--sockets 50000] [--runs 15]``

Builds a private network namespace holding ``--sockets`` TCP sockets (mostly
listeners on 127.0.0.1, plus established pairs), spread over holder processes
of at most 15,000 descriptors each. A filter selecting 10 of them is then
timed, interleaved, ``--runs`` times each:

* ``ss -tanH FILTER`` (the reference, bytecode in the kernel);
* ``pyss -tanH FILTER`` (the CLI, bytecode in the kernel);
* a minimal pyss dump in a fresh process with the bytecode sent (kernel) and
  without it (every record decoded and judged in Python);
* the same two dumps in-process (no interpreter start-up).

Prints wall-time medians; the namespace and holders are removed at the end,
also after errors or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve()
PYTHON = sys.executable
PYSS = str(Path(PYTHON).parent / "pyss")
PER_HOLDER = 15_000
FIRST_PORT = 10_000
PAIRS = 2_500  # established connections (two sockets each) in the first holder
FILTER = ["sport", ">=", ":30000", "and", "sport", "<", ":30010"]


# --- inside the namespace: holders --------------------------------------------------------

def hold(first_port: int, count: int, pairs: int) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    held: list[socket.socket] = []
    for port in range(first_port, first_port + count):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(1)
        held.append(sock)
    if pairs:
        server = held[0]
        server.listen(pairs)
        for _ in range(pairs):
            held.append(socket.create_connection(("127.0.0.1", first_port)))
            held.append(server.accept()[0])
    print("READY", flush=True)
    sys.stdin.read()  # hold until the parent closes our stdin


# --- inside the namespace: one dump ----------------------------------------------------------

def dump(words: Sequence[str], kernel: bool) -> int:
    from pyss.filter import compile_filter
    from pyss.netlink import decode, requests, transport
    from pyss.netlink.constants import AF_INET, AF_INET6, IPPROTO_TCP

    compiled = compile_filter(list(words), service_protocols=("tcp",))
    if not kernel:
        compiled = compiled.without_bytecode()
    count = 0
    for family in (AF_INET, AF_INET6):
        message = requests.inet_request(family, IPPROTO_TCP, (1 << 12) - 1, 0, compiled.bytecode(family, IPPROTO_TCP))
        with transport.DiagSocket() as diag:
            for record in decode.walk(diag.request(message), decode.inet_decoder(IPPROTO_TCP)):
                if compiled(record):
                    count += 1
    return count


def measure(runs: int, words: Sequence[str]) -> None:
    devnull = subprocess.DEVNULL
    commands: dict[str, Callable[[], object]] = {
        "ss -tanH FILTER": lambda: subprocess.run(["ss", "-tanH", *words], stdout=devnull, check=True),
        "pyss -tanH FILTER (CLI)": lambda: subprocess.run([PYSS, "-tanH", *words], stdout=devnull, check=True),
        "pyss dump, kernel bytecode (process)": lambda: subprocess.run(
            [PYTHON, str(HERE), "--once", "kernel", *words], stdout=devnull, check=True),
        "pyss dump, predicate only (process)": lambda: subprocess.run(
            [PYTHON, str(HERE), "--once", "predicate", *words], stdout=devnull, check=True),
        "pyss dump, kernel bytecode (in-process)": lambda: dump(words, True),
        "pyss dump, predicate only (in-process)": lambda: dump(words, False),
        "pyss dump, no filter at all (in-process)": lambda: dump([], True),
    }
    matched = {dump(words, True), dump(words, False)}
    rows = subprocess.run(["ss", "-tanH", *words], capture_output=True, text=True, check=True).stdout.splitlines()
    total = subprocess.run(["ss", "-tanH"], capture_output=True, text=True, check=True).stdout.count("\n")
    print(f"sockets dumped without filter: {total}; filter {' '.join(words)!r} matches: ss {len(rows)}, "
          f"pyss {sorted(matched)}")
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            start = time.perf_counter()
            command()
            times[name].append(time.perf_counter() - start)
    reference = statistics.median(times["ss -tanH FILTER"])
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:42s} median {median * 1000:8.1f} ms  (min {min(samples) * 1000:7.1f}, "
              f"max {max(samples) * 1000:7.1f}, {median / reference:5.2f}x ss, N={len(samples)})")


# --- outside: set up, run, clean up ----------------------------------------------------------

def main(sockets: int, runs: int) -> None:
    name = f"pyss-fbench-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    holders: list[subprocess.Popen[str]] = []
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        # Client ports of the established pairs must not collide with the listeners' ports.
        subprocess.run(["ip", "netns", "exec", name, "sysctl", "-q", "-w",
                        "net.ipv4.ip_local_port_range=61000 64999"], check=True)
        pairs = min(PAIRS, sockets // 10)
        listeners = sockets - 2 * pairs
        port = FIRST_PORT
        while port < FIRST_PORT + listeners:
            count = min(PER_HOLDER - (2 * pairs if not holders else 0), FIRST_PORT + listeners - port)
            holder = subprocess.Popen(
                ["ip", "netns", "exec", name, PYTHON, str(HERE), "--hold", str(port), str(count),
                 str(pairs if not holders else 0)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            holders.append(holder)
            assert holder.stdout is not None
            if holder.stdout.readline().strip() != "READY":
                raise RuntimeError("a holder failed to start")
            port += count
        subprocess.run(["ip", "netns", "exec", name, PYTHON, str(HERE), "--measure", str(runs), *FILTER], check=True)
    finally:
        for holder in holders:
            with contextlib.suppress(OSError):
                if holder.stdin is not None:
                    holder.stdin.close()
        for holder in holders:
            try:
                holder.wait(timeout=20)
            except subprocess.TimeoutExpired:
                holder.kill()
                holder.wait()
        subprocess.run(["ip", "netns", "del", name], check=False)


def cli(argv: list[str]) -> None:
    if argv[:1] == ["--hold"]:
        hold(int(argv[1]), int(argv[2]), int(argv[3]))
    elif argv[:1] == ["--once"]:
        print(dump(argv[2:], argv[1] == "kernel"))
    elif argv[:1] == ["--measure"]:
        measure(int(argv[1]), argv[2:])
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--sockets", type=int, default=50_000)
        parser.add_argument("--runs", type=int, default=15)
        options = parser.parse_args(argv)
        main(options.sockets, options.runs)


if __name__ == "__main__":
    cli(sys.argv[1:])
