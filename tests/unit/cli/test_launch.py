"""pyss.cli.launch's guess: the command lines it starts a dump for are plain TCP listings to pyss.cli.ss too."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyss.cli import launch
from pyss.cli import ss as cli
from pyss.query import STATES_ALL, STATES_CONNECTED, STATES_LISTENING


@pytest.mark.parametrize(("argv", "states"), [
    (["-tan"], STATES_ALL), (["-ant"], STATES_ALL), (["-t"], STATES_CONNECTED), (["-tn"], STATES_CONNECTED),
    (["-tln"], STATES_LISTENING), (["-tal"], STATES_LISTENING), (["-tla"], STATES_ALL), (["-tanH"], STATES_ALL),
])
def test_the_spellings_of_a_plain_tcp_listing_give_its_states(argv: list[str], states: int) -> None:
    assert launch.plain_tcp_states(argv, {}) == states


@pytest.mark.parametrize("argv", [
    [], ["-tan", "-4"], ["-t", "-a"], ["-uan"], ["-an"], ["-tanp"], ["-tane"], ["-tan4"], ["-tanf"], ["--tcp"],
    ["-"], ["--"], ["tan"], ["-tan", "dport", "=", ":22"], ["-tanN"], ["-ta-n"],
])
def test_other_command_lines_start_nothing(argv: list[str]) -> None:
    assert launch.plain_tcp_states(argv, {}) is None


@pytest.mark.parametrize("name", ["TCPDIAG_FILE", "PROC_ROOT", "PROC_NET_TCP", "PROC_NET_TCP6"])
def test_sockets_read_from_files_start_nothing(name: str) -> None:
    assert launch.plain_tcp_states(["-tan"], {name: "/nonexistent"}) is None


def states_cli_asks_for(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> list[int]:
    """The states pyss.cli.ss asks pyss.cli.launch to start a TCP dump of, for ``argv`` (nothing listed)."""
    asked: list[int] = []
    monkeypatch.setattr(launch, "start_tcp_dump", asked.append)
    monkeypatch.setattr(cli, "_list", lambda *args, **named: 0)
    for name in ("TCPDIAG_FILE", "PROC_ROOT"):
        monkeypatch.delenv(name, raising=False)
    assert cli.run(argv) == 0
    return asked


@given(letters=st.text(alphabet="talnH", max_size=8))
def test_every_word_it_guesses_on_is_the_listing_pyss_cli_ss_starts_early(letters: str) -> None:
    word = "-t" + letters
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert states_cli_asks_for(monkeypatch, [word]) == [launch.plain_tcp_states([word], {})]


@pytest.mark.parametrize("argv", [["-tan", "-4"], ["-tane"], ["-tanp"], ["-uan"], ["-tan", "dport", "=", ":22"]])
def test_what_it_declines_pyss_cli_ss_does_not_start_early_either(monkeypatch: pytest.MonkeyPatch,
                                                                    argv: list[str]) -> None:
    assert launch.plain_tcp_states(argv, {}) is None
    assert states_cli_asks_for(monkeypatch, argv) == []


# --- the cyclic garbage collector: off for a run, back on for the commands that run until stopped -----

COLLECTOR_PROBE = """
import atexit, gc, sys
import pyss.cli.watch, pyss.netlink.events

def noted(*args, **named):
    sys.stderr.write(f"running with the collector {'on' if gc.isenabled() else 'off'}, "
                     f"{gc.get_freeze_count()} frozen\\n")
    return iter(()) if args and isinstance(args[0], int) else 0

pyss.cli.watch.Watch.run = noted  # --watch: its loop, which would run until Ctrl-C
pyss.netlink.events.destroyed_sockets = noted  # -E: its events, which would come until Ctrl-C
atexit.register(lambda: sys.stderr.write(f"exit with the collector {'on' if gc.isenabled() else 'off'}\\n"))
from pyss.cli.launch import pyss
sys.argv = ["pyss", *sys.argv[1:]]
sys.exit(pyss())
"""


def collector_notes(*args: str) -> list[str]:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", COLLECTOR_PROBE, *args], capture_output=True, text=True, timeout=60,
                          check=True)
    return done.stderr.splitlines()


def test_a_command_runs_with_the_collector_off() -> None:
    assert collector_notes("-V") == ["exit with the collector off"]


@pytest.mark.parametrize("args", [["-tan", "--watch=1"], ["-tE"]])
def test_the_commands_that_run_until_stopped_turn_it_back_on(args: list[str]) -> None:
    running, end = collector_notes(*args)
    assert running.startswith("running with the collector on, ") and not running.endswith(" 0 frozen")
    assert end == "exit with the collector on"


NETSTAT_PROBE = """
import atexit, gc, sys
import pyss.cli.netstat

def noted(flags, write):
    sys.stderr.write(f"listing with the collector {'on' if gc.isenabled() else 'off'}\\n")
    return 1  # as a failed listing: -c's loop ends

pyss.cli.netstat.list_sockets = noted
from pyss.cli.launch import pynetstat
sys.argv = ["pynetstat", *sys.argv[1:]]
sys.exit(pynetstat())
"""


@pytest.mark.parametrize(("args", "state"), [(["-tan"], "off"), (["-tanc"], "on")])
def test_pynetstat_lists_with_the_collector_off_unless_it_lists_again_and_again(args: list[str], state: str) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", NETSTAT_PROBE, *args], capture_output=True, text=True, timeout=60,
                          check=False)
    assert (done.returncode, done.stderr) == (1, f"listing with the collector {state}\n")
