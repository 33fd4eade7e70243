"""What the benchmark suite compares and against which targets, and the arithmetic on the timings (pure).

A comparison is a list of commands run interleaved (A B C A B C ...) after one
warm-up run of each, so drift in the machine's load hits every command alike.
The first command of a comparison is the subject; every other row reports the
ratio subject / that command, the form the targets are stated in.

One run can be lucky, so headline comparisons run in several separate rounds
(each with its own warm-up and interleaving, the other comparisons in between).
A ratio is taken within each round, between medians measured side by side; a
target holds only when its worst round meets it, and the best round is shown
beside it.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loadgen import PROBE_PORT

STARTUP = "startup"  # the comparison that runs only in the empty namespace (N=0)
# Timed runs per round of the library calls at 10k and up: a call of milliseconds in a fresh process (its first
# use of pyss inside the time) beside psutil's second. With 3, pyss.count's ratio at 50k was 0.049, 0.059 and
# 0.065 in three quiet runs of the suite.
LIB_RUNS = 7


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
    min_runs: int = 0  # at least this many timed runs per round (a subject of milliseconds beside a slow reference)
    headline: bool = False  # run in every round (the others run in the first round only)

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
    measure: str = "ratio"  # "ratio" (subject/reference medians), "rss_mb" (peak RSS), "rss_growth",
    # "rss_ratio" (subject's peak RSS / reference's)


def _filter_grep() -> str:
    return f"netstat -tan | grep -E ':{PROBE_PORT} +ESTABLISHED'"


FILTER = ("state", "established", f"( dport = :{PROBE_PORT} )")

COMPARISONS: tuple[Comparison, ...] = (
    Comparison("tan", "all TCP sockets, numeric", (
        Command("pyss -tan", ("pyss", "-tan")),
        Command("ss -tan", ("ss", "-tan")),
        Command("netstat -tan", ("netstat", "-tan")),
    ), headline=True),
    # What no Python program can beat: start the interpreter, dump, receive, decode nothing (bare_dump.py).
    Comparison("floor", "the floor under pyss -tan: a Python process that only receives the TCP dump", (
        Command("bare receive", ("python", "bare_dump.py")),
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
    ), headline=True),
    Comparison("stream", "all TCP sockets as JSON Lines (pyss's streaming output)", (
        Command("pyss --json-lines", ("pyss", "-tan", "--json-lines"), expect='"state":"ESTAB"'),
        Command("ss -tan", ("ss", "-tan")),
    )),
    Comparison("json", "all TCP sockets as one JSON array (peak RSS against the table's)", (
        Command("pyss --json", ("pyss", "-tan", "--json"), expect='"state":"ESTAB"'),
        Command("pyss -tan", ("pyss", "-tan")),
    )),
    Comparison("count", "TCP sockets counted by state", (
        Command("pyss --count-by state", ("pyss", "-tan", "--count-by", "state"), expect="ESTAB"),
        Command("ss | awk | sort | uniq -c", ("sh", "-c", "ss -tan | awk '{print $1}' | sort | uniq -c"),
                expect="ESTAB"),
    )),
    Comparison("watch", "one --watch interval (in-process, after the baseline) against one pyss -tan", (
        Command("pyss --watch interval", ("python", "watchbench.py"), self_timed=True),
        Command("pyss -tan", ("pyss", "-tan")),
    ), slow=True),
    Comparison("tanp", "all TCP sockets with their processes", (
        Command("pyss -tanp", ("pyss", "-tanp"), expect="users:(("),
        Command("ss -tanp", ("ss", "-tanp"), expect="users:(("),
    ), slow=True, headline=True),
    # netstat -tanp takes seconds at 100k and no target names it: measured once, beside pynetstat's own.
    Comparison("netstat-p", "netstat compatibility, with processes", (
        Command("pynetstat -tanp", ("pynetstat", "-tanp"), expect="/python"),
        Command("netstat -tanp", ("netstat", "-tanp"), expect="/python"),
    ), slow=True),
    Comparison("netstat", "netstat compatibility", (
        Command("pynetstat -tan", ("pynetstat", "-tan")),
        Command("netstat -tan", ("netstat", "-tan")),
    ), headline=True),
    Comparison("summary", "summary", (
        Command("pyss -s", ("pyss", "-s")),
        Command("ss -s", ("ss", "-s")),
    )),
    Comparison("lib", "library API, TCP of all states, in-process call", (
        Command("pyss.sockets", ("python", "libbench.py", "pyss"), self_timed=True),
        Command("psutil.net_connections", ("python", "libbench.py", "psutil"), self_timed=True),
        Command("pyss dump records", ("python", "libbench.py", "dump"), self_timed=True),
    ), slow=True, min_runs=LIB_RUNS),
    Comparison("lib-conn", "psutil's shape with fds and pids: pyss.net_connections('tcp')", (
        Command("pyss.net_connections", ("python", "libbench.py", "pyss-connections"), self_timed=True),
        Command("psutil.net_connections", ("python", "libbench.py", "psutil"), self_timed=True),
        # The floor (bare_connections.py): the dump received and every fd's readlink(), on two CPUs, nothing
        # built; then the same with psutil's answer made of nothing (a sconn and two addrs per fd read).
        Command("floor: receive + readlink", ("python", "libbench.py", "floor-connections"), self_timed=True),
        Command("floor + answer's tuples", ("python", "libbench.py", "floor-answer"), self_timed=True),
    ), slow=True, min_runs=LIB_RUNS),
    Comparison("lib-count", "TCP sockets counted by state", (
        Command("pyss.count", ("python", "libbench.py", "pyss-count"), self_timed=True),
        Command("Counter(psutil)", ("python", "libbench.py", "psutil-count"), self_timed=True),
    ), slow=True, min_runs=LIB_RUNS),
    Comparison("scrape", "one Prometheus scrape (GET /metrics) of a running exporter", (
        Command("pyss-exporter", ("python", "scrapebench.py", "pyss"), self_timed=True),
        Command("node_exporter tcpstat", ("python", "scrapebench.py", "node"), self_timed=True),
    ), slow=True),
    Comparison(STARTUP, "start-up in an empty namespace", (
        Command("pyss -tan", ("pyss", "-tan")),
        # "python" is the interpreter pyss's own script runs on (its shebang), never a version manager's shim.
        Command("python -c pass", ("python", "-c", "pass")),
        Command("import pyss", ("python", "-c", "import pyss")),
    ), headline=True),
)

def size_label(n: int) -> str:
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


BIG = 100_000
TAN_SIZES = (10_000, 50_000, BIG)  # -tan's targets hold at each size: start-up weighs more at the smaller ones


def _tan_targets() -> tuple[Target, ...]:
    targets: list[Target] = []
    for n in TAN_SIZES:
        k = size_label(n)
        targets += [
            Target(f"tan-ss-{k}", f"pyss -tan <= 0.75 x ss -tan at {k}", "tan", "pyss -tan", "ss -tan", 0.75, n),
            Target(f"tan-netstat-{k}", f"pyss -tan <= 0.5 x netstat -tan at {k}", "tan", "pyss -tan",
                   "netstat -tan", 0.5, n),
        ]
    return tuple(targets)


API_N = 50_000  # issue 10 states the library API's targets at 50k sockets
TARGETS: tuple[Target, ...] = (
    *_tan_targets(),
    Target("netstat", "pynetstat -tan <= 0.5 x netstat -tan at 100k", "netstat", "pynetstat -tan", "netstat -tan",
           0.5, BIG),
    Target("filter-grep", "filtered query <= 0.5 x netstat -tan | grep at 100k", "filter", "pyss filter",
           "netstat | grep", 0.5, BIG),
    Target("filter-ss", "filtered query <= 1.6 x ss with the same filter at 100k", "filter", "pyss filter",
           "ss filter", 1.6, BIG),
    Target("filter-ss-uncached", "the same, first run of the filter shape (parse cache off) <= 2.5 x", "filter",
           "pyss filter, uncached", "ss filter", 2.5, BIG),
    Target("tanp-ss", "pyss -tanp <= 0.2 x ss -tanp at 100k", "tanp", "pyss -tanp", "ss -tanp", 0.2, BIG),
    Target("tanp-rss", "peak RSS of pyss -tanp at 100k <= 50 MB", "tanp", "pyss -tanp", None, 50.0, BIG, "rss_mb"),
    Target("startup", "pyss -tan in an empty netns <= 2.5 x python -c pass", STARTUP, "pyss -tan",
           "python -c pass", 2.5, 0),
    Target("rss", "peak RSS of pyss -tan at 100k <= 80 MB", "tan", "pyss -tan", None, 80.0, BIG, "rss_mb"),
    Target("rss-flat", "peak RSS of the streaming output (--json-lines) at 100k <= 1.5 x at the smallest N",
           "stream", "pyss --json-lines", None, 1.5, BIG, "rss_growth"),
    Target("json-lines-ss", "pyss -tan --json-lines <= 1.0 x ss -tan at 100k", "stream", "pyss --json-lines",
           "ss -tan", 1.0, BIG),
    Target("json-rss", "peak RSS of pyss -tan --json <= 2 x pyss -tan's at 100k", "json", "pyss --json", "pyss -tan",
           2.0, BIG, "rss_ratio"),
    Target("count-by", "pyss -tan --count-by state <= 0.5 x ss -tan | awk '{print $1}' | sort | uniq -c at 100k",
           "count", "pyss --count-by state", "ss | awk | sort | uniq -c", 0.5, BIG),
    Target("watch", "one --watch interval <= one pyss -tan at 100k", "watch", "pyss --watch interval", "pyss -tan",
           1.0, BIG),
    Target("scrape-node", "pyss-exporter scrape <= 0.5 x node_exporter's tcpstat scrape at 100k", "scrape",
           "pyss-exporter", "node_exporter tcpstat", 0.5, BIG),
    Target("lib-psutil", "library API >= 5 x faster than psutil.net_connections('tcp') at 100k (ratio <= 0.2)",
           "lib", "pyss.sockets", "psutil.net_connections", 0.2, BIG),
    Target("api-sockets", "sum(1 for _ in pyss.sockets('tcp')) >= 10 x faster than psutil.net_connections('tcp') "
           "at 50k (ratio <= 0.1)", "lib", "pyss.sockets", "psutil.net_connections", 0.1, API_N),
    Target("api-connections", "pyss.net_connections('tcp') >= 5 x faster than psutil's at 50k (ratio <= 0.2)",
           "lib-conn", "pyss.net_connections", "psutil.net_connections", 0.2, API_N),
    Target("api-count", "pyss.count('tcp', by='state') >= 20 x faster than counting psutil's list at 50k "
           "(ratio <= 0.05)", "lib-count", "pyss.count", "Counter(psutil)", 0.05, API_N),
    Target("api-import", "import pyss costs no more than pyss -tan's start-up", STARTUP, "import pyss", "pyss -tan",
           1.0, 0),
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


def repetitions(n: int, slow: bool, override: int | None = None, minimum: int = 0) -> int:
    """Timed runs per command: many where runs are milliseconds, few where they are seconds (slow: ~0.5 s at N=0),
    at least ``minimum`` (a comparison's own); ``override`` (--repeat) wins over both."""
    if override is not None:
        return override
    if n <= 1_000:
        return max(7 if slow else 21, minimum)
    if n <= 10_000:
        return max(5 if slow else 11, minimum)
    return max(3 if slow else 7, minimum)


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
    """One command's outcome at one N: its timed runs, round by round."""

    n: int
    comparison: str
    command: str
    argv: str
    status: str = "ok"  # "ok" or "n/a: why"
    rounds: list[list[float]] = field(default_factory=list)
    rss_kb: int | None = None

    @property
    def times(self) -> list[float]:
        return [t for times in self.rounds for t in times]

    @property
    def median(self) -> float | None:
        """The median of every timed run, all rounds pooled."""
        return median(self.times) if self.status == "ok" else None

    def round_medians(self) -> list[float | None]:
        return [median(times) if self.status == "ok" else None for times in self.rounds]

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "comparison": self.comparison, "command": self.command, "argv": self.argv,
                "status": self.status, "rounds": self.rounds, "median": self.median, "rss_kb": self.rss_kb}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Row:
        rounds = data["rounds"] if "rounds" in data else [data["times"]]  # results from before rounds: one round
        return cls(n=data["n"], comparison=data["comparison"], command=data["command"], argv=data["argv"],
                   status=data["status"], rounds=[list(times) for times in rounds], rss_kb=data["rss_kb"])


