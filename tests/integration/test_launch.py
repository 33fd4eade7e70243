"""The `pyss` console script starts a plain TCP listing's dump before pyss.cli.ss is imported, and the
listing takes that dump up: one request, sent by the early child, and ss's rows."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pyss.netlink.constants import SOCK_DIAG_BY_FAMILY, TCPDIAG_GETSOCK

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                       reason="needs root and unshare for a network namespace of its own"),
    pytest.mark.skipif(shutil.which("ss") is None, reason="needs iproute2's ss"),
]

# Runs ss and then the console script's entry in a namespace holding PROBE_LISTENERS listening TCP
# sockets (for sockstat to count), ss's output to PROBE_SS_OUT, noting each dump request pyss sends:
# who sends it, and whether pyss.cli.ss was loaded then.
PROBE = """
import os, socket, subprocess, sys
from pyss.netlink import transport

def closed(fd):
    try:
        os.fstat(fd)
    except OSError:
        return True
    return False

closed_std = [fd for fd in (0, 1, 2) if closed(fd)]
for fd in closed_std:  # kept from the probe's own sockets and files, closed again for pyss
    os.open(os.devnull, os.O_RDWR)
listeners = []
for _ in range(int(os.environ["PROBE_LISTENERS"])):
    listeners.append(socket.socket())
    listeners[-1].bind(("0.0.0.0", 0))
    listeners[-1].listen()
with open(os.environ["PROBE_SS_OUT"], "wb") as out:
    subprocess.run(["ss", *sys.argv[1:]], stdout=out, check=True)
for fd in closed_std:
    os.close(fd)

sent = []
relay_init, request = transport._Relay.__init__, transport.DiagSocket.request

def noted_relay(self, sock, message=None, *more, **named):
    if message is not None:
        sent.append(("child", int.from_bytes(message[4:6], sys.byteorder), "pyss.cli.ss" in sys.modules))
    relay_init(self, sock, message, *more, **named)

def noted_request(self, message, *more, **named):
    sent.append(("here", int.from_bytes(message[4:6], sys.byteorder), "pyss.cli.ss" in sys.modules))
    return request(self, message, *more, **named)

transport._Relay.__init__, transport.DiagSocket.request = noted_relay, noted_request
import atexit
atexit.register(lambda: sys.stderr.write(repr(sent)))  # the entry ends the process itself
from pyss.cli.launch import pyss
sys.argv[0] = "pyss"
sys.exit(pyss())
"""


def launched(tmp_path: Path, args: list[str], listeners: int = 300) -> tuple[bytes, list[tuple[str, int, bool]], bytes]:
    """(stdout, the requests sent) of `pyss ARGS` through the console script's entry, and ss's stdout for
    the same ARGS, in one private network namespace holding ``listeners`` listening TCP sockets."""
    theirs = tmp_path / "ss.out"
    done = subprocess.run(["unshare", "-n", sys.executable, "-c", PROBE, *args], capture_output=True, check=True,
                          timeout=60, env={**os.environ, "PROBE_LISTENERS": str(listeners),
                                           "PROBE_SS_OUT": str(theirs)})
    return done.stdout, ast.literal_eval(done.stderr.decode()), theirs.read_bytes()


def needs_two_cpus() -> None:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs: with one, no child is started")


@pytest.mark.parametrize("args", [["-tan"], ["-tn"], ["-tln"]])
def test_a_plain_tcp_listing_is_dumped_by_a_child_started_before_the_cli_loads(tmp_path: Path,
                                                                                args: list[str]) -> None:
    needs_two_cpus()
    ours, sent, theirs = launched(tmp_path, args)
    assert sent == [("child", TCPDIAG_GETSOCK, False)]
    assert ours == theirs


def test_below_one_buffer_of_sockets_the_listing_dumps_itself(tmp_path: Path) -> None:
    needs_two_cpus()
    ours, sent, theirs = launched(tmp_path, ["-tan"], listeners=20)
    assert sent == [("here", TCPDIAG_GETSOCK, True)]
    assert ours == theirs


def test_other_command_lines_are_left_to_the_cli(tmp_path: Path) -> None:
    ours, sent, theirs = launched(tmp_path, ["-tan", "-4"])
    assert sent == [("here", SOCK_DIAG_BY_FAMILY, True)]
    assert ours == theirs


def test_with_stdin_and_stdout_closed_the_dump_waits_for_the_output_to_be_set_up(tmp_path: Path) -> None:
    """A socket opened while stdout is closed would take its number (and the listing's writes): the dump is
    started by pyss.cli.ss then, once /dev/null stands in for what the caller closed; ss's exit status."""
    needs_two_cpus()
    done = subprocess.run(["unshare", "-n", "sh", "-c", 'exec "$@" <&- >&-', "sh", sys.executable, "-c", PROBE, "-tan"],
                          capture_output=True, check=False, timeout=60,
                          env={**os.environ, "PROBE_LISTENERS": "300", "PROBE_SS_OUT": str(tmp_path / "ss.out")})
    assert done.returncode == 0, done.stderr.decode()
    assert ast.literal_eval(done.stderr.decode()) == [("child", TCPDIAG_GETSOCK, True)]
