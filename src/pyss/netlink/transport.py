"""The NETLINK_SOCK_DIAG socket: send one dump request, yield its reply buffers.

Thin on purpose: it moves bytes; :mod:`pyss.netlink.decode` reads the
records out of each buffer and turns netlink's end-of-dump and error
messages into Python control flow.

A large dump can be read ahead: the kernel does its dump work inside
``recv()``, so a child process that only receives lets that work run on
another CPU while this process decodes and prints what came before. A dump
can also be started ahead (:class:`EarlyDump`): a child sends the request
and receives, so the kernel's walk of the socket table (done inside
``send()`` as well, all of it when a filter leaves little to send) runs while
this process does another dump. And one dump can answer two requests
(``split``, see :func:`dump`): TCP's two families out of one walk.
"""

from __future__ import annotations

# _socket, not socket: the socket module wraps its constants in enums and imports selectors,
# which costs more start-up than this module's whole job; _socket.socket is its C base class.
import _signal  # type: ignore[import-not-found]  # signal's C core (see pyss.cli.ss): no enums to import
import _socket
import errno
import os
import struct
import sys

from pyss.lite_typing import TYPE_CHECKING
from pyss.netlink.constants import AF_NETLINK, NETLINK_SOCK_DIAG, NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import TracebackType

    # What a read-ahead child may do to each reply buffer before passing it on: a Worked result's bytes,
    # or None to pass the buffer on as it is.
    Work = Callable[[bytes], bytes | None]
    # How a dump that answers two requests at once is taken apart, a reply buffer at a time: (what goes
    # on now, what is held until the dump ends, the message that ends the dump or b"") (see dump's split).
    Split = Callable[[bytes], tuple[bytes, bytes, bytes]]

_SIGKILL = 9  # signal.SIGKILL without the signal module (see above); the same number on every Linux

# The kernel fills at most ~32 KiB per dump read; a larger buffer only wastes allocation.
RECV_SIZE = 65536

_HEADER = struct.Struct("=IH")  # nlmsg_len, nlmsg_type
_ERROR = struct.Struct("=IHHIIi16x")  # NLMSG_ERROR: header, error code, the request's header (left zero)


class Worked(bytes):
    """What a read-ahead child made of a reply buffer with the dump's ``work`` (see :func:`dump`), in its place."""

    __slots__ = ()


# A relayed packet that starts with a zero word (no netlink message is 0 bytes long) is tagged by the next
# word: a Worked result, or a kernel buffer that itself starts with a zero word (malformed: passed on as is).
_TAGGED = bytes(4)
_WORKED_TAG = _TAGGED + b"W\0\0\0"
_RAW_TAG = _TAGGED + b"R\0\0\0"
_TAG_SIZE = len(_WORKED_TAG)



def _error_message(code: int) -> bytes:
    """The NLMSG_ERROR the kernel would send for ``code``: a receive error reaches the decoder as one."""
    return _ERROR.pack(_ERROR.size, NLMSG_ERROR, 0, 0, 0, -code)


# What ends a split dump's second part when the dump ended in a buffer its split could not read.
_DONE = struct.pack("=IHHIIi", NLMSG_HDRLEN + 4, NLMSG_DONE, NLM_F_MULTI, 0, 0, 0)


