"""Decoders over netlink bytes built to the kernel's struct layouts (no kernel needed)."""

from __future__ import annotations

import errno
import socket
import struct

import pytest

from pyss.names.netids import netid
from pyss.netlink import constants as C  # noqa: N812  # reads like the kernel headers
from pyss.netlink.decode import (
    DumpError,
    DumpInterrupted,
    MalformedMessage,
    attributes,
    decode_netlink,
    decode_packet,
    decode_unix,
    inet_attributes,
    inet_decoder,
    walk,
)
from pyss.netlink.transport import ends_dump
from pyss.records import InetSocket


def nlmsg(kind: int, payload: bytes, flags: int = C.NLM_F_MULTI) -> bytes:
    length = 16 + len(payload)
    return struct.pack("=IHHII", length, kind, flags, 1, 0) + payload + b"\0" * (-length % 4)


def nlattr(kind: int, value: bytes) -> bytes:
    length = 4 + len(value)
    return struct.pack("=HH", length, kind) + value + b"\0" * (-length % 4)


def inet_diag_msg(family: int = C.AF_INET, state: int = C.TCP_ESTABLISHED, sport: int = 22, dport: int = 40000,
                  src: str = "127.0.0.1", dst: str = "10.1.2.3", ifindex: int = 0, inode: int = 777,
                  rq: int = 3, wq: int = 5) -> bytes:
    size = 4 if family == C.AF_INET else 16
    src_b = socket.inet_pton(family, src).ljust(16, b"\0")
    dst_b = socket.inet_pton(family, dst).ljust(16, b"\0")
    assert len(src_b) == 16 and size in (4, 16)
    return (struct.pack("=BBBB", family, state, 2, 1) + struct.pack(">HH", sport, dport) + src_b + dst_b
            + struct.pack("=III", ifindex, 0x1234, 0x1) + struct.pack("=IIIII", 1500, rq, wq, 1000, inode))


DONE = nlmsg(C.NLMSG_DONE, struct.pack("=i", 0))


SHUTDOWN = nlattr(C.INET_DIAG_SHUTDOWN, b"\x00")
MARK = nlattr(15, struct.pack("=I", 7))


def mixed_v4_buffer() -> bytes:
    """Messages of three lengths, as a real dump mixes full sockets and TIME-WAIT ones."""
    return b"".join([
        nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg(sport=22, dport=0, dst="0.0.0.0", state=C.TCP_LISTEN) + SHUTDOWN),
        nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg(sport=40001, dport=22, rq=1234567) + SHUTDOWN + MARK),
        nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg(sport=40002, dport=22, state=C.TCP_TIME_WAIT, src="10.0.0.9")),
    ])


def test_inet_v4_fields() -> None:
    buf = nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg() + nlattr(C.INET_DIAG_SHUTDOWN, b"\x01")) + DONE
    (record,) = walk([buf], inet_decoder(C.IPPROTO_TCP))
    assert isinstance(record, InetSocket)
    assert (record.family, record.state, record.timer, record.retrans) == (C.AF_INET, C.TCP_ESTABLISHED, 2, 1)
    assert (record.sport, record.dport) == (22, 40000)
    assert record.src == socket.inet_aton("127.0.0.1") and record.dst == socket.inet_aton("10.1.2.3")
    assert (record.cookie, record.expires, record.rqueue, record.wqueue, record.uid, record.inode) == \
        (0x1_0000_1234, 1500, 3, 5, 1000, 777)
    assert netid(record) == "tcp"
    assert inet_attributes(record) == {C.INET_DIAG_SHUTDOWN: b"\x01"}


def test_inet_v6_fields_across_buffers() -> None:
    first = nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg(C.AF_INET6, src="::1", dst="2001:db8::5", sport=443))
    second = nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg(C.AF_INET6, src="::", dst="::", sport=80)) + DONE
    records = list(walk([first, second], inet_decoder(C.IPPROTO_UDP)))
    assert [r.sport for r in records] == [443, 80]
    assert records[0].dst == socket.inet_pton(socket.AF_INET6, "2001:db8::5")
    assert netid(records[1]) == "udp"


