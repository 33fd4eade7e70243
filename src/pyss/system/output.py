"""Standard output for the command lines (pyss, pynetstat, pyss-exporter).

They write through :func:`open_output`'s stdout, so a failing write (a full
disk, a closed pipe, an I/O error) surfaces as one :class:`OutputError`
wherever it happens (a listing, ``-s``, ``--help``, the exit-time flush),
and :func:`guarded` turns it into one line and exit status 1. :func:`exit_at_once`
ends a command's process without the interpreter's teardown.
"""

from __future__ import annotations

import atexit
import errno
import io
import os
import sys

from pyss.lite_typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

EXIT_OUTPUT = 1  # what pyss and pynetstat exit with when the output cannot be written
EXIT_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a reader that went away
EXIT_INTERRUPTED = 130  # 128 + SIGINT: what a CLI's main() returns when Ctrl-C stopped it


class OutputError(Exception):
    """Writing stdout failed. Not an OSError: handlers of read errors must not take it for one."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or str(error))
        self.errno = error.errno


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """Write all of ``data`` to ``fd`` (os.write may take only part of it); an error is raised as it comes."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class _Descriptor(io.RawIOBase):
    """A writable raw stream on one standard descriptor (``FD``)."""

    FD = 1

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.FD

    def isatty(self) -> bool:
        return os.isatty(self.FD)


class _Output(_Descriptor):
    """fd 1 for a BufferedWriter; after the first failure it drops what is written, so that
    Python's exit-time flush cannot fail a second time with a traceback of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self.failed:
            return len(data)
        try:
            return os.write(self.FD, data)
        except OSError as error:
            if error.errno == errno.EINTR:
                return 0
            self.failed = True
            raise OutputError(error) from None


class _Diagnostics(_Descriptor):
    """fd 2, unbuffered as Python's own stderr is: a message that cannot be written (stderr on a full
    disk, an I/O error) is dropped, as ss and netstat drop theirs, so that a warning's failure neither
    ends a listing nor changes its exit status."""

    FD = 2

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        try:  # noqa: SIM105 - contextlib is not imported on a listing's path
            write_all(self.FD, data)
        except OSError:
            pass
        return len(data)


def _occupy(fd: int, flags: int) -> None:
    """Put /dev/null on a standard descriptor the caller left closed, so that no file pyss opens
    later (a netlink socket, a /proc file) lands on it and gets written to as if it were the output."""
    try:
        os.fstat(fd)
    except OSError:
        null = os.open(os.devnull, flags | os.O_CLOEXEC)
        if null != fd:
            os.dup2(null, fd, inheritable=False)
            os.close(null)


def open_output() -> None:
    """Standard streams both CLIs can rely on.

    stdout (and stderr, stdin) closed by the caller, as in ``pyss -tan >&-``: /dev/null takes
    its place and the run exits 0 as ss and netstat do. stdout writes names back as the kernel's
    bytes, whatever the locale: names are decoded as UTF-8 with undecodable bytes kept as
    surrogates, and encoding them back the same way reproduces the raw bytes ss and netstat print.
    """
    _occupy(0, os.O_RDONLY)
    _occupy(1, os.O_WRONLY)
    _occupy(2, os.O_WRONLY)
    if sys.stdin is None:
        sys.stdin = open(0, encoding="utf-8", errors="surrogateescape", closefd=False)  # noqa: SIM115
    if sys.stderr is None or sys.stderr is sys.__stderr__:
        # (a caller's own stream, as for stdout below, keeps its ways)
        encoding = sys.stderr.encoding if sys.stderr is not None else "utf-8"
        utf8 = encoding.lower().replace("-", "") == "utf8"
        sys.stderr = io.TextIOWrapper(_Diagnostics(), encoding=encoding, write_through=True,
                                      # a bad word is echoed as the bytes typed, as ss does
                                      errors="surrogateescape" if utf8 else "backslashreplace")
    elif isinstance(sys.stderr, io.TextIOWrapper) and sys.stderr.encoding.lower().replace("-", "") == "utf8":
        sys.stderr.reconfigure(errors="surrogateescape")
    if sys.stdout is not None and sys.stdout is not sys.__stdout__:
        # A caller's own stream (main() run in-process, a test capturing output): its errors are its own.
        if isinstance(sys.stdout, io.TextIOWrapper):
            sys.stdout.reconfigure(encoding="utf-8", errors="surrogateescape")
        return
    if sys.stdout is not None:
        sys.stdout.flush()
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(_Output()), encoding="utf-8", errors="surrogateescape",
                                  line_buffering=os.isatty(1))


def guarded(program: str, body: Callable[[], int]) -> int:
    """Run a CLI's body; an output failure anywhere ends it with one line on stderr and status 1.

    ss and netstat ignore write errors and exit 0 with their output lost; pyss says so instead
    (docs/cli.md). A reader that went away (EPIPE, `| head`) ends quietly.
    """
    try:
        try:
            status = body()
        finally:  # also when the body raises SystemExit
            sys.stdout.flush()
    except OutputError as error:
        if error.errno == errno.EPIPE:
            return EXIT_PIPE
        sys.stderr.write(f"{program}: cannot write the output: {error}\n")
        return EXIT_OUTPUT
    return status


def replace_file(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a new temporary file beside it, then renamed over it.

    The directory may be writable by others (a textfile collector's often is), so the temporary
    file gets an unpredictable name and is created with O_EXCL | O_NOFOLLOW: nothing planted there
    can redirect the write. A path that exists as something other than a regular file or a symlink
    (a device, a FIFO, a directory) is refused: the rename would replace it. Raises OSError.
    """
    import contextlib  # not at the top: the listings import this module and never write a file
    import stat

    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = stat.S_IFREG
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        raise OSError(errno.EINVAL, "not a regular file", path)
    partial = _temporary_name(path)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    try:
        try:
            write_all(fd, data)
        finally:
            os.close(fd)
        os.rename(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def _temporary_name(path: str) -> str:
    """A hidden name beside ``path`` that no one can guess in advance."""
    directory, name = os.path.split(path)
    return os.path.join(directory, f".{name}.{os.urandom(8).hex()}.tmp")


def exit_at_once(status: int) -> None:
    """End the command's process with ``status`` now, without the interpreter's teardown, or return
    when that could lose something (the caller then exits the ordinary way).

    The ordinary exit frees every module and object one by one (~3 ms of `pyss -tan`'s ~21 ms in an
    empty namespace, ~1.3 ms of `python -c pass`'s) for a process about to vanish. What it does that
    matters is done here: the standard streams flushed, atexit functions run. It is declined while
    another thread runs (the ordinary exit waits for it) or a child process is left (its owner's
    finalizer kills and reaps it, as with a read-ahead child that was never read).
    """
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except Exception:  # the ordinary exit reports it as it would have
        return
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() > 1:
        return
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)  # WNOWAIT: reaps nothing
    except ChildProcessError:  # no child at all
        atexit._run_exitfuncs()
        os._exit(status)


def end_as_interrupted() -> None:
    """End the process as Ctrl-C ends ss and netstat: killed by SIGINT, not exiting with 130. A shell
    told that its child exited goes on with the loop or script that ran it; one told that SIGINT killed
    it stops there too. What is written is flushed and the atexit functions run first."""
    import signal  # not at the top: its enums cost start-up, and only an interrupted run gets here

    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except Exception:  # the output is lost either way; the signal is still owed
        pass
    atexit._run_exitfuncs()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
