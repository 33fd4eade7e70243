"""pyss-exporter's command line (typer): serve /metrics over HTTP, or write one textfile and exit.

Start-up checks everything it can before serving: the --listen address, the
namespaces (one trial dump of each), the port. Each failure is one line on
stderr and a non-zero exit (2 for a usage error, 1 for a fault), never a
traceback. Once serving, a failing scrape is counted and logged by the
collector and the exporter goes on.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Annotated, NamedTuple
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import typer
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector

from pyss import __version__
from pyss.exporter import source
from pyss.exporter.collector import SocketCollector
from pyss.exporter.metrics import DEFAULT_MAX_SERIES
from pyss.system.output import guarded, open_output, replace_file

PROG = "pyss-exporter"
DEFAULT_PORT = 9433
DEFAULT_LISTEN = f"127.0.0.1:{DEFAULT_PORT}"

app = typer.Typer(add_completion=True, rich_markup_mode=None, pretty_exceptions_enable=False)


class Failure(Exception):
    """A fault found at start-up: the message is the one line to print; the exit status is 1."""


class Address(NamedTuple):
    host: str
    port: int


def parse_listen(text: str) -> Address:
    """HOST:PORT, [IPV6]:PORT; raises ValueError with the reason."""
    host, colon, port_text = text.rpartition(":")
    if not colon or not host:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:9433 or [::1]:9433")
    if host.startswith("["):
        if not host.endswith("]") or len(host) < 3:
            raise ValueError("an IPv6 address goes in brackets: [::1]:9433")
        host = host[1:-1]
    elif ":" in host:
        raise ValueError("an IPv6 address goes in brackets: [::1]:9433")
    if not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"port {port_text!r} is not a number from 0 to 65535")
    return Address(host, int(port_text))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"{PROG} (pyss) {__version__}")
        raise typer.Exit()


@app.command(help="Serve socket metrics (counts per namespace, kind and state; listeners; processes) for Prometheus.")
def serve(
    listen: Annotated[str, typer.Option(metavar="HOST:PORT", help="Address to serve /metrics on (IPv6 in brackets: [::1]:9433).")] = DEFAULT_LISTEN,
    all_netns: Annotated[bool, typer.Option("--all-netns", help="Export every network namespace: the own one, the named ones (/run/netns) and those only processes hold (pid:N), found again at each scrape.")] = False,
    netns: Annotated[list[str] | None, typer.Option("--netns", metavar="NAME", help="Export this named namespace instead of the own one (repeatable).")] = None,
    processes: Annotated[bool, typer.Option("--processes", help="Add sockets per process name and state (reads /proc/*/fd at each scrape).")] = False,
    tcp_info: Annotated[bool, typer.Option("--tcp-info", help="Add retransmission, loss and RTT aggregates over established TCP sockets.")] = False,
    max_series: Annotated[int, typer.Option("--max-series", metavar="N", min=1, help="Per namespace, keep at most N listeners, ports and processes; sum the rest as \"other\".")] = DEFAULT_MAX_SERIES,
    textfile: Annotated[Path | None, typer.Option("--textfile", metavar="PATH", help="Write the metrics once to PATH (atomically, for node_exporter's textfile collector) and exit.")] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    if all_netns and netns:
        raise typer.BadParameter("--all-netns and --netns exclude each other", param_hint="--netns")
    try:
        address = parse_listen(listen)
    except ValueError as error:
        raise typer.BadParameter(f"{listen!r}: {error}", param_hint="--listen") from None
    options = source.Options(namespaces=netns or None, all_namespaces=all_netns, processes=processes,
                             tcp_info=tcp_info)
    scraper = source.Scraper(options)
    trial = scraper()
    check_start(trial, options)
    if textfile is not None:
        write_textfile(textfile, SocketCollector(lambda: trial, max_series))
        return
    collector = SocketCollector(scraper, max_series)
    collector.account(trial.problems)  # logs the warnings the trial dump had
    run_server(address, collector)


def check_start(trial: source.Scrape, options: source.Options) -> None:
    """What would make every scrape fail stops the exporter now, with one line (Failure).

    Not fatal: a table the kernel cannot list other than TCP (its series are
    missing), an interrupted dump, and with --all-netns a namespace deleted
    while being enumerated (normal churn) or one we may not inspect.
    """
    for problem in trial.problems:
        if problem.reason == source.INTERRUPTED or (problem.reason == source.UNSUPPORTED and problem.table != "tcp"):
            continue
        if options.all_namespaces and (problem.reason == source.VANISHED or problem.table == source.ENUMERATION):
            continue
        where = f'netns "{problem.netns}": ' if problem.netns else ""
        raise Failure(f"{where}{problem.message}")


def write_textfile(path: Path, collector: Collector) -> None:
    """The exposition written to a temporary file beside PATH, then renamed over it (readers never see half).

    Not prometheus_client's write_to_textfile: it opens a temporary file of a predictable name
    following symlinks, and its rename replaces whatever PATH is, a device included.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    try:
        replace_file(str(path), generate_latest(registry))
    except OSError as error:
        raise Failure(f"cannot write {path}: {error.strerror}") from None


