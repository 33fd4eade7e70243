"""fwmark filters as a user without CAP_NET_ADMIN (issue 15, case 11), next to the real ss.

The kernel hides socket marks from unprivileged dumps and refuses mark conditions in their
bytecode (EPERM). ss then says "RTNETLINK answers: Operation not permitted" and falls back to
reading every mark as 0; pyss falls back the same way, selecting what ss selects, but says once,
in its own words, that marks cannot be read. Root sees the marks, and both select by them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.integration import harness

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                                reason="needs root and setpriv: runs ss and pyss as nobody in a private netns")

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
HOLDER = """
import socket, sys
marked = socket.socket()
marked.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, 1)
marked.bind(("127.0.0.1", 5555))
marked.listen()
plain = socket.socket()
plain.bind(("127.0.0.1", 5556))
plain.listen()
print("ready", flush=True)
sys.stdin.read()
"""
HIDDEN = ("pyss: socket marks cannot be read without CAP_NET_ADMIN (the kernel hides them): "
          "fwmark conditions see every mark as 0, as ss's fallback does")


@pytest.fixture(scope="module")
def marked_ns() -> Iterator[str]:
    with harness.script_namespace("mark", HOLDER) as name:
        yield name


def run(ns: str, who: list[str], tool: str, *args: str) -> harness.NsRun:
    path = {"pyss": str(harness.PYSS)}.get(tool, tool)
    return harness.run_command(["ip", "netns", "exec", ns, *who, path, *args], [tool, *args],
                               timeout=harness.TOOL_TIMEOUT)


def local_addresses(result: harness.NsRun) -> list[str]:
    return sorted(line.split()[3] for line in result.text.splitlines()[1:] if line.strip())


@pytest.mark.parametrize(("expression", "as_root"), [("fwmark = 0x1", ["127.0.0.1:5555"]),
                                                     ("fwmark = 0x0", ["127.0.0.1:5556"]),
                                                     ("fwmark != 0x1", ["127.0.0.1:5556"])])
def test_root_selects_by_mark_as_ss_does(marked_ns: str, expression: str, as_root: list[str]) -> None:
    expected = run(marked_ns, [], "ss", "-tln", *expression.split())
    found = run(marked_ns, [], "pyss", "-tln", *expression.split())
    assert local_addresses(found) == local_addresses(expected) == as_root
    assert found.stderr == b""


@pytest.mark.parametrize("expression", ["fwmark = 0x1", "fwmark = 0x0", "not fwmark = 0x1",
                                        "fwmark = 0x1 or dev lo"])
def test_without_privilege_marks_read_as_zero_as_in_ss_and_pyss_says_so_once(marked_ns: str, expression: str) -> None:
    expected = run(marked_ns, NOBODY, "ss", "-tln", *expression.split())
    found = run(marked_ns, NOBODY, "pyss", "-tln", *expression.split())
    assert found.returncode == expected.returncode == 0
    assert local_addresses(found) == local_addresses(expected)
    assert found.stderr.decode().splitlines() == [HIDDEN]  # before: nothing said, silently wrong


def test_without_privilege_a_filter_without_marks_says_nothing(marked_ns: str) -> None:
    found = run(marked_ns, NOBODY, "pyss", "-tln", "sport", "=", ":5555")
    assert local_addresses(found) == ["127.0.0.1:5555"] and found.stderr == b""
