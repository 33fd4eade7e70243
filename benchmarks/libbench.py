"""One in-process library call, timed: ``libbench.py CALL`` prints the call's seconds and result size.

Every call lists TCP sockets of every state, IPv4 and IPv6, and consumes the
whole result (pyss.sockets / psutil.net_connections, pyss.net_connections with
fds and pids, pyss.count / counting psutil's list by status), so each pair does
the same work; import time is left out (the
interpreter's start-up is not the library's), first-use work inside the call
is kept in (a caller pays it).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


def _dump_call() -> Callable[[], int]:
    """pyss's internal dump, records as decoded: the floor under the public API."""
    from pyss.dump import sockets
    from pyss.netlink.constants import AF_INET, AF_INET6
    from pyss.query import STATES_ALL, TABLE_BIT, Query

    query = Query(tables=TABLE_BIT["tcp"], families=(1 << AF_INET) | (1 << AF_INET6), states=STATES_ALL)
    return lambda: sum(1 for _ in sockets(query))


def _pyss_call() -> Callable[[], int]:
    import pyss

    return lambda: sum(1 for _ in pyss.sockets("tcp"))


def _pyss_connections_call() -> Callable[[], int]:
    import pyss

    return lambda: len(pyss.net_connections("tcp"))


def _pyss_count_call() -> Callable[[], int]:
    import pyss

    return lambda: sum(pyss.count("tcp", by="state").values())


def _floor_connections_call() -> Callable[[], int]:
    """What any program answering net_connections must do: receive the dump, readlink() every fd."""
    from bare_connections import floor

    return floor


def _floor_answer_call() -> Callable[[], int]:
    """The floor, then psutil's answer made of nothing: the sconns and addrs any implementation must build."""
    from bare_connections import floor_with_answer

    return lambda: len(floor_with_answer())


def _psutil_call() -> Callable[[], int]:
    import psutil

    return lambda: len(psutil.net_connections("tcp"))


def _psutil_count_call() -> Callable[[], int]:
    from collections import Counter

    import psutil

    return lambda: sum(Counter(conn.status for conn in psutil.net_connections("tcp")).values())


CALLS = {"dump": _dump_call, "pyss": _pyss_call, "pyss-connections": _pyss_connections_call,
         "pyss-count": _pyss_count_call, "psutil": _psutil_call, "psutil-count": _psutil_count_call,
         "floor-connections": _floor_connections_call, "floor-answer": _floor_answer_call}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in CALLS:
        print(f"usage: libbench.py {'|'.join(CALLS)}", file=sys.stderr)
        return 2
    try:
        call = CALLS[argv[0]]()
    except (ImportError, AttributeError) as exc:
        print(f"libbench: {argv[0]} API not available: {exc}", file=sys.stderr)
        return 1
    start = time.perf_counter()
    count = call()
    elapsed = time.perf_counter() - start
    print(f"{elapsed:.6f} {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
