"""A Resolver with fixed answers, so unit tests never depend on the host's tables."""

from __future__ import annotations

import socket

from pyss.netlink.constants import AF_INET, AF_INET6

HOSTS = {
    ("localhost", AF_INET): [(AF_INET, socket.inet_pton(AF_INET, "127.0.0.1"))],
    ("dual", AF_INET): [(AF_INET, socket.inet_pton(AF_INET, "192.0.2.7"))],
    ("dual", AF_INET6): [(AF_INET6, socket.inet_pton(AF_INET6, "2001:db8::7"))],
    ("six", AF_INET6): [(AF_INET6, socket.inet_pton(AF_INET6, "2001:db8::6"))],
}
SERVICES = {("ssh", "tcp"): 22, ("ssh", "udp"): 22, ("http", "tcp"): 80, ("domain", "udp"): 53,
            ("domain", "tcp"): 53, ("odd", "tcp"): 1000, ("odd", "udp"): 1001}
DEVICES = {"lo": 1, "eth0": 2}
CGROUPS = {"/sys/fs/cgroup/app": 0x1122334455667788, "app": 0x1122334455667788}


class FakeResolver:
    def hosts(self, name: str, family: int) -> list[tuple[int, bytes]]:
        return HOSTS.get((name, family), [])

    def service(self, name: str, protocol: str) -> int | None:
        return SERVICES.get((name, protocol))

    def ifindex(self, name: str) -> int:
        return DEVICES.get(name, 0)

    def cgroup_id(self, path: str) -> int | None:
        return CGROUPS.get(path)