def test_error_message_raises_with_errno() -> None:
    buf = nlmsg(C.NLMSG_ERROR, struct.pack("=i", -errno.ENOENT) + b"\0" * 16)
    with pytest.raises(DumpError) as raised:
        list(walk([buf], inet_decoder(C.IPPROTO_TCP)))
    assert raised.value.errno == errno.ENOENT


def test_done_carrying_an_error_raises() -> None:
    buf = nlmsg(C.NLMSG_DONE, struct.pack("=i", -errno.EPERM))
    with pytest.raises(DumpError) as raised:
        list(walk([buf], inet_decoder(C.IPPROTO_TCP)))
    assert raised.value.errno == errno.EPERM


def test_dump_interrupted_is_reported_after_the_records() -> None:
    buf = nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg(), flags=C.NLM_F_MULTI | C.NLM_F_DUMP_INTR) + DONE
    seen = []
    with pytest.raises(DumpInterrupted):
        for record in walk([buf], inet_decoder(C.IPPROTO_TCP)):
            seen.append(record)
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("buffer", "message"),
    [
        (b"\x10\x00\x00", "truncated netlink header"),
        (struct.pack("=IHHII", 8, C.SOCK_DIAG_BY_FAMILY, 0, 0, 0), "does not fit"),
        (struct.pack("=IHHII", 400, C.SOCK_DIAG_BY_FAMILY, 0, 0, 0) + b"\0" * 20, "does not fit"),
        (nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg()[:40]) + DONE, "inet_diag_msg of 40 bytes"),
        (nlmsg(C.SOCK_DIAG_BY_FAMILY, b"\x07" + inet_diag_msg()[1:]) + DONE, "address family 7"),
        (nlmsg(99, b"") + DONE, "unexpected netlink message type 99"),
        (nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg()), "without NLMSG_DONE"),
    ],
)
def test_malformed_input_is_a_clear_error(buffer: bytes, message: str) -> None:
    with pytest.raises(MalformedMessage, match=message):
        list(walk([buffer], inet_decoder(C.IPPROTO_TCP)))


def test_attribute_overrunning_its_message_is_an_error() -> None:
    block = struct.pack("=HH", 40, C.INET_DIAG_SHUTDOWN) + b"\x01\0\0\0"
    with pytest.raises(MalformedMessage, match="length 40"):
        attributes(block, 0, len(block))


def unix_msg(kind: int, state: int, inode: int, attrs: bytes) -> bytes:
    return nlmsg(C.SOCK_DIAG_BY_FAMILY, struct.pack("=BBBxIII", C.AF_UNIX, kind, state, inode, 9, 0) + attrs)


def test_unix_path_stops_at_nul_and_abstract_nuls_become_at_signs() -> None:
    path = unix_msg(C.SOCK_STREAM, C.TCP_LISTEN, 10, nlattr(C.UNIX_DIAG_NAME, b"/run/x.sock\0")
                    + nlattr(C.UNIX_DIAG_RQLEN, struct.pack("=II", 2, 128)))
    abstract = unix_msg(C.SOCK_DGRAM, C.TCP_CLOSE, 11, nlattr(C.UNIX_DIAG_NAME, b"\0name\0x")
                        + nlattr(C.UNIX_DIAG_PEER, struct.pack("=I", 12)))
    unbound = unix_msg(C.SOCK_SEQPACKET, C.TCP_ESTABLISHED, 12, b"")
    records = list(walk([path + abstract + unbound + DONE], decode_unix))
    assert [(r.name, r.peer, r.rqueue, r.wqueue, netid(r)) for r in records] == [
        ("/run/x.sock", 0, 2, 128, "u_str"),
        ("@name@x", 12, 0, 0, "u_dgr"),
        (None, 0, 0, 0, "u_seq"),
    ]


def test_unix_short_queue_attribute_is_an_error() -> None:
    buf = unix_msg(C.SOCK_STREAM, C.TCP_LISTEN, 10, nlattr(C.UNIX_DIAG_RQLEN, b"\1\0\0\0")) + DONE
    with pytest.raises(MalformedMessage, match="RQLEN"):
        list(walk([buf], decode_unix))


