"""pyss's command line: what it says about sockets it cannot list."""

from __future__ import annotations

import subprocess
import sys

from pyss.cli.ss import unsupported_tables


def test_named_unsupported_kinds_are_reported_once_each() -> None:
    assert unsupported_tables({"xdp", "tcp", "v_str", "vsock_dgram", "unix", "sctp", "mptcp"}) == ["vsock", "xdp"]


def test_all_and_inet_name_nothing_unsupported() -> None:
    assert unsupported_tables({"all", "inet", "inet6", "tcp"}) == []


def test_asking_for_tipc_says_so_in_one_line_and_exits_zero_like_ss() -> None:
    probe = "import sys; from pyss.cli.ss import main; sys.exit(main(['--tipc', '-H']))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0
    assert result.stdout == ""
    assert result.stderr == "pyss: tipc sockets are not supported yet: none are listed\n"
