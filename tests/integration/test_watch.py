"""pyss --watch on the zoo: a connection opened and one closed during the run are reported; Ctrl-C ends it."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from tests.integration.harness import PYSS, TOOL_ENV, ZooNamespace, script_namespace

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
# How long an event may take to show: generous, since a loaded host stretches intervals. The tests wait
# for what they expect to see, never for a fixed time, so a slow run is slow but not wrong.
DEADLINE = 30.0


class WatchOutput:
    """A running --watch and the lines it has written so far, read as they come."""

    def __init__(self, zoo_ns: ZooNamespace, *args: str) -> None:
        self.proc = subprocess.Popen(["ip", "netns", "exec", zoo_ns.name, str(PYSS), *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=TOOL_ENV)
        self.lines: list[str] = []
        self._partial = b""

    def wait_for(self, seen: Callable[[list[str]], bool], timeout: float = DEADLINE) -> bool:
        """Read until ``seen(lines)`` holds (True) or the time is up (False)."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while not seen(self.lines):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.proc.stdout], [], [], remaining)[0]:
                return False
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                return seen(self.lines)
            *complete, self._partial = (self._partial + chunk).split(b"\n")
            self.lines.extend(line.decode() for line in complete)
        return True

    def stop(self) -> list[str]:
        """Ctrl-C: it must end cleanly; every line it wrote."""
        self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=20)
        assert self.proc.returncode == 0, err
        assert b"Traceback" not in err
        return [*self.lines, *(self._partial + out).decode().splitlines()]


