"""Every entry point of both CLIs with stdout closed and with stdout full, next to ss and netstat.

Closed (``>&-``): ss and netstat exit 0 and say nothing; so must pyss and pynetstat.
Full (``>/dev/full``): ss and netstat also exit 0 and say nothing, their output silently lost;
pyss and pynetstat say "cannot write the output" in one line and exit 1 instead (docs/cli.md),
so a script learns that its listing is missing. The reference's status is asserted too, so this
test notices if iproute2 or net-tools ever start reporting the fault themselves.
"""

from __future__ import annotations

import pytest

from tests.integration import harness

FULL_MESSAGE = "cannot write the output: No space left on device\n"

# (reference tool, pyss tool, arguments): every command of both CLIs. pynetstat -M is left out:
# it has no masquerade support yet and so writes nothing at all (its own issue).
ENTRY_POINTS = [
    ("ss", "pyss", args) for args in (
        ["-tan"], ["-uan"], ["-xa"], ["-a"], ["-s"], ["-h"], ["-V"], ["-tan", "dport", "=", ":22"],
        ["-tani"], ["-ltnp"], ["-0a"], ["-tan", "-o", "-m"],
    )
] + [
    ("netstat", "pynetstat", args) for args in (
        ["-tan"], ["-uan"], ["-xa"], ["-a"], ["-s"], ["-st"], ["-V"], ["-r"], ["-rn"], ["-i"], ["-ie"],
        ["-g"], ["-ltnp"], ["-an", "--inet"], ["-wan"], ["-tane"], ["-tano"],
    )
]
IDS = [f"{pyss}{' ' + ' '.join(args)}" for _ref, pyss, args in ENTRY_POINTS]


def tool_path(name: str) -> str:
    return {"pyss": str(harness.PYSS), "pynetstat": str(harness.PYNETSTAT)}.get(name, name)


def run_with_stdout(zoo_ns: harness.ZooNamespace, redirect: str, tool: str, args: list[str]) -> harness.NsRun:
    return zoo_ns.run_in_ns(["sh", "-c", f'exec "$@" {redirect}', "sh", tool_path(tool), *args])


@pytest.mark.parametrize(("reference", "candidate", "args"), ENTRY_POINTS, ids=IDS)
def test_stdout_closed_exits_zero_quietly_like_the_reference(
        zoo_ns: harness.ZooNamespace, reference: str, candidate: str, args: list[str]) -> None:
    expected = run_with_stdout(zoo_ns, ">&-", reference, args)
    found = run_with_stdout(zoo_ns, ">&-", candidate, args)
    assert (found.returncode, found.stderr.decode()) == (expected.returncode, "")
    assert found.returncode == 0  # ss -a's "RTNETLINK answers" for tables it cannot dump is not this test's topic


@pytest.mark.parametrize(("reference", "candidate", "args"), ENTRY_POINTS, ids=IDS)
def test_stdout_full_says_so_in_one_line_and_exits_one(
        zoo_ns: harness.ZooNamespace, reference: str, candidate: str, args: list[str]) -> None:
    expected = run_with_stdout(zoo_ns, ">/dev/full", reference, args)
    assert expected.returncode == 0  # the reference loses its output silently
    found = run_with_stdout(zoo_ns, ">/dev/full", candidate, args)
    assert (found.returncode, found.stderr.decode()) == (1, f"{candidate}: {FULL_MESSAGE}")


def test_a_reader_that_goes_away_ends_pynetstat_quietly(zoo_ns: harness.ZooNamespace) -> None:
    found = zoo_ns.run_in_ns(["sh", "-c", f'"{harness.PYNETSTAT}" -an | head -c 1 >/dev/null'])
    assert found.stderr == b""


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_the_exporter_with_stdout_closed_or_full(zoo_ns: harness.ZooNamespace, args: list[str]) -> None:
    exporter = str(harness.BIN_DIR / "pyss-exporter")
    closed = run_with_stdout(zoo_ns, ">&-", exporter, args)
    assert (closed.returncode, closed.stderr) == (0, b"")
    full = run_with_stdout(zoo_ns, ">/dev/full", exporter, args)  # before: an OSError traceback from click
    assert (full.returncode, full.stderr.decode()) == (1, f"pyss-exporter: {FULL_MESSAGE}")


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
# (as whom, reference, pyss tool, arguments): runs that write to stderr along the way.
STDERR_CASES = [
    ([], "ss", "pyss", ["-tan", "sport", "=", ":99999"]),  # pyss warns that no socket has such a port
    ([], "ss", "pyss", ["-S"]),  # pyss says the kernel cannot list SCTP, where sctp_diag is missing
    ([], "ss", "pyss", ["-k"]),  # a bad option
    ([], "netstat", "pynetstat", ["-Q"]),
    (NOBODY, "netstat", "pynetstat", ["-tanp"]),  # both say that not every process could be identified
    (NOBODY, "ss", "pyss", ["-tan", "fwmark", "=", "0x1"]),  # pyss says marks are hidden from nobody
]


@pytest.mark.parametrize(("user", "reference", "candidate", "args"), STDERR_CASES,
                         ids=[f"{'nobody ' if user else ''}{pyss} {' '.join(args)}" for user, _, pyss, args in STDERR_CASES])
def test_stderr_full_changes_neither_the_output_nor_the_status(
        zoo_ns: harness.ZooNamespace, user: list[str], reference: str, candidate: str, args: list[str]) -> None:
    """A message that cannot be written (stderr on a full disk) is lost, as ss's and netstat's are: the
    listing and the exit status stay what they are. (A failed warning once ended the listing, exit 1.)"""
    expected = zoo_ns.run_in_ns(["sh", "-c", 'exec "$@" 2>/dev/full', "sh", *user, reference, *args])
    found = zoo_ns.run_in_ns(["sh", "-c", 'exec "$@" 2>/dev/full', "sh", *user, tool_path(candidate), *args])
    assert (found.returncode, found.text) == (expected.returncode, expected.text)
