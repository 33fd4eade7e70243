"""The filter parse cache: a cached filtered run now, against the same run with the cache of a
baseline revision (the marshal cache before issue 15), interleaved.

Usage: ``python benchmarks/filter_cache_bench.py [--runs 30] [--lookups 3000] [--baseline 400346a]``

Two measurements, each interleaved (new, old, old, new, ...) after one warm-up of each:

* whole runs: ``pyss -tanH dport = :443`` in a fresh interpreter whose cache already holds the
  filter's shape, so neither side imports pyparsing (checked);
* lookups alone: ``cache.lookup`` in-process on a file holding 64 shapes.

The baseline's cache module is read with ``git show REV:src/pyss/filter/cache.py`` and put in
place of the current one in the child; both sides are byte-compiled first. Each side has a cache
directory of its own. Prints medians and the ratio new / old (below 1: the new cache is faster).
"""

from __future__ import annotations

import argparse
import compileall
import os
import py_compile
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARGV = ["-tanH", "dport", "=", ":443"]

CHILD = """
import sys, time
start = time.perf_counter()
if {old_path!r}:
    import importlib.util, pyss.filter
    spec = importlib.util.spec_from_file_location("pyss.filter.cache", {old_path!r})
    module = importlib.util.module_from_spec(spec)
    sys.modules["pyss.filter.cache"] = module
    spec.loader.exec_module(module)
    pyss.filter.cache = module
from pyss.cli.ss import main
status = main({argv!r})
sys.stderr.write(f"{{time.perf_counter() - start}} {{'pyparsing' in sys.modules}}\\n")
raise SystemExit(status)
"""

LOOKUPS = """
import sys, time
if {old_path!r}:
    import importlib.util, pyss.filter
    spec = importlib.util.spec_from_file_location("pyss.filter.cache", {old_path!r})
    module = importlib.util.module_from_spec(spec)
    sys.modules["pyss.filter.cache"] = module
    spec.loader.exec_module(module)
from pyss.filter import cache
keys = ["dport = v" + " or dport = v" * count for count in range(64)]
for key in keys:
    count = key.count(" or ")
    raw = ("cond", "dport", "=", 8)
    for index in range(1, count + 1):
        raw = ("or", raw, ("cond", "dport", "=", 8 + 13 * index))
    cache.store(key, raw)
assert cache.lookup(keys[0])[0]
times = []
for _ in range({count}):
    start = time.perf_counter()
    cache.lookup(keys[0])
    times.append(time.perf_counter() - start)
print(sorted(times)[len(times) // 2])
"""


def baseline_module(revision: str, where: Path) -> Path:
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{revision}:src/pyss/filter/cache.py"],
                            capture_output=True, text=True, check=True).stdout
    path = where / "baseline_cache.py"
    path.write_text(source)
    py_compile.compile(str(path))  # both sides start from bytecode (PYTHONDONTWRITEBYTECODE may be set)
    compileall.compile_dir(str(ROOT / "src"), quiet=1)
    return path


def whole_run(old_path: str, cache_home: Path) -> tuple[float, bool]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    env.pop("PYSS_FILTER_CACHE", None)
    result = subprocess.run([sys.executable, "-c", CHILD.format(old_path=old_path, argv=ARGV)], env=env,
                            capture_output=True, text=True, check=True)
    seconds, imported = result.stderr.split()[-2:]
    return float(seconds), imported == "True"


def lookup_median(old_path: str, cache_home: Path, count: int) -> float:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    env.pop("PYSS_FILTER_CACHE", None)
    result = subprocess.run([sys.executable, "-c", LOOKUPS.format(old_path=old_path, count=count)], env=env,
                            capture_output=True, text=True, check=True)
    return float(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--lookups", type=int, default=3000)
    parser.add_argument("--baseline", default="400346a")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        where = Path(scratch)
        old = str(baseline_module(args.baseline, where))
        homes = {"new": where / "new", "old": where / "old"}
        for home in homes.values():
            home.mkdir(mode=0o700)
        sides = {"new": "", "old": old}
        runs: dict[str, list[float]] = {"new": [], "old": []}
        for side, path in sides.items():  # warm-up: fills each cache; the second must be a hit
            whole_run(path, homes[side])
            if whole_run(path, homes[side])[1]:
                raise SystemExit(f"{side}: a cached run imported pyparsing")
        for round_number in range(args.runs):
            order = list(sides.items()) if round_number % 2 == 0 else list(sides.items())[::-1]
            for side, path in order:  # new-old, then old-new: neither always runs first
                runs[side].append(whole_run(path, homes[side])[0])
        lookups: dict[str, list[float]] = {"new": [], "old": []}
        for _ in range(5):
            for side, path in sides.items():
                lookups[side].append(lookup_median(path, where / f"lookup-{side}", args.lookups))
    new, old = statistics.median(runs["new"]), statistics.median(runs["old"])
    print(f"whole cached run, N={args.runs} each, interleaved: new {new * 1e3:.2f} ms, "
          f"old {old * 1e3:.2f} ms, ratio new/old {new / old:.3f}")
    new, old = statistics.median(lookups["new"]), statistics.median(lookups["old"])
    print(f"lookup of the first of 64 shapes, 5 x {args.lookups} each, interleaved: new {new * 1e6:.1f} us, "
          f"old {old * 1e6:.1f} us, ratio new/old {new / old:.3f}")


if __name__ == "__main__":
    main()
