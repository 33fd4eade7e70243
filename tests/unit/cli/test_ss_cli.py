"""pyss's command line: what it says about sockets it cannot list."""

from __future__ import annotations

import subprocess
import sys

from pyss.cli.ss import unsupported_tables


def test_named_unsupported_kinds_are_reported_once_each() -> None:
    assert unsupported_tables({"sctp", "tcp", "v_str", "vsock_dgram", "unix"}) == ["sctp", "vsock"]


def test_all_and_inet_name_nothing_unsupported() -> None:
    assert unsupported_tables({"all", "inet", "inet6", "tcp"}) == []


def test_asking_for_sctp_says_so_in_one_line_and_exits_zero_like_ss() -> None:
    probe = "import sys; from pyss.cli.ss import main; sys.exit(main(['-S', '-H']))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0
    assert result.stdout == ""
    assert result.stderr == "pyss: sctp sockets are not supported yet: none are listed\n"


def test_a_malformed_kernel_reply_is_one_line_and_exit_1() -> None:
    probe = """
import struct, sys
import pyss.netlink.transport as transport
from pyss.cli.ss import main

def broken(message):
    # one truncated inet_diag_msg, as a kernel bug or a short read would deliver it
    yield struct.pack("=IHHII", 16 + 20, 20, 2, 1, 0) + bytes(20)

transport.dump = broken
sys.exit(main(["-tan"]))
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "malformed reply from the kernel: inet_diag_msg of 20 bytes" in result.stderr
    assert result.stdout.startswith("State")  # the header: what was read is shown
