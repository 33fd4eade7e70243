"""Hold N sockets in a private network namespace, for benchmarks and tests.

A leader process is started with ``unshare -n`` (so the namespace dies with its
last process and nothing is left mounted), brings ``lo`` up, widens the
namespace's ephemeral port range, and forks worker processes that open the
sockets. A process here may hold only ~20,000 files, so the sockets are split
over as many workers as their file descriptors need; each worker holds both
ends of its loopback pairs, connecting in non-blocking batches and accepting
them right after, which brings 100k sockets up in seconds.

Teardown never depends on the Python parent behaving: the leader and its
workers form one process group that :meth:`Load.close` kills, every process
asks the kernel for SIGKILL when its parent dies (``PR_SET_PDEATHSIG``), and the
leader also exits when its stdin (a pipe from the parent) closes.

Python::

    with Load(n=10_000) as load:
        load.run(["ss", "-s"])                 # a command inside the namespace
        with load.entered():                   # or: this thread inside it
            ...

Command line::

    python benchmarks/loadgen.py -n 100000 -- ss -s      # run one command, tear down
    python benchmarks/loadgen.py -n 100000               # hold until Ctrl-C / SIGTERM
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import errno
import json
import math
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from types import FrameType, TracebackType
from typing import Any, NoReturn

# File descriptors one worker may use for sockets, under the 20k hard limit with room for the interpreter's own.
FD_BUDGET = 18_000
# Listening ports sit below the namespace's ephemeral range so an outgoing connection can never take one first.
EPHEMERAL_RANGE = "20000 65535"
PROBE_PORT = 9000  # exactly PROBE_COUNT established connections go here: `( dport = :9000 )` matches ~10 sockets
PROBE_COUNT = 10
PORT_BASE = 5000  # worker w listens on PORT_BASE + w * PORTS_PER_WORKER + j
PORTS_PER_WORKER = 8
EXTRA_LISTEN_BASE = 10_000  # idle listeners of the mix
EXTRA_LISTEN_MAX = 10_000
DEST_ADDRESSES = 8  # connections go to 127.0.0.1 .. 127.0.0.8 to spread the 4-tuples further
BATCH = 512  # connects in flight before accepting them; far below the listen backlog
BACKLOG = 4096
# TIME-WAIT sockets expire after 60 s (fixed in the kernel), so worker 0 makes a fresh set every 55 s:
# the count stays between 1x and 2x the asked number, 2x only for a few seconds a minute.
TIME_WAIT_REFRESH = 55.0
READY_TIMEOUT = 180.0

KINDS = ("established", "listen", "time-wait", "close-wait", "udp")
DEFAULT_MIX: Mapping[str, float] = {
    "established": 0.96,
    "listen": 0.01,
    "time-wait": 0.01,
    "close-wait": 0.01,
    "udp": 0.01,
}

_PR_SET_PDEATHSIG = 1
_CLONE_NEWNET = 0x40000000


class LoadError(RuntimeError):
    """The load could not be brought up."""


@dataclass(frozen=True)
class WorkerPlan:
    """What one worker process opens; every count is of sockets or pairs it holds itself."""

    index: int
    pairs: int  # established loopback pairs (both ends held here)
    close_wait: int  # pairs half-closed by the client: CLOSE-WAIT on the server end, FIN-WAIT-2 on the client end
    udp: int
    listen: int  # idle listeners on EXTRA_LISTEN_BASE + listen_offset + i
    listen_offset: int
    probe: int  # connections to PROBE_PORT
    time_wait: int  # TIME-WAIT sockets kept alive by refreshing

    @property
    def ports(self) -> tuple[int, ...]:
        """The listening ports this worker's pairs connect to."""
        if not (self.pairs or self.close_wait or self.time_wait):
            return ()
        first = PORT_BASE + self.index * PORTS_PER_WORKER
        return tuple(range(first, first + PORTS_PER_WORKER))

    @property
    def fds(self) -> int:
        probe_listener = 1 if self.probe else 0
        return 2 * (self.pairs + self.close_wait + self.probe) + self.udp + self.listen + len(self.ports) + probe_listener


