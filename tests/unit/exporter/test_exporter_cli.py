"""pyss-exporter's command line without serving: --listen parsing, usage errors as one line, --version."""

from __future__ import annotations

import pytest

from pyss import __version__
from pyss.exporter.cli import Address, main, parse_listen


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
