"""Run ss, netstat, pyss and pynetstat against the socket zoo in a private netns, and compare them.

The zoo (zoo.py) lives in a namespace of its own; every tool runs there through
``ip netns exec``, which execs the tool in place, so the pid of the child is the
pid of the tool. That pid is how a comparison recognises the tool's own netlink
socket(s) (ss lists its NETLINK_SOCK_DIAG socket as ``tcpdiag:ss/<pid>``), the
only rows two runs are expected to disagree on. (Netlink rows may also change
order between two dumps; assert_matches_reference explains and absorbs that.)

Comparisons are byte-exact by default. The helpers that relax this (dropping the
tools' own rows, normalising ss's padding, ignoring row order) must be asked for
by name and report what they dropped in their failure message.
"""

from __future__ import annotations

import contextlib
import difflib
import itertools
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ZOO_SCRIPT = Path(__file__).with_name("zoo.py")
BIN_DIR = Path(sys.executable).parent
PYSS = BIN_DIR / "pyss"
PYNETSTAT = BIN_DIR / "pynetstat"
NS_PREFIX = "pyss-test-"
TOOL_TIMEOUT = 20.0
READY_TIMEOUT = 15.0

# TIME-WAIT lasts 60 s (TCP_TIMEWAIT_LEN). A zoo older than this is rebuilt before
# a test uses it, so no TIME-WAIT row can expire between the two runs of a test.
MAX_ZOO_AGE = 40.0

# The same environment for every tool: LC_ALL=C keeps netstat's gettext headers
# in English and Python's I/O encoding fixed, and COLUMNS cannot leak in from a
# terminal.
TOOL_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "HOME": "/root"}


def missing_prerequisites() -> str | None:
    """Why the integration tests cannot run here, or None if they can."""
    if os.geteuid() != 0:
        return "needs root: creates a network namespace and packet/raw sockets"
    for tool in ("ip", "ss"):
        if shutil.which(tool, path=TOOL_ENV["PATH"]) is None:
            return f"needs iproute2's `{tool}` on PATH"
    return None


class NsRun(subprocess.CompletedProcess[bytes]):
    """A finished command plus the pid it ran as (the tool's own pid, thanks to ip netns exec)."""

    def __init__(self, args: Sequence[str], pid: int, returncode: int, stdout: bytes, stderr: bytes) -> None:
        super().__init__(list(args), returncode, stdout, stderr)
        self.pid = pid

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    def with_stdout(self, stdout: bytes) -> NsRun:
        return NsRun(self.args, self.pid, self.returncode, stdout, self.stderr)


