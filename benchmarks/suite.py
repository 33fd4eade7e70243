"""What the benchmark suite compares and against which targets, and the arithmetic on the timings (pure).

A comparison is a list of commands run interleaved (A B C A B C ...) after one
warm-up run of each, so drift in the machine's load hits every command alike.
The first command of a comparison is the subject; every other row reports the
ratio subject / that command, the form the targets are stated in.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loadgen import PROBE_PORT

STARTUP = "startup"  # the comparison that runs only in the empty namespace (N=0)


@dataclass(frozen=True)
class Command:
    label: str
    argv: tuple[str, ...]  # argv[0] is a program name resolved by the harness (pyss, ss, python, ...)
    ok_status: tuple[int, ...] = (0,)  # grep says 1 when nothing matched, which is not a failure
    self_timed: bool = False  # prints its own elapsed seconds on stdout (in-process library calls)
    # Checks on the warm-up's output while sockets exist, so a command that skips the work cannot look fast:
    expect: str | None = None  # text the output must contain
    header_lines: int | None = None  # set: the output must be this many lines plus one per probe connection
    env: tuple[tuple[str, str], ...] = ()  # added to the environment every command gets


@dataclass(frozen=True)
class Comparison:
    key: str
    title: str
    commands: tuple[Command, ...]
    slow: bool = False  # seconds per run at 100k: fewer repetitions

    def labels(self) -> list[str]:
        return [command.label for command in self.commands]


@dataclass(frozen=True)
class Target:
    key: str
    text: str
    comparison: str
    subject: str
    reference: str | None  # None: an absolute limit on the subject (peak RSS) or its growth
    limit: float
    n: int
    measure: str = "ratio"  # "ratio" (subject/reference medians), "rss_mb" (peak RSS), "rss_growth"


def _filter_grep() -> str:
    return f"netstat -tan | grep -E ':{PROBE_PORT} +ESTABLISHED'"


FILTER = ("state", "established", f"( dport = :{PROBE_PORT} )")

COMPARISONS: tuple[Comparison, ...] = (
    Comparison("tan", "all TCP sockets, numeric", (
        Command("pyss -tan", ("pyss", "-tan")),
        Command("ss -tan", ("ss", "-tan")),
        Command("netstat -tan", ("netstat", "-tan")),
    )),
    Comparison("filter", f"kernel-filterable query: established, dport {PROBE_PORT} (~10 match)", (
        Command("pyss filter", ("pyss", "-tan", *FILTER), header_lines=1),
        Command("ss filter", ("ss", "-tan", *FILTER), header_lines=1),
        # A filter shape pyss has not seen: its parse cache cannot spare it the grammar's import.
        Command("pyss filter, uncached", ("pyss", "-tan", *FILTER), header_lines=1,
                env=(("PYSS_FILTER_CACHE", "0"),)),
        Command("netstat | grep", ("sh", "-c", _filter_grep()), ok_status=(0, 1), header_lines=0),
    )),
    Comparison("stream", "all TCP sockets as JSON Lines (pyss's streaming output)", (
        Command("pyss --json-lines", ("pyss", "-tan", "--json-lines"), expect='"state":"ESTAB"'),
        Command("ss -tan", ("ss", "-tan")),
    )),
    Comparison("tanp", "all TCP sockets with their processes", (
        Command("pyss -tanp", ("pyss", "-tanp"), expect="users:(("),
        Command("ss -tanp", ("ss", "-tanp"), expect="users:(("),
        Command("netstat -tanp", ("netstat", "-tanp"), expect="/python"),
    ), slow=True),
    Comparison("netstat", "netstat compatibility", (
        Command("pynetstat -tan", ("pynetstat", "-tan")),
        Command("netstat -tan", ("netstat", "-tan")),
    )),
    Comparison("summary", "summary", (
        Command("pyss -s", ("pyss", "-s")),
        Command("ss -s", ("ss", "-s")),
    )),
    Comparison("lib", "library API, TCP of all states, in-process call", (
        Command("pyss.sockets", ("python", "libbench.py", "pyss"), self_timed=True),
        Command("psutil.net_connections", ("python", "libbench.py", "psutil"), self_timed=True),
    ), slow=True),
    Comparison(STARTUP, "start-up in an empty namespace", (
        Command("pyss -tan", ("pyss", "-tan")),
        Command("python -c pass", ("python", "-c", "pass")),
    )),
)

BIG = 100_000
TARGETS: tuple[Target, ...] = (
    Target("tan-ss", "pyss -tan <= 1.0 x ss -tan at 100k", "tan", "pyss -tan", "ss -tan", 1.0, BIG),
    Target("tan-netstat", "pyss -tan <= 0.6 x netstat -tan at 100k", "tan", "pyss -tan", "netstat -tan", 0.6, BIG),
    Target("filter-grep", "filtered query <= 0.5 x netstat -tan | grep at 100k", "filter", "pyss filter",
           "netstat | grep", 0.5, BIG),
    Target("filter-ss", "filtered query <= 3 x ss with the same filter at 100k", "filter", "pyss filter",
           "ss filter", 3.0, BIG),
    Target("filter-ss-uncached", "the same, a filter shape not cached yet (first run)", "filter",
           "pyss filter, uncached", "ss filter", 3.0, BIG),
    Target("tanp-ss", "pyss -tanp <= 0.25 x ss -tanp at 100k", "tanp", "pyss -tanp", "ss -tanp", 0.25, BIG),
    Target("startup", "pyss -tan in an empty netns <= 6 x python -c pass", STARTUP, "pyss -tan",
           "python -c pass", 6.0, 0),
    Target("rss", "peak RSS of pyss -tan at 100k <= 80 MB", "tan", "pyss -tan", None, 80.0, BIG, "rss_mb"),
    Target("rss-flat", "peak RSS of the streaming output (--json-lines) at 100k <= 1.5 x at the smallest N",
           "stream", "pyss --json-lines", None, 1.5, BIG, "rss_growth"),
    Target("lib-psutil", "library API >= 5 x faster than psutil.net_connections('tcp') at 100k (ratio <= 0.2)",
           "lib", "pyss.sockets", "psutil.net_connections", 0.2, BIG),
)


def parse_size(text: str) -> int:
    """``"100k"`` -> 100000, ``"1m"`` -> 1000000, ``"250"`` -> 250."""
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if scale > 1 else text
    value = int(float(number) * scale)
    if value < 0:
        raise ValueError(f"negative size {text!r}")
    return value


def parse_sizes(text: str) -> list[int]:
    return sorted({parse_size(part) for part in text.split(",") if part.strip()})


def repetitions(n: int, slow: bool, override: int | None = None) -> int:
    """Timed runs per command: many where runs are milliseconds, few where they are seconds (slow: ~0.5 s at N=0)."""
    if override is not None:
        return override
    if n <= 1_000:
        return 7 if slow else 21
    if n <= 10_000:
        return 5 if slow else 11
    return 3 if slow else 7


def output_problem(command: Command, output: str, probes: int) -> str | None:
    """Why a warm-up's output shows the command did not do the comparison's work, or None.

    Checked only while the load holds sockets (probes > 0).
    """
    if probes == 0:
        return None
    if command.expect is not None and command.expect not in output:
        return f"output lacks {command.expect!r}"
    if command.header_lines is not None:
        lines = len([line for line in output.splitlines() if line.strip()])
        if lines != command.header_lines + probes:
            return f"printed {lines} lines, expected {command.header_lines + probes}"
    return None


def schedule(labels: Sequence[str], repeat: int) -> list[tuple[str, bool]]:
    """Run order as (label, timed): one untimed warm-up of each, then `repeat` interleaved rounds."""
    warmup = [(label, False) for label in labels]
    return warmup + [(label, True) for _ in range(repeat) for label in labels]


def median(values: Iterable[float]) -> float | None:
    data = list(values)
    return statistics.median(data) if data else None


def ratio(subject: float | None, reference: float | None) -> float | None:
    if subject is None or reference is None or reference <= 0:
        return None
    return subject / reference


@dataclass
class Row:
    """One command's outcome at one N."""

    n: int
    comparison: str
    command: str
    argv: str
    status: str = "ok"  # "ok" or "n/a: why"
    times: list[float] = field(default_factory=list)
    rss_kb: int | None = None

    @property
    def median(self) -> float | None:
        return median(self.times) if self.status == "ok" else None

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "comparison": self.comparison, "command": self.command, "argv": self.argv,
                "status": self.status, "times": self.times, "median": self.median, "rss_kb": self.rss_kb}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Row:
        return cls(n=data["n"], comparison=data["comparison"], command=data["command"], argv=data["argv"],
                   status=data["status"], times=list(data["times"]), rss_kb=data["rss_kb"])


