"""Smoke run of the benchmark harness at N=1k, so that it cannot rot (root: it builds network namespaces)."""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))
loadgen = importlib.import_module("loadgen")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="the load generator needs root for network namespaces"),
]


def _states(load: object, argv: list[str]) -> Counter[str]:
    done = load.run(argv, capture_output=True, text=True, check=True)  # type: ignore[attr-defined]
    return Counter(line.split()[0] for line in done.stdout.splitlines()[1:] if line.strip())


def _netns_users(inode: int) -> list[int]:
    users = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{entry}/ns/net").st_ino == inode:
                users.append(int(entry))
        except OSError:
            continue
    return users


def _wait_gone(pgid: int, inode: int, timeout: float = 10.0) -> tuple[list[int], list[int]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = (loadgen.group_members(pgid), _netns_users(inode))
        if left == ([], []):
            return left
        time.sleep(0.05)
    return loadgen.group_members(pgid), _netns_users(inode)


def _pinned(netns: str) -> int:
    """An fd that keeps the namespace at ``netns`` alive: one that died could hand its inode number to a
    new namespace (nsfs reuses them), and that one's processes, another test's or another user's, would
    look like the load's. The caller closes it."""
    return os.open(netns, os.O_RDONLY | os.O_CLOEXEC)


def test_load_holds_the_planned_sockets_and_leaves_nothing_behind() -> None:
    with loadgen.Load(1000) as load:
        expected = load.expected
        pin = _pinned(load.netns)
        inode = os.fstat(pin).st_ino
        pgid = load.pid
        assert len(loadgen.group_members(pgid)) == 1 + len(load.plan.workers)
        assert _netns_users(inode)
        assert os.stat("/proc/self/ns/net").st_ino != inode
        tcp = _states(load, ["ss", "-tan"])
        udp = _states(load, ["ss", "-uan"])
        probe = load.run(["ss", "-Htn", "state", "established", f"( dport = :{load.probe_port} )"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert tcp["ESTAB"] == expected["ESTAB"] == 960
    assert tcp["LISTEN"] == expected["LISTEN"]
    assert tcp["CLOSE-WAIT"] == expected["CLOSE-WAIT"] > 0
    # The client end of a half-closed pair passes through FIN-WAIT-1 until the FIN is acknowledged.
    assert tcp["FIN-WAIT-1"] + tcp["FIN-WAIT-2"] == expected["FIN-WAIT-2"]
    assert tcp["TIME-WAIT"] >= expected["TIME-WAIT"] > 0
    assert udp["UNCONN"] == expected["UNCONN"] > 0
    assert len(probe) == loadgen.PROBE_COUNT
    try:
        assert _wait_gone(pgid, inode, timeout=0.5) == ([], [])
    finally:
        os.close(pin)


def test_entered_puts_only_this_thread_in_the_namespace_and_back() -> None:
    home = os.stat("/proc/thread-self/ns/net").st_ino
    with loadgen.Load(0) as load:
        with load.entered():
            assert os.stat("/proc/thread-self/ns/net").st_ino == os.stat(load.netns).st_ino
        assert os.stat("/proc/thread-self/ns/net").st_ino == home


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_a_dying_command_line_loadgen_takes_its_load_along(signum: int) -> None:
    proc = subprocess.Popen([sys.executable, str(BENCH / "loadgen.py"), "-n", "2000"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        pin = _pinned(info["netns"])
        try:
            inode = os.fstat(pin).st_ino
            assert len(loadgen.group_members(info["pid"])) == 1 + len(info["workers"])
            proc.send_signal(signum)
            proc.wait(timeout=10)
            assert _wait_gone(info["pid"], inode) == ([], [])
        finally:
            os.close(pin)
    finally:
        proc.kill()
        proc.wait()


def test_a_failing_load_reports_and_cleans_up(monkeypatch: pytest.MonkeyPatch) -> None:
    # Two workers asked for the same port: the second cannot bind, so the load must fail as a whole.
    bad = loadgen.Plan(n=2, workers=(loadgen.WorkerPlan(0, 1, 0, 0, 0, 0, 0, 0),
                                     loadgen.WorkerPlan(0, 1, 0, 0, 0, 0, 0, 0)))
    load = loadgen.Load(0)
    load.plan = bad
    with pytest.raises(loadgen.LoadError, match="worker 0"):
        load.start()
    assert load._proc is None


# The smoke run's time limit on a quiet machine; under load it is scaled by how much slower a bare
# interpreter starts now than in the last quiet benchmark run (benchmarks/results/latest.json).
QUIET_LIMIT = 60.0
MAX_SLOWDOWN = 8.0  # beyond this the machine is too loaded for the limit to mean anything: it stops growing


def _interpreter_start(runs: int = 5) -> float:
    """The median wall time of `python -c pass` on the interpreter the benchmarks time, now."""
    interpreter = importlib.import_module("run").pyss_interpreter()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([interpreter, "-c", "pass"], check=True)
        times.append(time.perf_counter() - started)
    return sorted(times)[runs // 2]


def _quiet_interpreter_start() -> float:
    results = json.loads((BENCH / "results" / "latest.json").read_text())
    return next(row["median"] for row in results["rows"]
                if row["comparison"] == "startup" and row["command"] == "python -c pass" and row["median"])


def test_harness_smoke_run_writes_a_results_table(tmp_path: Path) -> None:
    before = _interpreter_start()
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--sizes", "1k", "--repeat", "1", "--rounds", "2",
         "--json", str(tmp_path / "latest.json"), "--docs", str(tmp_path)],
        capture_output=True, text=True, timeout=QUIET_LIMIT * MAX_SLOWDOWN, check=False,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    slowdown = min(MAX_SLOWDOWN, max(1.0, max(before, _interpreter_start()) / _quiet_interpreter_start()))
    assert elapsed < QUIET_LIMIT * slowdown, f"{elapsed:.0f} s with the machine {slowdown:.1f}x slower than quiet"
    lines = done.stdout.splitlines()
    assert lines[0].split()[:4] == ["N", "comparison", "command", "median"]
    ss_row = next(line for line in lines if " tan " in line and "ss -tan" in line and "pyss" not in line)
    assert float(ss_row.split()[4]) > 0
    results = json.loads((tmp_path / "latest.json").read_text())
    assert {row["n"] for row in results["rows"]} == {1000}
    measured = {row["command"]: row for row in results["rows"] if row["comparison"] == "tan"}
    assert measured["ss -tan"]["median"] > 0
    assert measured["ss -tan"]["rss_kb"] > 0
    assert [len(times) for times in measured["ss -tan"]["rounds"]] == [1, 1]  # a headline comparison: each round
    summary = next(row for row in results["rows"] if row["comparison"] == "summary" and row["status"] == "ok")
    assert len(summary["rounds"]) == 1
    assert {t["key"] for t in results["targets"]} == {t.key for t in importlib.import_module("suite").TARGETS}
    assert "## Targets" in (tmp_path / "benchmarks.md").read_text()
    assert (tmp_path / "benchmarks.png").exists()


def test_a_subset_run_times_only_its_rows_and_writes_no_docs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--only", "startup", "--sizes", "0", "--repeat", "2",
         "--json", str(tmp_path / "subset.json")],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "subset.json").read_text())
    assert {(row["comparison"], row["command"]) for row in results["rows"]} == {
        ("startup", "pyss -tan"), ("startup", "python -c pass"), ("startup", "import pyss")}
    python = next(row for row in results["rows"] if row["command"] == "python -c pass")
    # The reference interpreter is pyss's own, never a shim script.
    assert python["status"] == "ok"
    assert [len(times) for times in python["rounds"]] == [2, 2, 2]
    assert not (tmp_path / "benchmarks.md").exists()
    assert "startup" in done.stdout


def test_unknown_comparison_is_refused() -> None:
    done = subprocess.run([sys.executable, str(BENCH / "run.py"), "--only", "nope"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "unknown comparison nope" in done.stderr


@pytest.mark.parametrize("call", ["floor-connections", "floor-answer"])
def test_the_net_connections_floor_reads_every_fd_of_the_load(call: str) -> None:
    """The floor under pyss.net_connections (benchmarks/bare_connections.py) must do the work it stands
    for: a readlink() of every fd (the load's among them, split between two processes), and with the answer,
    one sconn per fd read. A scan that skipped fds would make the floor look lower than it is."""
    with loadgen.Load(1000) as load:
        held = sum(worker.fds for worker in load.plan.workers)
        done = load.run([sys.executable, str(BENCH / "libbench.py"), call], capture_output=True, text=True,
                        check=True, env={**os.environ, "PYTHONPATH": str(BENCH.parent / "src")})
        everyone = _readable_fds()
    seconds, read = done.stdout.split()
    assert float(seconds) > 0
    # Every fd of every process, the load's too: within what came and went between the two counts.
    assert held < int(read)
    assert abs(int(read) - everyone) < max(200, everyone // 10), (read, everyone)


def _readable_fds() -> int:
    """The fds of every process whose link may be read (some are not even root's: a protected init's)."""
    readable = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            names = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for name in names:
            try:
                os.readlink(f"/proc/{pid}/fd/{name}")
            except OSError:
                continue
            readable += 1
    return readable
