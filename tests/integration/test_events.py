"""-E/--events against the real ss: both follow the same destructions, and pyss's lines come one by one.

ss block-buffers stdout on a pipe, so it runs under ``stdbuf -o0`` here (its
output is then written as produced); pyss needs nothing of the kind. Both
watch a namespace of their own at once while a churn script there opens and
closes TCP and UDP sockets. Not the zoo's, whose sockets may end on their own
timers (its SYN-SENT socket gives up after ~2 min) and whose holder is shared
by every test: only the churn's sockets may make an event here.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest

from tests.integration.harness import PYSS, TOOL_ENV, ZooNamespace, has_traceback, script_namespace

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: watches a private network namespace")

CHURN = textwrap.dedent(
    """
    import socket, time
    listener = socket.socket()
    listener.bind(("127.0.0.1", 46301))
    listener.listen()
    client = socket.socket()
    client.bind(("127.0.0.1", 46302))
    client.connect(("127.0.0.1", 46301))
    server, _ = listener.accept()
    client.sendall(b"unread")
    for sock in (client, server, listener):
        sock.close()
        time.sleep(0.1)
    udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    udp.bind(("::1", 46303))
    udp.close()
    """
)


# A namespace with nothing in it but what each test opens: no socket there can die while a test watches.
QUIET_HOLDER = "import sys\nprint('ready', flush=True)\nsys.stdin.read()\n"


@pytest.fixture
def quiet_ns() -> Iterator[str]:
    with script_namespace("events", QUIET_HOLDER) as name:
        yield name


def _start(ns: str, argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=TOOL_ENV)


def _lines_while_running(proc: subprocess.Popen[bytes], count: int, timeout: float) -> bytes:
    """Read until ``count`` lines have come or time is up; the process must still be running."""
    assert proc.stdout is not None
    data = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while data.count(b"\n") < count and time.monotonic() < deadline:
            if sel.select(deadline - time.monotonic()):
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                data += chunk
    assert proc.poll() is None, "the tool ended by itself"
    return data


def _wait_subscribed(pid: int, timeout: float = 30.0) -> None:
    """Until process ``pid`` holds a sock_diag socket that has joined a multicast group (its destroy
    events): a socket closed before that would never reach it. Read from /proc/PID/net/netlink (the
    process's namespace) and the inodes of its open files."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            inodes = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
            with open(f"/proc/{pid}/net/netlink") as table:
                rows = [line.split() for line in table.read().splitlines()[1:]]
            # sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode; Eth 4 is NETLINK_SOCK_DIAG
            if any(row[1] == "4" and int(row[3], 16) and f"socket:[{row[9]}]" in inodes for row in rows):
                return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} did not subscribe to socket destruction events in {timeout:.0f} s")


def _interrupt(proc: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=10)


CASES = [
    ([], 5),  # every table: the Netid column, both TCP ends, the listener and the UDP socket
    (["-tn"], 4),
    (["-tn", "sport", "=", ":46301"], 3),  # the filter keeps the server end and the listener
    (["-un"], 2),
    (["-6", "-e"], 2),
]


@pytest.mark.parametrize(("args", "lines"), CASES, ids=[" ".join(["-E", *args]) for args, _ in CASES])
def test_events_like_ss(quiet_ns: str, args: list[str], lines: int) -> None:
    ss = _start(quiet_ns, ["stdbuf", "-o0", "ss", "-E", *args])
    pyss = _start(quiet_ns, [str(PYSS), "-E", *args])
    try:
        for tool in (ss, pyss):
            _wait_subscribed(tool.pid)
        churn = subprocess.run(["ip", "netns", "exec", quiet_ns, sys.executable, "-c", CHURN], capture_output=True,
                               timeout=30, check=False)
        assert churn.returncode == 0, churn.stderr.decode()
        early = _lines_while_running(pyss, lines, timeout=30)
        ss_early = _lines_while_running(ss, lines, timeout=30)
    finally:
        ss_rest, _ = _interrupt(ss)
        pyss_rest, pyss_err = _interrupt(pyss)
    assert early.count(b"\n") == lines, early  # line by line through a pipe, before pyss ended
    # Ctrl-C kills both by SIGINT (a shell then stops the loop or script that ran them)
    assert not has_traceback(pyss_err) and pyss.returncode == ss.returncode == -signal.SIGINT, pyss_err.decode()
    assert early + pyss_rest == ss_early + ss_rest, (
        f"ss:\n{(ss_early + ss_rest).decode()}pyss (first {lines} lines read while it ran):\n{(early + pyss_rest).decode()}")


def test_events_without_tcp_or_udp_refuse(zoo_ns: ZooNamespace) -> None:
    done = zoo_ns.pyss("-E", "-x")
    assert done.returncode == 255 and done.stdout == b""
    assert done.stderr.decode().count("\n") == 1
    assert zoo_ns.ss("-E", "-x").returncode == 255  # ss exits the same way, without a word