def round_ratios(subject: Row, reference: Row) -> list[float]:
    """subject/reference of the medians in each round both ran in (measured side by side, so comparable)."""
    pairs = zip(subject.round_medians(), reference.round_medians(), strict=False)
    return [value for value in (ratio(a, b) for a, b in pairs) if value is not None]


def _find(rows: Sequence[Row], n: int, comparison: str, command: str) -> Row | None:
    for row in rows:
        if (row.n, row.comparison, row.command) == (n, comparison, command):
            return row
    return None


@dataclass(frozen=True)
class Verdict:
    target: Target
    n: int | None  # the N it was judged at (None: not measured)
    value: float | None  # the worst round's (the largest ratio); what the verdict is on
    verdict: str  # "PASS", "FAIL" or "n/a"
    note: str = ""
    best: float | None = None  # the best round's, for ratios over several rounds
    rounds: int = 0  # rounds the ratio was taken over

    def to_json(self) -> dict[str, Any]:
        return {"key": self.target.key, "text": self.target.text, "n": self.n, "value": self.value,
                "best": self.best, "rounds": self.rounds, "limit": self.target.limit, "verdict": self.verdict,
                "note": self.note}


def _judge_n(target: Target, sizes: Sequence[int]) -> tuple[int | None, str]:
    """The N to judge a target at: its own, else the largest run (noted), else none."""
    if target.n in sizes:
        return target.n, ""
    if target.n == 0 or not [n for n in sizes if n > 0]:
        return None, f"N={target.n} not run"
    largest = max(sizes)
    return largest, f"judged at N={largest}; the target is for N={target.n}"


