"""pynetstat's option reading: netstat's getopt_long rules and flag combinations."""

from __future__ import annotations

import pytest

import pyss
from pyss.cli import netstat as cli


def test_bundled_short_flags() -> None:
    flags = cli.parse(["-tulnp"])
    assert (flags.tcp, flags.udp, flags.listening, flags.programs) == (1, 1, 1, 1)
    assert flags.numeric_hosts and flags.numeric_ports and flags.numeric_users
    assert cli.parse(["-ee"]).extend == 3


def test_family_argument_forms() -> None:
    assert cli.parse(["-A", "inet,inet6"]).families == ["inet", "inet6"]
    assert cli.parse(["-Ainet"]).families == ["inet"]
    assert cli.parse(["-tA", "unix"]).families == ["unix"]
    assert cli.parse(["--protocol=ip6"]).families == ["inet6"]
    assert cli.parse(["-4", "-6", "-x"]).families == ["inet", "inet6", "unix"]


def test_long_options_and_unique_prefixes() -> None:
    flags = cli.parse(["--numeric-ports", "--listen", "--tcp"])
    assert flags.numeric_ports and not flags.numeric_hosts
    assert flags.listening == 1 and flags.tcp == 1
    assert cli.parse(["--inet6"]).families == ["inet6"]
    assert cli.parse(["--vers"]).version


@pytest.mark.parametrize(("argv", "message"), [
    (["-Q"], "invalid option -- 'Q'"),
    (["-t?"], "^$"),  # '?' is in netstat's option string: plain usage
    (["--bogus"], "unrecognized option '--bogus'"),
    (["-A"], "option requires an argument -- 'A'"),
    (["--protocol"], "option '--protocol' requires an argument"),
    (["--tcp=1"], "option '--tcp' doesn't allow an argument"),
    (["--nu"], "option '--nu' is ambiguous"),
])
def test_usage_errors(argv: list[str], message: str) -> None:
    with pytest.raises(cli.UsageError, match=message.replace("?", r"\?")):
        cli.parse(argv)


def test_unknown_family() -> None:
    with pytest.raises(cli.FamilyError, match="nosuch"):
        cli.parse(["-A", "inet,nosuch"])


def test_selection_defaults() -> None:
    named_family = cli.parse(["-4"])
    cli.finish_selection(named_family)
    assert (named_family.tcp, named_family.udp, named_family.raw, named_family.no_protocol) == (1, 1, 1, True)
    named_protocol = cli.parse(["-t"])
    cli.finish_selection(named_protocol)
    assert named_protocol.inet and named_protocol.inet6 and not named_protocol.udp
    assert cli.parse(["-tx"]).selected == 2
    assert cli.parse([]).selected == 0


def test_main_reports_errors_with_netstat_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["-Q"]) == 3
    assert capsys.readouterr().err.startswith("pynetstat: invalid option -- 'Q'\nUsage: pynetstat")
    assert cli.main(["-A", "foo"]) == 1
    assert capsys.readouterr().err == "Unknown address family `foo'.\n"
    assert cli.main(["-ri"]) == 3
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith(f"pynetstat {pyss.__version__} (pyss)")
    assert cli.main(["-h"]) == 0
    assert "--numeric" in capsys.readouterr().out
