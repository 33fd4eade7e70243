"""A count's batches (pyss.columnar.InetRuns): what they read equals what the record decoder reads, and every
buffer the run walker cannot take whole goes the message-by-message way, with the same answers and errors."""

from __future__ import annotations

import struct
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.unit.netlink.test_decode import DONE, MARK, SHUTDOWN, inet_diag_msg, mixed_v4_buffer, nlattr, nlmsg

from pyss.columnar import InetColumns, InetRuns, StateCount, full_records, inet_runs
from pyss.netlink import constants as C  # noqa: N812  # reads like the kernel headers
from pyss.netlink.decode import DumpInterrupted, MalformedMessage, _plain_runs, inet_decoder, walk, walk_runs
from pyss.records import InetSocket, SocketRecord

TCP = C.IPPROTO_TCP


class Tally:
    """A RunSink that keeps what each door received."""

    def __init__(self) -> None:
        self.states: Counter[int] = Counter()
        self.ports: list[int] = []
        self.listeners: list[InetSocket] = []
        self.record_states: Counter[int] = Counter()
        self.doors: list[str] = []

    def add_runs(self, runs: InetRuns) -> None:
        self.doors.append("runs")
        self.states.update(runs.state_counts())
        self.ports += runs.local_ports()
        self.listeners += runs.records(C.TCP_LISTEN)
        assert runs.count() == len(runs.states())

    def add_records(self, kind: type[SocketRecord], records: object) -> None:
        self.doors.append("records")
        self.record_states.update(record.state for record in records)  # type: ignore[attr-defined]


def tallied(buffers: list[bytes], data_type: int = C.SOCK_DIAG_BY_FAMILY) -> Tally:
    tally = Tally()
    for batch in inet_runs(buffers, TCP, data_type):
        batch.send(tally)
    return tally


def records(buffers: list[bytes]) -> list[InetSocket]:
    return list(walk(buffers, inet_decoder(TCP)))


def message(state: int = C.TCP_ESTABLISHED, sport: int = 40000, attributes: bytes = SHUTDOWN,
            family: int = C.AF_INET, kind: int = C.SOCK_DIAG_BY_FAMILY) -> bytes:
    address = "127.0.0.1" if family == C.AF_INET else "::1"
    return nlmsg(kind, inet_diag_msg(family, state, sport, 22, address, address) + attributes)


@pytest.mark.parametrize("done_apart", [True, False])
def test_runs_read_what_the_records_hold(done_apart: bool) -> None:
    data = mixed_v4_buffer() + message(C.TCP_CLOSE_WAIT, 5) * 7 + message(C.TCP_TIME_WAIT, 6, b"") * 2
    buffers = [data, DONE] if done_apart else [data + DONE]
    tally = tallied(buffers)
    expected = records(buffers)
    assert tally.doors == ["runs"]
    assert tally.states == Counter(record.state for record in expected)
    assert tally.ports == [record.sport for record in expected]
    assert tally.listeners == [record for record in expected if record.state == C.TCP_LISTEN]


