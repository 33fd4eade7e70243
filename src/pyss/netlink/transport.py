"""The NETLINK_SOCK_DIAG socket: send one dump request, yield its reply buffers.

Thin on purpose: it moves bytes; :mod:`pyss.netlink.decode` reads the
records out of each buffer and turns netlink's end-of-dump and error
messages into Python control flow.

A large dump can be read ahead: the kernel does its dump work inside
``recv()``, so a child process that only receives lets that work run on
another CPU while this process decodes and prints what came before. A dump
can also be started ahead (:class:`StartedDump`): a child sends the request
and receives, so the kernel's walk of the socket table (done inside
``send()`` as well, all of it when a filter leaves little to send) runs
while this process does another dump.
"""

from __future__ import annotations

# _socket, not socket: the socket module wraps its constants in enums and imports selectors,
# which costs more start-up than this module's whole job; _socket.socket is its C base class.
import _socket
import errno
import os
import struct

from pyss.lite_typing import TYPE_CHECKING
from pyss.netlink.constants import AF_NETLINK, NETLINK_SOCK_DIAG, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import TracebackType

_SIGKILL = 9  # signal.SIGKILL without the signal module (see above); the same number on every Linux

# The kernel fills at most ~32 KiB per dump read; a larger buffer only wastes allocation.
RECV_SIZE = 65536

_HEADER = struct.Struct("=IH")  # nlmsg_len, nlmsg_type
_ERROR = struct.Struct("=IHHIIi16x")  # NLMSG_ERROR: header, error code, the request's header (left zero)


def _error_message(code: int) -> bytes:
    """The NLMSG_ERROR the kernel would send for ``code``: a receive error reaches the decoder as one."""
    return _ERROR.pack(_ERROR.size, NLMSG_ERROR, 0, 0, 0, -code)


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

    def request(self, message: bytes, read_ahead: bool = False) -> Iterator[bytes]:
        """Send a dump request and yield each buffer of replies until NLMSG_DONE.

        The caller walks the messages (see decode.walk); this generator stops
        when the caller does, so an abandoned dump leaves the socket unusable:
        callers use one DiagSocket per request or drain it. With
        ``read_ahead``, a dump that does not end in its first buffer is read
        on by a child process (see :func:`_read_ahead`).
        """
        self._sock.sendto(message, (0, 0))
        recv = self._sock.recv
        data = recv(RECV_SIZE)
        if read_ahead and data and not ends_dump(data):
            yield data
            yield from _read_ahead(self._sock)
            return
        while data:
            yield data
            data = recv(RECV_SIZE)


def read_ahead_helps() -> bool:
    """A read-ahead child only helps when it can run beside this process: two or more CPUs to run on."""
    return len(os.sched_getaffinity(0)) > 1


def dump(message: bytes, read_ahead: bool = False) -> Iterator[bytes]:
    """Run one dump on a socket of its own, closed when the dump is done or abandoned."""
    with DiagSocket() as diag:
        yield from diag.request(message, read_ahead)


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
    """The rest of a dump, received by a child process and passed on through a SOCK_SEQPACKET pair.

    SOCK_SEQPACKET keeps each buffer whole. The child ends after the buffer
    that ends the dump, or when this end is closed (the consumer stopped).
    A receive error in the child comes through as an NLMSG_ERROR message.
    Once the consumer is done the child has nothing left to do: it is killed
    before it is reaped, so that no oversight can leave this process waiting
    on a child blocked in recv().
    """
    ours, pid = _fork_relay(sock)
    try:
        while data := ours.recv(RECV_SIZE):
            yield data
    finally:
        _stop_relay(ours, pid)


class StartedDump:
    """A dump a child process starts now and receives, read here later (an iterator of reply buffers).

    The socket is opened here, so in this thread's network namespace; the
    child sends the request and relays the replies as :func:`_read_ahead`'s
    does (a failed send comes through as an NLMSG_ERROR message). It blocks
    once the pair's buffer is full, so a large dump is not held in memory.
    The child is killed and reaped when the dump is read to its end, closed,
    or dropped unread.
    """

    def __init__(self, message: bytes) -> None:
        self.message = message
        with DiagSocket() as diag:  # the child keeps its own copy of the socket
            self._pair: _socket.socket | None
            self._pair, self._pid = _fork_relay(diag._sock, message)

    def __iter__(self) -> StartedDump:
        return self

    def __next__(self) -> bytes:
        data = self._pair.recv(RECV_SIZE) if self._pair is not None else b""
        if not data:
            self.close()
            raise StopIteration
        return data

    def close(self) -> None:
        if self._pair is not None:
            pair, self._pair = self._pair, None
            _stop_relay(pair, self._pid)

    def __del__(self) -> None:
        self.close()


def _fork_relay(sock: _socket.socket, request: bytes | None = None) -> tuple[_socket.socket, int]:
    """(our end of a SOCK_SEQPACKET pair, the child's pid): a child that relays sock's replies (sending
    ``request`` first, if given) to the pair's other end."""
    ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET | _socket.SOCK_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        ours.close()
        _relay(sock, theirs, request)
    theirs.close()
    return ours, pid


def _stop_relay(ours: _socket.socket, pid: int) -> None:
    ours.close()
    try:  # noqa: SIM105 - contextlib is kept off the start-up path
        os.kill(pid, _SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)


def _relay(sock: _socket.socket, out: _socket.socket, request: bytes | None = None) -> None:  # pragma: no cover
    # (runs in the child)
    try:
        while True:
            try:
                if request is not None:
                    sock.sendto(request, (0, 0))
                    request = None
                data = sock.recv(RECV_SIZE)
            except OSError as error:
                out.send(_error_message(error.errno or errno.EIO))
                break
            out.send(data)
            if not data or ends_dump(data):
                break
    except BaseException:  # a child must never go on to run the parent's code
        pass
    finally:
        os._exit(0)
