"""pyss --watch on the zoo: a connection opened and one closed during the run are reported; Ctrl-C ends it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.integration.harness import PYSS, TOOL_ENV, ZooNamespace

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: private netns with the socket zoo"),
    pytest.mark.skipif(shutil.which("ss", path=TOOL_ENV["PATH"]) is None, reason="needs iproute2's ss"),
]

# Connects to the zoo's listener on 7777, prints its local port, and on a line from stdin closes with a
# reset (SO_LINGER 0), so the socket is gone at once rather than lingering in FIN-WAIT or TIME-WAIT.
CLIENT = """
import socket, struct, sys
client = socket.create_connection(("127.0.0.1", 7777))
print(client.getsockname()[1], flush=True)
sys.stdin.readline()
client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
client.close()
print("closed", flush=True)
sys.stdin.readline()
"""
INTERVAL = 0.2


def start_watch(zoo_ns: ZooNamespace, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(["ip", "netns", "exec", zoo_ns.name, str(PYSS), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=TOOL_ENV)


def stop_watch(watch: subprocess.Popen[str]) -> tuple[str, str]:
    watch.send_signal(signal.SIGINT)
    out, err = watch.communicate(timeout=20)
    assert watch.returncode == 0, err
    assert "Traceback" not in err
    return out, err


def open_and_close_a_connection(zoo_ns: ZooNamespace) -> int:
    """Open a connection, wait a few intervals, close it, wait again; the client's port."""
    client = subprocess.Popen(["ip", "netns", "exec", zoo_ns.name, sys.executable, "-c", CLIENT],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=TOOL_ENV)
    assert client.stdin is not None and client.stdout is not None
    try:
        port = int(client.stdout.readline())
        time.sleep(INTERVAL * 6)
        client.stdin.write("close\n")
        client.stdin.flush()
        assert client.stdout.readline() == "closed\n"
        time.sleep(INTERVAL * 6)
    finally:
        client.stdin.close()
        client.wait(timeout=10)
    return port


def test_json_lines_reports_the_open_and_the_close(zoo_ns: ZooNamespace) -> None:
    watch = start_watch(zoo_ns, "-tan", f"--watch={INTERVAL}", "--json-lines")
    time.sleep(INTERVAL * 6)  # the first dump is the baseline: nothing is reported for it
    port = open_and_close_a_connection(zoo_ns)
    out, _err = stop_watch(watch)
    events: list[dict[str, Any]] = [json.loads(line) for line in out.splitlines()]
    mine = [(event["event"], event["state"]) for event in events
            if event["local_port"] == port and event["peer_port"] == 7777]
    assert mine == [("open", "ESTAB"), ("close", "ESTAB")]
    server_side = [event["event"] for event in events if event["local_port"] == 7777 and event["peer_port"] == port]
    assert server_side[:1] == ["open"]
    assert all(event["netid"] == "tcp" and "time" in event for event in events)
    assert not any(event["local_port"] == 22 for event in events), "an unchanged socket was reported"


def test_text_shows_plus_and_minus_rows_and_a_summary(zoo_ns: ZooNamespace) -> None:
    watch = start_watch(zoo_ns, "-tan", f"--watch={INTERVAL}")
    time.sleep(INTERVAL * 6)
    port = open_and_close_a_connection(zoo_ns)
    out, _err = stop_watch(watch)
    lines = out.splitlines()
    # "+ ESTAB 0 0 127.0.0.1:PORT 127.0.0.1:7777": the client's end (the server's is the same row reversed)
    mine = [line.split()[0] for line in lines if line.split()[4:6] == [f"127.0.0.1:{port}", "127.0.0.1:7777"]]
    assert mine == ["+", "-"]
    summaries = [line for line in lines if " total " in line]
    assert len(summaries) >= 10
    assert any("ESTAB" in line and "(+" in line for line in summaries)


def test_count_by_redraws_counts_with_their_change(zoo_ns: ZooNamespace) -> None:
    watch = start_watch(zoo_ns, "-tan", f"--watch={INTERVAL}", "--count-by", "state", "--json-lines")
    time.sleep(INTERVAL * 6)
    open_and_close_a_connection(zoo_ns)
    out, _err = stop_watch(watch)
    groups = [json.loads(line) for line in out.splitlines()]
    first = groups[0]["time"]
    assert all(group["change"] is None for group in groups if group["time"] == first), "the baseline has no change"
    changes = [group["change"] for group in groups if group["state"] == "ESTAB" and group["time"] != first]
    # both ends of the connection came, then went (maybe over two intervals each)
    assert sum(change for change in changes if change > 0) == 2
    assert sum(change for change in changes if change < 0) == -2


@pytest.mark.parametrize(("args", "message"), [
    (("--watch=0",), "--watch interval must be a positive number of seconds, not '0'"),
    (("--watch=-1",), "--watch interval must be a positive number of seconds"),
    (("--watch=soon",), "--watch interval must be a number of seconds, not 'soon'"),
    (("--watch=nan",), "--watch interval must be a positive number of seconds"),
    (("--watch", "-K"), "--watch cannot be combined with -K/--kill"),
    (("--watch", "--json"), "--watch cannot be combined with --json"),
])
def test_bad_watch_arguments_are_refused(zoo_ns: ZooNamespace, args: tuple[str, ...], message: str) -> None:
    run = zoo_ns.pyss("-tan", *args)
    assert run.returncode == 255
    assert message in run.stderr.decode()
    assert len(run.stderr.splitlines()) == 1
