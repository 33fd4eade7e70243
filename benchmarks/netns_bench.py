"""How to run a dump in another network namespace: setns there and back, or a forked child per namespace.

Each round opens a NETLINK_SOCK_DIAG socket "inside" the target namespace (the
caller's own, so the script needs no set-up) the two ways pyss could do it, and
prints the median cost of each and their ratio. The fork's figure is a floor:
a real child would also have to send its records back through a pipe.
Run as root: python3 benchmarks/netns_bench.py [ROUNDS]
"""

from __future__ import annotations

import os
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from pyss.system.netns import Namespace, inside

NETLINK_SOCK_DIAG = 4


def _own_namespace() -> Namespace:
    path = "/proc/self/ns/net"
    status = os.stat(path)
    return Namespace("self", status.st_dev, status.st_ino, path)


def setns_round(namespace: Namespace) -> float:
    start = time.perf_counter()
    with inside(namespace):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
    sock.close()
    return time.perf_counter() - start


def fork_round(namespace: Namespace) -> float:
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            with inside(namespace):
                socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG).close()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    return time.perf_counter() - start


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    namespace = _own_namespace()
    by_setns, by_fork = [], []
    for _ in range(rounds):  # interleaved, so machine load hits both alike
        by_setns.append(setns_round(namespace))
        by_fork.append(fork_round(namespace))
    setns_median, fork_median = statistics.median(by_setns), statistics.median(by_fork)
    print(f"setns there and back: {setns_median * 1e6:.0f} us per namespace")
    print(f"forked child:         {fork_median * 1e6:.0f} us per namespace")
    print(f"fork / setns:         {fork_median / setns_median:.1f}x ({rounds} rounds)")


if __name__ == "__main__":
    main()
