"""One inet dump split into parts that the kernel fills side by side, one part per CPU.

The kernel does a dump's work inside ``send()`` and ``recv()``: it walks the
whole socket hash for every dump, and fills a message for each socket the
request selects. Filling costs about twice the walk (50k TCP sockets,
measured: a dump whose program rejects every socket takes ~1/4 of a full
dump's time, see docs/design.md). So N dumps run at once on N CPUs, each
with a program (INET_DIAG_REQ_BYTECODE) that selects one part of the
sockets, end after one walk and 1/N of the filling instead of one walk and
all of it.

The parts are complementary by construction: every socket has one key, the
higher of its two ports (a listener's is its own port, its peer port being
0), and the parts' programs select the key ranges ``[0, b1)``, ``[b1, b2)``,
..., ``[bN-1, 65536)``, which cover every key exactly once. The bounds cut
the ephemeral port range into equal pieces (:func:`range_bounds`): any
bounds are correct, and these only make the parts even, since the key is
the ephemeral side of most connections, which spreads over that range (a
sample of the first receive buffer was tried: neighbouring ports sit in
neighbouring buckets, so it was as skewed as 80/20). A population whose
keys bunch on few values splits unevenly, and then costs one dump's time
plus a thread (the other walks run on the other CPUs).

A count by state splits less: the kernel counts its established sockets
(see :func:`pyss.dump.run_streams`), and the dump of the others is split
only when it is large.

Each part runs in a thread of its own (the kernel's work runs without the
GIL); the sockets are opened here first, in the calling thread's network
namespace. The caller reads every part's items, interleaved.
"""

from __future__ import annotations

import os
import struct
from _queue import SimpleQueue  # queue.SimpleQueue without the queue module (which imports threading)
from _thread import start_new_thread
from itertools import pairwise

from pyss.lite_typing import TYPE_CHECKING
from pyss.netlink.constants import (
    INET_DIAG_BC_D_GE,
    INET_DIAG_BC_D_LE,
    INET_DIAG_BC_JMP,
    INET_DIAG_BC_S_GE,
    INET_DIAG_BC_S_LE,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSG_HDRLEN,
)
from pyss.netlink.decode import DumpInterrupted
from pyss.netlink.requests import INET_DIAG_BC_OP
from pyss.netlink.transport import OWN_THREADS, DiagSocket

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from typing import TypeVar

    Item = TypeVar("Item")

# More parts than this cost a walk each for little: the walk is about a third of a part's time at two.
MAX_PARTS = 4
KEYS = 1 << 16  # a key is a port: 0 .. 65535
_COND_SIZE = 2 * INET_DIAG_BC_OP.size  # a port condition: the op, then an op header whose `no` is the port
_JMP_SIZE = INET_DIAG_BC_OP.size
_HEADER = struct.Struct("=IH")  # nlmsg_len, nlmsg_type


def part_count() -> int:
    """How many parts a dump splits into here: one per CPU this process may run on, at most MAX_PARTS."""
    return min(len(os.sched_getaffinity(0)), MAX_PARTS)


def ends_in(buffer: bytes) -> bool:
    """Whether a dump's reply buffer holds its end: NLMSG_DONE, an NLMSG_ERROR (which may echo the whole
    request, so its length says nothing), or framing too broken to read on (the decoder says why)."""
    offset, size = 0, len(buffer)
    while size - offset >= NLMSG_HDRLEN:
        length, kind = _HEADER.unpack_from(buffer, offset)
        if kind in (NLMSG_DONE, NLMSG_ERROR) or length < NLMSG_HDRLEN:
            return True
        offset += (length + 3) & ~3
    return offset != size or not size  # no buffer at all: nothing to go on with


def range_bounds(low: int, high: int, parts: int) -> list[int]:
    """The inner bounds b1 < b2 < ... cutting the port range [low, high] (the ephemeral range, whose
    ports are the keys of most connections) into ``parts`` equal pieces; empty when it cannot be cut."""
    low, high = max(low, 1), min(high, KEYS - 1)
    bounds: list[int] = []
    for part in range(1, parts):
        bound = low + (high - low + 1) * part // parts
        if low < bound <= high and (not bounds or bound > bounds[-1]):
            bounds.append(bound)
    return bounds


def part_programs(bounds: Sequence[int]) -> list[bytes]:
    """One program per key range cut by ``bounds`` (increasing, each in 1..65535): [0, b1), [b1, b2), ...,
    [b_last, 65536). Each socket's key lies in exactly one range, so exactly one program selects it."""
    edges = [0, *bounds, KEYS]
    if any(low >= high for low, high in pairwise(edges)):
        raise ValueError(f"split bounds must increase within 1..{KEYS - 1}: {list(bounds)}")
    return [key_range_program(low, high) for low, high in pairwise(edges)]


