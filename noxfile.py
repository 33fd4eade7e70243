"""Project sessions: tests, lint, typecheck, bench.  Run `nox -s tests`."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True
# Sessions use the interpreter that runs nox (Python >= 3.11), so `python3 -m nox` works on any machine.


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests everywhere; integration tests against the real ss/netstat when run as root.

    The bench extra (psutil, matplotlib) is installed too: the benchmark harness is tested so it cannot rot.
    """
    session.install("-e", ".[test,bench]")
    session.run("pytest", *session.posargs)


@nox.session(name="tests-one-cpu")
def tests_one_cpu(session: nox.Session) -> None:
    """The integration tests pinned to one CPU (`taskset -c 0`): paths that depend on the CPU count
    (the read-ahead child, the -p scan's shares) must give the same answers there."""
    session.install("-e", ".[test]")
    session.run("taskset", "-c", "0", "pytest", "-m", "integration", *session.posargs, external=True)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", "src", "tests", "benchmarks", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("-e", ".[test]", "mypy")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmark suite (root; several minutes): rewrites docs/benchmarks.md and its plot."""
    session.install("-e", ".[bench]")
    session.run("python", "benchmarks/run.py", *session.posargs)