@dataclass(frozen=True)
class Plan:
    n: int
    workers: tuple[WorkerPlan, ...]

    def expected(self) -> dict[str, int]:
        """Sockets per ss state name (``UNCONN`` for UDP) once the load is up."""
        total = {name: sum(getattr(w, name) for w in self.workers) for name in
                 ("pairs", "close_wait", "udp", "listen", "probe", "time_wait")}
        listeners = sum(len(w.ports) + (1 if w.probe else 0) for w in self.workers) + total["listen"]
        return {
            "ESTAB": 2 * (total["pairs"] + total["probe"]),
            "LISTEN": listeners,
            "TIME-WAIT": total["time_wait"],
            "CLOSE-WAIT": total["close_wait"],
            "FIN-WAIT-2": total["close_wait"],
            "UNCONN": total["udp"],
        }

    def to_json(self) -> str:
        return json.dumps({"n": self.n, "workers": [asdict(w) for w in self.workers]})

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data = json.loads(text)
        return cls(n=data["n"], workers=tuple(WorkerPlan(**w) for w in data["workers"]))


def parse_mix(text: str) -> dict[str, float]:
    """``"established=0.9,udp=0.1"`` -> {kind: share of N}; kinds left out get 0."""
    mix = dict.fromkeys(KINDS, 0.0)
    for item in filter(None, (part.strip() for part in text.split(","))):
        kind, sep, value = item.partition("=")
        if not sep or kind.strip() not in mix:
            raise ValueError(f"bad mix item {item!r}: expected KIND=SHARE with KIND one of {', '.join(KINDS)}")
        share = float(value)
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"bad mix share {value!r}: expected 0..1")
        mix[kind.strip()] = share
    return mix


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def plan(n: int, mix: Mapping[str, float] | None = None, fd_budget: int = FD_BUDGET) -> Plan:
    """Apportion N sockets by kind and over as few workers as the file descriptor budget allows.

    Each kind gets ``round(share * n)`` sockets; kinds that come in pairs
    (established, close-wait) get half as many pairs. PROBE_COUNT of the
    established pairs go to PROBE_PORT.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    shares = {**dict.fromkeys(KINDS, 0.0), **(DEFAULT_MIX if mix is None else mix)}
    counts = {kind: round(shares[kind] * n) for kind in KINDS}
    pairs = counts["established"] // 2
    probe = min(PROBE_COUNT, pairs)
    pairs -= probe
    close_wait = counts["close-wait"] // 2
    listen = min(counts["listen"], EXTRA_LISTEN_MAX)
    fds = 2 * (pairs + close_wait + probe) + counts["udp"] + listen
    if fds == 0 and counts["time-wait"] == 0:
        return Plan(n=n, workers=())
    room = fd_budget - PORTS_PER_WORKER - 1
    count = max(1, math.ceil(fds / room))
    split_pairs = _split(pairs, count)
    split_cw = _split(close_wait, count)
    split_udp = _split(counts["udp"], count)
    split_listen = _split(listen, count)
    offsets = [sum(split_listen[:i]) for i in range(count)]
    workers = tuple(
        WorkerPlan(
            index=i,
            pairs=split_pairs[i],
            close_wait=split_cw[i],
            udp=split_udp[i],
            listen=split_listen[i],
            listen_offset=offsets[i],
            probe=probe if i == 0 else 0,
            time_wait=counts["time-wait"] if i == 0 else 0,
        )
        for i in range(count)
    )
    return Plan(n=n, workers=workers)


# --- inside the namespace: worker processes ---------------------------------------------------------------------

def _die_with_parent(parent: int) -> None:
    """Ask for SIGKILL when the parent goes, and go now if it already has."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)


