"""The plain listing's keyed blocks (fields made from raw keys as a batch is laid out) against the
record path: the same text, byte for byte, for any dump."""

from __future__ import annotations

import io
import socket
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from pyss.columnar import InetColumns, inet_batches
from pyss.netlink import constants as C  # noqa: N812
from pyss.netlink.decode import inet_decoder, walk
from pyss.query import STATES_ALL, TABLE_BIT, Details, Query
from pyss.records import InetSocket
from pyss.render.columns import every_port_text
from pyss.render.ss import RowBuilder, SsListing, SsWriter


def nlmsg(payload: bytes) -> bytes:
    size = 16 + len(payload)
    return struct.pack("=IHHII", size, C.SOCK_DIAG_BY_FAMILY, C.NLM_F_MULTI, 1, 0) + payload + bytes(-size % 4)


DONE = struct.pack("=IHHIIi", 20, C.NLMSG_DONE, C.NLM_F_MULTI, 1, 0, 0)

V4 = ["0.0.0.0", "127.0.0.1", "10.1.2.3", "192.168.100.200", "255.255.255.255", "1.22.3.44"]
V6 = ["::", "::1", "2001:db8::1", "fe80::1:2", "::ffff:192.0.2.9", "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff"]
PORTS = st.one_of(st.sampled_from([0, 1, 9, 10, 99, 100, 255, 256, 767, 768, 999, 1000, 1023, 1024, 9983, 9984,
                                   9999, 10000, 10239, 10240, 65535]), st.integers(0, 65535))
QUEUES = st.one_of(st.just(0), st.sampled_from([1, 99_999, 100_000, 2**31 - 1, 2**31, 2**32 - 1]),
                   st.integers(0, 2**32 - 1))


@st.composite
def sockets(draw: st.DrawFn, family: int) -> bytes:
    addresses = V4 if family == C.AF_INET else V6
    state = draw(st.sampled_from([1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]))
    src, dst = draw(st.sampled_from(addresses)), draw(st.sampled_from(addresses))
    fixed = (struct.pack("=BBBB", family, state, 0, 0) + struct.pack(">HH", draw(PORTS), draw(PORTS))
             + socket.inet_pton(family, src).ljust(16, b"\0") + socket.inet_pton(family, dst).ljust(16, b"\0")
             + struct.pack("=IIIIIIII", 0, 1, 2, 0, draw(QUEUES), draw(QUEUES), 0, 99))
    # none, INET_DIAG_SHUTDOWN, INET_DIAG_SKV6ONLY (0 or 1): messages of three lengths
    attributes = draw(st.sampled_from([b"", attribute(C.INET_DIAG_SHUTDOWN, 0),
                                       attribute(C.INET_DIAG_SKV6ONLY, 0) + attribute(C.INET_DIAG_SHUTDOWN, 0),
                                       attribute(C.INET_DIAG_SKV6ONLY, 1)]))
    return nlmsg(fixed + attributes)


def attribute(kind: int, value: int) -> bytes:
    return struct.pack("=HHB3x", 5, kind, value)


@st.composite
def dumps(draw: st.DrawFn) -> list[bytes]:
    """Buffers of one family each (as the kernel's per-family dumps send them), sometimes a buffer mixing
    both (the columns refuse it: its records go), and NLMSG_DONE at the end of the last."""
    buffers = []
    for _ in range(draw(st.integers(1, 4))):
        family = draw(st.sampled_from([C.AF_INET, C.AF_INET6]))
        mixed = draw(st.integers(0, 9)) == 0
        count = draw(st.integers(1, 40))
        buffers.append(b"".join(draw(sockets(draw(st.sampled_from([C.AF_INET, C.AF_INET6])) if mixed else family))
                                for _ in range(count)))
    buffers[-1] += DONE
    return buffers


def listed(buffers: list[bytes], query: Query, columns: bool, lay_ahead: list[int] | None = None) -> str:
    """The listing's text; ``lay_ahead`` calls SsWriter.lay_ahead that many times after each batch (columns)."""
    out = io.StringIO()
    builder = RowBuilder(query)
    writer = SsWriter(out, builder.columns(), None)
    writer.add(builder.header())
    listing = SsListing(writer, builder)
    if columns:
        for index, batch in enumerate(inet_batches(buffers, C.IPPROTO_TCP)):
            assert not isinstance(batch, InetColumns) or batch.raw
            batch.send(listing)
            for _ in range(lay_ahead[index % len(lay_ahead)] if lay_ahead else 0):
                writer.lay_ahead()
    else:
        listing.add_records(InetSocket, walk(buffers, inet_decoder(C.IPPROTO_TCP)))
    writer.close()
    return out.getvalue()


