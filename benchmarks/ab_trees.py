"""A/B timing of two pyss source trees on one command, interleaved, against N held sockets.

Used to check that a refactor keeps the speed: the same interpreter runs
``pyss.cli.ss.main`` from tree A and from tree B, alternating, inside one
namespace holding N sockets (benchmarks/loadgen.py); the output goes to
/dev/null and is also compared once between the trees (it must be identical).
The figures quoted are ratios of medians B/A, of wall time and of CPU time
(the command and the children it forks, from getrusage), which are fair on
a loaded machine only because the runs interleave.

    python benchmarks/ab_trees.py --a /tmp/before/src --b src -n 50000 --rounds 15 -- -tan

With ``--against ss,netstat`` the real tools run in the same rounds too (the same arguments), and
each tree's median is also given as a ratio to theirs, over all rounds and over each of ``--groups``
consecutive groups of rounds (the suite's targets are judged on the worst group).
"""

from __future__ import annotations

import argparse
import compileall
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import Load

# What the console script runs, in a tree that has it: pyss.cli.launch.pyss (the early dump, then
# pyss.cli.ss.command), a CLI's `command` (main, then an exit without teardown), else its main.
PROGRAM = """import sys
sys.path.insert(0, sys.argv.pop(1))
try:
    from pyss.cli.launch import {script} as entry
except ImportError:
    from pyss.cli import {tool} as cli
    entry = getattr(cli, "command", cli.main)
sys.exit(entry())
"""


def command(tree: str, args: list[str], tool: str) -> list[str]:
    return [sys.executable, "-c", PROGRAM.format(tool=tool, script="py" + tool), tree, *args]


def timed(load: Load, argv: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the children: the command and what it forks) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    load.run(argv, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", required=True, help="reference source tree (the directory holding pyss/)")
    parser.add_argument("--b", required=True, help="candidate source tree")
    parser.add_argument("-n", type=int, default=20_000, help="sockets to hold")
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--tool", default="ss", choices=("ss", "netstat"))
    parser.add_argument("--against", default="", help="real tools timed in the same rounds, e.g. ss,netstat")
    parser.add_argument("--groups", type=int, default=3, help="groups of rounds for the ratios to --against")
    parser.add_argument("args", nargs="*", default=["-tan"])
    options = parser.parse_args()
    tools = [name for name in options.against.split(",") if name]
    trees = [str(Path(options.a).resolve()), str(Path(options.b).resolve())]
    for tree in trees:
        # Byte-compile first: with PYTHONDONTWRITEBYTECODE (or an unwritable tree) every run would compile
        # every module it imports, and the larger tree would pay for its size instead of its speed.
        compileall.compile_dir(tree, quiet=1)
    with Load(n=options.n) as load:
        outputs = [load.run(command(tree, options.args, options.tool), check=True, capture_output=True).stdout
                   for tree in trees]
        if outputs[0] != outputs[1]:
            print("outputs differ between the trees", file=sys.stderr)
            return 1
        if options.tool in tools and load.run([options.tool, *options.args], capture_output=True).stdout != outputs[1]:
            print(f"tree B's output differs from {options.tool}'s", file=sys.stderr)
        argvs = [command(tree, options.args, options.tool) for tree in trees] + [[tool, *options.args] for tool in tools]
        times: list[list[tuple[float, float]]] = [[] for _ in argvs]
        for round_ in range(options.rounds):
            order = list(range(len(argvs)))
            if round_ % 2:
                order.reverse()
            for index in order:
                times[index].append(timed(load, argvs[index]))
    a, b = (statistics.median(wall for wall, _cpu in series) for series in times[:2])
    a_cpu, b_cpu = (statistics.median(cpu for _wall, cpu in series) for series in times[:2])
    lines = len(outputs[0].splitlines())
    print(f"N={options.n} ({lines} lines) {options.tool} {' '.join(options.args)}, {options.rounds} rounds each: "
          f"wall A {a * 1000:.1f} ms, B {b * 1000:.1f} ms, B/A = {b / a:.3f}; "
          f"CPU A {a_cpu * 1000:.1f} ms, B {b_cpu * 1000:.1f} ms, B/A = {b_cpu / a_cpu:.3f}")
    groups = [range(start, start + options.rounds // options.groups)
              for start in range(0, options.rounds - options.rounds // options.groups + 1, options.rounds // options.groups or 1)]
    for offset, tool in enumerate(tools, 2):
        for name, series in (("A", times[0]), ("B", times[1])):
            ratios = [statistics.median(series[i][0] for i in group) / statistics.median(times[offset][i][0] for i in group)
                      for group in groups]
            whole = statistics.median(wall for wall, _cpu in series) / statistics.median(wall for wall, _cpu in times[offset])
            print(f"  {name}/{tool}: {whole:.3f} over all rounds; by group of {len(groups[0])} rounds: "
                  + " ".join(f"{ratio:.3f}" for ratio in ratios) + f" (worst {max(ratios):.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
