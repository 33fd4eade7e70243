"""One --watch interval, timed in-process: ``watchbench.py [ROUNDS]`` prints the median seconds of one interval.

`pyss -tan --watch` dumps, compares with the previous dump and prints what
changed, every interval. This runs pyss's own command line for ROUNDS + 1
intervals (PYSS_WATCH_ROUNDS; output to /dev/null, no sleeping) and prints
the median of all but the first, which builds the baseline: the figure a
target compares with one whole `pyss -tan` run.
"""

from __future__ import annotations

import os
import statistics
import sys


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    os.environ["PYSS_WATCH_ROUNDS"] = str(rounds + 1)
    from pyss.cli import ss, watch

    with open(os.devnull, "w") as sink:
        original, sys.stdout = sys.stdout, sink
        try:
            status = ss.main(["-tan", "--watch=0.000001"])
        finally:
            sys.stdout = original
    if status != 0 or len(watch.TIMINGS) != rounds + 1:
        raise SystemExit(f"watch ended with status {status} after {len(watch.TIMINGS)} intervals")
    print(f"{statistics.median(watch.TIMINGS[1:]):.6f} {rounds}")


if __name__ == "__main__":
    main()
