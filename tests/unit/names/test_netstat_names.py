"""netstat's name tables and lookup rules (no DNS: only numeric and file-based answers are checked)."""

from __future__ import annotations

import socket

import pytest

from pyss.names import netstat as names
from pyss.netlink.constants import AF_INET, AF_INET6


def test_services_last_entry_wins() -> None:
    table = names.parse_services("http 80/tcp www\nwww-alt 80/tcp\n# comment 81/tcp\ndomain 53/udp\nbad x/tcp\n")
    assert table == {(80, "tcp"): "www-alt", (53, "udp"): "domain"}


def test_protocols_and_networks() -> None:
    assert names.parse_protocols("icmp 1 ICMP\nipv6-icmp 58 IPv6-ICMP\n") == {1: "icmp", 58: "ipv6-icmp"}
    assert names.parse_networks("loopback 127.0.0.0\nlink-local 169.254.0.0\nshort 10\n") == {
        0x7F000000: "loopback", 0xA9FE0000: "link-local", 10: "short"}
    assert names.inet_network("10.1") == 0x0A01
    assert names.inet_network("0x7f.1") == 0x7F01
    assert names.inet_network("256.1") is None


def test_numeric_hosts_ports_users() -> None:
    lookups = names.NetstatNames(numeric_hosts=True, numeric_ports=True, numeric_users=True)
    assert lookups.host(AF_INET, socket.inet_aton("127.0.0.1")) == "127.0.0.1"
    assert lookups.host(AF_INET6, bytes(16)) == "::"
    assert lookups.service(22, "tcp") == "22"
    assert lookups.service(0, "tcp") == "*"
    assert lookups.user(0) == "0"
    assert lookups.route_destination(bytes(4), 0) == "0.0.0.0"


def test_unresolved_special_addresses() -> None:
    lookups = names.NetstatNames()
    assert lookups.host(AF_INET, bytes(4)) == "0.0.0.0"
    assert lookups.host(AF_INET6, bytes(16)) == "[::]"
    assert lookups.route_destination(bytes(4), 0) == "default"
    assert lookups.route_destination(bytes(4), 1) == "0.0.0.0"
    assert lookups.gateway(bytes(4)) == "0.0.0.0"


def test_networks_name_route_destinations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(names, "networks", lambda: {0x7F000000: "loopback"})
    lookups = names.NetstatNames()
    assert lookups.route_destination(socket.inet_aton("127.0.0.0"), 8) == "loopback"
    assert lookups.route_destination(socket.inet_aton("10.0.0.0"), 8) == "10.0.0.0"


def test_services_and_raw_protocol_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(names, "services", lambda: {(22, "tcp"): "ssh"})
    monkeypatch.setattr(names, "protocols", lambda: {1: "icmp"})
    lookups = names.NetstatNames()
    assert lookups.service(22, "tcp") == "ssh"
    assert lookups.service(22, "udp") == "22"
    assert lookups.service(1, "raw") == "icmp"


def test_program_names_from_command_lines() -> None:
    assert names.program_name(b"/usr/sbin/sshd\0-D\0") == "sshd"
    assert names.program_name(b"python3\0/srv/app.py\0") == "python3"
    assert names.program_name(b"") == ""  # a kernel thread's empty command line
    assert names.program_name(None) is None  # the process is gone


def test_v4_mapped_addresses_print_as_ipv4() -> None:
    packed = socket.inet_pton(AF_INET6, "::ffff:192.0.2.1")
    assert names.format_host(AF_INET6, packed) == "192.0.2.1"
    assert names.strip_v4_mapped("host.example", packed) == "host.example"
    assert names.format_host(AF_INET6, socket.inet_pton(AF_INET6, "2001:db8::1")) == "2001:db8::1"