@settings(max_examples=150, deadline=None)
@given(dumps(), st.booleans(), st.booleans())
def test_keyed_blocks_lay_out_as_records_do(buffers: list[bytes], numeric: bool, netid: bool) -> None:
    tables = TABLE_BIT["tcp"] | (TABLE_BIT["udp"] if netid else 0)
    query = Query(tables=tables, families=1 << C.AF_INET | 1 << C.AF_INET6, states=STATES_ALL,
                  details=Details(numeric=numeric))
    assert listed(buffers, query, True) == listed(buffers, query, False)


@settings(max_examples=150, deadline=None)
@given(dumps(), st.booleans(), st.lists(st.integers(0, 3), min_size=1, max_size=4))
def test_keyed_blocks_laid_out_ahead_lay_out_as_records_do(buffers: list[bytes], numeric: bool,
                                                           lay_ahead: list[int]) -> None:
    """Blocks laid out ahead with the widths known so far (then kept, or laid out again when a later
    buffer widens a column): the text of the records' rows."""
    query = Query(tables=TABLE_BIT["tcp"], families=1 << C.AF_INET | 1 << C.AF_INET6, states=STATES_ALL,
                  details=Details(numeric=numeric))
    assert listed(buffers, query, True, lay_ahead) == listed(buffers, query, False)


def test_every_port_text_is_str_of_each() -> None:
    assert every_port_text() == list(map(str, range(65536)))


def test_a_large_dump_makes_every_port_text_at_once() -> None:
    """Past 2**17 port keys in a batch the port texts are made all at once: the same text."""
    sockets_ = [nlmsg(struct.pack("=BBBB", C.AF_INET, 1, 0, 0) + struct.pack(">HH", port, 65535 - port)
                      + socket.inet_aton("127.0.0.1").ljust(16, b"\0") * 2 + struct.pack("=8I", 0, 1, 2, 0, 0, 0, 0, 9))
                for port in range(0, 65536)] * 2
    buffers = [b"".join(sockets_[start : start + 300]) for start in range(0, len(sockets_), 300)]
    buffers[-1] += DONE
    query = Query(tables=TABLE_BIT["tcp"], families=1 << C.AF_INET, states=STATES_ALL, details=Details(numeric=True))
    assert listed(buffers, query, True) == listed(buffers, query, False)


@settings(max_examples=100, deadline=None)
@given(dumps(), st.sampled_from([(True, False), (False, False), (False, True)]), st.booleans())
def test_netstat_rows_from_columns_are_the_rows_from_records(buffers: list[bytes], scope: tuple[bool, bool],
                                                            numeric: bool) -> None:
    """pynetstat -tn's rows made column by column (host and port texts joined in C) against the records."""
    from pyss.names.netstat import NetstatNames
    from pyss.render import netstat as render

    view = render.SocketView(all=scope[0], listening=scope[1])
    names = NetstatNames(numeric_hosts=True, numeric_ports=numeric)
    formatter = render.RowFormatter("tcp", view, names)
    written: list[str] = []
    listing = render.TcpListing(formatter, written.append)
    for batch in inet_batches(buffers, C.IPPROTO_TCP):
        batch.send(listing)
    keep = None if view.all else (lambda record: render.shows_tcp(record, view))
    expected = render.plain_tcp_rows(walk(buffers, inet_decoder(C.IPPROTO_TCP)),
                                     render.RowFormatter("tcp", view, NetstatNames(True, numeric)), keep)
    assert "".join(written) == expected


def test_ports_narrower_than_their_padded_texts() -> None:
    """Numeric port texts are kept padded to 5; a batch of short ports only (a "Port" column 4 wide, or 2
    without the header) lays them out unpadded, as the records do."""
    def one(port: int, peer: int) -> bytes:
        return nlmsg(struct.pack("=BBBB", C.AF_INET, 1, 0, 0) + struct.pack(">HH", port, peer)
                     + socket.inet_aton("10.0.0.1").ljust(16, b"\0") * 2 + struct.pack("=8I", 0, 1, 2, 0, 0, 0, 0, 9))

    buffers = [b"".join(one(port, peer) for port, peer in ((22, 40), (80, 7), (443, 9), (8080, 22))) + DONE]
    query = Query(tables=TABLE_BIT["tcp"], families=1 << C.AF_INET, states=STATES_ALL, details=Details(numeric=True))
    assert listed(buffers, query, True) == listed(buffers, query, False)
    lines = listed(buffers, query, True).splitlines()
    # "Port" 4 wide, then the empty Process column (7, its header's width)
    assert lines[1] == "ESTAB 0      0           10.0.0.1:22       10.0.0.1:40  " + " " * 7
    assert lines[4] == "ESTAB 0      0           10.0.0.1:8080     10.0.0.1:22  " + " " * 7
