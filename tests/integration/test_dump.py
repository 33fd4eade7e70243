"""dump.py against the real kernel: fallbacks that ss also takes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare: opens sockets in a private netns"
)

SCRIPT = textwrap.dedent(
    """
    import socket, subprocess
    from pyss.dump import sockets
    from pyss.netlink.constants import AF_INET, IPPROTO_TCP
    from pyss.query import Query, TABLE_BIT, STATES_ALL

    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 4321))
    listener.listen()
    other = socket.socket()
    other.bind(("127.0.0.1", 4322))
    other.listen()

    class RefusedProgram:
        states = None
        families = None
        seen = 0

        def bytecode(self, family, protocol):
            # INET_DIAG_BC_JMP with a jump past the end: the kernel's audit refuses it (EINVAL).
            return bytes([1, 0, 64, 0])

        def __call__(self, record):
            self.seen += 1
            return record.sport == 4322

    keep = RefusedProgram()
    query = Query(tables=TABLE_BIT["tcp"], families=1 << AF_INET, states=STATES_ALL, filter=keep)
    warnings = []
    found = [record.sport for record in sockets(query, warn=warnings.append)]
    print(found, keep.seen, warnings)
    """
)


def test_refused_filter_program_falls_back_to_the_predicate() -> None:
    result = subprocess.run(["unshare", "-n", sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    # Both listeners reached the predicate (no kernel filtering), and it kept only one.
    assert result.stdout.strip() == "[4322] 2 []"


def test_missing_raw_diag_reads_proc_like_ss() -> None:
    script = textwrap.dedent(
        """
        import socket, subprocess
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        for argv in (["ss", "-wan"], [sys.argv[1], "-wan"]):
            print(subprocess.run(argv, capture_output=True, text=True).stdout, end="")
        """
    ).replace("import socket", "import socket, sys")
    pyss = os.path.join(os.path.dirname(sys.executable), "pyss")
    result = subprocess.run(["unshare", "-n", sys.executable, "-c", script, pyss], capture_output=True, text=True,
                            timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    half = len(lines) // 2
    assert len(lines) == 4 and lines[:half] == lines[half:], result.stdout
    assert "0.0.0.0:1" in lines[1]


def test_unreadable_filter_file_exits_like_ss() -> None:
    pyss = os.path.join(os.path.dirname(sys.executable), "pyss")
    ours = subprocess.run([pyss, "-F", "/nonexistent/filter"], capture_output=True, text=True, check=False, timeout=30)
    theirs = subprocess.run(["ss", "-F", "/nonexistent/filter"], capture_output=True, text=True, check=False,
                            timeout=30)
    assert ours.returncode == theirs.returncode == 255
    assert ours.stderr.count("\n") == 1 and "Traceback" not in ours.stderr
