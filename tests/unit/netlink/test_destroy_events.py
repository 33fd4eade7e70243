"""SOCK_DESTROY requests, their acknowledgements and the destruction groups, on bytes built here."""

from __future__ import annotations

import socket
import struct

import pytest

from pyss.netlink.constants import AF_INET, AF_INET6, IPPROTO_TCP, NLMSG_DONE, NLMSG_ERROR, SOCK_DESTROY
from pyss.netlink.decode import MalformedMessage, acknowledgement
from pyss.netlink.events import destruction_groups
from pyss.netlink.requests import inet_destroy_request


def test_destroy_request_names_the_socket_as_the_kernel_reads_it() -> None:
    src, dst = socket.inet_pton(AF_INET, "10.1.2.3"), socket.inet_pton(AF_INET, "10.9.8.7")
    message = inet_destroy_request(AF_INET, IPPROTO_TCP, 443, 51000, src, dst, 3, 0x1122334455667788)
    length, kind, flags = struct.unpack_from("=IHH", message)
    assert (length, kind, flags) == (len(message), SOCK_DESTROY, 0x01 | 0x04)  # NLM_F_REQUEST | NLM_F_ACK
    payload = message[16:]
    assert len(payload) == 56  # struct inet_diag_req_v2
    assert payload[:4] == bytes([AF_INET, IPPROTO_TCP, 0, 0])
    assert payload[8:10] == (443).to_bytes(2, "big") and payload[10:12] == (51000).to_bytes(2, "big")
    assert payload[12:28] == src + bytes(12) and payload[28:44] == dst + bytes(12)
    assert struct.unpack_from("=III", payload, 44) == (3, 0x55667788, 0x11223344)


def test_destroy_request_carries_the_raw_protocol() -> None:
    message = inet_destroy_request(AF_INET6, 255, 0, 0, bytes(16), bytes(16), 0, 7, raw_protocol=58)
    assert message[16:20] == bytes([AF_INET6, 255, 0, 58])


def _ack(code: int) -> bytes:
    return struct.pack("=IHHIIi", 36, NLMSG_ERROR, 0, 1, 0, code) + bytes(16)


@pytest.mark.parametrize(("code", "errno"), [(0, 0), (-1, 1), (-2, 2), (-95, 95)])
def test_acknowledgement_gives_the_errno(code: int, errno: int) -> None:
    assert acknowledgement(_ack(code)) == errno


@pytest.mark.parametrize("reply", [b"", _ack(0)[:18], struct.pack("=IHHIIi", 20, NLMSG_DONE, 0, 1, 0, 0)])
def test_a_reply_that_is_no_acknowledgement_is_malformed(reply: bytes) -> None:
    with pytest.raises(MalformedMessage):
        acknowledgement(reply)


@pytest.mark.parametrize(("families", "tcp", "udp", "groups"), [
    ((1 << AF_INET) | (1 << AF_INET6), True, True, 0b1111),
    (1 << AF_INET, True, False, 0b0001),
    (1 << AF_INET, False, True, 0b0010),
    (1 << AF_INET6, True, True, 0b1100),
    (1 << 1, True, True, 0),  # AF_UNIX: the kernel has no destruction group for it
    ((1 << AF_INET) | (1 << AF_INET6), False, False, 0),
])
def test_destruction_groups(families: int, tcp: bool, udp: bool, groups: int) -> None:
    assert destruction_groups(families, tcp, udp) == groups
