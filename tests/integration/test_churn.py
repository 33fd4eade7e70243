"""Sockets opening and closing fast while pyss dumps: every printed row well-formed, no traceback,
exit 0; and a dump the kernel flags as interrupted (NLM_F_DUMP_INTR) is reported in one line.

The churner opens TCP connections to a listener and closes them (half of them reset, half
through TIME-WAIT) and opens and closes UDP and UNIX sockets, as fast as one process can, in a
private namespace. Linux's sock_diag dumps do not set NLM_F_DUMP_INTR (they walk hash buckets
without a generation count), so the flag is set on a real captured dump's first message to see
the report. Default suite: 15 dumps of each kind; `nox -s fuzz`: 300.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.fuzz.budget import LONG
from tests.integration import harness

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: churns sockets in a private network namespace")

RUNS = 300 if LONG else 15
CHURNER = """
import os, socket, struct, sys
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 9000))
listener.listen(4096)
listener.setblocking(False)
print("ready", flush=True)
count = 0
while True:
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        client.connect(("127.0.0.1", 9000))
        server, _ = listener.accept()
    except OSError:
        client.close()
        continue
    if count % 2:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset: no TIME-WAIT
    client.close()
    server.close()
    udp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    udp.bind(("::1", 0))
    udp.close()
    pair = socket.socketpair()
    pair[0].close(); pair[1].close()
    count += 1
"""
STATES = r"(ESTAB|SYN-SENT|SYN-RECV|FIN-WAIT-1|FIN-WAIT-2|TIME-WAIT|UNCONN|CLOSE-WAIT|LAST-ACK|LISTEN|CLOSING)"
ENDPOINT = r"(\S+|\[[0-9a-f:.%\w]*\]):(\d+|\*)"
# Send-Q may be negative: the kernel reads a socket's write_seq and snd_una without its lock, and a
# socket caught between the two (SYN-SENT, in this churn) gives a negative difference, which ss prints
# as a signed number and pyss prints as ss does. Recv-Q is clamped at 0 by the kernel.
TCP_ROW = re.compile(rf"{STATES} +\d+ +-?\d+ +{ENDPOINT} +{ENDPOINT} *")
INTERRUPTED = "pyss: the kernel reported that sockets changed during the dump: this list may be inconsistent"


@pytest.fixture(scope="module")
def churning_ns() -> Iterator[str]:
    with harness.script_namespace("churn", CHURNER, stderr=subprocess.DEVNULL) as name:
        yield name


def pyss(ns: str, *args: str) -> harness.NsRun:
    return harness.run_command(["ip", "netns", "exec", ns, str(harness.PYSS), *args], ["pyss", *args],
                               timeout=harness.TOOL_TIMEOUT)


@pytest.mark.parametrize("options", ["-tan", "-tanH", "-tani", "-tan state time-wait"])
def test_rows_stay_well_formed_while_sockets_churn(churning_ns: str, options: str) -> None:
    rows = 0
    for _ in range(RUNS):
        result = pyss(churning_ns, *options.split())
        stderr = result.stderr.decode()
        assert result.returncode == 0 and stderr in ("", INTERRUPTED + "\n"), stderr
        lines = result.text.splitlines()
        if "H" not in options:
            assert lines[0].startswith(("State", "Recv-Q")), lines[0]
            lines = lines[1:]
        for line in lines:
            if line.startswith("\t"):  # -i/-e details continue on their own line
                continue
            assert TCP_ROW.match(line) or TCP_ROW.match("ESTAB " + line), line
            rows += 1
    assert rows > RUNS  # the churn was seen: connections in TIME-WAIT or ESTAB at least


PROBE = """
import importlib, sys
import pyss.netlink.transport as transport
from pyss.netlink.constants import NLM_F_DUMP_INTR

real = transport.dump
dumps = []

def flagged(message, read_ahead=False, *more):
    dumps.append(message)
    for index, buffer in enumerate(real(message, read_ahead, *more)):
        if len(dumps) == 1 and index == 0 and len(buffer) >= 16:  # the first buffer of the first dump
            data = bytearray(buffer)
            flags = int.from_bytes(data[6:8], sys.byteorder) | NLM_F_DUMP_INTR
            data[6:8] = flags.to_bytes(2, sys.byteorder)
            buffer = bytes(data)
        yield buffer

transport.dump = flagged
sys.exit(importlib.import_module(sys.argv[1]).main(sys.argv[2:]))
"""


@pytest.mark.parametrize(("module", "args", "warning"), [
    ("pyss.cli.ss", ["-tan"], INTERRUPTED),
    ("pyss.cli.ss", ["-tani"], INTERRUPTED),
    ("pyss.cli.ss", ["-tan", "--json-lines"], INTERRUPTED),
    ("pyss.cli.netstat", ["-tan"], "pynetstat: the kernel reported that sockets changed during the dump: "
                                   "this list may be inconsistent"),
])
def test_an_interrupted_dump_is_reported_once_after_its_rows(
        churning_ns: str, module: str, args: list[str], warning: str) -> None:
    result = harness.run_command(["ip", "netns", "exec", churning_ns, sys.executable, "-c", PROBE, module, *args],
                                 [module, *args], timeout=harness.TOOL_TIMEOUT)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr.decode().splitlines() == [warning]
    assert "127.0.0.1:9000" in result.text or '"local_port":9000' in result.text  # the rows read are shown