class DiagSocket:
    """A NETLINK_SOCK_DIAG socket, optionally opened inside another network namespace's fd."""

    def __init__(self) -> None:
        self._sock = _socket.socket(AF_NETLINK, _socket.SOCK_RAW | _socket.SOCK_CLOEXEC, NETLINK_SOCK_DIAG)

    def __enter__(self) -> DiagSocket:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    @property
    def socket(self) -> _socket.socket:
        """The netlink socket itself (a relaying child uses its own copy)."""
        return self._sock

    def acknowledge(self, message: bytes) -> bytes:
        """Send a request that asks for an acknowledgement (NLM_F_ACK) and return the reply buffer."""
        self._sock.sendto(message, (0, 0))
        return self._sock.recv(RECV_SIZE)

    def subscribe(self, groups: int) -> None:
        """Join the multicast groups in the ``groups`` mask (sock_diag's destruction reports)."""
        self._sock.bind((0, groups))

    def receive(self) -> bytes:
        """The next buffer the kernel sends (a multicast message, for a subscribed socket)."""
        return self._sock.recv(RECV_SIZE)

    def request(self, message: bytes, read_ahead: bool = False, following: EarlyDump | None = None,
                work: Work | None = None, split: Split | None = None) -> Iterator[bytes]:
        """Send a dump request and yield each buffer of replies until NLMSG_DONE.

        The caller walks the messages (see decode.walk); this generator stops
        when the caller does, so an abandoned dump leaves the socket unusable:
        callers use one DiagSocket per request or drain it. With
        ``read_ahead``, a dump that does not end in its first buffer is read
        on by a child process (see :func:`_read_ahead`), and the dump
        ``following`` it, if any, is started at once (see :class:`EarlyDump`);
        the child passes on ``work(buffer)`` as a :class:`Worked` item in
        place of each buffer for which that is not None. With ``split``, the
        replies come reordered as :func:`dump` says.
        """
        self._sock.sendto(message, (0, 0))
        recv = self._sock.recv
        data = recv(RECV_SIZE)
        if split is not None:
            yield from _split_replies(self._sock, data, split, read_ahead, work)
            return
        if read_ahead and data and not ends_dump(data):
            yield data
            relay = _relay_if_possible(self._sock, work=work)
            if following is not None:
                following.start()
            if relay is not None:
                yield from relay.buffers()
                return
            data = recv(RECV_SIZE)
        while data:
            yield data
            data = recv(RECV_SIZE)


# pyss's own threads still running (the split dump's, pyss.netlink.split): started with _thread, which
# the threading module does not count. Each adds a token of its own and takes it out as it ends.
OWN_THREADS: set[object] = set()


def may_fork() -> bool:
    """Forking helpers is safe while the program runs one thread (fork copies only the caller's): no
    thread of the program's own and none of pyss's (a split dump's part may still be running after its
    caller stopped reading it)."""
    if OWN_THREADS:
        return False
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() == 1


def fork_noted(note: Callable[[int], None]) -> int:
    """os.fork(), the child's pid given to ``note`` in this process before a Ctrl-C can be raised.

    A SIGINT that comes while fork() runs is raised as KeyboardInterrupt as soon as it returns, before
    the caller has kept the pid: that child was never stopped nor reaped (`pyss -tanp` interrupted
    early left one). SIGINT waits, blocked, until ``note`` has run. Returns 0 in the child.
    """
    held = _signal.pthread_sigmask(_signal.SIG_BLOCK, (_signal.SIGINT,))
    try:
        pid = os.fork()
        if pid:
            note(pid)
    finally:
        _signal.pthread_sigmask(_signal.SIG_SETMASK, held)
    return pid


def reap(pid: int) -> int | None:
    """Wait for the child ``pid`` to end: its wait status, or None when it was reaped already. With SIGCHLD
    ignored (a setting exec hands on: a daemon's children inherit it) the kernel reaps every child itself,
    and a program's own SIGCHLD handler may reap ours; waitpid then fails with ECHILD."""
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return None


def read_ahead_helps() -> bool:
    """A read-ahead child only helps when it can run beside this process: two or more CPUs to run on."""
    return len(os.sched_getaffinity(0)) > 1


def dump(message: bytes, read_ahead: bool = False, following: EarlyDump | None = None,
         work: Work | None = None, split: Split | None = None) -> Iterator[bytes]:
    """Run one dump on a socket of its own, closed when the dump is done or abandoned.

    ``work`` is what a read-ahead child does to each buffer (see :meth:`DiagSocket.request`): work
    moved off this process, done while this one formats what came before.

    ``split`` makes one dump answer two (pyss.netlink.tcpdiag: TCP's IPv4 and
    IPv6 out of one kernel walk): each reply buffer is taken apart into what
    goes on now and what is held back, and the replies come as two dumps one
    after the other: the parts that go on now and the message that ends the
    dump, then the held parts and that message again (see
    :class:`SplitStreams`). A read-ahead child holds the held parts itself.
    """
    early = _STARTED.pop(message, None) if _STARTED else None
    if early is not None and early.serves(work, split):
        yield from early.buffers()
        return
    if early is not None:
        early.close()
    with DiagSocket() as diag:
        yield from diag.request(message, read_ahead, following, work, split)


