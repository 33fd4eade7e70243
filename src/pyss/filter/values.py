"""Read the value words of a filter: addresses, ports, devices, marks, cgroups.

The rules follow what ss 6.1.0 accepts, step by step (its parse_hostcond):
``[v6]:port``, ``host:port`` split at the last colon after any ``/``, ``*``
wildcards, ``inet:``/``inet6:``/``unix:``/``link:``/``netlink:``/``vsock:``
prefixes, C-style numbers (``0x16``, ``026``), service names, and host names
looked up only when the word is not a literal. Everything that touches the
system (name lookups, interface indexes, cgroup ids) goes through a
:class:`Resolver` (:class:`pyss.system.resolver.SystemResolver` unless a
test gives its own); C number reading is :mod:`pyss.filter.c_numbers`.

Addresses are stored as the 16-byte memory image ss compares (its
``inet_prefix.data``), which is also what the kernel's bytecode carries.
"""

from __future__ import annotations

# The resolver functions live in _socket; the socket module around them imports enum and selectors.
import _socket as socket
import sys

from pyss.lite_typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Final, Protocol
else:
    Protocol = object  # Resolver is a type checker's interface only

from pyss.filter.c_numbers import c_strtol, get_integer, get_unsigned, scan_int
from pyss.names.protocols import ETHERTYPE_NUMBERS, FAMILY_NAMES, NETLINK_PROTOCOL_NUMBERS
from pyss.netlink.constants import AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_UNIX, AF_UNSPEC, AF_VSOCK
from pyss.netlink.decode import signed32

PORT_ANY: Final = -1
PORT_MAX: Final = 0xFFFF

# The families a filter value may name with a "family:" prefix, in the order ss tries them.
FAMILY_PREFIXES: Final = tuple((f"{name}:", FAMILY_NAMES[name]) for name in ("unix", "link", "netlink", "vsock", "inet", "inet6"))

class ValueProblem(Exception):
    """A value word ss would refuse; the message says why, without the column."""


class Resolver(Protocol):
    """What value parsing needs from the system."""

    def hosts(self, name: str, family: int) -> list[tuple[int, bytes]]: ...

    def service(self, name: str, protocol: str) -> int | None: ...

    def ifindex(self, name: str) -> int: ...

    def cgroup_id(self, path: str) -> int | None: ...


# --- values ------------------------------------------------------------------------------

class Address(NamedTuple):
    """One address of a condition: its family, prefix length and 16-byte memory image."""

    family: int
    bitlen: int
    data: bytes


class HostSpec(NamedTuple):
    """What ss keeps for an address/port word (its struct aafilter chain).

    ``family`` is the address family of the condition (0 when only a port or
    wildcard was given); ``scope`` the family the word was read in (a prefix
    like ``unix:`` or ss's preferred family) — a non-zero scope limits the
    dump to that family, as ss does. ``addresses`` holds one 16-byte memory
    image per address a host name resolved to; ``pattern`` is the glob of a
    unix-path condition.
    """

    text: str
    family: int = AF_UNSPEC
    scope: int = AF_UNSPEC
    port: int = PORT_ANY
    bitlen: int = 0
    addresses: tuple[Address, ...] = ()
    pattern: str | None = None


class DevSpec(NamedTuple):
    text: str
    ifindex: int


class MarkSpec(NamedTuple):
    text: str
    mark: int
    mask: int


class CgroupSpec(NamedTuple):
    text: str
    cgroup_id: int


class ValueContext:
    """Settings ss's lexer reads while it parses values (mutable: a family prefix switches the family)."""

    __slots__ = ("notes", "preferred_family", "resolver", "service_protocols")

    def __init__(self, resolver: Resolver | None = None, preferred_family: int = AF_UNSPEC,
                 service_protocols: Sequence[str] = ("udp", "tcp")) -> None:
        if resolver is None:
            from pyss.system.resolver import SystemResolver

            resolver = SystemResolver()
        self.resolver: Resolver = resolver
        self.preferred_family = preferred_family  # the last of -4/-6/-0/-x/-f, or a value's family prefix
        self.service_protocols = tuple(service_protocols)  # tables dumped among tcp and udp
        self.notes: list[str] = []  # values ss accepts silently that pyss warns about