def test_a_buffer_of_three_lengths_is_a_few_runs() -> None:
    data = message(attributes=SHUTDOWN + MARK) * 5 + message(C.TCP_TIME_WAIT, attributes=b"") * 2 + message() * 4
    found = _plain_runs(data, 88, C.SOCK_DIAG_BY_FAMILY)
    assert found is not None
    assert [((stop - start) // stride, stride) for start, stop, stride in found.runs] == [(5, 104), (2, 88), (4, 96)]


def test_lengths_alike_in_their_low_byte_are_told_apart() -> None:
    # 96 and 96 + 256 bytes: the run walker declines the buffer, the message walk counts it right
    padded = message(C.TCP_LISTEN, attributes=SHUTDOWN + nlattr(99, bytes(252)))
    data = message() * 3 + padded + message() * 2
    assert len(padded) == len(message()) + 256
    assert _plain_runs(data, 88, C.SOCK_DIAG_BY_FAMILY) is None
    tally = tallied([data, DONE])
    assert tally.states == Counter({C.TCP_ESTABLISHED: 5, C.TCP_LISTEN: 1})
    assert [listener.sport for listener in tally.listeners] == [40000]


def test_both_families_in_one_buffer_are_counted() -> None:
    # a TCPDIAG_GETSOCK dump interleaves IPv4 and IPv6 sockets in hash order
    kind = C.TCPDIAG_GETSOCK
    data = message(kind=kind) * 2 + message(C.TCP_LISTEN, 80, family=C.AF_INET6, kind=kind) + message(kind=kind)
    tally = tallied([data, DONE], kind)
    assert tally.states == Counter({C.TCP_ESTABLISHED: 3, C.TCP_LISTEN: 1})
    assert [(listener.family, listener.sport) for listener in tally.listeners] == [(C.AF_INET6, 80)]


def test_a_message_of_another_type_is_refused() -> None:
    data = message(kind=C.TCPDIAG_GETSOCK) + message()  # a SOCK_DIAG_BY_FAMILY reply inside a TCPDIAG dump
    with pytest.raises(MalformedMessage, match="unexpected netlink message type 20"):
        tallied([data, DONE], C.TCPDIAG_GETSOCK)


def test_a_buffer_that_is_not_all_inet_goes_to_the_decoder_which_says_why() -> None:
    strange = nlmsg(C.SOCK_DIAG_BY_FAMILY, bytes((C.AF_UNIX, 1)) + inet_diag_msg()[2:] + SHUTDOWN)
    with pytest.raises(MalformedMessage, match="address family 1"):
        list(inet_runs([message() + strange, DONE], TCP))


def test_an_interrupted_dump_is_reported_after_its_counts() -> None:
    flagged = nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg() + SHUTDOWN, flags=C.NLM_F_MULTI | C.NLM_F_DUMP_INTR)
    batches = inet_runs([message() * 3, flagged, DONE], TCP)
    tally = Tally()
    next(batches).send(tally)
    next(batches).send(tally)
    with pytest.raises(DumpInterrupted):
        next(batches)
    assert tally.states == Counter({C.TCP_ESTABLISHED: 4})


@pytest.mark.parametrize(
    ("buffers", "message"),
    [
        ([nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg()[:40]), DONE], "inet_diag_msg of 40 bytes"),
        ([struct.pack("=IHHII", 0, C.SOCK_DIAG_BY_FAMILY, 0, 0, 0) * 2], "length 0 does not fit"),
        ([message() + struct.pack("=IHHII", 200, C.SOCK_DIAG_BY_FAMILY, 2, 0, 0)], "length 200 does not fit"),
        ([mixed_v4_buffer()], "without NLMSG_DONE"),
    ],
)
def test_malformed_buffers_are_a_clear_error(buffers: list[bytes], message: str) -> None:
    with pytest.raises(MalformedMessage, match=message):
        list(walk_runs(buffers, 88, "inet_diag_msg"))


_MESSAGES = st.builds(
    message,
    state=st.sampled_from([C.TCP_ESTABLISHED, C.TCP_TIME_WAIT, C.TCP_LISTEN, C.TCP_CLOSE_WAIT, C.TCP_SYN_RECV]),
    sport=st.integers(0, 65535),
    attributes=st.sampled_from([b"", SHUTDOWN, SHUTDOWN + MARK, nlattr(99, b"x" * 5), nlattr(99, bytes(257))]),
    family=st.sampled_from([C.AF_INET, C.AF_INET6]),
)


@given(st.lists(st.lists(_MESSAGES, max_size=40), max_size=5))
def test_runs_and_records_agree_on_any_dump(buffers_of_messages: list[list[bytes]]) -> None:
    buffers = [b"".join(messages) for messages in buffers_of_messages if messages] + [DONE]
    expected = records(buffers)
    tally = tallied(buffers)
    assert tally.states == Counter(record.state for record in expected)
    assert tally.ports == [record.sport for record in expected]
    assert tally.listeners == [record for record in expected if record.state == C.TCP_LISTEN]


def identity_of(data: bytes) -> list[bytes]:
    (batch,) = inet_runs([data, DONE], TCP)
    assert isinstance(batch, InetRuns)
    return batch.identities()


