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
    text = read_text(f"{proc_net}/sockstat")
    if text is None:
        return None
    fields = parse_sockstat(text) | parse_sockstat(read_text(f"{proc_net}/sockstat6") or "")
    return fields.get("tcp_inuse", 0) + fields.get("tcp_timewait", 0) + fields.get("tcp6_inuse", 0)
