"""/proc/net/{tcp,udp,raw}{,6}: the fallback when the kernel has no *_diag module for a table.

ss falls back to these files too (raw_diag, for one, is often not built), so
pyss does the same rather than show nothing. ss also reads them instead of the
kernel when its environment names such files (PROC_ROOT, PROC_NET_TCP, ...):
:func:`proc_tables` says which, :func:`read_proc_file` reads one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pyss.lite_typing import NamedTuple
from pyss.netlink.constants import AF_INET6, IPPROTO_RAW, IPPROTO_TCP, IPPROTO_UDP
from pyss.records import InetSocket
from pyss.system.procfs import read_text

_new = tuple.__new__
_FILES = {IPPROTO_TCP: "tcp", IPPROTO_UDP: "udp", IPPROTO_RAW: "raw"}
PROC_PROTOCOLS = tuple(_FILES)  # the inet tables /proc/net has a file for


def proc_path(family: int, protocol: int) -> str:
    # thread-self, not /proc/net (= /proc/self/net, the main thread's namespace): a thread that entered
    # another namespace (pyss-exporter, --all-netns) must read that namespace's table.
    return f"/proc/thread-self/net/{_FILES[protocol]}{'6' if family == AF_INET6 else ''}"


def read_proc_inet(family: int, protocol: int, states: int) -> Iterator[InetSocket]:
    try:
        with open(proc_path(family, protocol)) as table:
            text = table.read()
    except FileNotFoundError:
        return  # the protocol or IPv6 is not built into this kernel: nothing to list
    yield from parse_proc_inet(text, family, protocol, states)


_ENV_NAMES = {IPPROTO_TCP: "TCP", IPPROTO_UDP: "UDP", IPPROTO_RAW: "RAW"}


class ProcTable(NamedTuple):
    """One inet table ss reads from /proc-format files instead of the kernel (PROC_ROOT, PROC_NET_*)."""

    protocol: int
    ipv4_path: str
    ipv6_path: str


def proc_tables(environ: Mapping[str, str]) -> tuple[ProcTable, ...]:
    """The inet tables the environment sends to /proc-format files, as ss decides: a table whose
    PROC_NET_<TABLE> is set, or every table when PROC_ROOT is; each family's file is its
    PROC_NET_<TABLE>[6] or else $PROC_ROOT/net/<table>[6] (PROC_ROOT defaulting to /proc)."""
    root = environ.get("PROC_ROOT")
    tables = []
    for protocol, name in _ENV_NAMES.items():
        ipv4, ipv6 = environ.get(f"PROC_NET_{name}"), environ.get(f"PROC_NET_{name}6")
        if ipv4 is None and root is None:
            continue
        base = root if root is not None else "/proc"
        file = _FILES[protocol]
        tables.append(ProcTable(protocol, ipv4 if ipv4 is not None else f"{base}/net/{file}",
                                ipv6 if ipv6 is not None else f"{base}/net/{file}6"))
    return tuple(tables)


def read_proc_file(path: str, family: int, protocol: int, states: int) -> Iterator[InetSocket] | None:
    """The sockets of a /proc-format table file, or None when it cannot be read (missing, not a
    regular file, larger than any real table)."""
    text = read_text(path)
    if text is None:
        return None
    return parse_proc_inet(text, family, protocol, states)


def _address(hex_text: str) -> bytes:
    """The kernel prints each 32-bit word of the address in host order; undo that per word."""
    raw = bytes.fromhex(hex_text)
    return b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))


def parse_proc_inet(text: str, family: int, protocol: int, states: int) -> Iterator[InetSocket]:
    """Records from a /proc/net/{tcp,udp,raw}[6] table, keeping those whose state is in ``states``."""
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        state = int(fields[3], 16)
        if not states >> state & 1:
            continue
        local, _, local_port = fields[1].partition(":")
        remote, _, remote_port = fields[2].partition(":")
        wqueue, _, rqueue = fields[4].partition(":")
        timer, _, expires = fields[5].partition(":")
        yield _new(InetSocket, (
            family, state, int(timer, 16), int(fields[6], 16), int(local_port, 16), int(remote_port, 16),
            _address(local), _address(remote), 0, 0, int(expires, 16), int(rqueue, 16), int(wqueue, 16),
            int(fields[7]), int(fields[9]), protocol, b"",
        ))



