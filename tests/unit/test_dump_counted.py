"""A counted TCP dump's batches (pyss.dump._established_last): the dump of every socket but the established
ones, then the established ones as one StateCount, the kernel's count of hashed sockets less the full
sockets dumped, on buffers built here."""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Iterator

import pytest
from tests.unit.netlink.test_decode import DONE, MARK, SHUTDOWN
from tests.unit.test_columnar_runs import message

from pyss.columnar import InetRuns, RecordBatch, StateCount, inet_runs
from pyss.dump import _established_last
from pyss.netlink import constants as C  # noqa: N812  # reads like the kernel headers
from pyss.netlink.decode import DumpInterrupted, inet_decoder, walk
from pyss.records import InetSocket, SocketRecord

TCP = C.IPPROTO_TCP
# Three full sockets, and three that are not (a TIME-WAIT socket reporting FIN-WAIT-2, a request socket).
OTHERS = (message(C.TCP_LISTEN) + message(C.TCP_CLOSE_WAIT, 2, SHUTDOWN + MARK) + message(C.TCP_FIN_WAIT2, 3)
          + message(C.TCP_FIN_WAIT2, 4, b"") + message(C.TCP_TIME_WAIT, 5, b"") + message(C.TCP_SYN_RECV, 6, MARK))


class Tally:
    """A RunSink counting states, as pyss.count does."""

    def __init__(self) -> None:
        self.states: Counter[int] = Counter()

    def add_runs(self, runs: InetRuns) -> None:
        self.states.update(runs.state_counts())

    def add_records(self, kind: type[SocketRecord], records: object) -> None:
        self.states.update(record.state for record in records)  # type: ignore[attr-defined]


def counted(batches: Iterator[object]) -> Counter[int]:
    tally = Tally()
    for batch in batches:
        batch.send(tally)  # type: ignore[attr-defined]
    return tally.states


def test_established_are_the_hashed_less_the_full_sockets_dumped() -> None:
    batches = list(_established_last(inet_runs([OTHERS, OTHERS + DONE], TCP), hashed=10))
    assert isinstance(batches[-1], StateCount)
    assert counted(iter(batches)) == {C.TCP_LISTEN: 2, C.TCP_CLOSE_WAIT: 2, C.TCP_FIN_WAIT2: 4, C.TCP_TIME_WAIT: 2,
                                      C.TCP_SYN_RECV: 2, C.TCP_ESTABLISHED: 10 - 6}


def test_records_count_by_their_attributes_too() -> None:
    records: list[InetSocket] = list(walk([OTHERS + DONE], inet_decoder(TCP)))  # type: ignore[arg-type]
    batches = list(_established_last(iter([RecordBatch(InetSocket, iter(records))]), hashed=5))
    assert counted(iter(batches)) == {C.TCP_LISTEN: 1, C.TCP_CLOSE_WAIT: 1, C.TCP_FIN_WAIT2: 2, C.TCP_TIME_WAIT: 1,
                                      C.TCP_SYN_RECV: 1, C.TCP_ESTABLISHED: 2}


def test_the_figure_is_never_below_zero() -> None:
    # Sockets hashed after the counter was read and seen by the walk (churn): no negative count.
    assert counted(_established_last(inet_runs([OTHERS + DONE], TCP), hashed=1))[C.TCP_ESTABLISHED] == 0


def test_an_interrupted_dump_still_gives_its_established_count_then_says_so() -> None:
    flagged = bytearray(OTHERS)
    flagged[6:8] = struct.pack("=H", C.NLM_F_MULTI | C.NLM_F_DUMP_INTR)  # the first message's flags
    tally = Tally()
    batches = _established_last(inet_runs([bytes(flagged) + DONE], TCP), hashed=7)
    with pytest.raises(DumpInterrupted):
        for batch in batches:
            batch.send(tally)
    assert tally.states[C.TCP_ESTABLISHED] == 7 - 3 and tally.states[C.TCP_LISTEN] == 1
