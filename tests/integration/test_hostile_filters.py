"""Hostile and careless filter input, next to the real ss: endless files, NUL bytes, bytes that are
not UTF-8, deep nesting, ports out of range. One clear line and ss's exit status, never a traceback
or an endless read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.harness import NsRun, ZooNamespace, assert_same_rows, has_traceback

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: runs sockets in a private network namespace")


def stderr_lines(run: NsRun) -> list[str]:
    return run.stderr.decode("utf-8", "replace").splitlines()


def assert_one_clean_line(run: NsRun) -> None:
    assert not has_traceback(run.stderr), run.stderr.decode(errors="replace")
    assert len(stderr_lines(run)) == 1, run.stderr.decode(errors="replace")


def test_an_endless_filter_file_is_refused_at_once_with_ss_status(zoo_ns: ZooNamespace) -> None:
    expected = zoo_ns.ss("-tan", "-F", "/dev/zero")  # ss: "Invalid line"
    found = zoo_ns.pyss("-tan", "-F", "/dev/zero")  # before: read forever, 4 GB in 10 s
    assert found.returncode == expected.returncode == 255
    assert_one_clean_line(found)
    assert found.stdout == b""


def test_a_huge_filter_file_is_refused(zoo_ns: ZooNamespace, tmp_path: Path) -> None:
    huge = tmp_path / "huge"
    huge.write_bytes(b"# comment\n" * 200_000)  # 2 MB of lines ss would skip
    found = zoo_ns.pyss("-tan", "-F", str(huge))
    assert found.returncode == 255
    assert stderr_lines(found) == [f"pyss: filter file {huge} is longer than 1048576 bytes"]


def test_a_long_filter_with_a_mistake_is_quoted_around_it(zoo_ns: ZooNamespace, tmp_path: Path) -> None:
    """A generated filter (thousands of alternatives) with one bad address: ss names the bad word, and
    pyss quotes the filter around the column it points at, not all of it (it quoted ~200 kB in one line)."""
    path = tmp_path / "blocklist"
    alternatives = [f"dst 10.{n // 256}.{n % 256}.1" for n in range(10_000)]
    alternatives[5_000] = "dst 10.300.0.1"
    path.write_text(" or\n".join(alternatives) + "\n")  # one a line: ss reads lines of up to 1021 characters
    expected = zoo_ns.ss("-tan", "-F", str(path))
    found = zoo_ns.pyss("-tan", "-F", str(path))
    assert found.returncode == expected.returncode == 1
    assert_one_clean_line(found)
    line = stderr_lines(found)[0]
    column = " or ".join(alternatives).index("10.300.0.1") + 1  # the file's lines are read as one text
    assert line.startswith(f'pyss: bad filter at column {column}: "...') and "dst 10.300.0.1 or" in line, line
    assert len(line) < 400, line


def test_a_nul_byte_in_a_filter_file_is_a_filter_error(zoo_ns: ZooNamespace, tmp_path: Path) -> None:
    # ss reads the line up to the NUL and drops the rest silently; pyss refuses the line instead.
    path = tmp_path / "nul"
    path.write_bytes(b"dport = :22\0 or dport = :80\n")
    found = zoo_ns.pyss("-tan", "-F", str(path))  # before: a ValueError traceback from getservbyname
    assert found.returncode == 255
    assert stderr_lines(found) == ['pyss: bad filter at column 12: "dport = :22\\0 or dport = :80": '
                                   "a filter file line holds a NUL byte"]


@pytest.mark.parametrize("content", [b"dport = :\xff\xfe\n", b"src \xff\xfe\n", b"dev \xc3\x28\n",
                                     b"state \xff\n", b"\xff\n"])
def test_bytes_that_are_not_utf8_in_a_filter_file_fail_as_in_ss(
        zoo_ns: ZooNamespace, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "latin"
    path.write_bytes(content)
    expected = zoo_ns.ss("-tan", "-F", str(path))
    found = zoo_ns.pyss("-tan", "-F", str(path))  # before: a UnicodeDecodeError traceback
    assert found.returncode == expected.returncode != 0
    assert_one_clean_line(found)
    # the offending bytes are shown as they are, as ss shows them
    assert content.strip().split()[-1] in found.stderr


@pytest.mark.parametrize("words", [["dport", "=", ":99999"], ["sport", ">", ":70000"], ["dport", "=", ":-1"],
                                   ["dport", "=", ":0x10000"]])
def test_a_port_out_of_range_is_accepted_as_ss_does_but_said(zoo_ns: ZooNamespace, words: list[str]) -> None:
    expected = zoo_ns.ss("-tan", *words)
    found = zoo_ns.pyss("-tan", *words)
    assert expected.returncode == 0
    assert_same_rows(expected, found, normalise=True, ordered=False)
    (line,) = stderr_lines(found)  # before: nothing said
    assert line.startswith(f'pyss: port "{words[2][1:]}" is out of range (0-65535)')


@pytest.mark.parametrize(("levels", "inner"), [(1000, "sport = :22 or dport = :22"), (3000, "not sport = :22"),
                                               (9000, "autobound")])
def test_deep_nesting_that_ss_accepts_selects_what_ss_selects(zoo_ns: ZooNamespace, levels: int, inner: str) -> None:
    words = ("( " * levels + inner + " )" * levels).split()
    expected = zoo_ns.ss("-tan", *words)
    found = zoo_ns.pyss("-tan", *words)  # before: "nests too deeply" from 50 levels on
    assert expected.returncode == 0
    assert found.stderr == b""
    assert_same_rows(expected, found, normalise=True, ordered=False)


def test_nesting_deeper_than_ss_can_parse_is_refused_with_its_status(zoo_ns: ZooNamespace) -> None:
    words = ("( " * 10_001 + "autobound" + " )" * 10_001).split()
    expected = zoo_ns.ss("-tan", *words)  # bison: "memory exhausted"
    found = zoo_ns.pyss("-tan", *words)
    assert found.returncode == expected.returncode == 255
    assert_one_clean_line(found)


@pytest.mark.parametrize("words", [["src", "\udcff*"], ["src", "unix:*\udcfe"], ["\udcff"]])
def test_bytes_that_are_not_utf8_in_argv_unix_patterns_as_in_ss(zoo_ns: ZooNamespace, words: list[str]) -> None:
    # found by the CLI fuzz: a unix path pattern with an undecodable byte was a UnicodeEncodeError traceback
    expected = zoo_ns.ss("-xa", *words)
    found = zoo_ns.pyss("-xa", *words)
    assert found.returncode == expected.returncode
    assert not has_traceback(found.stderr)
    if expected.returncode == 0:
        assert_same_rows(expected, found, normalise=True, ordered=False)


@pytest.mark.parametrize(("length", "newline"), [(1021, True), (1022, True), (1022, False), (1023, False),
                                                 (1010, True)])
def test_a_filter_file_line_is_as_long_as_ss_reads(zoo_ns: ZooNamespace, tmp_path: Path, length: int,
                                                   newline: bool) -> None:
    """ss reads a -F file through a 1024-byte buffer and refuses a line that fills 1023 bytes, its
    newline counted, with "Too long line in filter" (exit 255): 1022 characters and a newline are
    refused, 1022 at the end of the file are not. Bytes count, not characters: the 1010-character
    line holds six 3-byte characters, 1022 bytes, 1023 with its newline."""
    word = "dst 127.0.0.1" if length != 1010 else "src /tmp/" + "\u20ac" * 6
    line = word + " " * (length - len(word))
    path = tmp_path / "long"
    path.write_text(line + ("\n" if newline else ""), encoding="utf-8")
    expected = zoo_ns.ss("-tan", "-F", str(path))
    found = zoo_ns.pyss("-tan", "-F", str(path))
    assert found.returncode == expected.returncode, (expected.stderr, found.stderr)
    assert found.stdout == expected.stdout