def _listener(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", port))
    sock.listen(BACKLOG)
    return sock


def _pairs(listeners: Sequence[socket.socket], count: int) -> list[tuple[socket.socket, socket.socket]]:
    """Open `count` loopback pairs spread over the listeners, BATCH connects at a time."""
    ports = [sock.getsockname()[1] for sock in listeners]
    pairs: list[tuple[socket.socket, socket.socket]] = []
    for start in range(0, count, BATCH):
        clients: list[list[socket.socket]] = [[] for _ in listeners]
        for k in range(start, min(start + BATCH, count)):
            slot = k % len(listeners)
            client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            client.setblocking(False)
            err = client.connect_ex((f"127.0.0.{1 + k // len(listeners) % DEST_ADDRESSES}", ports[slot]))
            if err not in (0, errno.EINPROGRESS):
                raise OSError(err, os.strerror(err))
            clients[slot].append(client)
        # Loopback completes each handshake at once; accepting per listener pairs ends in arrival order.
        for listener, group in zip(listeners, clients, strict=True):
            for client in group:
                server, _ = listener.accept()
                pairs.append((client, server))
    return pairs


def _time_wait(listener: socket.socket, count: int) -> None:
    """Leave `count` TIME-WAIT sockets: the accepted end closes first, so it is the one that waits.

    Waiting on the server side keeps the 4-tuples (listening port, ephemeral
    port) clear of outgoing connects, which could otherwise recycle them.
    """
    for start in range(0, count, BATCH):
        for client, server in _pairs([listener], min(BATCH, count - start)):
            server.close()
            client.close()


def _open(work: WorkerPlan) -> list[Any]:
    """Open everything the worker plan asks for; the returned list keeps it all alive."""
    held: list[Any] = []
    listeners = [_listener(port) for port in work.ports]
    held += listeners
    if work.probe:
        probe = _listener(PROBE_PORT)
        held.append(probe)
        held += _pairs([probe], work.probe)
    held += _pairs(listeners, work.pairs) if work.pairs else []
    for client, server in _pairs(listeners, work.close_wait) if work.close_wait else []:
        client.shutdown(socket.SHUT_WR)
        held.append((client, server))
    for _ in range(work.udp):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        held.append(udp)
    held += [_listener(EXTRA_LISTEN_BASE + work.listen_offset + i) for i in range(work.listen)]
    if work.time_wait:
        _time_wait(listeners[0], work.time_wait)
    return held


def _worker(work: WorkerPlan, leader: int, ready: int) -> NoReturn:
    _die_with_parent(leader)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the whole group; the leader decides
    try:
        held = _open(work)
    except Exception as exc:  # reported to the leader, who fails the whole load
        os.write(ready, f"error worker {work.index}: {exc}\n".encode())
        os._exit(1)
    os.write(ready, b"ok\n")
    os.close(ready)
    while True:
        if work.time_wait:
            time.sleep(TIME_WAIT_REFRESH)
            _time_wait(held[0], work.time_wait)
        else:
            signal.pause()


# --- inside the namespace: the leader ---------------------------------------------------------------------------

def _prepare_namespace() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    settings = {
        "net/ipv4/ip_local_port_range": EPHEMERAL_RANGE,
        "net/core/somaxconn": "65535",
        "net/ipv4/tcp_max_syn_backlog": "65535",
    }
    for key, value in settings.items():
        with open(f"/proc/sys/{key}", "w") as f:
            f.write(value)


def _raise_fd_limit() -> None:
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _await_workers(pipes: dict[int, int], deadline: float) -> str | None:
    """Read each worker's readiness line; return the first error, or None when all are ready."""
    pending = dict(pipes)
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            return f"workers not ready after {READY_TIMEOUT:.0f} s"
        readable, _, _ = select.select(list(pending), [], [], left)
        for fd in readable:
            line = os.read(fd, 4096).decode(errors="replace").strip()
            if line != "ok":
                return line or "a worker died while opening sockets"
            os.close(fd)
            del pending[fd]
    return None


def _stop_workers(pids: Sequence[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _serve(work: Plan, parent: int) -> int:
    """The leader: prepare the namespace, fork the workers, report readiness, hold until told to stop."""
    _die_with_parent(parent)  # unshare exec()s us, so the parent is the Load's process
    started = time.monotonic()
    leader = os.getpid()
    stop: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.append(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)
    _prepare_namespace()
    _raise_fd_limit()
    pids: list[int] = []
    pipes: dict[int, int] = {}
    for work_item in work.workers:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            _worker(work_item, leader, write_end)
        os.close(write_end)
        pids.append(pid)
        pipes[read_end] = pid
    error = _await_workers(pipes, started + READY_TIMEOUT)
    if error:
        _stop_workers(pids)
        print(json.dumps({"error": error}), flush=True)
        return 1
    ready = {"pid": leader, "workers": pids, "expected": work.expected(), "seconds": time.monotonic() - started}
    print(json.dumps(ready), flush=True)
    status = _hold(pids, stop)
    _stop_workers(pids)
    return status


def _hold(pids: Sequence[int], stop: list[int]) -> int:
    """Wait for a signal, the parent's pipe closing, or a worker dying (an error: the load is no longer whole)."""
    # A signal must end the wait at once: select() alone would resume after the handler (PEP 475).
    wake_read, wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_write)
    while not stop:
        readable, _, _ = select.select([sys.stdin, wake_read], [], [], 0.5)
        if sys.stdin in readable and not os.read(sys.stdin.fileno(), 4096):
            return 0
        for pid in pids:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                print(f"loadgen: worker {pid} died", file=sys.stderr)
                return 1
    return 0


# --- outside: the parent's handle ---------------------------------------------------------------------------------

_LIVE: set[Load] = set()


def _close_all() -> None:
    for load in list(_LIVE):
        load.close()


atexit.register(_close_all)


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


class Load:
    """N sockets held in a private network namespace while the context is open.

    The thread that starts a Load must outlive it: the leader is asked to die
    with that thread (PR_SET_PDEATHSIG).
    """

    def __init__(self, n: int, mix: Mapping[str, float] | None = None) -> None:
        self.plan = plan(n, mix)
        self._proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}

    def __enter__(self) -> Load:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise LoadError("the load is not running")
        return self._proc.pid

    @property
    def netns(self) -> str:
        """The namespace's path, for nsenter --net= or open()."""
        return f"/proc/{self.pid}/ns/net"

    @property
    def probe_port(self) -> int:
        return PROBE_PORT

    @property
    def probes(self) -> int:
        """Established connections to the probe port (0 for a small or empty load)."""
        return sum(w.probe for w in self.plan.workers)

    @property
    def expected(self) -> dict[str, int]:
        return self.plan.expected()

    def start(self) -> Load:
        argv = ["unshare", "-n", "--", sys.executable, os.path.abspath(__file__),
                "--serve", self.plan.to_json(), "--parent", str(os.getpid())]
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
        _LIVE.add(self)
        try:
            self.info = self._await_ready()
        except BaseException:
            self.close()
            raise
        return self

    def _await_ready(self) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        readable, _, _ = select.select([self._proc.stdout], [], [], READY_TIMEOUT + 10)
        line = self._proc.stdout.readline() if readable else b""
        if not line:
            raise LoadError(f"the load of {self.plan.n} sockets did not come up")
        info: dict[str, Any] = json.loads(line)
        if "error" in info:
            raise LoadError(info["error"])
        return info

    def close(self) -> None:
        """Stop the leader (which stops its workers), then make sure the whole process group is gone."""
        proc, self._proc = self._proc, None
        _LIVE.discard(self)
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                stream.close()
        _wait_group_gone(proc.pid)

    def command(self, argv: Sequence[str]) -> list[str]:
        """``argv`` prefixed to run inside the namespace."""
        return [shutil.which("nsenter") or "nsenter", f"--net={self.netns}", "--", *argv]

    def run(self, argv: Sequence[str], check: bool = False, **kwargs: Any) -> subprocess.CompletedProcess[Any]:
        """Run a command inside the namespace (subprocess.run's keywords)."""
        return subprocess.run(self.command(argv), check=check, **kwargs)

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """Put this thread in the namespace (children it starts are born there), and bring it back."""
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        target = os.open(self.netns, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(target)
            try:
                yield
            finally:
                _setns(home)
        finally:
            os.close(target)
            os.close(home)


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group, from /proc."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:  # bytes: a command name need not be UTF-8
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            members.append(int(entry))
    return members


def _wait_group_gone(pgid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while group_members(pgid):
        if time.monotonic() > deadline:
            raise LoadError(f"processes of load group {pgid} still alive: {group_members(pgid)}")
        time.sleep(0.02)


# --- command line ---------------------------------------------------------------------------------------------------

def _arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Hold N sockets in a private network namespace.")
    parser.add_argument("-n", type=int, default=1000, help="number of sockets (default 1000)")
    parser.add_argument("--mix", type=parse_mix, default=None,
                        help=f"share of N per kind, e.g. established=0.9,udp=0.1 (kinds: {', '.join(KINDS)})")
    parser.add_argument("--serve", metavar="PLAN", help=argparse.SUPPRESS)
    parser.add_argument("--parent", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="run this inside the namespace, then tear down")
    return parser.parse_args(argv)


def _raise_exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(sys.argv[1:] if argv is None else argv)
    if args.serve:
        return _serve(Plan.from_json(args.serve), args.parent)
    if os.geteuid() != 0:
        print("loadgen: needs root (network namespaces)", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _raise_exit)
    signal.signal(signal.SIGHUP, _raise_exit)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    try:
        with Load(args.n, args.mix) as load:
            print(json.dumps({**load.info, "netns": load.netns, "probe_port": load.probe_port}), flush=True)
            if command:
                return load.run(command).returncode
            print(f"holding; enter with: nsenter --net={load.netns} -- ss -s   (Ctrl-C to stop)", file=sys.stderr)
            while True:
                signal.pause()
    except KeyboardInterrupt:
        return 130
    except LoadError as exc:
        print(f"loadgen: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