def run_command(cmd: Sequence[str], shown: Sequence[str], *, timeout: float, stdout: Any = None) -> NsRun:
    """Run cmd with a timeout (killed on expiry); the result names it as ``shown``."""
    with subprocess.Popen(
        list(cmd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE,
        env=TOOL_ENV,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
    return NsRun(shown, proc.pid, proc.returncode, out or b"", err)


def run_plain(argv: Sequence[str], *, timeout: float = TOOL_TIMEOUT) -> NsRun:
    """Run argv in the caller's namespace (for cases that need no sockets, e.g. bad options)."""
    return run_command(argv, argv, timeout=timeout)


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(["ip", *args], check=False, capture_output=True, timeout=TOOL_TIMEOUT, env=TOOL_ENV)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: exit {done.returncode}: {done.stderr.decode(errors='replace')}")
    return done


@dataclass
class ZooNamespace:
    """A live namespace holding the zoo; the tools run inside it."""

    name: str
    zoo: dict[str, Any]
    started: float
    holder: subprocess.Popen[bytes] = field(repr=False)
    unix_dir: str = ""

    @property
    def age(self) -> float:
        return time.monotonic() - self.started

    def run_in_ns(self, argv: Sequence[str], *, timeout: float = TOOL_TIMEOUT, stdout: Any = None) -> NsRun:
        """Run argv inside the namespace; output captured unless ``stdout`` is given."""
        cmd = ["ip", "netns", "exec", self.name, *argv]
        return run_command(cmd, argv, timeout=timeout, stdout=stdout)

    def ss(self, *args: str) -> NsRun:
        return self.run_in_ns(["ss", *args])

    def pyss(self, *args: str) -> NsRun:
        return self.run_in_ns([str(PYSS), *args])

    def netstat(self, *args: str) -> NsRun:
        return self.run_in_ns(["netstat", *args])

    def pynetstat(self, *args: str) -> NsRun:
        return self.run_in_ns([str(PYNETSTAT), *args])


def stale_namespaces() -> Iterator[str]:
    """Namespaces a killed earlier session left behind (its pid is gone)."""
    listing = ip("netns", "list", check=False).stdout.decode()
    for line in listing.splitlines():
        name = line.split(" ", 1)[0]
        pid = name.removeprefix(NS_PREFIX).split("-", 1)[0]
        if name.startswith(NS_PREFIX) and pid.isdigit() and not Path(f"/proc/{pid}").exists():
            yield name


@contextlib.contextmanager
def script_namespace(tag: str, script: str, *, stderr: Any = None) -> Iterator[str]:
    """A fresh netns with loopback up and ``script`` running in it until it has printed "ready"; yields its name.

    The script's stdin is a pipe that stays open, so a holder can block on it; the script is killed and the
    namespace deleted on the way out, whatever happened.
    """
    name = f"{NS_PREFIX}{tag}-{os.urandom(4).hex()}"
    ip("netns", "add", name)
    holder = None
    try:
        ip("-n", name, "link", "set", "lo", "up")
        holder = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", script],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)
        assert holder.stdout is not None and holder.stdout.readline() == b"ready\n"
        yield name
    finally:
        if holder is not None:
            holder.kill()
            holder.wait()
        ip("netns", "del", name, check=False)


def start_zoo(name: str, script: Path = ZOO_SCRIPT) -> ZooNamespace:
    """Create namespace ``name``, bring lo up, start the holder (``script``, by default the
    zoo) and wait for its READY line."""
    for stale in stale_namespaces():
        ip("netns", "del", stale, check=False)
    ip("netns", "add", name)
    try:
        ip("-n", name, "link", "set", "lo", "up")
        unix_dir = tempfile.mkdtemp(prefix=f"{name}-")
        holder = subprocess.Popen(
            ["ip", "netns", "exec", name, sys.executable, str(script), unix_dir],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=TOOL_ENV,
        )
    except BaseException:
        ip("netns", "del", name, check=False)
        raise
    ns = ZooNamespace(name, {}, time.monotonic(), holder, unix_dir)
    try:
        ns.zoo = wait_ready(holder)
    except BaseException:
        stop_zoo(ns)
        raise
    ns.started = time.monotonic()
    return ns


def wait_ready(holder: subprocess.Popen[bytes]) -> dict[str, Any]:
    assert holder.stdout is not None
    deadline = time.monotonic() + READY_TIMEOUT
    line = b""
    with selectors.DefaultSelector() as sel:
        sel.register(holder.stdout, selectors.EVENT_READ)
        while not line.endswith(b"\n") and time.monotonic() < deadline:
            if sel.select(deadline - time.monotonic()):
                chunk = os.read(holder.stdout.fileno(), 65536)
                if not chunk:
                    break
                line += chunk
    if not line.startswith(b"READY "):
        holder.kill()
        _, err = holder.communicate(timeout=5)
        raise RuntimeError(f"zoo did not get ready: stdout={line!r} stderr={err.decode(errors='replace')}")
    description: dict[str, Any] = json.loads(line[len(b"READY ") :])
    return description


def stop_zoo(ns: ZooNamespace) -> None:
    """Stop the holder (stdin EOF, then SIGTERM, then SIGKILL) and delete the namespace."""
    holder = ns.holder
    try:
        with contextlib.suppress(OSError):
            if holder.stdin is not None:
                holder.stdin.close()
        try:
            holder.wait(timeout=5)
        except subprocess.TimeoutExpired:
            holder.send_signal(signal.SIGTERM)
            try:
                holder.wait(timeout=5)
            except subprocess.TimeoutExpired:
                holder.kill()
                holder.wait(timeout=5)
        for pipe in (holder.stdout, holder.stderr):
            if pipe is not None:
                pipe.close()
    finally:
        ip("netns", "del", ns.name, check=False)
        if ns.unix_dir:
            shutil.rmtree(ns.unix_dir, ignore_errors=True)


# Namespace names stay unique across every keeper of this process.
_generations = itertools.count(1)


class ZooKeeper:
    """Owns the session's zoo and rebuilds it when its TIME-WAIT sockets near expiry."""

    def __init__(self) -> None:
        self.current: ZooNamespace | None = None

    def get(self, max_age: float = MAX_ZOO_AGE) -> ZooNamespace:
        if self.current is not None and self.current.age > max_age:
            self.close()
        if self.current is None:
            self.current = start_zoo(f"{NS_PREFIX}{os.getpid()}-{next(_generations)}")
        return self.current

    def close(self) -> None:
        if self.current is not None:
            ns, self.current = self.current, None
            stop_zoo(ns)


# ---------------------------------------------------------------------------
# Comparison


# A netlink row's local address: "<proto>:<comm>/<portid>", "<proto>:<portid>" or, with -n, "<n>:<portid>".
_NETLINK_LOCAL = re.compile(r"^[A-Za-z0-9_-]+:(?:[^\s/]+/)?(?P<portid>-?\d+)$")


def netlink_local(line: str) -> str | None:
    """The local-address field of a netlink row, or None if the line is no netlink row.

    With a Netid column a netlink row starts with ``nl``; without one (``-A netlink``
    alone) the local address is the fourth field.
    """
    fields = line.split()
    index = 4 if fields[:1] == ["nl"] else 3
    if len(fields) <= index:
        return None
    local = fields[index]
    return local if _NETLINK_LOCAL.match(local) else None


def is_own_row(line: str, pid: int) -> bool:
    """True for the netlink sockets of the tool that ran as ``pid``.

    A process's first netlink socket gets its pid as port id; later ones get
    negative port ids from the kernel's autobind rover. The zoo binds only to its
    own pid, to 0 (kernel) or to a fixed positive id, so a negative id is a tool's.
    """
    local = netlink_local(line)
    if local is None:
        return False
    match = _NETLINK_LOCAL.match(local)
    assert match is not None
    portid = int(match["portid"])
    return portid == pid or portid < 0


@dataclass(frozen=True)
class Rows:
    """A tool's output split into kept lines and the dropped own-socket rows."""

    kept: list[str]
    dropped: list[str]


def without_own_rows(run: NsRun) -> Rows:
    kept: list[str] = []
    dropped: list[str] = []
    for line in run.text.splitlines(keepends=True):
        (dropped if is_own_row(line, run.pid) else kept).append(line)
    return Rows(kept, dropped)


def widest_local(lines: Sequence[str]) -> int:
    return max((len(local) for line in lines if (local := netlink_local(line))), default=0)


def normalise_layout(text: str) -> str:
    """ss pads columns with runs of spaces and trailing blanks; reduce each line to single-space-separated fields.

    Only for tests that say they compare content, not layout.
    """
    return "".join(" ".join(line.split()) + "\n" for line in text.splitlines())


def unified(expected: Sequence[str], actual: Sequence[str], names: tuple[str, str]) -> str:
    diff = difflib.unified_diff(list(expected), list(actual), names[0], names[1], n=1)
    return "".join(line if line.endswith("\n") else line + "\n" for line in diff)


def describe(run: NsRun) -> str:
    """The command line as a person would type it (the tool's basename, not its path)."""
    return " ".join([Path(run.args[0]).name, *run.args[1:]])


def assert_same_status(expected: NsRun, actual: NsRun) -> None:
    assert actual.returncode == expected.returncode, (
        f"exit status: {describe(expected)} -> {expected.returncode}, {describe(actual)} -> {actual.returncode}\n"
        f"{describe(actual)} stderr:\n{actual.stderr.decode(errors='replace')}"
    )


def assert_same_output(expected: NsRun, actual: NsRun) -> None:
    """Byte-exact stdout and the same exit status."""
    if actual.stdout != expected.stdout:
        raise AssertionError(
            "stdout differs (byte-exact):\n"
            + unified(
                expected.text.splitlines(True), actual.text.splitlines(True), (describe(expected), describe(actual))
            )
            + f"{describe(actual)} stderr:\n{actual.stderr.decode(errors='replace')}"
        )
    assert_same_status(expected, actual)


def assert_same_rows(
    expected: NsRun, actual: NsRun, *, normalise: bool = False, ordered: bool = True
) -> tuple[list[str], list[str]]:
    """stdout equal once each tool's own netlink rows are dropped; same exit status.

    Everything else stays byte-exact unless ``normalise`` (padding) or
    ``ordered=False`` (row order) is asked for. Returns the dropped rows
    (expected's, actual's) so a caller can check them further.
    """
    want, got = without_own_rows(expected), without_own_rows(actual)
    for rows, run in ((want, expected), (got, actual)):
        # A dropped row that was the widest would have set a column's width.
        if rows.dropped and widest_local(rows.dropped) >= widest_local(rows.kept):
            raise AssertionError(
                f"{describe(run)}: its own row {rows.dropped!r} is the widest netlink row; "
                "dropping it cannot make the layouts comparable"
            )
    want_lines, got_lines = want.kept, got.kept
    if normalise:
        want_lines = normalise_layout("".join(want_lines)).splitlines(True)
        got_lines = normalise_layout("".join(got_lines)).splitlines(True)
    if not ordered:
        want_lines, got_lines = sorted(want_lines), sorted(got_lines)
    if want_lines != got_lines:
        relaxed = ", ".join(
            word
            for word, on in (
                ("own netlink rows dropped", True),
                ("padding normalised", normalise),
                ("order ignored", not ordered),
            )
            if on
        )
        raise AssertionError(
            f"stdout differs ({relaxed}):\n"
            + unified(want_lines, got_lines, (describe(expected), describe(actual)))
            + f"dropped from {describe(expected)}: {want.dropped!r}\n"
            + f"dropped from {describe(actual)}: {got.dropped!r}\n"
            + f"{describe(actual)} stderr:\n{actual.stderr.decode(errors='replace')}"
        )
    assert_same_status(expected, actual)
    return want.dropped, got.dropped


def has_traceback(stderr: bytes) -> bool:
    return b"Traceback (most recent call last)" in stderr or b"Exception ignored" in stderr


def first_failure(expected: NsRun, actual: NsRun, compare: Callable[[NsRun, NsRun], object]) -> AssertionError | None:
    try:
        compare(expected, actual)
    except AssertionError as failure:
        return failure
    return None


# The figures of ss -s that count the whole host, not the namespace: the TCP line's total and
# "closed" (both from sockstat's "alloc", tcp_sockets_allocated) and "orphaned" (tcp_orphan_count).
# Every other figure counts the namespace, which holds still while the zoo does.
_HOST_WIDE_FIGURES = re.compile(rb"^TCP:   (-?\d+) \(estab \d+, closed (-?\d+), orphaned (-?\d+),", re.MULTILINE)


def summary_parts(stdout: bytes) -> tuple[bytes, tuple[int, ...]]:
    """ss -s output with its host-wide figures masked, and those figures (none when there is no TCP line)."""
    found = _HOST_WIDE_FIGURES.search(stdout)
    if found is None:
        return stdout, ()
    masked = bytearray(stdout)
    for group in (3, 2, 1):  # from the right, so that the earlier spans stay where they are
        masked[found.start(group) : found.end(group)] = b"#"
    return bytes(masked), tuple(int(figure) for figure in found.groups())


def assert_same_summary(reference: Callable[[], NsRun], candidate: Callable[[], NsRun], attempts: int = 5) -> NsRun:
    """ss -s against pyss -s, the reference run before and after the candidate: the namespace's figures
    must be equal byte for byte (retried only when the reference disagreed with itself), and each
    host-wide figure must lie between the reference's two readings, which other processes on the host
    move (retried at most ``attempts`` times in all, and only for that)."""
    for attempt in range(1, attempts + 1):
        before, actual, after = reference(), candidate(), reference()
        (masked, figures), (masked_before, low), (masked_after, high) = map(summary_parts, (
            actual.stdout, before.stdout, after.stdout))
        assert_same_status(before, actual)
        if masked_before != masked_after:  # the namespace itself moved: try again
            failure = f"{describe(before)} disagreed with itself:\n" + unified(
                masked_before.decode().splitlines(True), masked_after.decode().splitlines(True), ("before", "after"))
        else:
            assert_same_output(before.with_stdout(masked_before), actual.with_stdout(masked))
            if len(figures) == len(low) and all(
                    min(a, b) <= figure <= max(a, b) for figure, a, b in zip(figures, low, high, strict=True)):
                return actual
            failure = (f"host-wide TCP figures (total, closed, orphaned): {describe(actual)} -> {figures}, "
                       f"{describe(before)} -> {low} before and {high} after")
        if attempt == attempts:
            raise AssertionError(f"{failure}\n(in each of {attempts} tries)")
    raise AssertionError("unreachable")


def assert_matches_reference(
    reference: Callable[..., NsRun],
    candidate: Callable[..., NsRun],
    argv: Sequence[str],
    *,
    own_rows: bool = False,
    attempts: int = 3,
) -> None:
    """Reference, candidate, reference again: the candidate must equal one of the two reference runs.

    ``reference``/``candidate`` are runners such as ``ns.ss``/``ns.pyss`` or
    ``ns.netstat``/``ns.pynetstat``; comparison is byte-exact, or with
    ``own_rows`` drops the tools' own netlink rows (assert_same_rows).

    Why the sandwich: netlink sockets of all namespaces share one kernel hash
    table, which rehashes as sockets come and go anywhere on the host (a netns
    created or deleted adds or removes its kernel sockets), and a rehash reorders
    netlink rows between two dumps. So a mismatch only counts when the reference
    agreed with itself around the candidate's run; otherwise the three runs are
    retried, at most ``attempts`` times.
    """
    compare: Callable[[NsRun, NsRun], object] = assert_same_rows if own_rows else assert_same_output
    for attempt in range(1, attempts + 1):
        before = reference(*argv)
        actual = candidate(*argv)
        after = reference(*argv)
        failure = first_failure(before, actual, compare)
        if failure is None or first_failure(after, actual, compare) is None:
            return
        if first_failure(before, after, compare) is None:
            raise failure
        if attempt == attempts:
            raise AssertionError(f"{failure}\n(the reference disagreed with itself in each of {attempts} tries)")
