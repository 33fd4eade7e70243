"""Command-line forms against the real ss and netstat (pyss.cli.options): both run in an empty private
network namespace with the same argv; the exit status must match, getopt's complaint must say the same
words (pyss's own option names aside), and where the options name a listing, stdout must match too.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.integration.harness import PYNETSTAT, PYSS, TOOL_ENV, NsRun, has_traceback, run_plain

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                       reason="needs root and unshare: each run gets an empty private network namespace"),
    pytest.mark.skipif(shutil.which("ss", path=TOOL_ENV["PATH"]) is None
                       or shutil.which("netstat", path=TOOL_ENV["PATH"]) is None,
                       reason="needs iproute2's ss and net-tools' netstat"),
]

# getopt's words, ambiguous abbreviations among them: glibc names the first match and each one unlike it
SS_COMPLAINTS = ["--f inet", "--f=inet", "--bogus=1", "--s", "--d", "--e", "--m", "--r", "--ipv", "--con", "--t", "--i", "--=x",
                 "--numeric=1", "--tcp=", "-f", "--family", "-N", "-A", "-k", "-tk", "-t-a", "---", "--help=x"]
NETSTAT_COMPLAINTS = ["--nu", "--n", "--i", "--in", "--un", "--a", "--p", "--r", "--ro", "--c", "--co", "--t",
                      "--tc", "--v", "--s", "--l", "--ud", "--=x", "--prot", "-A", "-Q", "-tQ", "--tcp=1"]
# options act in the order given: an option that ends the run hides a bad one after it
SS_IN_ORDER = ["-h -k", "-h?", "-V -k", "-f help -k", "-k -h", "-N nosuch -k", "-Z -k", "-f bogus -k"]
NETSTAT_IN_ORDER = ["-V -Q", "-h -Q", "-A nosuch -Q", "-Z -Q", "-? -Q", "-Q -V", "-tV -Q"]
# abbreviations that name one option of the tool (pyss's own options do not compete): the same listing
SS_LISTINGS = ["--no -t", "--to -t", "--so tcp", "--q=udp", "--tc -a", "-finet -t", "-t -- state listening"]
NETSTAT_LISTINGS = ["--ine", "--ip", "--unix", "--li -t", "--numeric-h -t", "--al --ra", "-t -- -Q"]


def in_empty_netns(program: str, args: str) -> NsRun:
    return run_plain(["unshare", "--net", program, *args.split()])


def complaint(run: NsRun, program: str) -> str:
    """The first stderr line without the program's name and pyss's pointer to --help."""
    line = run.stderr.decode(errors="replace").partition("\n")[0]
    return line.removeprefix(f"{program}: ").removesuffix(f" (try '{program} --help')")


def compare(args: str, tool: str, ours: str, *, same_stdout: bool) -> tuple[NsRun, NsRun]:
    expected, actual = in_empty_netns(tool, args), in_empty_netns(ours, args)
    assert not has_traceback(actual.stderr), actual.stderr
    assert actual.returncode == expected.returncode, (args, expected, actual)
    if same_stdout:
        assert actual.stdout == expected.stdout, (args, expected.stdout, actual.stdout)
    return expected, actual


@pytest.mark.parametrize("args", SS_COMPLAINTS)
def test_ss_complains_in_getopt_words(args: str) -> None:
    expected, actual = compare(args, "ss", str(PYSS), same_stdout=True)
    assert expected.returncode == 255
    assert complaint(actual, "pyss") == complaint(expected, "ss")


@pytest.mark.parametrize("args", NETSTAT_COMPLAINTS)
def test_netstat_complains_in_getopt_words(args: str) -> None:
    expected, actual = compare(args, "netstat", str(PYNETSTAT), same_stdout=True)
    assert expected.returncode == 3
    assert complaint(actual, "pynetstat") == complaint(expected, "netstat")


@pytest.mark.parametrize("args", SS_IN_ORDER)
def test_ss_reads_options_in_order(args: str) -> None:
    expected, actual = compare(args, "ss", str(PYSS), same_stdout=False)
    assert bool(actual.stdout) == bool(expected.stdout)


@pytest.mark.parametrize("args", NETSTAT_IN_ORDER)
def test_netstat_reads_options_in_order(args: str) -> None:
    expected, actual = compare(args, "netstat", str(PYNETSTAT), same_stdout=False)
    assert bool(actual.stdout) == bool(expected.stdout)


@pytest.mark.parametrize("args", SS_LISTINGS)
def test_ss_abbreviations_name_the_same_listing(args: str) -> None:
    assert compare(args, "ss", str(PYSS), same_stdout=True)[0].returncode == 0


@pytest.mark.parametrize("args", NETSTAT_LISTINGS)
def test_netstat_abbreviations_name_the_same_listing(args: str) -> None:
    assert compare(args, "netstat", str(PYNETSTAT), same_stdout=True)[0].returncode == 0
