"""The benchmark harness (root): time pyss against ss, netstat and psutil over growing socket loads.

For each N a fresh :class:`loadgen.Load` holds the sockets in a private
network namespace; this thread enters that namespace so every command starts
inside it without a wrapper process. Each comparison runs its commands
interleaved after a warm-up (see :mod:`suite`); a command is started with
posix_spawn, stdout to /dev/null, and reaped for its wall time.
Peak RSS comes from one more run under /usr/bin/time: a child spawned from
this (large) interpreter inherits its high-water mark at exec, so wait4's
ru_maxrss would report the harness's size, not the command's. A command that is missing, fails or times out is reported
"n/a" and the run goes on.

Writes benchmarks/results/latest.json and rewrites docs/benchmarks.md,
docs/benchmarks.png and the README's speed table (see :mod:`report`). A subset
run (--only, other --sizes, fewer --rounds) writes results/subset.json and no docs.

    python benchmarks/run.py                      # N = 0, 10k, 50k, 100k; 3 rounds; docs and README
    python benchmarks/run.py --only tan --sizes 100k --rounds 1    # one row, quickly; no docs
    python benchmarks/run.py --only startup,filter --sizes 0,100k --repeat 5
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import loadgen
import report
import suite

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_JSON = HERE / "results" / "latest.json"
SUBSET_JSON = HERE / "results" / "subset.json"  # a quick subset run leaves the full results alone
DEFAULT_DOCS = ROOT / "docs"
DEFAULT_README = ROOT / "README.md"
DEFAULT_SIZES = [0, 10_000, 50_000, 100_000]
DEFAULT_ROUNDS = 3
TIME = "/usr/bin/time"
# Same locale for every command, so no one pays for translations the others skip.
# PYTHONDONTWRITEBYTECODE (set in some shells here) would make every pyss run recompile its
# modules: an installed package has bytecode, so the warm-up run is allowed to write it.
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}, "LC_ALL": "C", "LANG": "C"}


@dataclass(frozen=True)
class Sample:
    seconds: float
    exit_code: int | None  # None: killed for running past the timeout
    stdout: str
    stderr: str


def resolve(program: str) -> str | None:
    """A program's path: this venv's scripts first, then PATH; "python" is the interpreter pyss runs on."""
    if program == "python":
        return pyss_interpreter()
    local = Path(sys.executable).parent / program
    if local.exists():
        return str(local)
    return shutil.which(program)


def pyss_interpreter() -> str:
    """The interpreter named in pyss's script (its shebang), so that start-up compares like with like.

    A version manager's shim (a shell script) starts several times slower than the interpreter it finds.
    """
    script = resolve("pyss")
    with contextlib.suppress(OSError, UnicodeDecodeError):
        if script is not None:
            with open(script, "rb") as f:
                line = f.readline(512).decode()
            interpreter = line[2:].strip().split(" ")[0] if line.startswith("#!") else ""
            if os.path.isabs(interpreter) and os.access(interpreter, os.X_OK):
                return interpreter
    return sys.executable


def command_argv(command: suite.Command) -> list[str] | None:
    head = resolve(command.argv[0])
    if head is None:
        return None
    rest = [str(HERE / arg) if arg.endswith(".py") and (HERE / arg).exists() else arg for arg in command.argv[1:]]
    return [head, *rest]


def spawn(argv: Sequence[str], timeout: float, capture: bool, env: Mapping[str, str] | None = None) -> Sample:
    """Run once; stdout to /dev/null unless captured (then stdout and stderr go to temporary files)."""
    with contextlib.ExitStack() as stack:
        devnull = os.open(os.devnull, os.O_RDWR)
        stack.callback(os.close, devnull)
        out = stack.enter_context(tempfile.TemporaryFile()) if capture else None
        err = stack.enter_context(tempfile.TemporaryFile()) if capture else None
        actions = [
            (os.POSIX_SPAWN_DUP2, devnull, 0),
            (os.POSIX_SPAWN_DUP2, out.fileno() if out else devnull, 1),
            (os.POSIX_SPAWN_DUP2, err.fileno() if err else devnull, 2),
        ]
        killed: list[bool] = []
        start = time.perf_counter()
        pid = os.posix_spawn(argv[0], list(argv), ENV if env is None else env, file_actions=actions)
        timer = threading.Timer(timeout, _kill, (pid, killed))
        timer.start()
        _, status = os.waitpid(pid, 0)
        seconds = time.perf_counter() - start
        timer.cancel()
        return Sample(seconds, None if killed else os.waitstatus_to_exitcode(status), _read(out), _read(err))


def _kill(pid: int, killed: list[bool]) -> None:
    killed.append(True)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _read(stream: Any) -> str:
    if stream is None:
        return ""
    stream.seek(0)
    return str(stream.read().decode(errors="replace"))


def peak_rss_kb(argv: Sequence[str], timeout: float, env: Mapping[str, str] | None = None) -> int | None:
    """Peak RSS of one run, measured by /usr/bin/time from its own small fork (None if unavailable)."""
    if not os.path.exists(TIME):
        return None
    with tempfile.NamedTemporaryFile("r") as report:
        sample = spawn([TIME, "-f", "%M", "-o", report.name, "--", *argv], timeout, capture=False, env=env)
        text = report.read().strip().splitlines()
    if sample.exit_code is None or not text or not text[-1].isdigit():
        return None
    return int(text[-1])


def problem(sample: Sample, command: suite.Command, timeout: float, probes: int) -> str | None:
    """Why a run does not count, or None (output is checked only when captured, in the warm-up)."""
    if sample.exit_code is None:
        return f"timeout after {timeout:g} s"
    if sample.exit_code not in command.ok_status:
        last = sample.stderr.strip().splitlines()[-1:]  # a traceback's last line says what went wrong
        return f"exit {sample.exit_code}" + (f": {last[0].strip()[:80]}" if last else "")
    if command.self_timed and _self_time(sample) is None:
        return "printed no timing"
    return None if command.self_timed else suite.output_problem(command, sample.stdout, probes)


def _self_time(sample: Sample) -> float | None:
    try:
        return float(sample.stdout.split()[0])
    except (IndexError, ValueError):
        return None


def new_rows(comparison: suite.Comparison, n: int) -> list[suite.Row]:
    """The comparison's rows at this N, before any round; a command not installed is n/a from the start."""
    rows = [suite.Row(n, comparison.key, command.label, shlex.join(command.argv)) for command in comparison.commands]
    for row, command in zip(rows, comparison.commands, strict=True):
        if command_argv(command) is None:
            row.status = f"n/a: {command.argv[0]} not installed"
    return rows


