"""Turn a results file into docs/benchmarks.md and docs/benchmarks.png.

``python benchmarks/report.py [results.json]`` regenerates the docs from the
last run without measuring again. matplotlib is imported only to draw.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import suite

HERE = Path(__file__).resolve().parent
# Comparisons worth a curve over N (the others are flat or measured once).
PLOTTED = ("tan", "filter", "tanp", "lib")
# One colour per tool across panels, whatever else a panel lacks.
COLOURS = {"pyss": "C0", "ss": "C1", "netstat": "C2", "psutil": "C3"}

METHOD = """\
## Method

- `benchmarks/loadgen.py` holds the sockets in a private network namespace (`unshare -n`): established loopback
  pairs spread over worker processes (a process may hold ~20,000 files here, so 100k sockets take 6 workers),
  plus a mix of LISTEN, TIME-WAIT, CLOSE-WAIT (with its FIN-WAIT-2 peer) and UDP sockets: by default 96%
  established and 1% of each other kind. Exactly 10 established connections go to port 9000, the target of the
  filtered query. N is the total socket count asked for.
- `benchmarks/run.py` enters the namespace and, for each comparison, runs every command once as a warm-up and
  then interleaved (A B C A B C ...), so that drift in the machine's load hits each command alike. One run can
  be lucky, so the headline comparisons (`tan`, `filter`, `tanp`, `netstat`, `startup`) run in three separate
  rounds, one after another with the other comparisons in between; a ratio is taken within each round, and a
  target holds only when its **worst** round meets it (the best round is shown beside it). Commands are
  started with `posix_spawn`, stdout to `/dev/null`, `LC_ALL=C`, `PYTHONDONTWRITEBYTECODE` unset (the warm-up run caches bytecode, as an installed package has it), and reaped: wall time from spawn to reap.
  Peak RSS comes from one extra run under `/usr/bin/time -f %M` (for the grep pipeline, the largest of its
  processes): a child spawned straight from the harness would report the harness's own size.
- The table gives the median of all timed runs, each round's median, and *first/this*: the first command's
  median divided by this row's in the same round, worst and best round, the form the targets are stated in. Library calls are timed inside the process (`benchmarks/libbench.py`;
  interpreter start-up and imports excluded), both consuming TCP sockets of every state.
- The scrape comparison (`benchmarks/scrapebench.py`) starts each exporter inside the namespace on a loopback port
  (pyss-exporter with its default options, Debian's node_exporter with only `--collector.tcpstat`), scrapes it
  once untimed, then times one `GET /metrics` reading the whole body, and stops it; the body must hold the
  exporter's socket-state series. Each timed run starts a fresh exporter, so runs interleave like the others;
  the RSS column of these rows is the largest process of the run (the script or the exporter it started).
- A command that is missing, exits with an error or runs past the timeout shows as n/a, and so does one whose
  warm-up output shows it skipped the work (no `users:((...))` from `-p`, not exactly the 10 probe connections
  from the filtered query), so that it cannot look fast.
- `pyss filter` runs with pyss's filter-parse cache as it is after the warm-up (a filter shape seen before, as
  in a watch loop or a monitoring script); `pyss filter, uncached` turns the cache off (`PYSS_FILTER_CACHE=0`),
  the cost of a first run. The cache lives in a temporary directory for the run.
- The streaming comparison runs `pyss -tan --json-lines`, which holds no rows; its peak RSS at 100k is judged
  against its own at the smallest N.
- The machine is shared: the load average before and after the run is recorded below. Compare ratios from one
  run, not absolute times across runs.
- `pyss -tan` start-up is compared with `python -c pass` run by the interpreter named in pyss's own script,
  never a version manager's shim (a shell script that starts several times slower).
- Regenerate with `nox -s bench` (root, under 15 minutes on 2 cores); it also rewrites the speed table in the
  README between its marker comments. A quick subset for one row: `nox -s bench -- --only tan --sizes 100k
  --rounds 1` (writes `benchmarks/results/subset.json`, no docs).
