"""The split dump's programs: every socket selected by exactly one part, every program one the kernel takes.

The kernel's side is the independent model in tests/unit/filter/kernel_model.py (its verifier and its
interpreter, written from net/ipv4/inet_diag.c); the parts' dumping itself is tested against the real
kernel in tests/integration/test_split_dump.py.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.unit.filter.kernel_model import Entry, audit, run

from pyss.netlink import split
from pyss.netlink.constants import AF_INET, NLMSG_DONE, NLMSG_ERROR
from pyss.netlink.decode import DumpInterrupted, MalformedMessage
from pyss.netlink.split import (
    KEYS,
    MAX_PARTS,
    dump_parts,
    ends_in,
    key_range_program,
    part_count,
    part_programs,
    range_bounds,
)
from pyss.netlink.transport import may_fork

PORTS = st.integers(min_value=0, max_value=KEYS - 1)
BOUNDS = st.lists(st.integers(min_value=1, max_value=KEYS - 1), min_size=1, max_size=6, unique=True).map(sorted)


def entry(sport: int, dport: int) -> Entry:
    return Entry(AF_INET, sport, dport, bytes(4), bytes(4))


def selecting(programs: list[bytes], sport: int, dport: int) -> list[int]:
    return [index for index, program in enumerate(programs) if run(program, entry(sport, dport))]


@given(BOUNDS, PORTS, PORTS)
def test_exactly_one_part_selects_each_socket(bounds: list[int], sport: int, dport: int) -> None:
    programs = part_programs(bounds)
    edges = [0, *bounds, KEYS]
    key = max(sport, dport)
    owner = next(index for index in range(len(programs)) if edges[index] <= key < edges[index + 1])
    assert selecting(programs, sport, dport) == [owner]


@given(BOUNDS)
def test_the_kernel_verifier_takes_every_part(bounds: list[int]) -> None:
    assert all(audit(program) for program in part_programs(bounds))


@pytest.mark.parametrize("bound", [1, 2, 32768, KEYS - 2, KEYS - 1])
@pytest.mark.parametrize(("sport", "dport"), [(0, 0), (1, 0), (0, 1), (80, 40000), (40000, 80), (65535, 65535)])
def test_sockets_on_and_beside_a_bound_go_to_one_part(bound: int, sport: int, dport: int) -> None:
    low, high = key_range_program(0, bound), key_range_program(bound, KEYS)
    above = max(sport, dport) >= bound
    assert (run(low, entry(sport, dport)), run(high, entry(sport, dport))) == (not above, above)


def test_the_whole_range_is_no_program() -> None:
    assert key_range_program(0, KEYS) == b""


@pytest.mark.parametrize("bounds", [[0], [KEYS], [5, 5], [7, 3]])
def test_bounds_that_leave_an_empty_or_reversed_range_are_refused(bounds: list[int]) -> None:
    with pytest.raises(ValueError, match="split bounds"):
        part_programs(bounds)


@pytest.mark.parametrize(("low", "high", "parts", "expected"), [
    (32768, 60999, 2, [46884]),
    (20000, 65535, 2, [42768]),
    (32768, 60999, 4, [39826, 46884, 53942]),
    (1024, 4999, 3, [2349, 3674]),
    (5000, 5000, 2, []),  # a one-port range cannot be cut
    (5000, 5001, 2, [5001]),
    (0, 65535, 2, [32768]),  # out-of-range ends are clamped to ports a key can have
])
def test_range_bounds_cut_the_ephemeral_range_evenly(low: int, high: int, parts: int, expected: list[int]) -> None:
    assert range_bounds(low, high, parts) == expected


@given(st.integers(min_value=0, max_value=KEYS), st.integers(min_value=0, max_value=KEYS),
       st.integers(min_value=1, max_value=MAX_PARTS))
def test_range_bounds_always_make_valid_parts(low: int, high: int, parts: int) -> None:
    bounds = range_bounds(low, high, parts)
    assert len(bounds) <= parts - 1
    assert len(part_programs(bounds)) == len(bounds) + 1  # increasing, within 1..65535: accepted


# dump_parts: each part's consumer runs on its own dump (here consumers that read none of it, so no
# request is sent); the caller gets every part's items, and their errors.
def consumer(main_items: list[object], other_items: list[object], main_error: BaseException | None = None,
             other_error: BaseException | None = None) -> Callable[[Iterator[bytes]], Iterator[object]]:
    main = threading.get_ident()

    def consume(_buffers: Iterator[bytes]) -> Iterator[object]:
        in_main = threading.get_ident() == main
        yield from main_items if in_main else other_items
        error = main_error if in_main else other_error
        if error is not None:
            raise error

    return consume


def test_every_part_s_items_come_through_the_caller() -> None:
    items = list(dump_parts([b"a", b"b", b"c"], consumer([1, 2, 3], ["x", "y"])))
    assert Counter(items) == Counter([1, 2, 3, "x", "y", "x", "y"])


def test_an_error_in_a_part_s_thread_is_raised_in_the_caller() -> None:
    with pytest.raises(MalformedMessage, match="bad"):
        list(dump_parts([b"a", b"b"], consumer([1], [2], other_error=MalformedMessage("bad"))))


@pytest.mark.parametrize("interrupted", ["main", "other"])
def test_an_interrupted_part_is_said_once_after_every_item(interrupted: str) -> None:
    items: list[object] = []
    errors = {"main_error": DumpInterrupted()} if interrupted == "main" else {"other_error": DumpInterrupted()}
    with pytest.raises(DumpInterrupted):
        items.extend(dump_parts([b"a", b"b"], consumer([1, 2], [3, 4], **errors)))  # type: ignore[arg-type]
    assert sorted(items) == [1, 2, 3, 4]  # type: ignore[type-var]


def message(kind: int, payload: bytes = b"") -> bytes:
    return struct.pack("=IHHII", 16 + len(payload), kind, 2, 1, 0) + payload + bytes(-len(payload) % 4)


@pytest.mark.parametrize(("buffer", "ends"), [
    (message(20, bytes(72)) * 3, False),  # data only: the dump goes on
    (message(20, bytes(72)) * 3 + message(NLMSG_DONE, bytes(4)), True),
    (message(NLMSG_ERROR, bytes(4) + message(20, bytes(56))), True),  # an error echoing the whole request
    (message(20, bytes(72)) + bytes(7), True),  # broken framing: the decoder says what is wrong
    (b"", True),
])
def test_ends_in_finds_the_end_of_a_dump_anywhere_in_a_buffer(buffer: bytes, ends: bool) -> None:
    assert ends_in(buffer) is ends


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two usable CPUs to take one away")
def test_one_usable_cpu_makes_one_part() -> None:
    cpus = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(cpus)})
        assert part_count() == 1
    finally:
        os.sched_setaffinity(0, cpus)
    assert part_count() == min(len(cpus), MAX_PARTS)


def test_parts_no_thread_can_run_are_dumped_by_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(split, "start_new_thread", refuse)
    # every part runs in this thread: each consumer yields the "main" items
    assert Counter(dump_parts([b"a", b"b", b"c"], consumer([1, 2], ["x"]))) == Counter([1, 2] * 3)


def test_no_helper_is_forked_while_a_part_s_thread_runs() -> None:
    """A part's thread is started with _thread, which threading.active_count() does not see: may_fork()
    must see it, from its start until it has handed over its last item, even after the caller stopped
    reading (forking beside a running thread can copy a lock it holds, an import's say, into the child)."""
    main = threading.get_ident()
    started, release = threading.Event(), threading.Event()

    def consume(_buffers: Iterator[bytes]) -> Iterator[object]:
        if threading.get_ident() == main:
            yield "main"
            return
        started.set()
        release.wait(10)
        yield "other"

    assert may_fork()
    parts = dump_parts([b"a", b"b"], consume)
    assert next(parts) == "main"
    assert started.wait(10)
    assert not may_fork()
    parts.close()  # the caller stops reading; the part's thread runs on
    assert not may_fork()
    release.set()
    assert forkable_soon()


def test_a_part_s_thread_that_fails_is_no_longer_counted() -> None:
    consume = consumer([1], [2], other_error=MalformedMessage("bad"))
    with pytest.raises(MalformedMessage):
        list(dump_parts([b"a", b"b", b"c"], consume))
    assert forkable_soon()  # (the part whose end was not read yet ends on its own)


def forkable_soon(seconds: float = 10.0) -> bool:
    """Whether may_fork() comes true within ``seconds``: once every part's thread has ended."""
    deadline = time.monotonic() + seconds
    while not may_fork():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