def _find(rows: Sequence[Row], n: int, comparison: str, command: str) -> Row | None:
    for row in rows:
        if (row.n, row.comparison, row.command) == (n, comparison, command):
            return row
    return None


@dataclass(frozen=True)
class Verdict:
    target: Target
    n: int | None  # the N it was judged at (None: not measured)
    value: float | None
    verdict: str  # "PASS", "FAIL" or "n/a"
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"key": self.target.key, "text": self.target.text, "n": self.n, "value": self.value,
                "limit": self.target.limit, "verdict": self.verdict, "note": self.note}


def _judge_n(target: Target, sizes: Sequence[int]) -> tuple[int | None, str]:
    """The N to judge a target at: its own, else the largest run (noted), else none."""
    if target.n in sizes:
        return target.n, ""
    if target.n == 0 or not [n for n in sizes if n > 0]:
        return None, f"N={target.n} not run"
    largest = max(sizes)
    return largest, f"judged at N={largest}; the target is for N={target.n}"


def _value(target: Target, rows: Sequence[Row], n: int) -> tuple[float | None, str]:
    subject = _find(rows, n, target.comparison, target.subject)
    if subject is None or subject.status != "ok":
        return None, subject.status if subject else "not run"
    if target.measure == "rss_mb":
        return (subject.rss_kb / 1024 if subject.rss_kb else None), ""
    if target.measure == "rss_growth":
        smallest = min((row.n for row in rows if row.comparison == target.comparison
                        and row.command == target.subject and row.status == "ok" and row.rss_kb), default=n)
        base = _find(rows, smallest, target.comparison, target.subject)
        if smallest == n or base is None or not base.rss_kb or not subject.rss_kb:
            return None, "needs two sizes"
        return subject.rss_kb / base.rss_kb, f"vs N={smallest}"
    reference = _find(rows, n, target.comparison, target.reference or "")
    if reference is None or reference.status != "ok":
        return None, f"{target.reference}: {reference.status if reference else 'not run'}"
    return ratio(subject.median, reference.median), ""


