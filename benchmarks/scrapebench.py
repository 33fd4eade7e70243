"""One Prometheus scrape, timed: ``scrapebench.py pyss|node`` prints the seconds of one GET /metrics on stdout.

Starts the exporter in the current network namespace on a loopback port
(pyss-exporter with its default options; node_exporter with only its tcpstat
collector), scrapes it once untimed (its first scrape pays one-off costs:
imports, Go's and Python's allocators warming up), then times one more GET,
reading the whole body, and stops it. The body must hold the exporter's
socket-state series, so an exporter that answered without doing the work
cannot look fast.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

START_TIMEOUT = 30.0
_SERVING = re.compile(rb"serving http://127\.0\.0\.1:(\d+)/metrics")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def _pyss() -> Iterator[int]:
    exporter = Path(sys.executable).parent / "pyss-exporter"
    process = subprocess.Popen([str(exporter), "--listen", "127.0.0.1:0"], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield _port_from_log(process)
    finally:
        _stop(process)


def _port_from_log(process: subprocess.Popen[bytes]) -> int:
    assert process.stderr is not None
    seen = b""
    deadline = time.monotonic() + START_TIMEOUT
    with selectors.DefaultSelector() as selector:
        selector.register(process.stderr, selectors.EVENT_READ)
        while (match := _SERVING.search(seen)) is None:
            left = deadline - time.monotonic()
            chunk = os.read(process.stderr.fileno(), 4096) if left > 0 and selector.select(left) else b""
            if not chunk:
                raise RuntimeError(f"pyss-exporter did not start: {seen.decode(errors='replace')}")
            seen += chunk
    return int(match[1])


@contextlib.contextmanager
def _node() -> Iterator[int]:
    port = _free_port()
    process = subprocess.Popen(
        ["prometheus-node-exporter", "--collector.disable-defaults", "--collector.tcpstat",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("node_exporter did not start") from None
                time.sleep(0.05)
        yield port
    finally:
        _stop(process)


EXPORTERS: dict[str, tuple[Callable[[], contextlib.AbstractContextManager[int]], bytes]] = {
    "pyss": (_pyss, b"pyss_sockets{"),
    "node": (_node, b"node_tcp_connection_states{"),
}


def scrape(port: int) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as response:
        return bytes(response.read())


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in EXPORTERS:
        print(f"usage: scrapebench.py {'|'.join(EXPORTERS)}", file=sys.stderr)
        return 2
    start_exporter, expected = EXPORTERS[argv[0]]
    try:
        with start_exporter() as port:
            scrape(port)
            began = time.perf_counter()
            body = scrape(port)
            elapsed = time.perf_counter() - began
    except (OSError, RuntimeError) as error:
        print(f"scrapebench: {argv[0]}: {error}", file=sys.stderr)
        return 1
    if expected not in body:
        print(f"scrapebench: {argv[0]}: the scrape lacks {expected.decode()}", file=sys.stderr)
        return 1
    print(f"{elapsed:.6f} {len(body)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