def _values(target: Target, rows: Sequence[Row], n: int) -> tuple[list[float], str]:
    """The target's measure, one value per round for ratios, one value for sizes; [] and why when missing."""
    subject = _find(rows, n, target.comparison, target.subject)
    if subject is None or subject.status != "ok":
        return [], subject.status if subject else "not run"
    if target.measure == "rss_mb":
        return ([subject.rss_kb / 1024] if subject.rss_kb else []), ""
    if target.measure == "rss_ratio":
        reference = _find(rows, n, target.comparison, target.reference or "")
        if reference is None or not reference.rss_kb or not subject.rss_kb:
            return [], "no RSS measured"
        return [subject.rss_kb / reference.rss_kb], ""
    if target.measure == "rss_growth":
        smallest = min((row.n for row in rows if row.comparison == target.comparison
                        and row.command == target.subject and row.status == "ok" and row.rss_kb), default=n)
        base = _find(rows, smallest, target.comparison, target.subject)
        if smallest == n or base is None or not base.rss_kb or not subject.rss_kb:
            return [], "needs two sizes"
        return [subject.rss_kb / base.rss_kb], f"vs N={smallest}"
    reference = _find(rows, n, target.comparison, target.reference or "")
    if reference is None or reference.status != "ok":
        return [], f"{target.reference}: {reference.status if reference else 'not run'}"
    return round_ratios(subject, reference), ""


