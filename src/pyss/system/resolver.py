"""The system lookups a filter's value words need, made as ss makes them: host and service names
through libc, interface indexes in the current network namespace, cgroup ids from cgroupfs.

A :class:`pyss.filter.values.Resolver`; tests give the filter a fake one instead.
"""

from __future__ import annotations

# The resolver functions live in _socket; the socket module around them imports enum and selectors.
import _socket as socket


class SystemResolver:
    """Name lookups as ss makes them: hosts and services through libc, devices in this netns."""

    def hosts(self, name: str, family: int) -> list[tuple[int, bytes]]:
        try:
            infos = socket.getaddrinfo(name, None, family, socket.SOCK_STREAM)
        except (OSError, ValueError):  # ValueError: a NUL byte; UnicodeError: a lone surrogate
            return []
        found: list[tuple[int, bytes]] = []
        for fam, _type, _proto, _canon, sockaddr in infos:
            packed = socket.inet_pton(fam, str(sockaddr[0]).split("%")[0])
            if (fam, packed) not in found:
                found.append((int(fam), packed))
        return found

    def service(self, name: str, protocol: str) -> int | None:
        try:
            return socket.getservbyname(name, protocol)
        except (OSError, ValueError):  # ValueError: a NUL byte; UnicodeError: a lone surrogate
            return None

    def ifindex(self, name: str) -> int:
        try:
            return socket.if_nametoindex(name)
        except (OSError, ValueError):
            return 0

    def cgroup_id(self, path: str) -> int | None:
        from pyss.system.cgroups import cgroup_id

        return cgroup_id(path)