def run_round(comparison: suite.Comparison, rows: Sequence[suite.Row], repeat: int, timeout: float,
              probes: int) -> None:
    """One round of the comparison (warm-up, then interleaved timed runs) appended to each row's rounds.

    Peak RSS is measured after the first round only.
    """
    commands = {command.label: command for command in comparison.commands}
    argvs = {label: command_argv(command) for label, command in commands.items()}
    by_label = {row.command: row for row in rows}
    first = not any(row.rounds for row in rows)
    times: dict[str, list[float]] = {label: [] for label in commands}
    for label, timed in suite.schedule(comparison.labels(), repeat):
        row, command, argv = by_label[label], commands[label], argvs[label]
        if row.status != "ok" or argv is None:
            continue
        # The warm-up captures output, to say why a command fails; timed runs write to /dev/null.
        sample = spawn(argv, timeout, capture=command.self_timed or not timed, env=command_env(command))
        why = problem(sample, command, timeout, probes if not timed else 0)
        if why:
            row.status, row.rounds = f"n/a: {why}", []
            continue
        if timed:
            times[label].append(_self_time(sample) if command.self_timed else sample.seconds)  # type: ignore[arg-type]
    for label, row in by_label.items():
        argv = argvs[label]
        if row.status != "ok" or argv is None:
            continue
        row.rounds.append(times[label])
        if first:
            row.rss_kb = peak_rss_kb(argv, timeout, command_env(commands[label]))


def run_comparison(comparison: suite.Comparison, n: int, repeat: int, timeout: float, probes: int) -> list[suite.Row]:
    """One round of one comparison (what the smoke test and quick checks use)."""
    rows = new_rows(comparison, n)
    run_round(comparison, rows, repeat, timeout, probes)
    return rows


def command_env(command: suite.Command) -> dict[str, str]:
    return {**ENV, **dict(command.env)}


def _skipped(comparison: suite.Comparison, n: int, why: str) -> list[suite.Row]:
    return [suite.Row(n, comparison.key, c.label, shlex.join(c.argv), status=f"n/a: {why}")
            for c in comparison.commands]


def comparisons_for(n: int, only: set[str] | None) -> list[suite.Comparison]:
    """Everything the user chose; start-up only in the empty namespace."""
    return [c for c in suite.COMPARISONS if (only is None or c.key in only) and (n == 0 or c.key != suite.STARTUP)]