def _memory(packed: bytes) -> bytes:
    return packed.ljust(16, b"\0")


def _native_u32(value: int) -> bytes:
    return _memory((value & 0xFFFFFFFF).to_bytes(4, sys.byteorder))


def parse_dev(word: str, context: ValueContext) -> DevSpec:
    index = context.resolver.ifindex(word)
    if index == 0 and word.startswith("if") and word[2:].isdigit():
        index = int(word[2:])  # iproute2 reads "ifN" as index N
    if index == 0:
        value, used = c_strtol(word)
        if used == 0 or used != len(word) or value < 0 or value > 0xFFFFFFFF:
            raise ValueProblem(f'"{word}" is not a device name or index')
        index = value
    return DevSpec(word, index)


def parse_mark(word: str) -> MarkSpec:
    problem = ValueProblem(f'"{word}" is not a mark or mark/mask (numbers like 0x10/0xff)')
    first = scan_int(word)
    if first is None:
        raise problem
    mark, used = first
    if "/" not in word:
        return MarkSpec(word, mark, 0xFFFFFFFF)
    rest = word[used:]
    if not rest.startswith("/"):
        raise problem
    second = scan_int(rest[1:])
    if second is None:
        raise problem
    return MarkSpec(word, mark, second[0])


def parse_cgroup(word: str, context: ValueContext) -> CgroupSpec:
    cgroup_id = context.resolver.cgroup_id(word)
    if not cgroup_id:
        raise ValueProblem(f'"{word}" is not a cgroup2 path')
    return CgroupSpec(word, cgroup_id)


def _split_family(word: str, context: ValueContext) -> tuple[int, str]:
    for prefix, family in FAMILY_PREFIXES:
        if word.startswith(prefix):
            return family, word[len(prefix):]
    return context.preferred_family, word


def _port_after(addr: str, is_port: bool) -> tuple[str, str | None]:
    """Split off the port the way ss's find_port does for link:/netlink:/vsock: words."""
    if is_port:
        port: str | None = addr
        if addr.startswith(":"):
            return "", addr[1:]
        return addr, port
    colon = addr.find(":")
    if colon < 0:
        return addr, None
    return addr[:colon], addr[colon + 1:]


def parse_host(word: str, is_port: bool, context: ValueContext) -> HostSpec:
    """An address/port word after src/dst (is_port False) or sport/dport (is_port True)."""
    scope, addr = _split_family(word, context)
    if scope == AF_UNIX:
        return HostSpec(word, AF_UNIX, scope, PORT_ANY, 8 * len(addr.encode("utf-8", "surrogateescape")), (), addr)
    if scope == AF_PACKET:
        return _parse_link(word, addr, is_port, context)
    if scope == AF_NETLINK:
        return _parse_netlink(word, addr, is_port)
    if scope == AF_VSOCK:
        return _parse_vsock(word, addr, is_port)
    return _parse_inet(word, addr, scope, is_port, context)


def _parse_link(word: str, addr: str, is_port: bool, context: ValueContext) -> HostSpec:
    addr, port_text = _port_after(addr, is_port)
    port = PORT_ANY
    if port_text and port_text != "*":
        number = get_integer(port_text)
        if number is None:
            number = context.resolver.ifindex(port_text)
            if number <= 0:
                raise ValueProblem(f'"{port_text}" is not a device name or index')
        port = number
    if is_port or not addr or addr == "*":
        return HostSpec(word, AF_PACKET, AF_PACKET, port)
    proto = _name_or_number(addr, ETHERTYPE_NUMBERS.get(addr.lower()), 0xFFFF, "an ethertype")
    return HostSpec(word, AF_PACKET, AF_PACKET, port, 32, (Address(AF_PACKET, 32, _native_u32(proto)),))