def run_server(address: Address, collector: SocketCollector) -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    registry.register(ProcessCollector(registry=None))
    try:
        server, thread = start_server(address, registry)
    except OSError as error:
        shown = f"[{address.host}]" if ":" in address.host else address.host
        raise Failure(f"cannot listen on {shown}:{address.port}: {error.strerror or error}") from None
    host, port = server.server_address[:2]
    host = host.decode() if isinstance(host, bytes) else host
    LOG.info("serving http://%s:%s/metrics", f"[{host}]" if ":" in host else host, port)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    while not stop.wait(3600):
        pass
    server.shutdown()
    server.server_close()
    thread.join(5)


LOG = logging.getLogger("pyss.exporter")


class _QuietHandler(WSGIRequestHandler):
    """Requests are not logged: Prometheus scrapes every few seconds."""

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingWSGIServer):
    """prometheus_client's server, but a request that fails is not a traceback on stderr.

    A client that resets its connection (a scraper timing out, killed, or a port scan) is the
    client's loss and is not logged; anything else is one line.
    """

    def handle_error(self, request: object, client_address: object) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        LOG.warning("a request from %s failed: %s: %s", client_address, type(error).__name__, error)


def start_server(address: Address, registry: CollectorRegistry) -> tuple[WSGIServer, threading.Thread]:
    """Serve /metrics (and every other path) on a daemon thread, as prometheus_client's start_http_server."""
    family, _, _, _, sockaddr = socket.getaddrinfo(address.host, address.port, type=socket.SOCK_STREAM,
                                                   flags=socket.AI_PASSIVE)[0]
    server_class = type("Server", (_Server,), {"address_family": family})
    server: WSGIServer = make_server(str(sockaddr[0]), address.port, make_wsgi_app(registry), server_class,
                         handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="pyss-exporter-http", daemon=True)
    thread.start()
    return server, thread


def main(argv: list[str] | None = None) -> int:
    """The console script: typer parses, this turns every failure into one line on stderr.

    stdout closed: exit 0 quietly; stdout that cannot be written (`--help > /dev/full`): one line
    and exit 1, as pyss and pynetstat (pyss.system.output.guarded).
    """
    open_output()
    return guarded(PROG, lambda: _main(argv))


def _main(argv: list[str] | None) -> int:
    logging.basicConfig(level=logging.INFO, format=f"{PROG}: %(message)s", stream=sys.stderr)
    command = typer.main.get_command(app)
    try:
        result = command.main(argv if argv is not None else sys.argv[1:], prog_name=PROG, standalone_mode=False)
    except typer.TyperException as error:
        sys.stderr.write(f"{PROG}: {error.format_message()}\n")
        return getattr(error, "exit_code", 2)
    except Failure as failure:
        sys.stderr.write(f"{PROG}: {failure}\n")
        return 1
    except (typer.Abort, KeyboardInterrupt):
        return 130
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

