"""A/B timing of one library call (benchmarks/libbench.py) from two pyss source trees, with psutil interleaved.

Each round runs, in a fresh interpreter inside one namespace holding N sockets
(benchmarks/loadgen.py), the call from tree A, from tree B and psutil's
counterpart, in rotating order; the figures are medians of the call's own
time (import left out, as libbench measures it) and their ratios, which are
fair on a loaded machine only because the runs interleave.

    python benchmarks/lib_ab.py --a /tmp/before/src --b src -n 50000 --rounds 9 pyss-connections
"""

from __future__ import annotations

import argparse
import compileall
import resource
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import Load

LIBBENCH = str(Path(__file__).resolve().parent / "libbench.py")
PROGRAM = ("import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); sys.argv.pop(0); "
           "runpy.run_path(sys.argv[0], run_name='__main__')")
REFERENCE = {"pyss-connections": "psutil", "pyss": "psutil", "pyss-count": "psutil-count", "dump": "psutil"}


def timed(load: Load, tree: str, call: str) -> tuple[float, float]:
    """The call's own seconds, as libbench prints them, and the CPU seconds of the whole run (start-up and
    import included) with every process it forked."""
    argv = [sys.executable, "-c", PROGRAM, tree, LIBBENCH, call]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = load.run(argv, check=True, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return float(done.stdout.split()[0]), (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", required=True, help="reference source tree (the directory holding pyss/)")
    parser.add_argument("--b", required=True, help="candidate source tree")
    parser.add_argument("-n", type=int, default=50_000, help="sockets to hold")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("call", nargs="?", default="pyss-connections", choices=sorted(REFERENCE))
    options = parser.parse_args()
    trees = [str(Path(options.a).resolve()), str(Path(options.b).resolve())]
    for tree in trees:
        compileall.compile_dir(tree, quiet=1)
    runs = [(trees[0], options.call), (trees[1], options.call), (trees[0], REFERENCE[options.call])]
    times: list[list[tuple[float, float]]] = [[], [], []]
    with Load(n=options.n) as load:
        for round_ in range(options.rounds):
            for index in [(round_ + shift) % 3 for shift in range(3)]:
                times[index].append(timed(load, *runs[index]))
    name = REFERENCE[options.call]
    for label, pick in (("call", 0), ("CPU of the run", 1)):
        a, b, reference = (statistics.median(run[pick] for run in series) for series in times)
        print(f"N={options.n} {options.call}, {label}, {options.rounds} rounds each (medians): A {a * 1000:.1f} ms, "
              f"B {b * 1000:.1f} ms, {name} {reference * 1000:.1f} ms; B/A = {b / a:.3f}, "
              f"A/{name} = {a / reference:.3f}, B/{name} = {b / reference:.3f}")
    # Each round's own ratios (a call against the reference run beside it), the worst as a target is judged.
    for tree, series in (("A", times[0]), ("B", times[1])):
        ratios = sorted(run[0] / reference_run[0] for run, reference_run in zip(series, times[2], strict=True))
        print(f"  {tree}/{name} call by round: best {ratios[0]:.3f}, median {statistics.median(ratios):.3f}, "
              f"worst {ratios[-1]:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
