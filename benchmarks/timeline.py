"""Where a `pyss -tan` run spends its wall time, as processes and CPUs: a timeline of one run.

    python benchmarks/timeline.py -n 50000 --tree src --runs 5 -- -tan

Runs pyss (``pyss.cli.ss.main`` from ``--tree``) inside a namespace holding N sockets
(benchmarks/loadgen.py), with thin wrappers (no copies of pyss's logic) that note
CLOCK_MONOTONIC in every process it forks: interpreter up, pyss imported, each
netlink send and receive, each fork, what a read-ahead child relays and the
parent takes from it, layout (SsWriter.flush), the writes to stdout, exit. The
clock is the same in every process, so the events line up; the driver notes
the spawn and the wait. No strace: its stops would stretch what it measures.
Per run it prints each process's events in ms since spawn, and at the end the
median of each event over the runs. CPU time of each process (user+sys) is
noted at its exit.
"""

from __future__ import annotations

import sys
import time

if len(sys.argv) > 1 and sys.argv[1] == "--shim":  # the traced child: as little as possible before pyss
    UP = time.monotonic_ns()
    import os

    _, _, TREE, OUT, *ARGS = sys.argv
    sys.path.insert(0, TREE)
    # Each event is written at once (O_APPEND, one write a line): a read-ahead child is killed, not ended.
    TRACE_FD = os.open(OUT, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def note(what: str, extra: object = "") -> None:
        os.write(TRACE_FD, f"{os.getpid()} {time.monotonic_ns()} {what} {extra}\n".encode())

    def note_cpu() -> None:
        note("cpu-ms", f"{time.process_time_ns() / 1e6:.1f}")

    os.write(TRACE_FD, f"{os.getpid()} {UP} up \n".encode())
    RECV_CPU = [0]  # CPU time spent inside the netlink socket's recv() (the kernel's dump work), ns
    # The wrapped modules first: the console script's entry (pyss.cli.launch) imports the transport first
    # too, and pyss.cli.ss only after it has started the early dump (pyss.system.output comes ~0.1 ms
    # sooner here than it would).
    from pyss.netlink import transport
    from pyss.system import output

    class TracedSocket:
        """A proxy of a netlink socket that notes each send and the first and last receive."""

        def __init__(self, sock: object) -> None:
            self._sock = sock
            self._received = 0

        def sendto(self, data: bytes, address: object) -> int:
            note("sendto-start", len(data))
            try:
                return self._sock.sendto(data, address)  # type: ignore[attr-defined,no-any-return]
            finally:
                note("sendto-end")

        def recv(self, size: int) -> bytes:
            start = time.thread_time_ns()
            data: bytes = self._sock.recv(size)  # type: ignore[attr-defined]
            RECV_CPU[0] += time.thread_time_ns() - start
            self._received += 1
            if self._received == 1:
                note("recv-first", len(data))
            if not data or transport.ends_dump(data):
                note("recv-last", f"{self._received} buffers, {RECV_CPU[0] / 1e6:.1f} ms CPU in recv")
            return data

        def __getattr__(self, name: str) -> object:
            return getattr(self._sock, name)

    original_init = transport.DiagSocket.__init__

    def traced_init(self: transport.DiagSocket) -> None:
        original_init(self)
        self._sock = TracedSocket(self._sock)  # type: ignore[assignment]

    transport.DiagSocket.__init__ = traced_init  # type: ignore[method-assign]

    original_fork = os.fork

    def traced_fork() -> int:
        note("fork-start")
        pid = original_fork()
        if pid == 0:
            RECV_CPU[0] = 0
            note("child-up")
        else:
            note("forked", pid)
        return pid

    os.fork = traced_fork

    original_exit = os._exit

    def traced_exit(status: int) -> None:
        note_cpu()
        note("child-exit")
        original_exit(status)

    os._exit = traced_exit  # type: ignore[assignment]

    if hasattr(transport, "_Relay"):
        original_buffers = transport._Relay.buffers

        def traced_buffers(self: object) -> object:
            count = 0
            try:
                for data in original_buffers(self):  # type: ignore[arg-type]
                    count += 1
                    if count == 1:
                        note("relay-first")
                    yield data
            finally:
                note("relay-last", count)

        transport._Relay.buffers = traced_buffers  # type: ignore[assignment]

    def _rows(block: object) -> int:
        """A batch block's row count: a keyed block (the plain listing) says it, a text block is its first column."""
        rows = getattr(block, "rows", None)
        return rows if isinstance(rows, int) else len(block[0])  # type: ignore[index]

    def trace_layout(render: object) -> None:
        """Note each layout of a batch (SsWriter._write_batch, or flush before it), once pyss imports the
        renderer itself."""
        layout_method = "_write_batch" if hasattr(render.SsWriter, "_write_batch") else "flush"  # type: ignore[attr-defined]
        original_flush = getattr(render.SsWriter, layout_method)  # type: ignore[attr-defined]

        original_lay_ahead = getattr(render.SsWriter, "lay_ahead", None)  # type: ignore[attr-defined]
        laid_ahead = [0, 0]  # blocks laid out ahead, CPU ns spent on it

        def traced_lay_ahead(self: object) -> bool:
            start = time.thread_time_ns()
            done: bool = original_lay_ahead(self)  # type: ignore[misc]
            if done:
                laid_ahead[0] += 1
                laid_ahead[1] += time.thread_time_ns() - start
                if laid_ahead[0] == 1:
                    note("lay-ahead-first")
            return done

        if original_lay_ahead is not None:
            render.SsWriter.lay_ahead = traced_lay_ahead  # type: ignore[attr-defined]

        def traced_flush(self: object) -> None:
            if self.batch:  # type: ignore[attr-defined]
                if original_lay_ahead is not None:
                    widths = render.column_widths(self.columns, self.maxima, self.screen_width)  # type: ignore[attr-defined]
                    kept = len(self.laid) if widths == self.laid_widths else 0  # type: ignore[attr-defined]
                    note("laid-ahead", f"{laid_ahead[0]} blocks in {laid_ahead[1] / 1e6:.1f} ms CPU,"
                                       f" {kept}/{len(self.batch)} kept")  # type: ignore[attr-defined]
                note("layout-start", sum(_rows(block) for block in self.batch))  # type: ignore[attr-defined]
                original_flush(self)
                note("layout-end")
            else:
                original_flush(self)

        setattr(render.SsWriter, layout_method, traced_flush)  # type: ignore[attr-defined]

    class AfterImport:
        """A finder that lets pyss import its renderer when it would (the start-up order is what is
        measured) and patches it then."""

        @staticmethod
        def find_spec(name: str, path: object, target: object = None) -> object:
            if name != "pyss.render.ss":
                return None
            import importlib.machinery

            spec = importlib.machinery.PathFinder.find_spec(name, path)  # type: ignore[arg-type]
            run = spec.loader.exec_module  # type: ignore[union-attr]

            def exec_module(module: object) -> None:
                run(module)  # type: ignore[arg-type]
                trace_layout(module)

            spec.loader.exec_module = exec_module  # type: ignore[union-attr,method-assign]
            return spec

    sys.meta_path.insert(0, AfterImport)  # type: ignore[arg-type]

    original_write = output._Output.write
    writes = [0, 0]

    def traced_write(self: output._Output, data: bytes) -> int:
        if not writes[0]:
            note("write-first", len(data))
        writes[0] += 1
        writes[1] += len(data)
        return original_write(self, data)  # type: ignore[arg-type]

    output._Output.write = traced_write  # type: ignore[assignment,method-assign]
    import atexit

    def at_end() -> None:
        note("write-last", f"{writes[0]}x{writes[1]}")
        note_cpu()
        note("exit")

    # The console script's way (command(): main, then an exit without the interpreter's teardown, which
    # runs the atexit functions first), where there is one.
    atexit.register(at_end)
    note("main")
    sys.argv = ["pyss", *ARGS]
    try:
        from pyss.cli.launch import pyss as script  # the console script's entry, where the tree has one
    except ImportError:
        from pyss.cli import ss as cli

        note("imported")
        script = getattr(cli, "command", lambda: cli.main(ARGS))
    status = script()
    atexit.unregister(at_end)
    at_end()
    os._exit(status)


import argparse  # the driver's imports stay out of the traced child's start-up
import statistics
import subprocess
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import Load


def one_run(tree: str, args: list[str], out: Path) -> list[tuple[int, float, str, str]]:
    """The events of one traced run: (pid, ms since spawn, event, extra), in time order."""
    out.unlink(missing_ok=True)
    argv = [sys.executable, str(Path(__file__).resolve()), "--shim", tree, str(out), *args]
    spawn = time.monotonic_ns()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)  # the caller entered the namespace
    done = time.monotonic_ns()
    events = [(0, 0.0, "spawn", ""), (0, (done - spawn) / 1e6, "reaped", "")]
    for line in out.read_text().splitlines():
        pid, stamp, what, *extra = line.split(" ", 3)
        events.append((int(pid), (int(stamp) - spawn) / 1e6, what, extra[0] if extra else ""))
    return sorted(events, key=lambda event: event[1])


