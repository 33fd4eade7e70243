"""pyss against ss on the zoo: the same bytes on stdout and the same exit status.

Outputs that contain netlink rows hold each tool's own NETLINK_SOCK_DIAG socket
(``tcpdiag:ss/<pid>`` vs ``tcpdiag:pyss/<pid>``); for those, and only those, the
comparison drops the tools' own rows (see harness.assert_same_rows). Everything
else is compared byte for byte. Each case runs ss, pyss, ss and needs pyss to
equal one of the two (harness.assert_matches_reference says why).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest

from tests.integration.harness import (
    PYSS,
    TOOL_ENV,
    ZooNamespace,
    assert_matches_reference,
    has_traceback,
    run_plain,
)

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: private netns, packet and raw sockets")
needs_ss = pytest.mark.skipif(shutil.which("ss", path=TOOL_ENV["PATH"]) is None, reason="needs iproute2's ss")

# Argument lists whose output has no netlink rows: compared byte for byte.
EXACT_ARGS = [
    "-tan",
    "-tn",
    "-ltn",
    "-tuan",
    "-tuln",
    "-uan",
    "-xa",
    "-x",
    "-wan",
    "-4tan",
    "-6tan",
    "-tanH",
    "-ta",
    "-tua",
    "-t",
    "-lt",
    "-0a",
    "-tlnH",
    "-tun",
    "--tcp --all --numeric",
    "-f inet -an",
    "-A tcp,udp -n",
    # Beyond the list: names on raw/udp rows, listening-only unix, -A for one table.
    "-wa",
    "-ul",
    "-xl",
    "-a -A packet",
    "-an -A unix",
    # Both IP families with one named last: ss dumps only that family through netlink, but when the
    # kernel has no diag module for the table (raw_diag, on many kernels and on the test machine) it
    # reads /proc for every family selected, IPv4's file first.
    "-wan -4 -6",
    "-wan -6 -4",
    "-wa -f inet -f inet6",
]

# Argument lists that show netlink sockets, the tools' own among them.
NETLINK_ARGS = ["-a", "-A netlink", "-a -A netlink", "-an"]

BAD_ARGS = ["-k", "--foo", "-f", "-f bogus", "-A bogus"]


@needs_root
@pytest.mark.parametrize("args", EXACT_ARGS)
def test_same_output(zoo_ns: ZooNamespace, args: str) -> None:
    assert_matches_reference(zoo_ns.ss, zoo_ns.pyss, args.split())


@needs_root
@pytest.mark.parametrize("args", NETLINK_ARGS)
def test_same_output_but_own_netlink_rows(zoo_ns: ZooNamespace, args: str) -> None:
    assert_matches_reference(zoo_ns.ss, zoo_ns.pyss, args.split(), own_rows=True)


@needs_ss
@pytest.mark.parametrize("args", BAD_ARGS)
def test_bad_arguments(args: str) -> None:
    """ss's exit status and empty stdout; one pyss error line first on stderr; no traceback."""
    argv = args.split()
    expected, actual = run_plain(["ss", *argv]), run_plain([str(PYSS), *argv])
    assert expected.returncode == 255, expected
    assert actual.returncode == expected.returncode, actual
    assert actual.stdout == expected.stdout == b""
    assert not has_traceback(actual.stderr), actual.stderr.decode(errors="replace")
    first = actual.stderr.decode(errors="replace").partition("\n")[0]
    assert first.startswith("pyss: ") and len(first) > len("pyss: "), actual.stderr


@needs_root
def test_head_closes_the_pipe(zoo_ns: ZooNamespace) -> None:
    """`pyss -tan | head -1`: the header goes through, pyss says nothing on stderr."""
    cmd = ["ip", "netns", "exec", zoo_ns.name, str(PYSS), "-tan"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=TOOL_ENV) as producer:
        assert producer.stdout is not None and producer.stderr is not None
        head = subprocess.run(["head", "-1"], stdin=producer.stdout, capture_output=True, timeout=20, check=True)
        producer.stdout.close()
        err = producer.stderr.read()
        producer.wait(timeout=20)
    assert head.stdout == zoo_ns.ss("-tan").stdout.splitlines(keepends=True)[0]
    assert err == b"", err.decode(errors="replace")


@needs_root
def test_write_to_a_closed_pipe(zoo_ns: ZooNamespace) -> None:
    """Every write fails with EPIPE: pyss stops as ss does (killed by SIGPIPE) or exits 0, silently."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        expected = zoo_ns.run_in_ns(["ss", "-tan"], stdout=write_end)
        actual = zoo_ns.run_in_ns([str(PYSS), "-tan"], stdout=write_end)
    finally:
        os.close(write_end)
    assert expected.returncode == -signal.SIGPIPE, expected
    assert actual.stderr == b"", actual.stderr.decode(errors="replace")
    assert actual.returncode in (0, -signal.SIGPIPE, 128 + signal.SIGPIPE), actual


@needs_ss
def test_ctrl_c_ends_pyss_as_it_ends_ss() -> None:
    """Ctrl-C while the filter is read from a terminal or pipe (-F -): ss is killed by SIGINT, and so is
    pyss, quietly; a process that exits 130 instead makes a shell running it in a loop or script go on."""
    statuses = []
    for tool in ("ss", str(PYSS)):
        with subprocess.Popen([tool, "-tan", "-F", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=TOOL_ENV) as proc:
            time.sleep(0.5)  # let it start and block reading the filter
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=20)
        assert out == b"" and not has_traceback(err), err.decode(errors="replace")
        statuses.append(proc.returncode)
    assert statuses == [-signal.SIGINT, -signal.SIGINT]
