"""netstat's name lookups: hosts, networks, services, users, and the program owning a socket.

net-tools differs from ss in small, visible ways and pynetstat copies them:
the *last* /etc/services entry for a port wins (net-tools keeps a prepended
list), a RAW socket's "port" is named from /etc/protocols, IPv4 0.0.0.0 stays
numeric, IPv6 :: reads "[::]" when names are on, and an address whose first
octet is 0 is looked up as a network (/etc/networks) rather than a host.
Host lookups go through the C library (files, then DNS per nsswitch.conf),
as netstat's do, and every answer is cached for the run.
"""

from __future__ import annotations

# The resolver functions live in _socket; the socket module around them imports enum and selectors.
import _socket as socket

from pyss.netlink.constants import AF_INET, AF_INET6
from pyss.system.procfs import read_text

SERVICES_PATH = "/etc/services"
PROTOCOLS_PATH = "/etc/protocols"
NETWORKS_PATH = "/etc/networks"
PROGRAM_WIDTH = 20  # netstat's "PID/Program name" column
# The kernel's TCP states as /proc/net-era tools spell them, index = state number: net-tools' netstat
# prints these, and psutil's status strings are the same words (psutil says "NONE" where 0 is "").
# NEW_SYN_RECV (12) is a request socket, which /proc/net/tcp itself reports as SYN_RECV.
TCP_STATE_NAMES = (
    "", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
    "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "SYN_RECV",
)


def format_host(family: int, packed: bytes) -> str:
    """The numeric host text netstat prints: IPv4-mapped IPv6 addresses show as dotted IPv4."""
    text = socket.inet_ntop(family, packed)
    if family == AF_INET6:
        return strip_v4_mapped(text, packed)
    return text


def strip_v4_mapped(text: str, packed: bytes) -> str:
    """net-tools shows "::ffff:192.0.2.1" as "192.0.2.1" (also when a resolver answered)."""
    if packed[:12] != b"\0" * 10 + b"\xff\xff":
        return text
    dot = text.find(".")
    if dot < 0:
        return text
    colon = text.rfind(":", 0, dot)
    return text[colon + 1:] if colon >= 0 else text


def parse_services(text: str) -> dict[tuple[int, str], str]:
    """(port, proto) -> name; a later line for the same port replaces an earlier one."""
    table: dict[tuple[int, str], str] = {}
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) < 2 or "/" not in words[1]:
            continue
        port, _, proto = words[1].partition("/")
        if port.isdigit():
            table[int(port), proto] = words[0]
    return table


def parse_protocols(text: str) -> dict[int, str]:
    table: dict[int, str] = {}
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) >= 2 and words[1].isdigit():
            table[int(words[1])] = words[0]
    return table


def inet_network(text: str) -> int | None:
    """The C library's inet_network(): "127.0.0.0" -> 0x7f000000, "10" -> 10."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    value = 0
    for part in parts:
        try:
            number = int(part, 0) if not (len(part) > 1 and part[0] == "0" and part[1] not in "xX") else int(part, 8)
        except ValueError:
            return None
        if not 0 <= number <= 255:
            return None
        value = value << 8 | number
    return value


def parse_networks(text: str) -> dict[int, str]:
    """network number -> name; the first line for a number wins (a file lookup stops there)."""
    table: dict[int, str] = {}
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) >= 2:
            number = inet_network(words[1])
            if number is not None:
                table.setdefault(number, words[0])
    return table


def _read(path: str) -> str:
    return read_text(path) or ""


# Each table is read once, when first asked for (plain dicts: functools costs ~3.5M instructions of start-up).
_SERVICES: list[dict[tuple[int, str], str]] = []
_PROTOCOLS: list[dict[int, str]] = []
_NETWORKS: list[dict[int, str]] = []


def services() -> dict[tuple[int, str], str]:
    if not _SERVICES:
        _SERVICES.append(parse_services(_read(SERVICES_PATH)))
    return _SERVICES[0]


def protocols() -> dict[int, str]:
    if not _PROTOCOLS:
        _PROTOCOLS.append(parse_protocols(_read(PROTOCOLS_PATH)))
    return _PROTOCOLS[0]


def networks() -> dict[int, str]:
    if not _NETWORKS:
        _NETWORKS.append(parse_networks(_read(NETWORKS_PATH)))
    return _NETWORKS[0]


def network_name(number: int) -> str | None:
    return networks().get(number)


def host_by_address(family: int, packed: bytes) -> str | None:
    """The C library's reverse lookup, or None."""
    try:
        if family == AF_INET:
            return socket.gethostbyaddr(socket.inet_ntop(AF_INET, packed))[0]
        host, _ = socket.getnameinfo((socket.inet_ntop(AF_INET6, packed), 0), 0)
        return host
    except (OSError, UnicodeError):
        return None