def labelled(events: list[tuple[int, float, str, str]]) -> list[tuple[str, float, str]]:
    """Each event named by its process's role (P: pyss, C1, C2...: children in fork order) and its
    occurrence in that process (sendto-start#2)."""
    roles: dict[int, str] = {0: "driver"}
    seen: dict[str, int] = {}
    result = []
    for pid, stamp, what, extra in events:
        if pid not in roles:
            roles[pid] = "P" if what == "up" else f"C{len(roles) - 1}"
        key = f"{roles[pid]}:{what}"
        seen[key] = seen.get(key, 0) + 1
        result.append((f"{key}#{seen[key]}" if seen[key] > 1 else key, stamp, extra))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", default="src", help="the source tree (the directory holding pyss/)")
    parser.add_argument("-n", type=int, default=50_000, help="sockets to hold")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quiet", action="store_true", help="print only the medians")
    parser.add_argument("args", nargs="*", default=["-tan"])
    options = parser.parse_args()
    tree = str(Path(options.tree).resolve())
    import compileall

    compileall.compile_dir(tree, quiet=1)
    runs = []
    with Load(n=options.n) as load, tempfile.TemporaryDirectory() as scratch, load.entered():
        out = Path(scratch) / "events"
        one_run(tree, options.args, out)  # warm caches
        for _ in range(options.runs):
            runs.append(labelled(one_run(tree, options.args, out)))
    if not options.quiet:
        for index, run in enumerate(runs):
            print(f"--- run {index + 1}")
            for name, stamp, extra in run:
                print(f"{stamp:9.2f}  {name:24} {extra}")
    print(f"--- medians over {options.runs} runs, N={options.n}, pyss {' '.join(options.args)} (ms since spawn)")
    names = [name for name, _stamp, _extra in runs[0]]
    for name in names:
        stamps = [stamp for run in runs for key, stamp, _extra in run if key == name]
        extras = [extra for run in runs for key, _stamp, extra in run if key == name and extra]
        if len(stamps) == len(runs):
            print(f"{statistics.median(stamps):9.2f}  {name:24} {extras[0] if extras else ''}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