def _split_replies(sock: _socket.socket, data: bytes, split: Split, read_ahead: bool, work: Work | None) \
        -> Iterator[bytes]:
    """A split dump's replies (see :func:`dump`) from its first buffer, ``data``, on."""
    held: list[bytes] = []
    while True:
        now, later, ending = split(data)
        if later:
            held.append(later)
        if now:
            yield now
        if not data:
            return  # no ending: the decoder says that the dump was cut short
        if ending or ends_dump(now):
            break
        relay = _relay_if_possible(sock, work=work, split=split, held=held) if read_ahead else None
        if relay is not None:  # the child holds what is held (a copy of held, too) and sends it after the ending
            yield from relay.buffers()
            return
        read_ahead = False
        data = sock.recv(RECV_SIZE)
    if ending:
        yield ending
    yield from _coalesced(held)
    yield ending or _DONE


def _coalesced(parts: list[bytes]) -> Iterator[bytes]:
    """The held parts of a split dump joined into as few buffers as a relay passes whole."""
    gathered: list[bytes] = []
    size = 0
    for part in parts:
        if gathered and size + len(part) > RECV_SIZE:
            yield b"".join(gathered)
            gathered, size = [], 0
        gathered.append(part)
        size += len(part)
    if gathered:
        yield b"".join(gathered)


class SplitStreams:
    """A split dump's replies (see :func:`dump`) read as the two dumps they answer, one after the other.

    :meth:`first` ends with the buffer that ends the first dump; :meth:`second`
    yields the rest (skipping what the first's reader left unread) and closes
    the dump when it ends or is dropped.
    """

    __slots__ = ("_buffers", "_in_first")

    def __init__(self, buffers: Iterator[bytes]) -> None:
        self._buffers = buffers
        self._in_first = True

    def first(self) -> Iterator[bytes]:
        for buf in self._buffers:
            if type(buf) is not Worked and ends_dump(buf):
                self._in_first = False
                yield buf
                return
            yield buf

    def second(self) -> Iterator[bytes]:
        if self._in_first:
            for _left in self.first():
                pass
        try:
            yield from self._buffers
        finally:
            self.close()

    def close(self) -> None:
        close = getattr(self._buffers, "close", None)
        if close is not None:
            close()


class EarlyDump:
    """A dump started ahead of its reading by a child process, now or once it is known to pay.

    The kernel walks its whole socket hash table for every dump, even one
    that finds nothing (tens of milliseconds with 100k sockets), inside
    send() as well as recv(): started by a child, that walk runs on another
    CPU while this process works on something else (another family's dump).
    The socket is opened here and now, in this thread's network namespace
    (the caller may be inside another one only while opening); the child
    sends the request when :meth:`start` is called (at once, or by
    :meth:`DiagSocket.request` when the dump before this one proves large
    enough to be read ahead) and receives the replies, holding what the
    pair between them cannot take (see :class:`_Relay`; a failed send comes
    through as an NLMSG_ERROR message). :meth:`buffers` reads them, or, when
    no child was started, dumps here. The child is killed and reaped when
    the dump is read to its end, closed, or dropped unread.
    """

    __slots__ = ("_diag", "_relay", "_split", "_work", "message")

    def __init__(self, message: bytes, work: Work | None = None, split: Split | None = None) -> None:
        self._relay: _Relay | None = None  # (set before anything can fail: __del__ reads them)
        self._diag: DiagSocket | None = None
        self.message = message
        self._work = work
        self._split = split
        self._diag = DiagSocket()

    def serves(self, work: Work | None, split: Split | None) -> bool:
        """Whether this dump's replies are what :func:`dump` with ``work`` and ``split`` would give: the
        same split, and no Worked items for a reader that does not take them."""
        return self._split is split and (self._work is None or work is not None)

    def start(self) -> None:
        """Hand the dump to a child process now (at most once, and not once read)."""
        diag = self._diag
        if diag is None:
            return
        self._relay = _relay_if_possible(diag.socket, self.message, self._work, self._split)
        if self._relay is not None:
            self._diag = None
            diag.close()  # the child has its own copy

    def buffers(self, read_ahead: bool = False) -> Iterator[bytes]:
        """The dump's reply buffers: from the child if it was started, else read now (once)."""
        relay, self._relay = self._relay, None
        if relay is not None:
            return relay.buffers()
        diag, self._diag = self._diag, None
        if diag is None:
            raise RuntimeError("an EarlyDump is read once")
        return _request_on(diag, self.message, read_ahead, self._work, self._split)

    def close(self) -> None:
        """Stop a child that is no longer wanted and close the socket (a dump never read)."""
        relay, self._relay = self._relay, None
        if relay is not None:
            relay.close()
        diag, self._diag = self._diag, None
        if diag is not None:
            diag.close()

    def __del__(self) -> None:
        try:  # noqa: SIM105 - contextlib is kept off the start-up path
            self.close()
        except Exception:  # at interpreter exit what close() needs may be gone; the child then ends with its pipe
            pass


