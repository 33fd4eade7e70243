"""Names for numbers, as ss shows them: services, IP protocols, hosts, interfaces.

Every lookup is cached: a dump asks about the same few ports and addresses
again and again. Lookups go through the C library (NSS), like ss's, so
/etc/services, /etc/hosts and nsswitch.conf mean the same to both tools.
"""

from __future__ import annotations

# The resolver functions live in _socket; the socket module around them adds enums and selectors,
# whose import costs more than a plain listing's whole start-up budget allows.
import _socket as socket

from pyss.system.procfs import ephemeral_port_range, read_text


class ServiceNames:
    """port -> service name for one transport ("tcp", "udp"; None: any), numeric when unknown."""

    __slots__ = ("_high", "_low", "_proto", "cache")

    def __init__(self, proto: str | None) -> None:
        self._proto = proto
        self._low, self._high = ephemeral_port_range()
        self.cache: dict[int, str] = {0: "*"}  # hot loops read it directly and call only on a miss

    def __call__(self, port: int) -> str:
        name = self.cache.get(port)
        if name is None:
            name = self._lookup(port)
            self.cache[port] = name
        return name

    def _lookup(self, port: int) -> str:
        if self._low <= port <= self._high:
            return str(port)
        try:
            if self._proto is None:
                return socket.getservbyport(port)
            return socket.getservbyport(port, self._proto)
        except (OSError, OverflowError):
            return str(port)


# Caches are plain dicts: functools (lru_cache) brings collections along, ~10M instructions of start-up.
_PROTOCOLS: dict[int, str] = {}
_INTERFACES: dict[int, str] = {}
_MAX_INTERFACES = 256


def _protocol_table() -> dict[int, str]:
    table = _PROTOCOLS
    if table:
        return table
    for line in (read_text("/etc/protocols") or "").splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) >= 2 and words[1].isdigit():
            table.setdefault(int(words[1]), words[0])  # the first entry for a number, as getprotobynumber
    return table


def protocol_name(number: int) -> str:
    """IP protocol number -> name from /etc/protocols (ss's name for a RAW socket's "port")."""
    return _protocol_table().get(number) or f"ipproto-{number}"


class HostNames:
    """Packed address -> host name (-r), the numeric form when the lookup fails."""

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[bytes, str | None] = {}

    def __call__(self, packed: bytes) -> str | None:
        if packed in self._cache:
            return self._cache[packed]
        name = self._lookup(packed)
        self._cache[packed] = name
        return name

    @staticmethod
    def _lookup(packed: bytes) -> str | None:
        if len(packed) == 16 and packed[:12] == b"\0" * 10 + b"\xff\xff":
            packed = packed[12:]  # v4-mapped: ask about the IPv4 address, as ss does
        family = socket.AF_INET if len(packed) == 4 else socket.AF_INET6
        try:
            return socket.gethostbyaddr(socket.inet_ntop(family, packed))[0]
        except (OSError, UnicodeError):
            return None


def interface_name(index: int) -> str:
    name = _INTERFACES.get(index)
    if name is None:
        if len(_INTERFACES) >= _MAX_INTERFACES:
            _INTERFACES.clear()
        try:
            name = socket.if_indextoname(index)
        except OSError:
            name = f"if{index}"
        _INTERFACES[index] = name
    return name


def forget_interface_names() -> None:
    """Drop the interface names seen so far (indexes are per network namespace)."""
    _INTERFACES.clear()