class Client:
    """A connection to the zoo's listener on 7777 from inside the namespace, closed on demand."""

    def __init__(self, zoo_ns: ZooNamespace) -> None:
        self.proc = subprocess.Popen(["ip", "netns", "exec", zoo_ns.name, sys.executable, "-c", CLIENT],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=TOOL_ENV)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("close\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline() == "closed\n"

    def end(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def open_and_close_a_connection(zoo_ns: ZooNamespace, watch: WatchOutput,
                                opened: Callable[[int, list[str]], bool],
                                closed: Callable[[int, list[str]], bool]) -> int:
    """Open a connection, wait until the watch reports it, close it, wait until that is reported; the
    client's port. A connection the watch never reports as opened was in its first dump, the baseline
    (a slow start): it is closed and another one tried, at most three times."""
    for _attempt in range(3):
        client = Client(zoo_ns)
        port = client.port
        try:
            shown = watch.wait_for(partial(opened, port), timeout=DEADLINE / 3)
            client.close()
            if shown:
                assert watch.wait_for(partial(closed, port)), watch.lines
                return port
        finally:
            client.end()
    raise AssertionError(f"no connection was reported as opened: {watch.lines}")


def json_events(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines if line]


def client_events(lines: list[str], port: int) -> list[tuple[str, str]]:
    return [(event["event"], event["state"]) for event in json_events(lines)
            if event["local_port"] == port and event["peer_port"] == 7777]


def test_json_lines_reports_the_open_and_the_close(zoo_ns: ZooNamespace) -> None:
    watch = WatchOutput(zoo_ns, "-tan", f"--watch={INTERVAL}", "--json-lines")
    time.sleep(INTERVAL * 6)  # the first dump is the baseline: nothing is reported for it (or see above)
    port = open_and_close_a_connection(zoo_ns, watch, lambda port, lines: bool(client_events(lines, port)),
                                       lambda port, lines: len(client_events(lines, port)) > 1)
    events = json_events(watch.stop())
    assert client_events([json.dumps(event) for event in events], port) == [("open", "ESTAB"), ("close", "ESTAB")]
    server_side = [event["event"] for event in events if event["local_port"] == 7777 and event["peer_port"] == port]
    assert server_side[:1] == ["open"]
    assert all(event["netid"] == "tcp" and "time" in event for event in events)
    assert not any(event["local_port"] == 22 for event in events), "an unchanged socket was reported"


def client_rows(lines: list[str], port: int) -> list[str]:
    """"+ ESTAB 0 0 127.0.0.1:PORT 127.0.0.1:7777": the client's end (the server's is the same row reversed)."""
    return [line.split()[0] for line in lines if line.split()[4:6] == [f"127.0.0.1:{port}", "127.0.0.1:7777"]]


def test_text_shows_plus_and_minus_rows_and_a_summary(zoo_ns: ZooNamespace) -> None:
    watch = WatchOutput(zoo_ns, "-tan", f"--watch={INTERVAL}")
    assert watch.wait_for(lambda lines: any(" total " in line for line in lines)), "no summary for the baseline"
    port = open_and_close_a_connection(zoo_ns, watch, lambda port, lines: bool(client_rows(lines, port)),
                                       lambda port, lines: len(client_rows(lines, port)) > 1)
    lines = watch.stop()
    assert client_rows(lines, port) == ["+", "-"]
    summaries = [line for line in lines if " total " in line]
    assert len(summaries) >= 3  # one per interval: the baseline's, the opening's and the closing's at least
    assert any("ESTAB" in line and "(+" in line for line in summaries)


def estab_changes(lines: list[str]) -> list[int]:
    groups = json_events(lines)
    first = groups[0]["time"] if groups else None
    return [group["change"] for group in groups if group["state"] == "ESTAB" and group["time"] != first]


def test_count_by_redraws_counts_with_their_change(zoo_ns: ZooNamespace) -> None:
    watch = WatchOutput(zoo_ns, "-tan", f"--watch={INTERVAL}", "--count-by", "state", "--json-lines")
    assert watch.wait_for(bool), "no counts for the baseline"
    open_and_close_a_connection(zoo_ns, watch, lambda _port, lines: sum(c for c in estab_changes(lines) if c > 0) == 2,
                                lambda _port, lines: sum(c for c in estab_changes(lines) if c < 0) == -2)
    groups = json_events(watch.stop())
    first = groups[0]["time"]
    assert all(group["change"] is None for group in groups if group["time"] == first), "the baseline has no change"
    changes = estab_changes([json.dumps(group) for group in groups])
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


@pytest.mark.parametrize("form", [[], ["--json-lines"]], ids=["text", "json-lines"])
def test_each_intervals_unasked_process_scan_is_stopped(zoo_ns: ZooNamespace, form: list[str]) -> None:
    """-p's /proc scan runs in children, one scan an interval; an interval that shows no new socket never asks
    for it. Its children must be stopped at the interval's end, not pile up for as long as the watch runs
    (one or two an interval did, as zombies or blocked on their pipes)."""
    watch = WatchOutput(zoo_ns, "-tanp", f"--watch={INTERVAL}", *form, "sport", "=", ":1")
    try:
        time.sleep(INTERVAL * 12)
        with open(f"/proc/{watch.proc.pid}/task/{watch.proc.pid}/children") as listed:
            children = listed.read().split()
    finally:
        watch.stop()
    assert len(children) <= 3, children  # at most the scanners of the interval under way


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
IDLE = "import sys; print('ready', flush=True); sys.stdin.read()"


def test_all_netns_names_a_refused_namespace_once() -> None:
    """A namespace pyss may not enter is named once on stderr, as without --watch, not again every interval
    (as nobody, pyss may enter none but its own)."""
    with script_namespace("watch-refused", IDLE) as name:
        proc = subprocess.Popen([*NOBODY, str(PYSS), f"--watch={INTERVAL}", "-t", "--all-netns"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=TOOL_ENV)
        assert proc.stdout is not None
        summaries = 0
        while summaries < 4 and (line := proc.stdout.readline()):
            summaries += " total " in line.decode()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    lines = err.decode().splitlines()
    assert summaries == 4 and proc.returncode == 0, err
    assert any(f'"{name}"' in line for line in lines), lines
    assert len(lines) == len(set(lines)), lines
