"""Run pyss-exporter (and Prometheus) inside a private network namespace, always stopped afterwards.

Everything listens on loopback addresses of a namespace made for the test, so
nothing can collide with the host's ports or reach beyond the machine. The
test process talks to them from a thread that enters that namespace for each
request (pyss.system.netns.inside), so no helper process is needed to reach
127.0.0.1 over there.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pyss.system.netns import Namespace, inside
from tests.integration.harness import NS_PREFIX, TOOL_ENV, ip

EXPORTER = Path(sys.executable).parent / "pyss-exporter"
START_TIMEOUT = 20.0
_SERVING = re.compile(rb"serving http://(?P<host>[^\s]+):(?P<port>\d+)/metrics")


def make_namespace(suffix: str) -> Namespace:
    """A fresh named namespace with lo up (deleted by :func:`delete_namespace`)."""
    name = f"{NS_PREFIX}{os.getpid()}-{suffix}"
    ip("netns", "del", name, check=False)
    ip("netns", "add", name)
    ip("-n", name, "link", "set", "lo", "up")
    status = os.stat(f"/run/netns/{name}")
    return Namespace(name, status.st_dev, status.st_ino, f"/run/netns/{name}")


def delete_namespace(namespace: Namespace) -> None:
    ip("netns", "del", namespace.name, check=False)


def stop(process: subprocess.Popen[bytes]) -> tuple[int, bytes]:
    """SIGTERM, then SIGKILL after 5 s; (exit status, what it wrote to stderr)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    err = process.stderr.read() if process.stderr is not None else b""
    for pipe in (process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()
    return process.returncode, err


class Exporter:
    """A running pyss-exporter: its process, its port, what it logged so far."""

    def __init__(self, process: subprocess.Popen[bytes], namespace: Namespace, port: int, log: bytes) -> None:
        self.process = process
        self.namespace = namespace
        self.port = port
        self.log = log  # stderr: what it logged until it served, and all of it once stopped
        self.status: int | None = None  # its exit status once stopped

    def get(self, path: str = "/metrics") -> tuple[int, str]:
        return http_get(self.namespace, f"http://127.0.0.1:{self.port}{path}")


@contextlib.contextmanager
def running_exporter(namespace: Namespace, *args: str) -> Iterator[Exporter]:
    """pyss-exporter on 127.0.0.1 (a free port) in ``namespace``; stopped and reaped however the body ends."""
    process = subprocess.Popen(
        ["ip", "netns", "exec", namespace.name, str(EXPORTER), "--listen", "127.0.0.1:0", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=TOOL_ENV)
    exporter: Exporter | None = None
    try:
        log = _wait_for(process, _SERVING)
        match = _SERVING.search(log)
        assert match is not None
        exporter = Exporter(process, namespace, int(match["port"]), log)
        yield exporter
    finally:
        status, rest = stop(process)
        if exporter is not None:
            exporter.log += rest
            exporter.status = status


def _wait_for(process: subprocess.Popen[bytes], pattern: re.Pattern[bytes]) -> bytes:
    """stderr until ``pattern`` shows (bounded); raises with what was seen if the process exits or times out."""
    assert process.stderr is not None
    seen = b""
    deadline = time.monotonic() + START_TIMEOUT
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        while not pattern.search(seen):
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                raise AssertionError(f"pyss-exporter did not start in {START_TIMEOUT} s; stderr: {seen!r}")
            chunk = os.read(process.stderr.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"pyss-exporter exited with {process.wait(5)}; stderr: {seen!r}")
            seen += chunk
    return seen


def http_get(namespace: Namespace, url: str, timeout: float = 10.0) -> tuple[int, str]:
    """(status, body) of a GET made from inside ``namespace``."""
    with inside(namespace):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")


class Prometheus:
    """A Prometheus server scraping one target every second, its data in a temporary directory."""

    PORT = 9090  # free by construction: the namespace is the test's own

    def __init__(self, namespace: Namespace, process: subprocess.Popen[bytes]) -> None:
        self.namespace = namespace
        self.process = process

    def query(self, expression: str) -> list[dict[str, Any]]:
        url = f"http://127.0.0.1:{self.PORT}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
        status, body = http_get(self.namespace, url)
        assert status == 200, body
        answer = json.loads(body)
        assert answer["status"] == "success", answer
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result


@contextlib.contextmanager
def running_prometheus(namespace: Namespace, target: str, workdir: Path) -> Iterator[Prometheus]:
    config = workdir / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        f"scrape_configs:\n  - job_name: pyss\n    static_configs:\n      - targets: ['{target}']\n")
    argv: Sequence[str] = [
        "ip", "netns", "exec", namespace.name, "prometheus", f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{Prometheus.PORT}",
        "--log.level=warn"]
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=TOOL_ENV)
    try:
        yield Prometheus(namespace, process)
    finally:
        stop(process)


def wait_until(check: Any, timeout: float, what: str) -> Any:
    """Poll ``check()`` until it returns something true (bounded); its last answer in the failure message."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            last = check()
            if last:
                return last
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last answer: {last!r}")