def judge(target: Target, rows: Sequence[Row], sizes: Sequence[int]) -> Verdict:
    """PASS only when the worst round meets the limit (every target is an upper bound)."""
    n, where = _judge_n(target, sizes)
    if n is None:
        return Verdict(target, None, None, "n/a", where)
    values, why = _values(target, rows, n)
    note = "; ".join(part for part in (where, why) if part)
    if not values:
        return Verdict(target, n, None, "n/a", note)
    worst = max(values)
    return Verdict(target, n, worst, "PASS" if worst <= target.limit else "FAIL", note, best=min(values),
                   rounds=len(values))


def _figure(value: float | None, digits: int) -> str:
    return f"{value:.{digits}f}" if value is not None else ""


def table_rows(rows: Sequence[Row]) -> list[list[str]]:
    """Header plus one line per row: N, comparison, command, median, round medians, subject/this ratios
    (worst and best round), peak RSS, runs."""
    lines = [["N", "comparison", "command", "median s", "round medians s", "first/this worst", "best", "RSS MB",
              "runs"]]
    for row in rows:
        first = next(r for r in rows if (r.n, r.comparison) == (row.n, row.comparison))
        ratios = round_ratios(first, row) if first is not row and row.status == "ok" else []
        lines.append([
            size_label(row.n),
            row.comparison,
            row.command,
            f"{row.median:.4f}" if row.median is not None else row.status,
            " ".join(_figure(m, 4) for m in row.round_medians()) if len(row.rounds) > 1 else "",
            _figure(max(ratios), 2) if ratios else "",
            _figure(min(ratios), 2) if len(ratios) > 1 else "",
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
    lines = [["target", "N", "worst", "best", "limit", "verdict", "note"]]
    for v in verdicts:
        lines.append([v.target.text, size_label(v.n) if v.n is not None else "", _figure(v.value, 3),
                      _figure(v.best, 3) if v.rounds > 1 else "", f"{v.target.limit:g}", v.verdict, v.note])
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines)
