"""Random argv lists for both CLIs, each run as its own process in a private, empty network
namespace: an exit status and a short explanation on stderr, never a traceback, never a hang.

Options that wait by design (-E events, -c continuous, --watch), act on sockets (-K) or write
files (-D) are left out. Default suite: 20 argv lists per CLI; `nox -s fuzz`: 1,000.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pyss.cli import netstat_options as netstat_cli
from pyss.cli import ss as ss_cli
from pyss.cli.options import Option
from tests.fuzz.budget import budget

BIN = Path(sys.executable).parent
EXAMPLES = budget(20, 1_000)
TIMEOUT = 30.0
_WAITING_OR_ACTING = {"events", "continuous", "watch", "kill", "diag", "c", "E", "K", "D"}


def option_words(options: tuple[Option, ...]) -> list[str]:
    found: set[str] = set()
    for option in options:
        if option.key in _WAITING_OR_ACTING or (option.long or "") in _WAITING_OR_ACTING \
                or (option.short or "") in _WAITING_OR_ACTING:
            continue
        if option.short:
            found.add(f"-{option.short}")
        if option.long:
            found.add(f"--{option.long}")
    return sorted(found)


VALUES = ["inet", "inet6", "unix", "link", "netlink", "all", "tcp", "udp,raw", "!tcp", "bogus", "-", "/dev/null",
          "/dev/zero", "/nonexistent", "dport", "=", ":22", "(", ")", "src", "127.0.0.1", "state", "established",
          "--", "-", "", "\udcff", "nosuchns"]


def argv_lists(options: tuple[Option, ...]) -> st.SearchStrategy[list[str]]:
    flags = option_words(options)
    # short flags glued together (-tanp), as fingers type them
    letters = sorted(flag[1] for flag in flags if len(flag) == 2 and flag[1] not in "FfANDrREKc")
    glued = st.lists(st.sampled_from(letters), min_size=2, max_size=5).map(lambda chosen: "-" + "".join(chosen))
    # any text an argv word can hold: no NUL, no lone surrogate but the ones undecodable bytes become
    text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"), max_size=8)
    word = st.one_of(st.sampled_from(flags), glued, st.sampled_from(VALUES), text)
    return st.lists(word, max_size=6)


def run(program: str, argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    command = [str(BIN / program), *argv]
    if os.geteuid() == 0 and shutil.which("unshare"):
        command = ["unshare", "--net", *command]  # nothing of the host's to list, or to change
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "PYSS_FILTER_CACHE": "0",
           "HOME": "/nonexistent"}
    return subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT, env=env,
                          check=False)


def check(program: str, argv: list[str]) -> None:
    result = run(program, argv)
    stderr = result.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, (argv, stderr)
    assert result.returncode >= 0, (argv, result.returncode)  # not killed by a signal
    if result.returncode != 0:  # a failure says why (netstat says some things on stdout, as pynetstat)
        assert stderr.strip() or result.stdout.strip(), (argv, result.returncode)


@EXAMPLES
@given(argv_lists(ss_cli.OPTIONS))
def test_random_pyss_command_lines(argv: list[str]) -> None:
    check("pyss", argv)


@EXAMPLES
@given(argv_lists(netstat_cli.OPTIONS))
def test_random_pynetstat_command_lines(argv: list[str]) -> None:
    check("pynetstat", argv)