class NetstatNames:
    """The :class:`pyss.render.netstat.Names` of a real run."""

    def __init__(self, numeric_hosts: bool = False, numeric_ports: bool = False, numeric_users: bool = False,
                 programs: dict[int, str] | None = None) -> None:
        self.numeric_hosts = numeric_hosts
        self.numeric_ports = numeric_ports
        self.numeric_users = numeric_users
        self._programs = programs or {}
        self._hosts: dict[tuple[int, bytes], str] = {}
        self._services: dict[tuple[int, str], str] = {}
        self._users: dict[int, str] = {}

    def host(self, family: int, packed: bytes) -> str:
        key = (family, packed)
        text = self._hosts.get(key)
        if text is None:
            text = format_host(family, packed) if self.numeric_hosts else self._resolve(family, packed)
            self._hosts[key] = text
        return text

    def _resolve(self, family: int, packed: bytes) -> str:
        if family == AF_INET6:
            if not any(packed):
                return "[::]"
            name = host_by_address(family, packed)
            return strip_v4_mapped(name, packed) if name else format_host(family, packed)
        if not any(packed):
            return "0.0.0.0"
        if packed[0] == 0:  # net-tools' host test looks at the first octet (a byte-order slip, kept for fidelity)
            return network_name(int.from_bytes(packed, "big")) or format_host(family, packed)
        return host_by_address(family, packed) or format_host(family, packed)

    def route_destination(self, packed: bytes, prefix: int) -> str:
        """An IPv4 route's destination: "default", a network name, a host name, or the number."""
        if self.numeric_hosts:
            return format_host(AF_INET, packed)
        if not any(packed):
            return "default" if prefix == 0 else "0.0.0.0"
        mask = ((0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF).to_bytes(4, "big")
        if prefix == 32 or any(byte & ~bits & 0xFF for byte, bits in zip(packed, mask, strict=True)):
            return self.host(AF_INET, packed)
        return network_name(int.from_bytes(packed, "big")) or format_host(AF_INET, packed)

    def gateway(self, packed: bytes) -> str:
        """A route's gateway: looked up as a host (IPv4 0.0.0.0 stays numeric)."""
        if self.numeric_hosts or not any(packed):
            return format_host(AF_INET, packed)
        return self.host(AF_INET, packed)

    def service(self, port: int, proto: str) -> str:
        if port == 0:
            return "*"
        if self.numeric_ports:
            return str(port)
        key = (port, proto)
        name = self._services.get(key)
        if name is None:
            name = self._service_name(port, proto) or str(port)
            self._services[key] = name
        return name

    @staticmethod
    def _service_name(port: int, proto: str) -> str | None:
        if proto == "raw":
            return protocols().get(port) or services().get((port, proto))
        return services().get((port, proto))

    def user(self, uid: int) -> str:
        if self.numeric_users:
            return str(uid)
        name = self._users.get(uid)
        if name is None:
            import pwd

            try:
                name = pwd.getpwuid(uid).pw_name
            except (KeyError, OverflowError):
                name = str(uid)
            self._users[uid] = name
        return name

    def program(self, inode: int) -> str:
        return self._programs.get(inode, "-")


def program_table() -> dict[int, str]:
    """inode -> "PID/name" for every socket a process holds open, from pyss.system.processes' /proc scan.

    Like netstat, the first process found (in /proc's order) owns an inode,
    and its name is the first word of its command line without leading
    directories (not the kernel's comm, which ss shows), cut to fit
    netstat's 20-character column.
    """
    from pyss.system.processes import UserScan, read_head, scan_users, scan_workers

    workers = scan_workers()  # the scan split with children, one per further CPU (it is most of -p's time)
    names: dict[int, str | None] = {}
    table: dict[int, str] = {}
    for inode, holders in (UserScan(workers).result() if workers else scan_users()).items():
        for holder in holders:
            if holder.pid not in names:
                names[holder.pid] = program_name(read_head(f"/proc/{holder.pid}/cmdline", 511))
            name = names[holder.pid]
            if name is not None:
                table[inode] = f"{holder.pid}/{name}"[:PROGRAM_WIDTH - 1]
                break
    return table


def program_name(cmdline: bytes | None) -> str | None:
    """netstat's program name: the command line's first word without its directories (None if unreadable)."""
    if cmdline is None:
        return None
    first = cmdline.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    if first.startswith("/"):
        first = first.rsplit("/", 1)[1]
    return first