"""


def _markdown_table(lines: Sequence[Sequence[str]]) -> str:
    head, *body = lines
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |" for line in body]
    return "\n".join(out)


def _figure(value: float | None) -> str:
    return f"{value:.3f}" if value is not None else ""


def _verdict_lines(targets: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    lines = [["target", "N", "worst round", "best round", "limit", "verdict", "note"]]
    for t in targets:
        several = t.get("rounds", 1) > 1
        lines.append([
            t["text"],
            suite.size_label(t["n"]) if t["n"] is not None else "",
            _figure(t["value"]),
            _figure(t.get("best")) if several else "",
            f"{t['limit']:g}",
            f"**{t['verdict']}**",
            t["note"],
        ])
    return lines


TIMES = "\N{MULTIPLICATION SIGN}"
README_BEGIN = "<!-- speed table: generated by benchmarks/run.py from docs/benchmarks.md's run; do not edit -->"
README_END = "<!-- end of speed table -->"


def _seconds(row: suite.Row | None) -> str:
    return f"{row.median:.3f} s" if row is not None and row.median is not None else ""


def _megabytes(row: suite.Row | None) -> str:
    return f"{row.rss_kb / 1024:.1f} MB" if row is not None and row.rss_kb else ""


def _measured(row: suite.Row | None, measure: str) -> str:
    """What a target compares of a row: its median time for a ratio of times, else its peak RSS."""
    return _seconds(row) if measure == "ratio" else _megabytes(row)


def speed_table(results: Mapping[str, Any]) -> str:
    """The README's speed table: every target with both medians, its worst and best round and the verdict."""
    rows = {(r.n, r.comparison, r.command): r for r in map(suite.Row.from_json, results["rows"])}
    targets = {t.key: t for t in suite.TARGETS}
    lines = [["target", "N", "pyss", "reference", "worst round", "best round", "verdict"]]
    for verdict in results["targets"]:
        target = targets.get(verdict["key"])
        if target is None or verdict["n"] is None:
            continue
        n = verdict["n"]
        subject = rows.get((n, target.comparison, target.subject))
        reference = rows.get((n, target.comparison, target.reference)) if target.reference else None
        unit = TIMES if target.measure in ("ratio", "rss_ratio") else (
            " MB" if target.measure == "rss_mb" else f"{TIMES} at the smallest N")
        value, best = verdict["value"], verdict.get("best")
        lines.append([
            target.text,
            suite.size_label(n),
            _measured(subject, target.measure),
            _measured(reference, target.measure),  # an RSS ratio's reference is an RSS too, never a time
            f"{value:.2f}{unit}" if value is not None else "n/a",
            f"{best:.2f}{unit}" if best is not None and verdict.get("rounds", 1) > 1 else "",
            verdict["verdict"],
        ])
    return "\n".join([
        README_BEGIN,
        f"Medians from `nox -s bench` ({results['generated']}, {results['machine'].get('nproc', '?')} CPUs, "
        f"load average {results['machine'].get('load average before', '?')} before); each ratio is taken within "
        "one round of interleaved runs, and a target holds when its worst round meets it "
        "(full table, method and plot in [docs/benchmarks.md](docs/benchmarks.md)):",
        "",
        _markdown_table(lines),
        README_END,
    ])


def write_readme(results: Mapping[str, Any], readme: Path) -> bool:
    """Replace the text between the README's speed-table markers; False (and no write) without both markers."""
    if not readme.exists():
        return False
    text = readme.read_text()
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < begin:
        return False
    readme.write_text(text[:begin] + speed_table(results) + text[end + len(README_END):])
    return True


def markdown(results: Mapping[str, Any], plot_name: str | None = "benchmarks.png") -> str:
    rows = [suite.Row.from_json(row) for row in results["rows"]]
    machine = results["machine"]
    titles = {c.key: c.title for c in suite.COMPARISONS}
    parts = [
        "# Benchmarks",
        "",
        f"Generated {results['generated']} by `benchmarks/run.py` in {results['seconds']} s "
        f"(sizes: {', '.join(suite.size_label(n) for n in results['sizes'])}). "
        "Rewritten by every run: do not edit by hand.",
        "",
        "## Targets",
        "",
        _markdown_table(_verdict_lines(results["targets"])),
        "",
        "## Results",
        "",
        "Comparisons: " + "; ".join(f"`{key}`: {title}" for key, title in titles.items()) + ".",
        "",
        _markdown_table(suite.table_rows(rows)),
        "",
    ]
    if plot_name:
        parts += [f"![wall time against N]({plot_name})", ""]
    parts += [METHOD, "## Machine", ""]
    parts += [f"- {key}: {value}" for key, value in machine.items()]
    return "\n".join(parts) + "\n"


def plot(results: Mapping[str, Any], path: Path) -> bool:
    """Median wall time against N, log-log, one panel per comparison; False when there is nothing to draw."""
    rows = [suite.Row.from_json(row) for row in results["rows"]]
    series: dict[str, dict[str, list[tuple[int, float]]]] = {key: {} for key in PLOTTED}
    for row in rows:
        if row.comparison in series and row.n > 0 and row.median is not None:
            series[row.comparison].setdefault(row.command, []).append((row.n, row.median))
    panels = [key for key in PLOTTED if series[key]]
    if not panels:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    titles = {c.key: c.title for c in suite.COMPARISONS}
    columns = min(2, len(panels))
    grid_rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(grid_rows, columns, figsize=(5.5 * columns, 4 * grid_rows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax, key in zip(axes.flat, panels, strict=False):
        for label, points in series[key].items():
            points.sort()
            colour = COLOURS.get(label.split()[0].split(".")[0])
            style = "--" if "uncached" in label else "-"  # a tool's second line keeps its colour
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label, color=colour,
                    linestyle=style)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("sockets (N)")
        ax.set_ylabel("median wall time, s")
        ax.set_title(titles[key], fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def write_docs(results: Mapping[str, Any], docs: Path) -> None:
    drawn = plot(results, docs / "benchmarks.png")
    docs.mkdir(parents=True, exist_ok=True)
    (docs / "benchmarks.md").write_text(markdown(results, "benchmarks.png" if drawn else None))


def main(argv: Sequence[str]) -> int:
    source = Path(argv[0]) if argv else HERE / "results" / "latest.json"
    write_docs(json.loads(source.read_text()), HERE.parent / "docs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