def judge(target: Target, rows: Sequence[Row], sizes: Sequence[int]) -> Verdict:
    n, where = _judge_n(target, sizes)
    if n is None:
        return Verdict(target, None, None, "n/a", where)
    value, why = _value(target, rows, n)
    note = "; ".join(part for part in (where, why) if part)
    if value is None:
        return Verdict(target, n, None, "n/a", note)
    return Verdict(target, n, value, "PASS" if value <= target.limit else "FAIL", note)


def size_label(n: int) -> str:
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def table_rows(rows: Sequence[Row]) -> list[list[str]]:
    """Header plus one line per row: N, comparison, command, median, subject/this ratio, peak RSS, runs."""
    lines = [["N", "comparison", "command", "median s", "first/this", "RSS MB", "runs"]]
    for row in rows:
        first = next(r for r in rows if (r.n, r.comparison) == (row.n, row.comparison))
        value = ratio(first.median, row.median) if first is not row else None
        lines.append([
            size_label(row.n),
            row.comparison,
            row.command,
            f"{row.median:.4f}" if row.median is not None else row.status,
            f"{value:.2f}" if value is not None else "",
            f"{row.rss_kb / 1024:.1f}" if row.rss_kb else "",
            str(len(row.times)) if row.status == "ok" else "",
        ])
    return lines


def format_table(lines: Sequence[Sequence[str]]) -> str:
    """Plain text columns: left-aligned text, right-aligned figures."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    numeric = [i for i in range(len(widths)) if i == 0 or i >= 3]
    out = []
    for line in lines:
        cells = [cell.rjust(w) if i in numeric else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths,
                                                                                                   strict=True))]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def format_verdicts(verdicts: Sequence[Verdict]) -> str:
    lines = [["target", "N", "value", "limit", "verdict", "note"]]
    for v in verdicts:
        lines.append([v.target.text, size_label(v.n) if v.n is not None else "", f"{v.value:.3f}" if v.value is not None
                      else "", f"{v.target.limit:g}", v.verdict, v.note])
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines)
