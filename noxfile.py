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
    session.install("-e", ".[test,bench]")
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


@nox.session
def fuzz(session: nox.Session) -> None:
    """The fuzz layer at length: the suite runs each fuzz test with a few examples, this with many.

    Examples per test (default suite / here): netlink decoders 150 / 10,000; cache files and
    trees 200 / 10,000; filter words and files 200 / 5,000; argv lists per CLI 20 / 1,000;
    random expressions against the real ss on the zoo 15 / 600; churn dumps 15 / 300 per option
    set; the filter recognizer against pyparsing 300 / 10,000. The differential and churn parts need root (a private netns). About 20 minutes.
    """
    session.install("-e", ".[test]")
    session.run("pytest", "tests/fuzz", "tests/unit/filter/test_filter_recognize.py",
                "tests/integration/test_filter_fuzz.py", "tests/integration/test_churn.py",
                *session.posargs, env={"PYSS_FUZZ": "long"})
