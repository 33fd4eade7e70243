"""Both command lines meet a malformed kernel reply with one line and exit 1, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import importlib, struct, sys
import pyss.netlink.transport as transport

def broken(message, read_ahead=False, *more):
    # one truncated inet_diag_msg, as a kernel bug or a short read would deliver it
    yield struct.pack("=IHHII", 16 + 20, 20, 2, 1, 0) + bytes(20)

transport.dump = broken
sys.exit(importlib.import_module(sys.argv[1]).main(["-tan"]))
"""
MALFORMED = "malformed reply from the kernel: inet_diag_msg of 20 bytes, expected 72"


@pytest.mark.parametrize(
    ("module", "stderr", "stdout_start"),
    [
        ("pyss.cli.ss", f"pyss: {MALFORMED} (the list above is incomplete)\n", "State"),
        ("pyss.cli.netstat", f"pynetstat: cannot read sockets: {MALFORMED}\n", "Active Internet connections"),
    ],
)
def test_a_malformed_kernel_reply_is_one_line_and_exit_1(module: str, stderr: str, stdout_start: str) -> None:
    result = subprocess.run([sys.executable, "-c", PROBE, module], capture_output=True, text=True, check=False,
                            timeout=60)
    assert result.returncode == 1
    assert result.stderr == stderr
    assert result.stdout.startswith(stdout_start)  # what was read before the fault is shown