def _request_on(diag: DiagSocket, message: bytes, read_ahead: bool, work: Work | None,
                split: Split | None = None) -> Iterator[bytes]:
    with diag:
        yield from diag.request(message, read_ahead, work=work, split=split)


# Dumps started by start_early, by request, until dump() takes them up.
_STARTED: dict[bytes, EarlyDump] = {}


def start_early(message: bytes, work: Work | None = None, split: Split | None = None) -> None:
    """Start a dump in a child process now, for :func:`dump` to take up when it is asked for it.

    A command line that knows what it will list starts the dump the listing
    waits for longest before it imports what formats it: the kernel walks
    the socket table meanwhile, on another CPU. :func:`dump` takes the
    started dump when asked for the same request with the same ``split`` (and
    ``work``, unless the started one has none); a dump not taken up is
    ended when this process ends.
    """
    try:
        early = EarlyDump(message, work, split)
    except OSError:  # no descriptor to spare (EMFILE): dump() opens its socket when it is asked
        return
    early.start()
    _STARTED[message] = early


def ends_dump(data: bytes) -> bool:
    """True when a reply buffer ends the dump: its last message is NLMSG_DONE or NLMSG_ERROR.

    The kernel ends every dump with NLMSG_DONE as the last message of its
    last buffer (an error during the dump travels inside it), and refuses a
    request with a lone NLMSG_ERROR. So only a buffer whose tail looks like
    one of those is walked message by message to be sure: the read-ahead
    child asks this of every buffer. A buffer whose framing is broken ends
    the dump too: the decoder, which gets the buffer, says what is wrong.
    """
    if not any(_tail_is(data, size, kind) for size, kind in _ENDINGS):
        return False
    offset = 0
    kind = 0
    while len(data) - offset >= NLMSG_HDRLEN:
        length, kind = _HEADER.unpack_from(data, offset)
        if length < NLMSG_HDRLEN:
            return True
        offset += (length + 3) & ~3
    return offset != len(data) or kind in (NLMSG_DONE, NLMSG_ERROR)


# The messages that end a dump, by their length: NLMSG_DONE carries an int, NLMSG_ERROR an int
# and the request's header (without extended acks, which pyss does not ask for).
_ENDINGS = ((NLMSG_HDRLEN + 4, NLMSG_DONE), (2 * NLMSG_HDRLEN + 4, NLMSG_ERROR))


def _tail_is(data: bytes, size: int, kind: int) -> bool:
    return len(data) >= size and _HEADER.unpack_from(data, len(data) - size) == (size, kind)


def _read_ahead(sock: _socket.socket) -> Iterator[bytes]:
    """The rest of a dump, received by a child process (see :class:`_Relay`)."""
    return _Relay(sock).buffers()


