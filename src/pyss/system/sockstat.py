"""The kernel's socket counters in /proc/net/sockstat{,6}: read by ss's rules for -s, and as a cheap
estimate of how large a TCP dump will be before one is asked for.

Only builtins are imported here: the estimate sits on the start-up path of ``pyss -tan``.
"""

from __future__ import annotations

from pyss.system.procfs import read_text

# label -> (fields it sets, in the order the line lists them)
_LINES: dict[str, tuple[str, ...]] = {
    "sockets:": ("sockets",),
    "TCP:": ("tcp_inuse", "tcp_orphans", "tcp_timewait", "tcp_alloc", "tcp_mem"),
    "TCP6:": ("tcp6_inuse",),
    "UDP:": ("udp",),
    "UDP6:": ("udp6",),
    "RAW:": ("raw",),
    "RAW6:": ("raw6",),
    "FRAG:": ("frag", "frag_mem"),
    "FRAG6:": ("frag6", "frag6_mem"),
}


def _numbers(words: list[str], count: int) -> list[int]:
    """Every second word after the label, as ss's '%*s%d%*s%d' scanf reads them; missing ones 0."""
    values: list[int] = []
    for word in words[1::2][:count]:
        try:
            values.append(int(word))
        except ValueError:
            break
    return values + [0] * (count - len(values))


def parse_sockstat(text: str) -> dict[str, int]:
    """The fields of /proc/net/sockstat or sockstat6 text that ss uses."""
    found: dict[str, int] = {}
    for line in text.splitlines():
        label, _, rest = line.partition(" ")
        names = _LINES.get(label)
        if names is None or not rest:
            continue
        found.update(zip(names, _numbers(rest.split(), len(names)), strict=True))
    return found


def tcp_sockets_here(proc_net: str = "/proc/thread-self/net") -> int | None:
    """About how many sockets a TCP dump of this thread's network namespace lists: the hashed IPv4
    and IPv6 TCP sockets and the TIME-WAIT ones, as the kernel counts them for this namespace
    (sockstat's TCP inuse and tw, sockstat6's TCP6 inuse); None when sockstat cannot be read."""
    counters = _tcp_counters(proc_net)
    if counters is None:
        return None
    return sum(counters.get(name, 0) for name in ("TCP:inuse", "TCP:tw", "TCP6:inuse"))


def tcp_counters_here(proc_net: str = "/proc/thread-self/net") -> tuple[int, int] | None:
    """(full TCP sockets hashed, TIME-WAIT sockets) in this thread's network namespace, as the kernel
    counts them: sockstat's TCP inuse plus sockstat6's TCP6 inuse (a socket is counted on being hashed,
    listening or connected, until it is unhashed; TIME-WAIT and request sockets are not), and sockstat's
    tw. None unless both files read and name these counters (without IPv6 there is no sockstat6)."""
    counters = _tcp_counters(proc_net)
    if counters is None or not {"TCP:inuse", "TCP:tw", "TCP6:inuse"} <= counters.keys():
        return None
    return counters["TCP:inuse"] + counters["TCP6:inuse"], counters["TCP:tw"]


def _tcp_counters(proc_net: str) -> dict[str, int] | None:
    """sockstat's TCP and sockstat6's TCP6 counters by name ("TCP:inuse", "TCP:tw", "TCP6:inuse", ...):
    each a number as the kernel printed it, or left out. None when sockstat cannot be read; without
    sockstat6 (no IPv6) there is no TCP6 counter."""
    counters: dict[str, int] = {}
    for name, label in (("sockstat", "TCP:"), ("sockstat6", "TCP6:")):
        text = read_text(f"{proc_net}/{name}")
        if text is None and label == "TCP:":
            return None
        line = next((line for line in (text or "").splitlines() if line.startswith(label + " ")), "")
        words = line.split()[1:]
        for key, value in zip(words[::2], words[1::2], strict=False):
            if value.isdigit():
                counters[f"{label}{key}"] = int(value)
    return counters