def _parse_netlink(word: str, addr: str, is_port: bool) -> HostSpec:
    addr, port_text = _port_after(addr, is_port)
    port = PORT_ANY
    if port_text and port_text != "*":
        number = 0 if port_text == "kernel" else get_integer(port_text)
        if number is None:
            raise ValueProblem(f'"{port_text}" is not a netlink port id or "kernel"')
        port = number
    if is_port or not addr or addr == "*":
        return HostSpec(word, AF_NETLINK, AF_NETLINK, port)
    proto = _name_or_number(addr, NETLINK_PROTOCOL_NUMBERS.get(addr), 255, "a netlink protocol")
    return HostSpec(word, AF_NETLINK, AF_NETLINK, port, 32, (Address(AF_NETLINK, 32, _native_u32(proto)),))


def _name_or_number(text: str, named: int | None, limit: int, what: str) -> int:
    """The value a name stands for, else ``text`` read as a C integer in 0..limit."""
    if named is not None:
        return named
    value, used = c_strtol(text)
    if used == 0 or used != len(text) or not 0 <= value <= limit:
        raise ValueProblem(f'"{text}" is not {what} name or number')
    return value


def _parse_vsock(word: str, addr: str, is_port: bool) -> HostSpec:
    addr, port_text = _port_after(addr, is_port)
    port = PORT_ANY
    if port_text is not None and port_text != "*":
        number = get_unsigned(port_text)
        if number is None:
            raise ValueProblem(f'"{port_text}" is not a vsock port')
        port = signed32(number)  # ss keeps the port in an int
    cid = 0xFFFFFFFF
    if not is_port and addr and addr != "*":
        number = get_unsigned(addr)
        if number is None:
            raise ValueProblem(f'"{addr}" is not a vsock CID')
        cid = number
    # ss 6.1 sets the CID's prefix length and then overwrites the whole prefix with the CID
    # (vsock_set_inet_prefix), so a vsock condition never compares CIDs, only ports: pyss does the same.
    return HostSpec(word, AF_VSOCK, AF_VSOCK, port, 0, (Address(AF_VSOCK, 0, _native_u32(cid)),))


def _inet_split(addr: str, is_port: bool) -> tuple[str, str | None]:
    """Separate address and port text as ss does ([v6]:port, *:port, host:port).

    After sport/dport the whole word is the port (ss ignores any address in it).
    """
    port: str | None
    if addr.startswith("["):
        close = addr.find("]")
        if close < 0:
            raise ValueProblem(f'"{addr}" lacks the closing "]"')
        addr, port = addr[1:close], addr[close + 1:]
        if is_port:
            addr, port = "", addr
    elif is_port:
        addr, port = "", addr
    elif addr.startswith("*"):
        addr, port = "*", addr[1:]
    else:
        slash = addr.find("/")
        colon = addr.rfind(":", max(slash, 0))
        port = addr[colon:] if colon >= 0 else None
        if colon >= 0:
            addr = addr[:colon]
    if port and port.startswith(":"):
        port = port[1:]
    return addr, port


def _service_port(name: str, context: ValueContext) -> int:
    found = {proto: context.resolver.service(name, proto) for proto in context.service_protocols}
    ports = {port for port in found.values() if port is not None}
    if len(ports) > 1:
        raise ValueProblem(f'"{name}" names different ports for udp and tcp')
    if not ports:
        raise ValueProblem(f'"{name}" is not a port number or service name')
    return ports.pop()


