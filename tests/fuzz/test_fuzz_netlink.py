"""Random and mutated netlink buffers through every decoder: only the documented errors
(MalformedMessage, DumpError, DumpInterrupted), never another exception, never unbounded allocation.

Default suite: 150 examples per test; `nox -s fuzz`: 10,000 (PYSS_FUZZ=long).
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable, Iterable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pyss.columnar import inet_batches, inet_columns, message_batches
from pyss.netlink import constants as C  # noqa: N812
from pyss.netlink import tcpinfo
from pyss.netlink.decode import (
    DumpError,
    DumpInterrupted,
    MalformedMessage,
    attributes,
    batch_records,
    decode_netlink,
    decode_packet,
    decode_unix,
    inet_attributes,
    inet_decoder,
    walk,
    walk_batches,
)
from pyss.netlink.tipc import decode_tipc
from pyss.netlink.transport import ends_dump
from pyss.netlink.vsock import decode_vsock
from pyss.netlink.xdp import decode_xdp
from tests.fuzz.budget import allocation_cap, budget
from tests.unit.netlink import kinds_bytes
from tests.unit.netlink.test_decode import DONE, inet_diag_msg, mixed_v4_buffer, nlattr, nlmsg, unix_msg

DOCUMENTED = (MalformedMessage, DumpError, DumpInterrupted)
EXAMPLES = budget(150, 10_000)
# A decoder may hold a few copies of its input and one small object per message (~16 bytes each).
ALLOCATION_PER_BYTE = 64
ALLOCATION_FLOOR = 256 << 10

INET = inet_decoder(C.IPPROTO_TCP)
DECODERS: dict[str, Callable[[bytes, int, int], Any]] = {
    "inet": INET, "udp": inet_decoder(C.IPPROTO_UDP), "unix": decode_unix, "packet": decode_packet,
    "netlink": decode_netlink, "vsock": decode_vsock, "tipc": decode_tipc, "xdp": decode_xdp,
}

# Real-shaped messages to mutate: every family, with attributes.
SEEDS = [
    kinds_bytes.VSOCK_ZOO[1] + DONE, kinds_bytes.XDP_ZOO[0] + DONE, kinds_bytes.TIPC_ZOO[1] + DONE,
    mixed_v4_buffer() + DONE,
    nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg(family=C.AF_INET6, src="::1", dst="::1")
          + nlattr(C.INET_DIAG_INFO, bytes(range(200))) + nlattr(C.INET_DIAG_MEMINFO, bytes(16))) + DONE,
    unix_msg(C.SOCK_STREAM, C.TCP_LISTEN, 10, nlattr(C.UNIX_DIAG_NAME, b"/run/x.sock\0")
             + nlattr(C.UNIX_DIAG_RQLEN, struct.pack("=II", 2, 128))) + DONE,
    nlmsg(C.SOCK_DIAG_BY_FAMILY, struct.pack("=BBHIII", C.AF_PACKET, C.SOCK_RAW, C.ETH_P_ALL, 55, 1, 0)
          + nlattr(C.PACKET_DIAG_MEMINFO, bytes(36))) + DONE,
    nlmsg(C.SOCK_DIAG_BY_FAMILY, struct.pack("=BBBBIIIIII", C.AF_NETLINK, C.SOCK_RAW, 4, 1, 4242, 0, 0, 99, 7, 0)
          + nlattr(C.NETLINK_DIAG_GROUPS, struct.pack("=Q", 5))) + DONE,
    nlmsg(C.NLMSG_ERROR, struct.pack("=i", -1) + bytes(16)),
    nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg(), flags=C.NLM_F_MULTI | C.NLM_F_DUMP_INTR) + DONE,
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        action = draw(st.sampled_from(["flip", "set", "cut", "insert", "length"]))
        if not data:
            break
        index = draw(st.integers(0, len(data) - 1))
        if action == "flip":
            data[index] ^= 1 << draw(st.integers(0, 7))
        elif action == "set":
            data[index] = draw(st.sampled_from([0, 1, 3, 4, 0x7F, 0x80, 0xFF]))
        elif action == "cut":
            del data[index:index + draw(st.integers(1, 16))]
        elif action == "insert":
            data[index:index] = draw(st.binary(min_size=1, max_size=16))
        else:  # a length field (message or attribute) set to something odd
            value = draw(st.sampled_from([0, 1, 3, 4, 15, 16, 17, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]))
            size = 4 if index % 2 == 0 else 2
            data[index:index + size] = value.to_bytes(8, "little")[:size]
    return bytes(data)


buffers = st.one_of(st.binary(max_size=512), mutated())
dumps = st.lists(buffers, min_size=1, max_size=3)


def drain(run: Callable[[], Iterable[Any]], size: int) -> list[Any]:
    out: list[Any] = []
    with allocation_cap(ALLOCATION_FLOOR + ALLOCATION_PER_BYTE * size), contextlib.suppress(DOCUMENTED):
        out = list(run())
    return out


@EXAMPLES
@given(dumps, st.sampled_from(sorted(DECODERS)))
def test_walk_with_every_decoder_raises_only_documented_errors(dump: list[bytes], name: str) -> None:
    records = drain(lambda: walk(dump, DECODERS[name]), sum(map(len, dump)))
    for record in records:
        if name in ("inet", "udp"):
            with contextlib.suppress(MalformedMessage):
                inet_attributes(record)


@EXAMPLES
@given(dumps)
def test_inet_batches_and_columns_raise_only_documented_errors(dump: list[bytes]) -> None:
    def columns() -> Iterable[Any]:
        yield from inet_batches(dump, C.IPPROTO_TCP)  # the plain listing's path
        for batch in message_batches(dump):
            yield inet_columns(batch, C.IPPROTO_UDP)
            yield batch_records(batch, INET)

    drain(columns, sum(map(len, dump)))


@EXAMPLES
@given(dumps, st.sampled_from([16, 20, 24, 32, 88]))
def test_walk_batches_of_any_fixed_size_raise_only_documented_errors(dump: list[bytes], fixed: int) -> None:
    drain(lambda: walk_batches(dump, fixed), sum(map(len, dump)))


@EXAMPLES
@given(buffers, st.integers(0, 600), st.integers(0, 600))
def test_attributes_of_any_span_raise_only_malformed_message(data: bytes, start: int, end: int) -> None:
    # callers pass a span inside the buffer (a message's attribute area); anything within it goes
    start, end = min(start, len(data)), min(end, len(data))
    drain(lambda: attributes(data, start, end).items(), len(data))


@EXAMPLES
@given(buffers)
def test_ends_dump_answers_for_any_buffer(data: bytes) -> None:
    assert ends_dump(data) in (True, False)


PAYLOAD_DECODERS = [tcpinfo.decode_tcp_info, tcpinfo.decode_diag_meminfo, tcpinfo.decode_sk_meminfo,
                    tcpinfo.decode_vegas, tcpinfo.decode_dctcp, tcpinfo.decode_bbr, tcpinfo.decode_string,
                    tcpinfo.decode_u8, tcpinfo.decode_u16, tcpinfo.decode_u32, tcpinfo.decode_u64]


@EXAMPLES
@given(st.binary(max_size=400), st.sampled_from(PAYLOAD_DECODERS))
def test_attribute_payload_decoders_take_any_length(data: bytes, decode: Callable[[bytes], Any]) -> None:
    # attribute payloads come in every length (older and newer kernels): short ones read as zeros
    with allocation_cap(ALLOCATION_FLOOR):
        decode(data)


@given(st.binary(max_size=400))
def test_rare_kinds_detail_decoders_raise_only_malformed_message(data: bytes) -> None:
    """-e's XDP rings/umem/stats and --tipcinfo's fields, read from any attribute bytes."""
    from pyss.netlink.tipc import decode_tipc_info
    from pyss.netlink.xdp import decode_xdp_details
    from pyss.records import TipcSocket, XdpSocket

    with contextlib.suppress(MalformedMessage):
        decode_xdp_details(XdpSocket(C.SOCK_RAW, 1, 2, 0, 0, 0, 0, data))
    with contextlib.suppress(MalformedMessage):
        decode_tipc_info(TipcSocket(C.SOCK_RDM, C.TCP_CLOSE, 1, 2, None, None, 3, 0, 4, 0, 0, data))
