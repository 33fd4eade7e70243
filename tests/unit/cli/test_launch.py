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