def test_packet_record() -> None:
    info = struct.pack("=6I", 1, 2, 0, 0, 0, 1)
    meminfo = struct.pack("=9I", 2304, 212992, 0, 212992, 0, 0, 0, 0, 0)
    payload = struct.pack("=BBHIII", C.AF_PACKET, C.SOCK_RAW, C.ETH_P_ALL, 55, 1, 0)
    payload += nlattr(C.PACKET_DIAG_INFO, info) + nlattr(C.PACKET_DIAG_MEMINFO, meminfo) \
        + nlattr(C.PACKET_DIAG_UID, struct.pack("=I", 0))
    (record,) = walk([nlmsg(C.SOCK_DIAG_BY_FAMILY, payload) + DONE], decode_packet)
    assert (record.protocol, record.inode, record.ifindex, record.rqueue, netid(record)) == (3, 55, 1, 2304, "p_raw")


def test_netlink_record() -> None:
    meminfo = struct.pack("=9I", 832, 0, 64, 0, 0, 0, 0, 0, 0)
    payload = struct.pack("=BBBBIIIIII", C.AF_NETLINK, C.SOCK_RAW, 4, 1, 4242, 0, 0, 99, 7, 0)
    payload += nlattr(C.NETLINK_DIAG_MEMINFO, meminfo) + nlattr(C.NETLINK_DIAG_GROUPS, struct.pack("=Q", 5))
    (record,) = walk([nlmsg(C.SOCK_DIAG_BY_FAMILY, payload) + DONE], decode_netlink)
    assert (record.protocol, record.state, record.portid, record.groups, record.rqueue, record.wqueue) == \
        (4, 1, 4242, 5, 832, 64)
    assert netid(record) == "nl"


def test_older_kernel_short_meminfo_reads_missing_entries_as_zero() -> None:
    payload = struct.pack("=BBBBIIIIII", C.AF_NETLINK, C.SOCK_RAW, 0, 0, 0, 0, 0, 1, 0, 0)
    payload += nlattr(C.NETLINK_DIAG_MEMINFO, struct.pack("=3I", 10, 0, 20))
    (record,) = walk([nlmsg(C.SOCK_DIAG_BY_FAMILY, payload) + DONE], decode_netlink)
    assert (record.rqueue, record.wqueue) == (10, 20)


@pytest.mark.parametrize(
    ("data", "ends"),
    [
        (mixed_v4_buffer(), False),
        (mixed_v4_buffer() + DONE, True),
        (DONE, True),
        (nlmsg(C.NLMSG_ERROR, struct.pack("=i", -errno.EPERM) + bytes(16)), True),
        # broken framing: the dump goes on, and the decoder says what is wrong with this buffer
        (mixed_v4_buffer()[:-4], False),
        (struct.pack("=IHHII", 0, C.SOCK_DIAG_BY_FAMILY, 0, 0, 0), False),
        (struct.pack("=IHHII", 0, C.SOCK_DIAG_BY_FAMILY, 0, 0, 0) + DONE, True),
        # a data message whose last bytes look like NLMSG_DONE is still data: the walk tells
        (mixed_v4_buffer() + nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg() + DONE[:16] + b"\0" * 4), False),
    ],
)
def test_a_read_ahead_stops_after_the_buffer_that_ends_the_dump(data: bytes, ends: bool) -> None:
    assert ends_dump(data) is ends


@pytest.mark.parametrize("kind", [C.NLMSG_ERROR, C.NLMSG_DONE])
def test_an_error_code_no_kernel_sends_is_a_malformed_reply(kind: int) -> None:
    # found by the netlink fuzz: -2**31 made os.strerror overflow (an OverflowError traceback)
    with pytest.raises(MalformedMessage, match="is not an errno"):
        list(walk([nlmsg(kind, struct.pack("=i", -(2**31)) + bytes(16))], inet_decoder(C.IPPROTO_TCP)))


def test_a_batch_worked_out_by_a_read_ahead_child_is_its_fixed_bytes() -> None:
    from pyss.netlink.decode import plain_batch
    from pyss.netlink.transport import Worked

    fixed = Worked(bytes(range(32)) * 2)
    batch = plain_batch(fixed, 32)
    assert batch is not None and batch.fixed is fixed and batch.buffer == b""
    assert plain_batch(Worked(bytes(33)), 32) is None  # not whole messages: the decoder says what is wrong