def key_range_program(low: int, high: int) -> bytes:
    """The program selecting the sockets whose higher port lies in [low, high) (0 <= low < high <= 65536).

    ``key >= low`` is ``sport >= low or dport >= low``; ``key < high`` is ``sport <= high - 1 and
    dport <= high - 1``. Each condition falls through when true and jumps when false, as the kernel's
    verifier wants (every jump target on the chain of fall-throughs); a jump to 4 bytes past the end
    rejects the socket, running off the end selects it.
    """
    size = (2 * _COND_SIZE + _JMP_SIZE if low > 0 else 0) + (2 * _COND_SIZE if high < KEYS else 0)
    reject = size + 4
    program = b""
    if low > 0:
        program += _condition(INET_DIAG_BC_S_GE, low, _COND_SIZE + _JMP_SIZE)  # false: on to D_GE
        program += INET_DIAG_BC_OP.pack(INET_DIAG_BC_JMP, _JMP_SIZE, _JMP_SIZE + _COND_SIZE)  # true: past D_GE
        program += _condition(INET_DIAG_BC_D_GE, low, reject - len(program))
    if high < KEYS:
        program += _condition(INET_DIAG_BC_S_LE, high - 1, reject - len(program))
        program += _condition(INET_DIAG_BC_D_LE, high - 1, reject - len(program))
    return program


def _condition(code: int, port: int, on_false: int) -> bytes:
    """A port condition: falls through (by its own size) when true, jumps ``on_false`` bytes when false."""
    return INET_DIAG_BC_OP.pack(code, _COND_SIZE, on_false) + INET_DIAG_BC_OP.pack(0, 0, port)


def dump_parts(messages: Sequence[bytes], consume: Callable[[Iterator[bytes]], Iterator[Item]]) -> Iterator[Item]:
    """Dump every message at once and yield ``consume(buffers)``'s items of each, interleaved.

    Every socket is opened before any dump starts, in this thread's network namespace. The first
    message is dumped and consumed in this thread, each other one in a thread of its own, whose items
    wait in a queue until this thread yields them (after each of its own, and at the end). An error
    raised by a part's consumer is raised here when it comes up; DumpInterrupted (a part flagged as
    inconsistent) is raised once, after every part's items. A part's thread runs until its dump ends
    even if the caller stops reading.
    """
    sockets: list[DiagSocket] = []
    try:
        for _ in messages:
            sockets.append(DiagSocket())
    except OSError:
        for diag in sockets:
            diag.close()
        raise
    others = _Others(len(messages) - 1)
    unthreaded: list[tuple[DiagSocket, bytes]] = []
    for diag, message in zip(sockets[1:], messages[1:], strict=True):
        running = object()  # in OWN_THREADS while the part's thread runs: no helper is forked meanwhile
        OWN_THREADS.add(running)
        try:
            start_new_thread(_run_part, (diag, message, consume, others.queue, running))
        except RuntimeError:  # no thread to be had (a limit on tasks): dumped here, after the first part
            OWN_THREADS.discard(running)
            unthreaded.append((diag, message))
    try:
        for item in consume(sockets[0].request(messages[0])):
            yield item
            yield from others.ready()  # type: ignore[misc]
    except DumpInterrupted:
        others.interrupted = True
    finally:
        sockets[0].close()
    for diag, message in unthreaded:
        _run_part(diag, message, consume, others.queue, None)
    yield from others.rest()  # type: ignore[misc]
    if others.interrupted:
        raise DumpInterrupted


class _End:
    """What a part's thread queues after its last item: the error that ended it, or None."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class _Others:
    """The parts dumped by threads, read through one queue."""

    __slots__ = ("interrupted", "pending", "queue")

    def __init__(self, count: int) -> None:
        self.queue: SimpleQueue[object] = SimpleQueue()
        self.pending = count
        self.interrupted = False

    def ready(self) -> Iterator[object]:
        """The items queued so far."""
        queue = self.queue
        while not queue.empty():
            yield from self._item(queue.get())

    def rest(self) -> Iterator[object]:
        """Every item still to come, waiting for the parts to end."""
        while self.pending:
            yield from self._item(self.queue.get())

    def _item(self, entry: object) -> Iterator[object]:
        if type(entry) is not _End:
            yield entry
            return
        self.pending -= 1
        if isinstance(entry.error, DumpInterrupted):
            self.interrupted = True
        elif entry.error is not None:
            raise entry.error


def _run_part(diag: DiagSocket, message: bytes, consume: Callable[[Iterator[bytes]], Iterator[object]],
              queue: SimpleQueue[object], running: object | None) -> None:
    """A part's thread: consume its dump into the queue, then queue its _End (having taken its token
    ``running`` out of OWN_THREADS first, so a caller that has seen every part end may fork at once)."""
    error: BaseException | None = None
    try:
        with diag:
            for item in consume(diag.request(message)):
                queue.put(item)
    except BaseException as raised:  # handed to the reading thread, which raises it
        error = raised
    OWN_THREADS.discard(running)
    queue.put(_End(error))
