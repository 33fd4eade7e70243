"""The columnar fast path: field offsets from one checked table, batches through one typed seam."""

from __future__ import annotations

import socket
import struct

import pytest
from tests.unit.netlink.test_decode import DONE, SHUTDOWN, inet_diag_msg, mixed_v4_buffer, nlmsg

from pyss.columnar import (
    FIXED_SIZE,
    InetColumns,
    RecordBatch,
    inet_batches,
    inet_columns,
    message_batches,
    packed_address,
)
from pyss.netlink import constants as C  # noqa: N812  # reads like the kernel headers
from pyss.netlink.decode import INET_DIAG_MSG, DumpInterrupted, MalformedMessage, inet_decoder, walk
from pyss.netlink.layout import Layout, LayoutError
from pyss.records import InetSocket, SocketRecord


def as_columns(buffers: list[bytes], protocol: int = C.IPPROTO_TCP) -> list[tuple[object, ...]]:
    rows = []
    for batch in message_batches(buffers):
        columns = inet_columns(batch, protocol)
        assert columns is not None and columns.protocol == protocol
        rows += list(zip(columns.states, columns.sports, columns.dports, map(packed_address, columns.srcs),
                         map(packed_address, columns.dsts), columns.ifindexes, columns.rqueues, columns.wqueues,
                         strict=True))
    return rows


def as_records(buffers: list[bytes]) -> list[tuple[object, ...]]:
    return [(r.state, r.sport, r.dport, r.src, r.dst, r.ifindex, r.rqueue, r.wqueue)
            for r in walk(buffers, inet_decoder(C.IPPROTO_TCP))]


@pytest.mark.parametrize("done_apart", [True, False])
def test_columns_hold_what_the_records_hold(done_apart: bool) -> None:
    data = mixed_v4_buffer()
    # NLMSG_DONE in a buffer of its own (the bulk path) or after the data (the message-by-message one)
    buffers = [data, DONE] if done_apart else [data + DONE]
    assert as_columns(buffers) == as_records(buffers)
    assert as_columns(buffers)[1][1:3] == (40001, 22)


def test_ipv6_columns_hold_packed_addresses() -> None:
    buffers = [nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg(C.AF_INET6, src="::1", dst="2001:db8::5") + SHUTDOWN),
               DONE]
    ((_state, _sport, _dport, src, dst, *_rest),) = as_columns(buffers)
    assert (src, dst) == (socket.inet_pton(socket.AF_INET6, "::1"), socket.inet_pton(socket.AF_INET6, "2001:db8::5"))


def test_a_batch_of_mixed_families_has_no_columns() -> None:
    v6 = inet_diag_msg(C.AF_INET6, src="::1", dst="::1")
    data = nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg()) + nlmsg(C.SOCK_DIAG_BY_FAMILY, v6)
    (batch,) = message_batches([data, DONE])
    assert inet_columns(batch, C.IPPROTO_TCP) is None


def test_batches_report_an_interrupted_dump_after_the_last_batch() -> None:
    flagged = nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg(), flags=C.NLM_F_MULTI | C.NLM_F_DUMP_INTR)
    batches = message_batches([mixed_v4_buffer(), flagged, DONE])
    assert len(next(batches).offsets) == 3
    assert len(next(batches).offsets) == 1
    with pytest.raises(DumpInterrupted):
        next(batches)


@pytest.mark.parametrize(
    ("buffers", "message"),
    [
        ([nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg()[:40]), DONE], "inet_diag_msg of 40 bytes"),
        ([struct.pack("=IHHII", 0, C.SOCK_DIAG_BY_FAMILY, 0, 0, 0) * 2], "length 0 does not fit"),
        ([mixed_v4_buffer()], "without NLMSG_DONE"),
    ],
)
def test_malformed_batches_are_a_clear_error(buffers: list[bytes], message: str) -> None:
    with pytest.raises(MalformedMessage, match=message):
        list(message_batches(buffers))


# --- the field table ------------------------------------------------------------------------------

def test_offsets_are_the_kernels() -> None:
    # linux/inet_diag.h: struct inet_diag_msg with its struct inet_diag_sockid inside
    kernel = {"family": 0, "state": 1, "timer": 2, "retrans": 3, "sport": 4, "dport": 6, "src": 8, "dst": 24,
              "ifindex": 40, "cookie": 44, "expires": 52, "rqueue": 56, "wqueue": 60, "uid": 64, "inode": 68}
    assert {field: INET_DIAG_MSG.offset(field) for field in kernel} == kernel
    assert INET_DIAG_MSG.struct.size == INET_DIAG_MSG.size == 72
    assert FIXED_SIZE == 16 + 72


def test_a_table_that_misses_padding_fails_when_built() -> None:
    with pytest.raises(LayoutError, match="not aligned"):
        Layout("bad", (("family", "B"), ("port", "H")), 4)  # C puts a pad byte before port
    with pytest.raises(LayoutError, match="add up to 3 bytes"):
        Layout("short", (("family", "B"), ("pad", "x"), ("state", "B")), 4)
    with pytest.raises(LayoutError, match="add up to 76 bytes"):
        INET_DIAG_MSG.variant({"src": "4s16x"})
    assert Layout("ok", (("family", "B"), ("pad", "x"), ("port", "H")), 4).offset("port") == 2


# --- the seam -------------------------------------------------------------------------------------

class Recorder:
    """A BatchSink that notes which door each batch came through."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def add_records(self, kind: type[SocketRecord], records: object) -> None:
        self.calls.append(("records", [kind, list(records)]))  # type: ignore[call-overload]

    def add_columns(self, columns: InetColumns) -> None:
        self.calls.append(("columns", columns))


def sent(buffers: list[bytes]) -> list[tuple[str, object]]:
    sink = Recorder()
    for batch in inet_batches(buffers, C.IPPROTO_TCP):
        batch.send(sink)
    return sink.calls


def test_plain_buffers_go_as_columns() -> None:
    ((door, columns),) = sent([mixed_v4_buffer(), DONE])
    assert door == "columns" and isinstance(columns, InetColumns)
    assert columns.sports == [22, 40001, 40002]


@pytest.mark.parametrize(
    "message",
    [
        inet_diag_msg(ifindex=1),  # "%lo" is printed after the address
        inet_diag_msg(C.AF_INET6, src="::", dst="::1"),  # "*" or "[::]": depends on the socket's v6only
        inet_diag_msg(C.AF_INET6, src="::1", dst="::"),
    ],
)
def test_buffers_whose_text_needs_attributes_go_as_records(message: bytes) -> None:
    buffer = nlmsg(C.SOCK_DIAG_BY_FAMILY, message) + nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg())
    ((door, (kind, records)),) = sent([buffer, DONE])  # type: ignore[misc]
    assert door == "records" and kind is InetSocket
    assert records == list(walk([buffer, DONE], inet_decoder(C.IPPROTO_TCP)))


def test_a_record_batch_goes_through_the_records_door() -> None:
    sink = Recorder()
    RecordBatch(InetSocket, iter(())).send(sink)
    assert sink.calls == [("records", [InetSocket, []])]