def run_size(n: int, args: argparse.Namespace, deadline: float) -> list[suite.Row]:
    """Every chosen comparison at this N: round 1 runs them all, later rounds the headline ones again.

    The rounds follow each other (not back to back per comparison), so a burst of load on the machine
    that spoils one round leaves the others.
    """
    chosen = comparisons_for(n, args.only)
    rows = {comparison.key: new_rows(comparison, n) for comparison in chosen}
    with loadgen.Load(n, args.mix) as load:
        print(f"N={n}: {sum(load.expected.values())} sockets up in {load.info['seconds']:.1f} s", file=sys.stderr)
        with load.entered():
            for number in range(args.rounds):
                for comparison in chosen:
                    if number > 0 and not comparison.headline:
                        continue
                    if time.monotonic() > deadline:
                        if number == 0:
                            rows[comparison.key] = _skipped(comparison, n, "time budget spent")
                        continue
                    began = time.monotonic()
                    repeat = suite.repetitions(n, comparison.slow, args.repeat, comparison.min_runs)
                    run_round(comparison, rows[comparison.key], repeat, args.timeout, load.probes)
                    print(f"  round {number + 1} {comparison.key}: {time.monotonic() - began:.1f} s", file=sys.stderr)
    return [row for comparison in chosen for row in rows[comparison.key]]


def _first_line(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"


def _load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "ss": _first_line(["ss", "-V"]),
        "netstat": _first_line(["netstat", "-V"]),
        "pyss": _first_line(["git", "-C", str(ROOT), "log", "-1", "--format=%h %cd", "--date=iso"]),
    }


def _arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark pyss against ss, netstat and psutil (root).")
    parser.add_argument("--sizes", type=suite.parse_sizes, default=DEFAULT_SIZES,
                        help="socket counts, e.g. 0,10k,50k,100k (the default)")
    parser.add_argument("--repeat", type=int, default=None, help="timed runs per command and round (default: by N)")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS,
                        help="rounds of the headline comparisons (default 3; targets are judged on the worst)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a run counts as n/a")
    parser.add_argument("--budget", type=float, default=780.0,
                        help="seconds after which remaining comparisons are skipped (default 780)")
    parser.add_argument("--only", type=_comparison_keys, default=None,
                        help=f"comparisons to run (a quick subset), from: {','.join(c.key for c in suite.COMPARISONS)}")
    parser.add_argument("--mix", type=loadgen.parse_mix, default=None, help="loadgen socket mix")
    parser.add_argument("--json", type=Path, default=None,
                        help=f"results file (default {DEFAULT_JSON}; {SUBSET_JSON} for a subset)")
    parser.add_argument("--docs", type=Path, default=None,
                        help=f"where benchmarks.md/.png go (default {DEFAULT_DOCS}, with the README's speed table; "
                        "a subset run writes no docs unless this is given)")
    parser.add_argument("--readme", type=Path, default=None,
                        help=f"README whose speed table to regenerate (default {DEFAULT_README} when --docs is not given)")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite the docs or the README")
    args = parser.parse_args(argv)
    subset = args.only is not None or args.sizes != DEFAULT_SIZES or args.rounds < DEFAULT_ROUNDS
    if args.json is None:
        args.json = SUBSET_JSON if subset else DEFAULT_JSON
    if args.readme is None and args.docs is None and not subset:
        args.readme = DEFAULT_README
    if args.docs is None and not subset:
        args.docs = DEFAULT_DOCS
    return args


def _comparison_keys(text: str) -> set[str]:
    keys = {part.strip() for part in text.split(",") if part.strip()}
    unknown = keys - {c.key for c in suite.COMPARISONS}
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown comparison {', '.join(sorted(unknown))}; "
                                         f"known: {', '.join(c.key for c in suite.COMPARISONS)}")
    return keys


def _raise_exit(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(sys.argv[1:] if argv is None else argv)
    if os.geteuid() != 0:
        print("run.py: needs root (it builds network namespaces)", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _raise_exit)
    # pyss's filter-parse cache starts empty and is thrown away: the user's own is neither used nor touched.
    cache = tempfile.TemporaryDirectory(prefix="pyss-bench-cache-")
    ENV["XDG_CACHE_HOME"] = cache.name
    started = time.monotonic()
    load_before = _load_average()
    rows: list[suite.Row] = []
    for n in args.sizes:
        rows += run_size(n, args, started + args.budget)
    verdicts = [suite.judge(target, rows, args.sizes) for target in suite.TARGETS]
    print(suite.format_table(suite.table_rows(rows)))
    print()
    print(suite.format_verdicts(verdicts))
    results = {
        "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - started, 1),
        "machine": {**machine(), "load average before": load_before, "load average after": _load_average()},
        "sizes": args.sizes,
        "mix": dict(args.mix or loadgen.DEFAULT_MIX),
        "rows": [row.to_json() for row in rows],
        "targets": [verdict.to_json() for verdict in verdicts],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=1) + "\n")
    if not args.no_docs and args.docs is not None:
        report.write_docs(results, args.docs)
    if not args.no_docs and args.readme is not None:
        report.write_readme(results, args.readme)
    print(f"\n{results['seconds']} s; results in {args.json}", file=sys.stderr)
    cache.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
