"""pyss-exporter's command line without serving: --listen parsing, one-line errors, --version, start-up checks."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from pyss import __version__
from pyss.exporter.cli import Address, Failure, check_start, main, parse_listen, write_textfile
from pyss.exporter.source import (
    ENUMERATION,
    FAILED,
    INTERRUPTED,
    REFUSED,
    UNSUPPORTED,
    VANISHED,
    Options,
    Problem,
    Scrape,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:9433", Address("127.0.0.1", 9433)),
    ("[::1]:80", Address("::1", 80)),
    ("localhost:0", Address("localhost", 0)),
    ("0.0.0.0:65535", Address("0.0.0.0", 65535)),
])
def test_listen_parses(text: str, expected: Address) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["9433", ":9433", "host:", "host:http", "host:65536", "::1:80", "[::1:80", "[]:80",
                                  "host:-1"])
def test_bad_listen_is_one_line_and_status_2(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError):
        parse_listen(text)
    assert main(["--listen", text]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pyss-exporter: ") and err.count("\n") == 1 and "--listen" in err


@pytest.mark.parametrize("argv", [["--bogus"], ["--max-series", "0"], ["--max-series", "x"],
                                  ["--all-netns", "--netns", "a"], ["extra"]])
def test_usage_errors_are_one_line_and_status_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("pyss-exporter: ") and err.count("\n") == 1, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"pyss-exporter (pyss) {__version__}\n"


def test_help_names_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--listen", "--all-netns", "--netns", "--processes", "--tcp-info", "--max-series", "--textfile",
                   "--version", "--install-completion", "--show-completion"):
        assert option in out


def test_shell_completion_script(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Without this typer ignores "bash" and asks shellingham which shell runs the tests: none, when
    # they run under a job runner rather than a shell, and the option then fails with "Shell not supported".
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    with pytest.raises(SystemExit) as done:  # typer's completion options exit by themselves
        main(["--show-completion", "bash"])
    assert done.value.code == 0
    script = capsys.readouterr().out
    assert "_PYSS_EXPORTER_COMPLETE" in script and "complete " in script


def problems(*found: Problem) -> Scrape:
    return Scrape([], list(found), 0.0)


@pytest.mark.parametrize("problem", [
    Problem("", UNSUPPORTED, "tcp: the kernel cannot list these sockets (No such file or directory)", "tcp"),
    Problem("blue", VANISHED, 'no network namespace "blue" in /run/netns'),
    Problem("blue", REFUSED, 'cannot enter network namespace "blue": Operation not permitted'),
    Problem("", FAILED, "dump failed: Invalid argument"),
])
def test_start_up_stops_on_what_would_fail_every_scrape(problem: Problem) -> None:
    with pytest.raises(Failure, match=re.escape(problem.message)):
        check_start(problems(problem), Options(namespaces=["blue"]))


@pytest.mark.parametrize(("problem", "options"), [
    (Problem("", UNSUPPORTED, "packet: the kernel cannot list these sockets", "packet"), Options()),
    (Problem("", INTERRUPTED, "tcp: the kernel reported that sockets changed", "tcp"), Options()),
    (Problem("gone", VANISHED, 'network namespace "gone" is gone'), Options(all_namespaces=True)),
    (Problem("", REFUSED, "the network namespace of process 1: permission denied", ENUMERATION),
     Options(all_namespaces=True)),
])
def test_start_up_goes_on_despite(problem: Problem, options: Options) -> None:
    check_start(problems(problem), options)


def test_textfile_write_does_not_follow_a_link_planted_at_its_temporary_name(tmp_path: Path) -> None:
    # The textfile directory may be writable by others (node_exporter's is often group-writable): a
    # symlink planted where the temporary file goes must not turn root's write into one through it.
    import threading

    from prometheus_client import CollectorRegistry

    target = tmp_path / "pyss.prom"
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    # where prometheus_client's write_to_textfile puts its temporary file: a name others can predict
    (tmp_path / f"{target}.{os.getpid()}.{threading.current_thread().ident}").symlink_to(victim)
    write_textfile(target, CollectorRegistry(auto_describe=False))
    assert victim.read_text() == "precious\n"
    assert target.exists() and not target.is_symlink()


def test_textfile_temporary_files_are_never_opened_through_a_link(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from prometheus_client import CollectorRegistry

    from pyss.system import output

    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    target = tmp_path / "pyss.prom"
    monkeypatch.setattr(output, "_temporary_name", lambda path: f"{path}.planted")
    Path(f"{target}.planted").symlink_to(victim)
    with pytest.raises(Failure, match=r"^cannot write .*pyss\.prom: File exists$"):
        write_textfile(target, CollectorRegistry(auto_describe=False))
    assert victim.read_text() == "precious\n"
    assert not target.exists()