def _parse_inet(word: str, addr: str, scope: int, is_port: bool, context: ValueContext) -> HostSpec:
    addr, port_text = _inet_split(addr, is_port)
    port = PORT_ANY
    if port_text and not port_text.startswith("*"):
        number = get_integer(port_text)
        port = number if number is not None else _service_port(port_text, context)
        if not 0 <= port <= PORT_MAX:
            # ss takes any C int here: past 65535 it matches no socket, and -1 means "any port".
            context.notes.append(f'port "{port_text}" is out of range (0-{PORT_MAX}): ss accepts it, '
                                 f"but it {'matches any port' if port == PORT_ANY else 'is no port a socket has'}")
    if is_port or not addr or addr.startswith("*"):
        return HostSpec(word, AF_UNSPEC, scope, port)
    prefix = parse_prefix(addr, scope)
    if prefix is not None:
        family, bitlen, data = prefix
        return HostSpec(word, family, scope, port, bitlen, (Address(family, bitlen, data),))
    return _resolve_host(word, addr, scope, port, context)


def _resolve_host(word: str, addr: str, scope: int, port: int, context: ValueContext) -> HostSpec:
    # ss asks for IPv4 addresses first, then IPv6, and keeps every one it gets.
    families: tuple[int, ...] = (AF_INET, AF_INET6) if scope == AF_UNSPEC else (scope,)
    found: list[tuple[int, bytes]] = []
    if scope not in (AF_UNSPEC, AF_INET, AF_INET6):
        # Under another family (--tipc, --xdp), ss asks glibc's gethostbyname2, which answers a name
        # of digits and dots for any family, as the IPv4 address inet_aton reads ("10.1" is 10.0.0.1).
        found.extend(_digits_and_dots(addr))
        families = ()
    for family in families:
        found.extend(context.resolver.hosts(addr, family))
    if not found:
        raise ValueProblem(f'"{addr}" is not an address, prefix or known host name')
    # ss links every further address right after the first: order first, last, ..., second.
    ordered = [found[0], *reversed(found[1:])]
    addresses = tuple(Address(fam, 8 * len(packed), _memory(packed)) for fam, packed in ordered)
    return HostSpec(word, addresses[0].family, scope, port, addresses[0].bitlen, addresses)


def _digits_and_dots(text: str) -> list[tuple[int, bytes]]:
    if not text[:1].isdigit() or text.strip("0123456789.") or not text.isascii():
        return []
    try:
        return [(AF_INET, socket.inet_aton(text))]
    except OSError:
        return []


def _ipv4(text: str) -> bytes | None:
    """iproute2's IPv4 reading: 1-4 dotted C numbers, missing ones zero ("10.8" is 10.8.0.0)."""
    parts = text.split(".")
    if len(parts) > 4:
        return None
    octets = []
    for part in parts:
        value, used = c_strtol(part)
        if used == 0 or used != len(part) or not 0 <= value <= 255:
            return None
        octets.append(value)
    return bytes(octets).ljust(4, b"\0")


def _netmask(text: str) -> int | None:
    bits = get_unsigned(text)
    if bits is not None:
        return bits
    packed = _ipv4(text)
    if packed is None:
        return None
    value = int.from_bytes(packed, "big")
    ones = bin(value).count("1")
    return ones if value == (0xFFFFFFFF << (32 - ones)) & 0xFFFFFFFF else None


def parse_prefix(text: str, scope: int) -> tuple[int, int, bytes] | None:
    """(family, prefix length, 16-byte data) of an address or prefix literal, or None."""
    addr, slash, mask_text = text.partition("/")
    if addr in ("default", "any", "all"):
        if slash:
            return None
        return scope, 0, bytes(16)
    if ":" in addr:
        if scope not in (AF_UNSPEC, AF_INET6):
            return None
        try:
            data = socket.inet_pton(AF_INET6, addr)
        except (OSError, ValueError):
            return None
        family, maxlen = AF_INET6, 128
    else:
        if scope not in (AF_UNSPEC, AF_INET):
            return None
        packed = _ipv4(addr)
        if packed is None:
            return None
        data, family, maxlen = packed, AF_INET, 32
    bitlen = maxlen
    if slash:
        plen = _netmask(mask_text)
        if plen is None or plen > maxlen:
            return None
        bitlen = plen
    return family, bitlen, _memory(data)
