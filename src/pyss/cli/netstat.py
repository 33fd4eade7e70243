"""pynetstat: net-tools netstat's flags and output, served from sock_diag and rtnetlink.

One module per job: :mod:`pyss.cli.netstat_options` reads the command line,
:mod:`pyss.cli.netstat_sockets` and :mod:`pyss.cli.netstat_unix` list
sockets, :mod:`pyss.cli.netstat_tables` the routes, interfaces and counters;
this module runs what the flags ask for and turns faults into netstat's
messages and exit statuses.
"""

from __future__ import annotations

import sys
import time

from pyss import __version__
from pyss.cli.netstat_options import PROG, USAGE, FamilyError, Flags, NoSelinux, finish_selection, parse
from pyss.cli.netstat_sockets import MissingSupport, list_sockets
from pyss.cli.netstat_tables import E_OPTERR, show_interfaces, show_masquerade, show_routes, show_statistics
from pyss.cli.options import UsageError
from pyss.lite_typing import TYPE_CHECKING
from pyss.netlink.decode import DumpError, MalformedMessage
from pyss.system.output import EXIT_INTERRUPTED, end_as_interrupted, exit_at_once, guarded, open_output

if TYPE_CHECKING:
    from collections.abc import Callable

def _write(text: str) -> None:
    if text:
        sys.stdout.write(text)


def run(flags: Flags) -> int:
    if flags.interfaces + flags.route + flags.masquerade + flags.statistics > 1:
        raise UsageError("")
    finish_selection(flags)
    if flags.statistics:
        return show_statistics(flags, _write)
    action: Callable[[Flags, Callable[[str], None]], int] = list_sockets
    if flags.masquerade:
        action = show_masquerade
    elif flags.route:
        action = show_routes
    elif flags.interfaces:
        action = show_interfaces
    if flags.continuous:  # it runs until stopped: cycles must not pile up
        from pyss.cli.launch import resume_collector

        resume_collector()
    while True:
        status = action(flags, _write)
        if status or not flags.continuous:
            return status
        flags.rounds += 1
        sys.stdout.flush()
        time.sleep(1)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    open_output()
    return guarded(PROG, lambda: _main(args))


def command() -> int:
    """:func:`main` on the command line, then the process ends at once (pyss.system.output.exit_at_once)
    unless that could lose something: what the `pynetstat` console script runs (after pyss.cli.launch)."""
    status = main()
    if status == EXIT_INTERRUPTED:
        end_as_interrupted()
    exit_at_once(status)
    return status


def _main(args: list[str]) -> int:
    try:
        try:
            flags = parse(args)
        except UsageError as error:
            if str(error):
                sys.stderr.write(f"{PROG}: {error}\n")
            sys.stderr.write(USAGE)
            return E_OPTERR
        except FamilyError as error:
            sys.stderr.write(f"Unknown address family `{error}'.\n")
            return 1
        except NoSelinux:
            sys.stderr.write("SELinux is not enabled on this machine.\n")
            return 1
        if flags.version:
            sys.stdout.write(f"{PROG} {__version__} (pyss): net-tools netstat's interface over sock_diag and rtnetlink\n")
            return 0
        if flags.help:
            sys.stdout.write(USAGE)
            return 0
        try:
            return run(flags)
        except UsageError:
            sys.stderr.write(USAGE)
            return E_OPTERR
        except MissingSupport as missing:
            sys.stdout.flush()
            sys.stderr.write(f"{PROG}: no support for `{missing}' on this system.\n")
            return 1
        except (MalformedMessage, DumpError) as error:
            sys.stdout.flush()
            reason = error.strerror if isinstance(error, DumpError) else f"malformed reply from the kernel: {error}"
            sys.stderr.write(f"{PROG}: cannot read sockets: {reason}\n")
            return 1
        finally:
            sys.stdout.flush()
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(command())
