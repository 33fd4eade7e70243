"""Socket names that are not ASCII, or not UTF-8 at all: ss writes and aligns them as raw bytes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ss") is None,
    reason="needs root, unshare and ss: binds UNIX sockets in a private netns and compares with ss",
)

SCRIPT = textwrap.dedent(
    """
    import os, socket, subprocess, sys, tempfile
    home = tempfile.mkdtemp()
    names = [os.path.join(home, "plain.sock").encode(), os.path.join(home, "微信-テスト.sock").encode(),
             os.path.join(home, "bad-").encode() + b"\\xff\\xfe.sock", b"\\0abs-\\xc3\\xa9-\\xff"]
    held = []
    for name in names:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(name)
        sock.listen()
        held.append(sock)
    for locale in ("C", "C.UTF-8"):
        env = dict(os.environ, LANG=locale, LC_ALL=locale)
        theirs = subprocess.run(["ss", "-xl"], capture_output=True, check=True).stdout
        ours = subprocess.run([sys.argv[1], "-xl"], capture_output=True, env=env)
        if ours.returncode or ours.stderr or ours.stdout != theirs:
            sys.stdout.buffer.write(b"DIFF " + locale.encode() + b"\\n" + theirs + ours.stdout + ours.stderr)
    """
)


def test_non_ascii_and_undecodable_unix_names_match_ss_bytes() -> None:
    pyss = os.path.join(os.path.dirname(sys.executable), "pyss")
    result = subprocess.run(["unshare", "-n", sys.executable, "-c", SCRIPT, pyss], capture_output=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert result.stdout == b"", result.stdout.decode(errors="replace")
