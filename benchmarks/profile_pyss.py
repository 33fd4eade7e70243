"""Where pyss spends its time (root): a pyinstrument profile under load, and its start-up imports.

    python benchmarks/profile_pyss.py                       # pyss -tan at 100k
    python benchmarks/profile_pyss.py -n 10k -- -tan state established

The profile runs inside a loadgen namespace; the import breakdown runs
``python -X importtime`` several times in an empty one and keeps each
module's fastest time, since single runs on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import loadgen
import suite

BIN = Path(sys.executable).parent
_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def profile(n: int, args: Sequence[str], interval: float) -> str:
    """pyinstrument's text report of one `pyss ARGS` run with n sockets."""
    argv = [str(BIN / "pyinstrument"), "-i", str(interval), "-r", "text", "--show-all", "-o", "/dev/stderr",
            str(BIN / "pyss"), *args]
    with loadgen.Load(n) as load:
        done = load.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=300)
    return str(done.stderr)


def fastest_imports(lines_per_run: Sequence[str]) -> dict[str, tuple[int, int]]:
    """{module: (self us, cumulative us)}, the minimum of each over the runs' -X importtime reports."""
    best: dict[str, tuple[int, int]] = {}
    for report in lines_per_run:
        for match in map(_IMPORT_LINE.match, report.splitlines()):
            if match is None:
                continue
            own, total, name = int(match[1]), int(match[2]), match[4]
            old = best.get(name, (own, total))
            best[name] = (min(old[0], own), min(old[1], total))
    return best


def import_times(args: Sequence[str], runs: int) -> dict[str, tuple[int, int]]:
    reports = []
    with loadgen.Load(0) as load:
        for _ in range(runs):
            done = load.run([sys.executable, "-X", "importtime", str(BIN / "pyss"), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60)
            reports.append(done.stderr)
    return fastest_imports(reports)


def format_imports(best: dict[str, tuple[int, int]], top: int) -> str:
    lines = [f"{'cumulative ms':>13}  {'self ms':>7}  module"]
    for name, (own, total) in sorted(best.items(), key=lambda item: -item[1][1])[:top]:
        lines.append(f"{total / 1000:13.1f}  {own / 1000:7.1f}  {name}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Profile pyss under load and break down its start-up imports.")
    parser.add_argument("-n", type=suite.parse_size, default=100_000, help="sockets for the profile (default 100k)")
    parser.add_argument("--interval", type=float, default=0.0005, help="pyinstrument sampling interval, s")
    parser.add_argument("--runs", type=int, default=9, help="-X importtime runs to take minima over")
    parser.add_argument("--top", type=int, default=25, help="import lines to print")
    parser.add_argument("pyss_args", nargs="*", default=["-tan"], help="pyss's arguments (default -tan)")
    args = parser.parse_args(argv)
    print(profile(args.n, args.pyss_args, args.interval))
    print(format_imports(import_times(args.pyss_args, args.runs), args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