class _Relay:
    """A child process that receives a dump and passes each buffer on through a SOCK_SEQPACKET pair.

    SOCK_SEQPACKET keeps each buffer whole. Given a ``request``, the child
    sends it first (the dump starts in the child); else the dump is already
    under way. Given ``work``, the child passes on ``work(buffer)`` as a
    :class:`Worked` item in place of each buffer it is not None for. The
    child ends after the buffer that ends the dump, or when
    this end is closed (the consumer stopped). A send or receive error in
    the child comes through as an NLMSG_ERROR message. Once the consumer is
    done the child has nothing left to do: it is killed before it is
    reaped, so that no oversight can leave this process waiting on a child
    blocked in recv() (:meth:`close`, run by :meth:`buffers` when it ends
    or is closed, and when the relay is dropped unread).
    """

    __slots__ = ("_ours", "_pid")

    def __init__(self, sock: _socket.socket, request: bytes | None = None, work: Work | None = None,
                 split: Split | None = None, held: list[bytes] | None = None) -> None:
        self._ours: _socket.socket | None = None  # (set before anything can fail: __del__ reads it)
        self._pid = 0
        ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET | _socket.SOCK_CLOEXEC)
        try:
            pid = fork_noted(lambda child: self._started(ours, child))
        except BaseException:
            if self._ours is None:
                ours.close()
            theirs.close()
            raise
        if pid == 0:  # pragma: no cover - the child's coverage is not collected
            ours.close()
            _relay(sock, theirs, request, work, split, held)
        theirs.close()

    def _started(self, ours: _socket.socket, pid: int) -> None:
        self._ours = ours
        self._pid = pid

    def buffers(self) -> Iterator[bytes]:
        ours = self._ours
        if ours is None:
            return
        try:
            while data := _next_packet(ours):
                if data[:4] != _TAGGED:
                    yield data
                elif data[:_TAG_SIZE] == _WORKED_TAG:
                    yield Worked(memoryview(data)[_TAG_SIZE:])
                else:
                    yield data[_TAG_SIZE:]
        finally:
            self.close()

    def close(self) -> None:
        ours, self._ours = self._ours, None
        if ours is None:
            return
        ours.close()
        try:  # noqa: SIM105 - contextlib is kept off the start-up path
            os.kill(self._pid, _SIGKILL)
        except ProcessLookupError:
            pass
        reap(self._pid)

    def __del__(self) -> None:
        try:  # noqa: SIM105 - contextlib is kept off the start-up path
            self.close()
        except Exception:  # at interpreter exit what close() needs may be gone; the child then ends with its pipe
            pass


def _relay_if_possible(sock: _socket.socket, request: bytes | None = None, work: Work | None = None,
                       split: Split | None = None, held: list[bytes] | None = None) -> _Relay | None:
    """A :class:`_Relay`, or None when the process has no descriptor or process to spare for one
    (EMFILE under a low `ulimit -n`, EAGAIN from fork): the caller then reads the dump itself, as ss
    does, since a relay only makes a dump faster."""
    try:
        return _Relay(sock, request, work, split, held)
    except OSError:
        return None


# What the reader of a read-ahead dump does while no buffer is ready for it (see set_idle_work).
_IDLE_WORK: list[Callable[[], bool]] = []


def set_idle_work(work: Callable[[], bool] | None) -> None:
    """Give the reader of a read-ahead dump work for the moments its child has no buffer ready.

    The child's kernel walk is the longer of the two processes' work for a large dump: the reader,
    having taken every buffer sent so far, would wait in ``recv()``. It calls ``work()`` instead,
    again and again, until a buffer is there or ``work()`` says (False) that it has nothing left to
    do; each call should be a small step (a block of rows), since a buffer that comes meanwhile
    waits for it. None: wait without work.
    """
    _IDLE_WORK[:] = [] if work is None else [work]


def _next_packet(ours: _socket.socket) -> bytes:
    """The next packet from a read-ahead child, doing the idle work (see set_idle_work) while none is there."""
    if not _IDLE_WORK:
        return ours.recv(RECV_SIZE + _TAG_SIZE)
    work = _IDLE_WORK[0]
    while True:
        try:
            return ours.recv(RECV_SIZE + _TAG_SIZE, _socket.MSG_DONTWAIT)
        except BlockingIOError:
            if not work():
                return ours.recv(RECV_SIZE + _TAG_SIZE)


def _relay(sock: _socket.socket, out: _socket.socket, request: bytes | None = None,  # pragma: no cover
           work: Work | None = None, split: Split | None = None, held: list[bytes] | None = None) -> None:
    try:
        outbox = _Outbox(out, work)
        if request is not None:
            try:
                sock.sendto(request, (0, 0))
            except OSError as error:
                _pass_error(outbox, error, split)
                return
        if split is not None:
            _relay_split(sock, outbox, split, list(held or ()))
        else:
            _relay_whole(sock, outbox)
    except BaseException:  # a child must never go on to run the parent's code
        pass
    finally:
        os._exit(0)


