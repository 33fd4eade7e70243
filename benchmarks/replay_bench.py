"""The Python cost per socket of a plain listing, with the kernel left out: dumps captured once, replayed.

``pyss -tan`` spends its time in two places, the kernel's dump (in ``recv()``) and pyss's own
Python; on a loaded machine wall times of whole runs hide changes in the second. Here the dump
replies of one run are captured inside a loadgen namespace (root), saved, and fed again and again
to the CLI's ``main()`` in this process (``transport.dump`` replaced by a replay, no read-ahead
child), its output going to /dev/null; the figure is CPU time of this thread per socket, the best
of the repeats. Two source trees compare by running this script once with each on PYTHONPATH
(``--tree``), alternating, on the same capture.

    python benchmarks/replay_bench.py capture -n 50000 -o /tmp/tan50k.dump -- -tan
    python benchmarks/replay_bench.py run /tmp/tan50k.dump --tree src --repeat 15 -- -tan
    python benchmarks/replay_bench.py ab /tmp/tan50k.dump --a /tmp/main/src --b src -- -tan
    python benchmarks/replay_bench.py ir /tmp/tan50k.dump --tree src -- -tan     # instructions (valgrind)

``ir`` counts instructions (callgrind) of one replayed run, from runs of one and three replays
in one process: a figure that a loaded machine does not move, for changes of a few per cent.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import pickle
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _cli_main(tool: str):  # type: ignore[no-untyped-def]
    if tool == "netstat":
        from pyss.cli.netstat import main
    else:
        from pyss.cli.ss import main
    return main


@contextlib.contextmanager
def _stdout_to(target: io.TextIOBase) -> Iterator[None]:
    saved = sys.stdout
    sys.stdout = target  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout = saved


def capture(n: int, tool: str, args: Sequence[str], out: Path) -> None:
    sys.path.insert(0, str(HERE))
    from loadgen import Load
    from pyss.netlink import transport

    captured: list[list[bytes]] = []
    real = transport.dump

    def recording(message: bytes, read_ahead: bool = False, following: object = None,
                  work: object = None, *more: Any) -> Iterator[bytes]:
        buffers: list[bytes] = []
        captured.append(buffers)
        for buf in real(message, False, None, None, *more):
            buffers.append(bytes(buf))
            yield buf

    transport.dump = recording  # type: ignore[assignment]
    transport.read_ahead_helps = lambda: False  # type: ignore[assignment]
    main = _cli_main(tool)
    with Load(n=n) as load, load.entered(), open(os.devnull, "w") as sink, _stdout_to(sink):
        main(list(args))
    sockets = sum(_messages(buf) for dump in captured for buf in dump)
    out.write_bytes(pickle.dumps({"dumps": captured, "sockets": sockets}))
    print(f"captured {len(captured)} dumps, {sum(map(len, captured))} buffers, ~{sockets} sockets -> {out}")


def run(path: Path, tool: str, args: Sequence[str], repeat: int, output: Path | None) -> list[float]:
    """CPU seconds of each replayed run."""
    from pyss.netlink import transport

    captured: list[list[bytes]] = pickle.loads(path.read_bytes())["dumps"]
    calls = [0]

    def replay(message: bytes, read_ahead: bool = False, following: object = None,
               work: object = None, *more: Any) -> Iterator[bytes]:
        index = calls[0] % len(captured)
        calls[0] += 1
        yield from captured[index]

    transport.dump = replay  # type: ignore[assignment]
    transport.read_ahead_helps = lambda: False  # type: ignore[assignment]
    main = _cli_main(tool)
    if os.environ.get("REPLAY_NO_GC"):
        import gc

        gc.disable()
    if output is not None:
        calls[0] = 0
        with open(output, "w") as sink, _stdout_to(sink):
            main(list(args))
    times = []
    with open(os.devnull, "w") as sink, _stdout_to(sink):
        for _ in range(repeat):
            calls[0] = 0
            start = time.thread_time()
            main(list(args))
            times.append(time.thread_time() - start)
    return times


def _messages(buf: bytes) -> int:
    """Data messages (not NLMSG_DONE / errors) in a reply buffer."""
    count = offset = 0
    while offset + 16 <= len(buf):
        length = int.from_bytes(buf[offset:offset + 4], sys.byteorder)
        if int.from_bytes(buf[offset + 4:offset + 6], sys.byteorder) > 3:
            count += 1
        offset += max((length + 3) & ~3, 16)
    return count


def _sockets(path: Path) -> int:
    return int(pickle.loads(path.read_bytes())["sockets"])


def ab(path: Path, tool: str, args: Sequence[str], a: str, b: str, rounds: int, repeat: int) -> None:
    """Alternate the two trees, each run a fresh process doing ``repeat`` replays; compare best-of."""
    best: dict[str, list[float]] = {a: [], b: []}
    outputs = {}
    for tree in (a, b):
        out = Path(f"/tmp/replay_out_{os.getpid()}_{len(outputs)}")
        outputs[tree] = out
        _child(tree, path, tool, args, 1, out)
    if outputs[a].read_bytes() != outputs[b].read_bytes():
        print("outputs differ between the trees", file=sys.stderr)
    for out in outputs.values():
        out.unlink()
    for round_ in range(rounds):
        for tree in ((a, b) if round_ % 2 == 0 else (b, a)):
            best[tree].append(min(_child(tree, path, tool, args, repeat, None)))
    sockets = _sockets(path)
    ma, mb = statistics.median(best[a]), statistics.median(best[b])
    print(f"replay {path.name} ({tool} {' '.join(args)}), {rounds} rounds x best of {repeat}: "
          f"A {ma * 1000:.1f} ms, B {mb * 1000:.1f} ms CPU, B/A = {mb / ma:.3f}"
          f" (~{ma / sockets * 1e6:.2f} / {mb / sockets * 1e6:.2f} us a socket at ~{sockets} sockets)")


def _child(tree: str, path: Path, tool: str, args: Sequence[str], repeat: int, output: Path | None) -> list[float]:
    argv = [sys.executable, __file__, "run", str(path), "--tool", tool, "--repeat", str(repeat), "--raw"]
    if output is not None:
        argv += ["--output", str(output)]
    env = dict(os.environ, PYTHONPATH=str(Path(tree).resolve()))
    done = subprocess.run([*argv, "--", *args], env=env, check=True, capture_output=True, text=True)
    return [float(word) for word in done.stdout.split()]


def instructions(path: Path, tool: str, args: Sequence[str], tree: str) -> int:
    """Instructions one replayed run takes (callgrind), start-up and capture loading left out."""
    import re

    counts = []
    for repeat in (1, 3):
        argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__, "run",
                str(path), "--tool", tool, "--repeat", str(repeat), "--raw", "--", *args]
        env = dict(os.environ, PYTHONPATH=str(Path(tree).resolve()))
        done = subprocess.run(argv, env=env, check=True, capture_output=True, text=True)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if found is None:
            raise SystemExit(f"no instruction count from callgrind: {done.stderr[-500:]}")
        counts.append(int(found[1]))
    return (counts[1] - counts[0]) // 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("capture", "run", "ab", "ir"))
    parser.add_argument("path", nargs="?", type=Path)
    parser.add_argument("-n", type=int, default=50_000)
    parser.add_argument("-o", type=Path)
    parser.add_argument("--tool", default="ss", choices=("ss", "netstat"))
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--a")
    parser.add_argument("--b")
    parser.add_argument("--tree")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--raw", action="store_true")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    options = parser.parse_args(argv[:cut])
    options.args = argv[cut + 1:] or ["-tan"]
    if options.mode == "capture":
        capture(options.n, options.tool, options.args, options.o)
    elif options.mode == "run":
        if options.tree:
            sys.path.insert(0, str(Path(options.tree).resolve()))
        times = run(options.path, options.tool, options.args, options.repeat, options.output)
        if options.raw:
            print(" ".join(map(str, times)))
        else:
            sockets = _sockets(options.path)
            print(f"best {min(times) * 1000:.1f} ms, median {statistics.median(times) * 1000:.1f} ms CPU"
                  f" (~{min(times) / sockets * 1e6:.2f} us a socket at ~{sockets} sockets)")
    elif options.mode == "ir":
        count = instructions(options.path, options.tool, options.args, options.tree or "src")
        print(f"{count} instructions a run, {count / _sockets(options.path):.0f} a socket")
    else:
        ab(options.path, options.tool, options.args, options.a, options.b, options.rounds, options.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