def test_an_identity_is_the_cookie_ports_and_inode() -> None:
    first = message(C.TCP_ESTABLISHED, 40000)
    same_socket_later = message(C.TCP_CLOSE_WAIT, 40000, attributes=SHUTDOWN + MARK)  # state and length changed
    other_port = message(C.TCP_ESTABLISHED, 40001)
    twin = nlmsg(C.SOCK_DIAG_BY_FAMILY, inet_diag_msg(state=C.TCP_TIME_WAIT, sport=40000, dport=22,
                                                     src="127.0.0.1", dst="127.0.0.1", inode=0))
    keys = identity_of(first + other_port + same_socket_later + twin)
    assert keys[0] == keys[2]
    assert len(set(keys)) == 3  # another port, and the TIME-WAIT twin (no inode), are other sockets
    assert all(len(key) == 16 for key in keys)


class Forms:
    """A BatchSink that keeps what a listing would show of each socket (via columns or records)."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, int]] = []

    def add_columns(self, columns: InetColumns) -> None:
        self.rows += zip(columns.states, columns.sports, columns.rqueues, strict=True)

    def add_records(self, kind: type[SocketRecord], records: list[InetSocket]) -> None:  # type: ignore[override]
        self.rows += [(record.state, record.sport, record.rqueue) for record in records]


@pytest.mark.parametrize("family", [C.AF_INET, C.AF_INET6])
def test_picked_sockets_go_as_a_listing_batch(family: int) -> None:
    data = b"".join(message(state, port, attributes, family)
                    for state, port, attributes in [(C.TCP_ESTABLISHED, 1, SHUTDOWN), (C.TCP_LISTEN, 2, SHUTDOWN),
                                                    (C.TCP_TIME_WAIT, 3, b""), (C.TCP_ESTABLISHED, 4, SHUTDOWN)])
    (batch,) = inet_runs([data, DONE], TCP)
    assert isinstance(batch, InetRuns)
    forms = Forms()
    batch.picked([False, True, True, False]).send(forms)
    assert forms.rows == [(C.TCP_LISTEN, 2, 3), (C.TCP_TIME_WAIT, 3, 3)]


# What each kind of socket sends: a full socket's attributes start with INET_DIAG_SHUTDOWN; a TIME-WAIT
# socket (which may report FIN-WAIT-2) sends none; a request socket (SYN-RECV) none, or a mark alone.
FULL_AND_OTHERS = [
    (C.TCP_ESTABLISHED, SHUTDOWN, True), (C.TCP_LISTEN, SHUTDOWN + MARK, True), (C.TCP_FIN_WAIT2, SHUTDOWN, True),
    (C.TCP_FIN_WAIT2, b"", False), (C.TCP_TIME_WAIT, b"", False), (C.TCP_SYN_RECV, MARK, False),
    (C.TCP_SYN_RECV, b"", False), (C.TCP_SYN_RECV, SHUTDOWN, True),
    (C.TCP_CLOSE_WAIT, nlattr(0x100 | C.INET_DIAG_SHUTDOWN, b"\x00"), False),  # low byte alike, high byte not
]


@given(st.lists(st.sampled_from(FULL_AND_OTHERS), max_size=40), st.sampled_from([C.AF_INET, C.AF_INET6]))
def test_full_sockets_are_told_by_their_first_attribute(sockets: list[tuple[int, bytes, bool]], family: int) -> None:
    data = b"".join(message(state, 40000 + index, attributes, family)
                    for index, (state, attributes, _full) in enumerate(sockets))
    expected = sum(full for _state, _attributes, full in sockets)
    batches = list(inet_runs([data + DONE], TCP))
    assert sum(batch.full_sockets() for batch in batches if isinstance(batch, InetRuns)) == expected
    assert full_records(records([data + DONE])) == expected


def test_a_state_count_holds_its_state_alone() -> None:
    counted = StateCount(TCP, C.TCP_ESTABLISHED, 5)
    tally = Counter[int]()
    tally.update(counted.state_counts())
    assert tally == {C.TCP_ESTABLISHED: 5}
    assert counted.states() == bytes([C.TCP_ESTABLISHED]) * 5 and counted.count() == counted.full_sockets() == 5
    assert StateCount(TCP, C.TCP_ESTABLISHED, 0).state_counts() == {}
    with pytest.raises(TypeError):
        counted.local_ports()
    with pytest.raises(TypeError):
        counted.records()