def _relay_whole(sock: _socket.socket, outbox: _Outbox) -> None:  # pragma: no cover - runs in the child
    while True:
        try:
            data = sock.recv(RECV_SIZE)
        except OSError as error:
            _pass_error(outbox, error, None)
            return
        outbox.put(data)
        if not data or ends_dump(data):
            break
    outbox.finish()


def _pass_error(outbox: _Outbox, error: OSError, split: Split | None) -> None:  # pragma: no cover
    """A send or receive error, as the NLMSG_ERROR that ends the dump (each of a split dump's two)."""
    message = _error_message(error.errno or errno.EIO)
    outbox.put(message, workable=False)
    if split is not None:
        outbox.put(message, workable=False)
    outbox.finish()


def _relay_split(sock: _socket.socket, outbox: _Outbox, split: Split, held: list[bytes]) -> None:  # pragma: no cover
    """A split dump's replies (see :func:`dump`), relayed: the held parts go on after the ending."""
    while True:
        try:
            data = sock.recv(RECV_SIZE)
        except OSError as error:
            _pass_error(outbox, error, split)
            return
        now, later, ending = split(data)
        if later:
            held.append(later)
        if now:
            outbox.put(now)
        if not data:
            outbox.finish()
            return
        if ending or ends_dump(now):
            break
    if ending:
        outbox.put(ending, workable=False)
    for part in _coalesced(held):
        outbox.put(part)
    outbox.put(ending or _DONE, workable=False)
    outbox.finish()


# How many packets a relaying child holds for a consumer that is behind before it waits for it
# (~32 kB each: the replies of ~250 sockets).
_MOST_QUEUED = 8192


class _Outbox:  # pragma: no cover - runs in the child
    """What a relaying child sends on: at once while the pair takes it, else queued in the child.

    The kernel does its dump work inside the child's recv(): a child that
    waited whenever the consumer is behind (the pair holds ~200 kB, a few
    buffers) would leave the walk idle while the consumer lays out a batch
    of rows. So the walk goes on, and what the pair cannot take waits here.
    Once the dump is read, :meth:`finish` sends the rest, and while the
    consumer still has the front of the queue to read it works on the queued
    buffers from the back (``work``, see :func:`dump`): the walk comes first,
    then the work the consumer would otherwise do itself, on the buffers it
    will come to last.
    """

    __slots__ = ("_head", "_out", "_queue", "_work")

    def __init__(self, out: _socket.socket, work: Work | None) -> None:
        self._out = out
        self._work = work
        self._queue: list[tuple[tuple[bytes, ...], bytes | None]] = []  # (packet, the buffer while workable)
        self._head = 0  # the first packet not yet sent

    def put(self, data: bytes, workable: bool = True) -> None:
        """Send a buffer on, or queue it behind those the consumer has not taken yet."""
        packet = (_RAW_TAG, data) if data[:4] == _TAGGED else (data,)
        if self._head == len(self._queue) and self._send(packet, _socket.MSG_DONTWAIT):
            return
        self._queue.append((packet, data if workable and self._work is not None else None))
        self._drain()
        while len(self._queue) - self._head > _MOST_QUEUED:
            self._send_head(0)

    def finish(self) -> None:
        """Send what is queued, working on it from the back while the consumer reads from the front."""
        queue = self._queue
        back = len(queue) - 1
        while self._head < len(queue):
            self._drain()
            while back > self._head and queue[back][1] is None:
                back -= 1
            if back > self._head:
                self._work_on(back)
                back -= 1
            elif self._head < len(queue):
                self._send_head(0)

    def _work_on(self, index: int) -> None:
        packet, data = self._queue[index]
        worked = None
        if data is not None and self._work is not None:
            try:
                worked = self._work(data)
            except Exception:  # the buffer goes on whole, and the decoder says what is wrong with it
                worked = None
        self._queue[index] = ((_WORKED_TAG, worked), None) if worked is not None else (packet, None)

    def _drain(self) -> None:
        while self._head < len(self._queue) and self._send_head(_socket.MSG_DONTWAIT):
            pass

    def _send_head(self, flags: int) -> bool:
        if not self._send(self._queue[self._head][0], flags):
            return False
        self._queue[self._head] = ((), None)  # sent: let it go
        self._head += 1
        return True

    def _send(self, packet: tuple[bytes, ...], flags: int) -> bool:
        try:
            self._out.sendmsg(packet, (), flags)
        except BlockingIOError:
            return False
        return True
