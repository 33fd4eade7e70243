"""Run inside the zoo's namespace: print what psutil and pyss report, as JSON, for the API tests.

    python api_probe.py psutil KIND [PID]   # psutil.net_connections / Process(PID).net_connections
    python api_probe.py pyss KIND [PID]     # pyss.net_connections / process_net_connections
    python api_probe.py sockets KIND [FILTER] [processes]   # pyss.sockets, as ss's fields
    python api_probe.py count KIND BY [FILTER]

Types that JSON would lose (enum members, tuples) are checked here and written as plain values.
"""

from __future__ import annotations

import json
import socket
import sys
from typing import Any


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    if isinstance(value, (socket.AddressFamily, socket.SocketKind)):
        return int(value)
    return value


def _checked(connections: list[Any]) -> list[Any]:
    """psutil's documented types: family and type are socket enums, statuses plain strings."""
    for conn in connections:
        assert type(conn.family) is socket.AddressFamily, conn
        assert type(conn.type) is socket.SocketKind, conn
        assert type(conn.status) is str, conn
        for address in (conn.laddr, conn.raddr):
            assert address == () or isinstance(address, str) or (
                type(address.ip) is str and type(address.port) is int), conn
    return [_plain(tuple(conn)) for conn in connections]


def main(argv: list[str]) -> None:
    mode, kind = argv[1], argv[2]
    if mode in ("psutil", "pyss"):
        if mode == "psutil":
            import psutil

            system, process = psutil.net_connections, lambda pid, kind: psutil.Process(pid).net_connections(kind)
        else:
            import pyss

            system, process = pyss.net_connections, pyss.process_net_connections
        found = system(kind) if len(argv) < 4 else process(int(argv[3]), kind)
        print(json.dumps(_checked(found)))
    elif mode == "sockets":
        import pyss

        filter_text = argv[3] if len(argv) > 3 and argv[3] else None
        rows = []
        for sock in pyss.sockets(kind, filter_text, processes="processes" in argv[4:]):
            rows.append([sock.kind, sock.state.ss, _plain(sock.laddr), _plain(sock.raddr), sock.recv_q, sock.send_q,
                         sock.inode, sorted([list(p) for p in sock.processes])])
        print(json.dumps(rows))
    elif mode == "count":
        import pyss

        counts = pyss.count(kind, argv[4] if len(argv) > 4 else None, by=argv[3])
        print(json.dumps([[_plain(key) if not isinstance(key, pyss.State) else key.ss, n] for key, n in counts.items()]))


if __name__ == "__main__":
    main(sys.argv)
