"""`pyss`: ss's command line, served by pyss's dump and renderers.

Exit statuses follow ss: 255 for a bad command line, 1 for a failure to
read sockets or a namespace, 0 otherwise (also when there is nothing to show).
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal's C core: typeshed has no stub for it
import gc
import os
import sys

from pyss import __version__
from pyss.cli.options import Option, UsageError, help_text, read_options
from pyss.lite_typing import TYPE_CHECKING, NamedTuple
from pyss.names.protocols import FAMILY_NAMES
from pyss.netlink.constants import AF_INET, AF_INET6
from pyss.query import (
    OPTIONAL_TABLES,
    STATES_ALL,
    STATES_BOUND_INACTIVE,
    STATES_LISTENING,
    TABLE_BIT,
    Details,
    Query,
    SelectionBuilder,
    SocketFilter,
    extensions,
    finish_query,
    wants_details,
)
from pyss.system.output import EXIT_INTERRUPTED, end_as_interrupted, exit_at_once, guarded, open_output

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from typing import Any

    # per interval: ((kind, namespace) -> (record -> printed form), (columns, namespace) -> printed forms,
    # what stops the interval's -p scan once its rows are made)
    FormsOf = tuple[Callable[[type, str | None], Callable[[Any], Any]], Callable[[Any, str | None], list[Any]],
                    Callable[[], None]]

    from pyss.columnar import Batch
    from pyss.netlink.destroy import SocketCloser
    from pyss.records import SocketRecord
    from pyss.render.ss import RowBuilder, SsWriter

PROGRAM = "pyss"
EXIT_USAGE = 255
EXIT_FAILURE = 1

_O = Option
# In ss 6.1's getopt order (see pyss.cli.options: it decides what an abbreviation means), then the
# short-only -v, then the options pyss adds.
OPTIONS = (
    _O("numeric", "n", "numeric", False, "show ports (and netlink owners) as numbers"),
    _O("resolve", "r", "resolve", False, "show host names instead of addresses"),
    _O("options", "o", "options", False, "add timer information"),
    _O("extended", "e", "extended", False, "add uid, inode, cookie and more"),
    _O("memory", "m", "memory", False, "add socket memory use"),
    _O("info", "i", "info", False, "add TCP internals (rtt, cwnd, retransmits, ...)"),
    _O("processes", "p", "processes", False, "add the processes that hold each socket"),
    _O("threads", "T", "threads", False, "add the threads that hold each socket"),
    _O("bpf", "b", "bpf", False, "add classic BPF filters of packet sockets"),
    _O("events", "E", "events", False, "follow socket destruction events"),
    _O("dccp", "d", "dccp", False, "DCCP sockets"),
    _O("tcp", "t", "tcp", False, "TCP sockets"),
    _O("sctp", "S", "sctp", False, "SCTP sockets"),
    _O("udp", "u", "udp", False, "UDP sockets"),
    _O("raw", "w", "raw", False, "RAW sockets"),
    _O("unix", "x", "unix", False, "UNIX domain sockets"),
    _O("tipc", None, "tipc", False, "TIPC sockets"),
    _O("vsock", None, "vsock", False, "VSOCK sockets"),
    _O("all", "a", "all", False, "list sockets in every state"),
    _O("listening", "l", "listening", False, "list listening (and unconnected) sockets only"),
    _O("ipv4", "4", "ipv4", False, "IPv4 sockets only"),
    _O("ipv6", "6", "ipv6", False, "IPv6 sockets only"),
    _O("packet", "0", "packet", False, "PACKET sockets"),
    _O("family", "f", "family", True, "inet, inet6, link, unix, netlink, vsock, tipc or xdp", "FAMILY"),
    _O("query", None, "socket", True, "", "QUERY"),
    _O("query", "A", "query", True, "socket tables, comma-separated: all, inet, tcp, udp, raw, unix, "
       "unix_stream, unix_dgram, unix_seqpacket, packet, packet_raw, packet_dgram, netlink, ...", "QUERY"),
    _O("summary", "s", "summary", False, "show socket counts"),
    _O("diag", "D", "diag", True, "dump raw TCP socket information to FILE", "FILE"),
    _O("filter-file", "F", "filter", True, "read the filter expression from FILE (- for stdin)", "FILE"),
    _O("version", "V", "version", False, "show the version and exit"),
    _O("help", "h", "help", False, "show this help and exit"),
    _O("context", "Z", "context", False, "add process SELinux contexts"),
    _O("contexts", "z", "contexts", False, "add process and socket SELinux contexts"),
    _O("net", "N", "net", True, "run inside the named network namespace", "NAME"),
    _O("tipcinfo", None, "tipcinfo", False, "add TIPC socket information"),
    _O("tos", None, "tos", False, "add TOS and priority"),
    _O("cgroup", None, "cgroup", False, "add the cgroup"),
    _O("kill", "K", "kill", False, "close the sockets the filter selects, listing those closed"),
    _O("no-header", "H", "no-header", False, "leave out the header line"),
    _O("xdp", None, "xdp", False, "XDP sockets"),
    _O("mptcp", "M", "mptcp", False, "MPTCP sockets"),
    _O("oneline", "O", "oneline", False, "print each socket on one line"),
    _O("inet-sockopt", None, "inet-sockopt", False, "add inet socket options"),
    _O("version", "v", None, False, ""),
    _O("bound-inactive", "B", "bound-inactive", False,
       "list TCP sockets that are bound but neither listen nor connect", extension=True),
    _O("force", None, "force", False, "with -K: close sockets even without a filter (every listed one)",
       extension=True),
    _O("no-queues", "Q", "no-queues", False, "leave out the Recv-Q and Send-Q columns", extension=True),
    _O("json", None, "json", False, "print one JSON array of the sockets, details included (docs/json.md)",
       extension=True),
    _O("json-lines", None, "json-lines", False, "print one JSON object per socket, streamed (docs/json.md)",
       extension=True),
    _O("count-by", None, "count-by", True, "count the sockets by KEY[,KEY...] instead of listing them: state, "
       "netid, local-address, local-port, peer-address, peer-port, process, pid, uid, interface, netns", "KEYS",
       extension=True),
    _O("top", None, "top", True, "with --count-by, show only the N largest groups", "N", extension=True),
    _O("watch", None, "watch", True, "list again every SECONDS (default 1) and show what changed", "SECONDS",
       optional_value=True, extension=True),
    _O("all-netns", None, "all-netns", False, "list the sockets of every network namespace on the host",
       extension=True),
)
SYNOPSIS = "[ OPTIONS ] [ FILTER ]\n\nFILTER := [ state STATE ... ] [ EXPRESSION ]   (see docs/filter.md)"

_TABLE_FLAGS = {"tcp": "tcp", "udp": "udp", "raw": "raw", "dccp": "dccp", "sctp": "sctp", "mptcp": "mptcp"}
_FAMILY_FLAGS = {"ipv4": "inet", "ipv6": "inet6", "packet": "link", "unix": "unix", "vsock": "vsock",
                 "tipc": "tipc", "xdp": "xdp"}


class Fatal(Exception):
    """An error to report in one line and exit with ``status``."""

    def __init__(self, message: str, status: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.status = status


def main(argv: Sequence[str] | None = None) -> int:
    collecting = gc.isenabled()
    try:
        return _guarded_main(argv)
    finally:  # also when a caller's own stdout raises its own error
        _LISTED.clear()  # an in-process caller gets the listing's memory back
        if collecting:
            gc.enable()  # (a listing turns it off: see _list)


def _guarded_main(argv: Sequence[str] | None) -> int:
    # Die quietly on a closed pipe (`pyss -tan | head`), as ss does. _signal, not signal: the
    # signal module wraps its constants in enums, and importing enum costs more start-up than this
    # whole command spends on anything else but the interpreter.
    _signal.signal(_signal.SIGPIPE, _signal.SIG_DFL)
    open_output()
    return guarded(PROGRAM, lambda: _main(list(sys.argv[1:] if argv is None else argv)))


def command() -> int:
    """:func:`main` on the command line, then the process ends at once (pyss.system.output.exit_at_once)
    unless that could lose something: what the `pyss` console script runs (after pyss.cli.launch)."""
    status = _guarded_main(None)
    if status == EXIT_INTERRUPTED:
        end_as_interrupted()
    exit_at_once(status)  # the last listing (_LISTED) goes with the process, never freed
    _LISTED.clear()  # not at once: freed now, before the interpreter's teardown would traverse it first
    gc.enable()  # (a listing turns it off: see _list)
    return status


def _main(argv: list[str]) -> int:
    try:
        return run(argv)
    except Fatal as fatal:
        sys.stderr.write(f"{PROGRAM}: {fatal}\n")
        return fatal.status
    except UsageError as error:
        sys.stderr.write(f"{PROGRAM}: {error} (try '{PROGRAM} --help')\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def run(argv: list[str]) -> int:
    selection = SelectionBuilder()
    flags: dict[str, object] = {"extended": 0}
    filter_file: str | None = None
    named: set[str] = set()  # tables and families the user asked for by name
    words: list[str] = []
    # Options act in order, as in ss: -h, -V, a bad -f/-A, -Z or a -N that fails end the run before a
    # later option is read.
    for option, value in read_options(argv, OPTIONS, words):
        key = option.key
        if key == "help":
            sys.stdout.write(help_text(PROGRAM, SYNOPSIS, OPTIONS))
            return 0
        if key == "version":
            sys.stdout.write(f"{PROGRAM} {__version__} (ss-compatible output of iproute2 6.x)\n")
            return 0
        if key in _TABLE_FLAGS:
            selection.add_table(_TABLE_FLAGS[key])
            named.add(_TABLE_FLAGS[key])
        elif key in _FAMILY_FLAGS:
            selection.add_family(FAMILY_NAMES[_FAMILY_FLAGS[key]])
            named.add(_FAMILY_FLAGS[key])
        elif key == "family":
            _add_family(selection, value or "")
            named.add(value or "")
        elif key == "query":
            named.update(name.lstrip("!") for name in (value or "").split(",") if not name.startswith("!"))
            try:
                selection.add_query(value or "")
            except KeyError as bad:
                raise Fatal(f'"{bad.args[0]}" is not a socket table (try {PROGRAM} --help)', EXIT_USAGE) from None
        elif key == "all":
            selection.state_override = STATES_ALL
        elif key == "listening":
            selection.state_override = STATES_LISTENING
        elif key == "bound-inactive":
            selection.state_override = STATES_BOUND_INACTIVE
        elif key == "filter-file":
            if filter_file is not None:
                raise Fatal("only one filter file can be given", EXIT_USAGE)
            filter_file = value
        elif key == "extended":
            flags["extended"] = int(flags["extended"]) + 1  # type: ignore[call-overload]
            flags["options"] = True
        elif key == "bpf":
            flags["bpf"] = flags["options"] = True
        elif key in ("context", "contexts"):
            raise Fatal("SELinux is not enabled.")
        elif key == "net":
            _enter_namespace(value or "")
            flags[key] = value
        else:
            flags[key] = value if value is not None else True
    if "watch" in flags and "kill" in flags:  # refused before -K itself is looked at: never kill in a loop
        raise Fatal("--watch cannot be combined with -K/--kill", EXIT_USAGE)
    views = _check_views(flags)
    details = Details(
        numeric=bool(flags.get("numeric")), resolve=bool(flags.get("resolve")), options=bool(flags.get("options")),
        extended=int(flags["extended"]), memory=bool(flags.get("memory")), info=bool(flags.get("info")),  # type: ignore[call-overload]
        processes=bool(flags.get("processes") or flags.get("threads")), threads=bool(flags.get("threads")), bpf=bool(flags.get("bpf")), tos=bool(flags.get("tos")),
        cgroup=bool(flags.get("cgroup")), oneline=bool(flags.get("oneline")),
        inet_sockopt=bool(flags.get("inet-sockopt")), queues=not flags.get("no-queues"),
        tipcinfo=bool(flags.get("tipcinfo")),
    )
    if flags.get("summary"):
        _print_summary()
        if selection.by_default and not words:
            return 0
    if "diag" in flags:
        return _record_tcp_dump(str(flags["diag"]), selection, details, words)
    if flags.get("kill") and any(flags.get(view) for view in ("all-netns", "json", "json-lines", "count-by")):
        raise Fatal("-K lists what it closes in ss's table, in one namespace: leave out --all-netns, --json, "
                    "--json-lines, --count-by", EXIT_USAGE)
    if flags.get("kill") and not flags.get("events") and not (words or filter_file or flags.get("force")):
        raise Fatal("-K without a filter would close every socket listed: give a filter (e.g. dst 10.1.2.3) "
                    "or add --force", EXIT_USAGE)
    query = _build_query(selection, details, words, filter_file)
    if query is None:
        return 0
    query = query._replace(quiet_tables=quiet_tables(named))
    if flags.get("events") or views.watch is not None:  # they run until stopped: cycles must not pile up
        from pyss.cli.launch import resume_collector

        resume_collector()
    if flags.get("events"):
        return _follow_events(query, header=not flags.get("no-header"))
    if views.watch is not None:
        return _watch(query, views, flags)
    if views.count_by is not None:
        return _count(query, views, flags)
    if flags.get("json") or flags.get("json-lines"):
        return _list_json(query, array=bool(flags.get("json")), all_netns=bool(flags.get("all-netns")))
    if not flags.get("kill") and not flags.get("all-netns"):
        _start_tcp_dump(query)
    return _list(query, header=not flags.get("no-header"), all_netns=bool(flags.get("all-netns")),
                 kill=bool(flags.get("kill")))


class ViewArgs(NamedTuple):
    """--count-by, --top and --watch, checked."""

    count_by: tuple[str, ...] | None
    top: int | None
    watch: float | None


def _check_views(flags: dict[str, object]) -> ViewArgs:
    """Refuse bad view values and combinations that have no meaning, before anything is dumped."""
    keys = top = interval = None
    if "count-by" in flags:
        from pyss.cli.counting import key_names

        try:
            keys = key_names(str(flags["count-by"]))
        except ValueError as error:
            raise Fatal(str(error), EXIT_USAGE) from None
        if "netns" in keys and not flags.get("all-netns"):
            raise Fatal("--count-by netns needs --all-netns", EXIT_USAGE)
    if "top" in flags:
        top = _top(str(flags["top"]))
        if keys is None:
            raise Fatal("--top needs --count-by", EXIT_USAGE)
    if "watch" in flags:
        from pyss.cli.watch import interval_seconds

        try:
            interval = interval_seconds(None if flags["watch"] is True else str(flags["watch"]))
        except ValueError as error:
            raise Fatal(str(error), EXIT_USAGE) from None
        for flag, name in (("json", "--json (use --json-lines)"), ("summary", "-s/--summary"),
                           ("events", "-E/--events"), ("diag", "-D/--diag")):
            if flags.get(flag):
                raise Fatal(f"--watch cannot be combined with {name}", EXIT_USAGE)
    _check_json(flags)
    return ViewArgs(keys, top, interval)


def _top(text: str) -> int:
    try:
        top = int(text)
    except ValueError:
        top = 0
    if top <= 0:
        raise Fatal(f"--top needs a positive whole number, not '{text}'", EXIT_USAGE)
    return top


# What -E (ss's rows of this namespace's destroyed sockets, as they come), -D (the kernel's raw TCP dump)
# and -s (this namespace's counters) cannot honour: refused rather than silently left out.
_SINGLE_FORM = {"events": ("-E/--events", ("json", "json-lines", "count-by", "all-netns")),
                "diag": ("-D/--diag", ("json", "json-lines", "count-by", "all-netns")),
                "summary": ("-s/--summary", ("all-netns",))}


def _check_json(flags: dict[str, object]) -> None:
    for flag, (name, others) in _SINGLE_FORM.items():
        for other in others:
            if flags.get(flag) and flags.get(other):
                raise Fatal(f"{name} cannot be combined with --{other}", EXIT_USAGE)
    if flags.get("json") and flags.get("json-lines"):
        raise Fatal("--json and --json-lines cannot be combined: choose one", EXIT_USAGE)
    if flags.get("summary") and (flags.get("json") or flags.get("json-lines")):
        raise Fatal("-s/--summary has no JSON form: leave out --json/--json-lines", EXIT_USAGE)
    if flags.get("all-netns") and "net" in flags:
        raise Fatal("--all-netns lists every namespace: it cannot be combined with -N/--net", EXIT_USAGE)


# The kinds many kernels lack, by the names that ask for them: a kernel that cannot list one is
# said to only when the user named it (-S, -A sctp, --vsock ...), never for -a or the default
# selection, which on a host without them means that there are none, as ss shows.
_OPTIONAL_NAMES = {"sctp": ("sctp",), "dccp": ("dccp",), "mptcp": ("mptcp",), "tipc": ("tipc",), "xdp": ("xdp",),
                   "vsock": ("vsock_stream", "vsock_dgram"), "vsock_stream": ("vsock_stream",),
                   "v_str": ("vsock_stream",), "vsock_dgram": ("vsock_dgram",), "v_dgr": ("vsock_dgram",)}


def quiet_tables(named: set[str]) -> int:
    """The optional tables whose missing diag module goes unsaid: those the user did not name."""
    asked = sum({TABLE_BIT[table] for name in named for table in _OPTIONAL_NAMES.get(name, ())})
    return OPTIONAL_TABLES & ~asked


def _add_family(selection: SelectionBuilder, name: str) -> None:
    if name == "help":
        sys.stdout.write(help_text(PROGRAM, SYNOPSIS, OPTIONS))
        raise SystemExit(0)
    if name not in FAMILY_NAMES:
        raise Fatal(f'"{name}" is not a socket family (inet, inet6, link, unix, netlink, vsock, tipc, xdp)',
                    EXIT_USAGE)
    selection.add_family(FAMILY_NAMES[name])


def _enter_namespace(name: str) -> None:
    from pyss.system.netns import NamespaceError, enter_namespace

    try:
        enter_namespace(name)
    except NamespaceError as error:
        raise Fatal(str(error)) from None


def _print_summary() -> None:
    from pyss.render.summary import print_summary

    print_summary(sys.stdout, sys.stderr)


def _build_query(selection: SelectionBuilder, details: Details, words: list[str], filter_file: str | None) -> Query | None:
    compiled = _compile_filter(words, filter_file, selection) if words or filter_file else None
    tables, families, states = selection.build(compiled.states if compiled is not None else None)
    query = finish_query(tables, families, states, selection.preferred_family, compiled, details)
    if isinstance(query, str):
        sys.stderr.write(f"{PROGRAM}: no {query} to show with such filter.\n")
        return None
    query = query._replace(tcp_file=os.environ.get("TCPDIAG_FILE"))
    if "PROC_ROOT" in os.environ or any(name.startswith("PROC_NET_") for name in os.environ):
        query = _proc_query(query)
    return query


def _proc_query(query: Query) -> Query:
    """The query with the tables ss's environment sends to /proc-format files (PROC_ROOT, PROC_NET_TCP,
    PROC_NET_PACKET, ...) read from them, and those /proc has no file for left unlisted, as ss does."""
    from pyss.system.proc_net import proc_table_file, proc_tables, unlisted_tables

    environ = os.environ
    return query._replace(
        proc_tables=tuple(proc_tables(environ)), proc_unix=proc_table_file(environ, "unix"),
        proc_packet=proc_table_file(environ, "packet"), proc_netlink=proc_table_file(environ, "netlink"),
        unlisted_tables=sum(TABLE_BIT[table] for table in unlisted_tables(environ)))


def _record_tcp_dump(path: str, selection: SelectionBuilder, details: Details, words: list[str]) -> int:
    """-D FILE: save the kernel's raw TCP dump as ss does (FILE "-", or any name starting with "-", is
    stdout). Like ss, only leading ``state``/``exclude`` words count: the rest of the filter is not read."""
    from pyss.filter import FilterError
    from pyss.filter.states import leading_states
    from pyss.netlink.decode import MalformedMessage
    from pyss.netlink.dumpfile import dump_families, record_tcp_dump

    try:
        states_from_words = leading_states(words)[0]
    except FilterError as error:
        raise Fatal(str(error), error.status) from None
    tables, families, states = selection.build(states_from_words)
    for empty, what in ((tables, "socket tables"), (families, "families"), (states, "socket states")):
        if not empty:
            sys.stderr.write(f"{PROGRAM}: no {what} to show with such filter.\n")
            return 0
    if not tables & TABLE_BIT["tcp"]:
        sys.stderr.write(f"{PROGRAM}: tcpdiag dump requested and no tcp in filter.\n")
        return 0
    to_stdout = path.startswith("-")
    try:
        out = sys.stdout.buffer if to_stdout else open(path, "wb")  # noqa: SIM115
    except OSError as error:
        raise Fatal(f"cannot write the dump to {path}: {error.strerror}", EXIT_USAGE) from None
    try:
        try:
            record_tcp_dump(out, dump_families(selection.preferred_family), states, extensions(details).inet)
        finally:
            out.flush() if to_stdout else out.close()
    except MalformedMessage as error:
        raise Fatal(f"malformed reply from the kernel: {error} (the dump in {path} is incomplete)") from None
    except OSError as error:
        raise Fatal(f"cannot dump TCP sockets to {path}: {error.strerror or error}") from None
    return 0


def _compile_filter(words: list[str], filter_file: str | None, selection: SelectionBuilder) -> SocketFilter:
    from pyss.api.request import compile_request_filter
    from pyss.filter import FilterError

    file_text = None
    if filter_file is not None:
        file_text = _read_filter_file(filter_file)
    tables = selection.build()[0]  # the tables do not depend on the filter's states
    try:
        compiled = compile_request_filter(words, tables, file_text=file_text,
                                          preferred_family=selection.preferred_family)
    except FilterError as error:
        raise Fatal(str(error), error.status) from None
    for warning in compiled.warnings:
        _warn(warning)
    if compiled.reads_marks:
        from pyss.system.capabilities import has_net_admin

        if not has_net_admin():
            # The kernel hides marks and refuses mark conditions (EPERM); the dump then falls back to
            # judging in Python, where every mark reads as 0. ss says "Operation not permitted" per dump.
            _warn(MARKS_HIDDEN)
    return compiled


MARKS_HIDDEN = ("socket marks cannot be read without CAP_NET_ADMIN (the kernel hides them): "
                "fwmark conditions see every mark as 0, as ss's fallback does")


# A filter file is read whole before parsing; ss reads any length line by line, but a real filter
# is a few kilobytes and this keeps `-F /dev/zero` from reading forever.
MAX_FILTER_FILE = 1 << 20


def _read_filter_file(path: str) -> str:
    """The file's text (``-`` and ``-...``: stdin, as ss), decoded as argv words are: bytes that are
    not UTF-8 become surrogates, which the value parser then refuses as ss refuses them."""
    try:
        if path.startswith("-"):
            data = sys.stdin.buffer.read(MAX_FILTER_FILE + 1)
        else:
            # A FIFO is allowed: it is how `-F <(command)` reaches pyss.
            with open(path, "rb") as source:
                data = source.read(MAX_FILTER_FILE + 1)
    except OSError as error:
        raise Fatal(f"cannot read filter file {path}: {error.strerror or error}", EXIT_USAGE) from None
    if len(data) > MAX_FILTER_FILE:
        raise Fatal(f"filter file {path} is longer than {MAX_FILTER_FILE} bytes", EXIT_USAGE)
    return data.decode("utf-8", "surrogateescape")


def _screen_width() -> int | None:
    """The terminal's width when stdout is one; None means ss's compact, pipe-friendly layout."""
    try:
        if not os.isatty(1):
            return None
        columns = os.get_terminal_size(1).columns
    except OSError:
        return None
    return columns or None


def _list(query: Query, header: bool, all_netns: bool = False, kill: bool = False) -> int:
    from pyss.dump import batch_streams
    from pyss.netlink.transport import read_ahead_helps, set_idle_work
    from pyss.render.ss import RowBuilder, SsListing, SsWriter

    users, users_column = _process_lookup(query)
    details_text = _details_renderer(query, users)
    builder = RowBuilder(query, details_text, users=users_column)
    if all_netns:
        try:
            return _list_all_netns(query, builder, details_text is not None, header)
        finally:
            _stop_scan(users)
    writer = SsWriter(sys.stdout, builder.columns(), _screen_width())
    if header:
        writer.add(builder.header())
    listing = SsListing(writer, builder, getattr(users, "ready", None))

    def write(_kind: type, batches: Iterator[Batch]) -> None:
        for batch in batches:
            batch.send(listing)

    closer = _socket_closer(query) if kill else None
    wanted = extensions(query.details) if details_text is not None or closer is not None else None
    # (a plain listing's columns carry the queues; -K needs records; -p alone keeps columns)
    columns = (details_text is None or users_column is not None) and query.details.queues and closer is None
    streams = batch_streams(query, wanted, _warn, read_ahead_helps(), columns=columns)
    set_idle_work(writer.lay_ahead)  # lay rows out while a read-ahead child has no buffer for us yet
    # No cyclic collections from here on (main() and command() turn them back on once the listing is let
    # go): the listing makes no cycles, all it makes is freed by reference counts, and collections walked
    # the lists of keys the batch holds (~3% of the parent's instructions at 50k sockets, where it has
    # its layout to do besides); turned on again while the last listing is kept (_LISTED), the first
    # collection would walk all of them (~2.7 ms).
    gc.disable()
    try:
        failure = _write_streams(streams if closer is None else _closing(streams, closer), write)
    finally:
        set_idle_work(None)
    _close(writer, listing.finish)
    _stop_scan(users)
    _LISTED[:] = [listing]
    _finish(failure)
    if closer is not None:
        closer.close()
        refusals = closer.failures()
        for line in refusals:
            _warn(line)
        return EXIT_FAILURE if refusals else 0
    return 0


# The last listing (its writer, the batch it wrote last, its builder's tables), kept by command() to the
# process's end, which frees nothing (exit_at_once): freeing the keys of 50k rows one by one took ~2 ms
# after the last row was written.
_LISTED: list[object] = []


def _start_tcp_dump(query: Query) -> None:
    """Start a plain TCP listing's one dump (pyss.netlink.tcpdiag) in a child now, before the decoders
    and the renderer are imported: its kernel walk is what a large listing waits for longest, and the
    second CPU is idle until it starts (docs/design.md, "where the time goes"). pyss.dump takes it up
    when it asks for the same dump (pyss.netlink.transport.start_early); a guess that does not match
    what it asks for costs a walk, never a wrong row. The console script has usually started it already,
    before this module was imported (pyss.cli.launch)."""
    if query.tables != TABLE_BIT["tcp"] or query.filter is not None or wants_details(query.details) \
            or not query.details.queues or query.tcp_file is not None or query.proc_tables \
            or query.unlisted_tables or query.preferred_family in (AF_INET, AF_INET6) \
            or not (query.has_family(AF_INET) and query.has_family(AF_INET6)):
        return
    from pyss.cli.launch import start_tcp_dump

    start_tcp_dump(query.states)


def _closing(streams: Iterable[tuple[type, Iterator[Batch]]], closer: SocketCloser) \
        -> Iterator[tuple[type, Iterator[Batch]]]:
    """The listing's streams with each inet table cut to the sockets -K closed (record batches only:
    the listing was asked for without columns)."""
    from pyss.columnar import RecordBatch
    from pyss.records import InetSocket

    for kind, batches in streams:
        if kind is not InetSocket:
            yield kind, batches
            continue
        records = (record for batch in batches for record in batch.records)  # type: ignore[attr-defined]
        yield kind, iter((RecordBatch(kind, closer.closed(records)),))


def _socket_closer(query: Query) -> SocketCloser:
    from pyss.netlink.destroy import SocketCloser

    try:
        return SocketCloser(replayed_tcp=query.tcp_file is not None)
    except OSError as error:
        raise Fatal(f"cannot open a sock_diag socket to close sockets: {error.strerror or error}") from None


def _follow_events(query: Query, header: bool) -> int:
    """-E: one row per destroyed socket the filter selects, written and flushed as it comes (ss lays out
    what it holds after each event, with the widths measured so far); Ctrl-C ends it, exit 0."""
    from pyss.netlink.events import destroyed_sockets, destruction_groups
    from pyss.records import InetSocket
    from pyss.render.ss import RowBuilder, SsWriter

    groups = destruction_groups(query.families, query.has("tcp"), query.has("udp"))
    if not groups:
        raise Fatal("-E follows TCP and UDP sockets only, and none are selected", EXIT_USAGE)
    builder = RowBuilder(query, _details_renderer(query), any_service=True)
    writer = SsWriter(sys.stdout, builder.columns(), _screen_width())
    if header:
        writer.add_header(builder.header())
    row = builder.row_function(InetSocket)
    keep = query.filter

    def lost() -> None:
        _warn("the kernel dropped socket events: pyss did not read them fast enough")

    try:
        for record in destroyed_sockets(groups, lost):
            if keep is None or keep(record):
                writer.add(row(record))
            writer.render()
            sys.stdout.flush()
    except KeyboardInterrupt:  # as ss -E ends: killed by SIGINT (see command)
        return EXIT_INTERRUPTED
    except OSError as error:
        raise Fatal(f"cannot follow socket events: {error.strerror or error}") from None
    return 0


def _list_all_netns(query: Query, builder: RowBuilder, details: bool, header: bool) -> int:
    """ss's table with a leading Netns column, the namespaces one after the other."""
    from pyss.cli.views import NamespaceStreams, netns_columns
    from pyss.render.ss import SsWriter

    writer = SsWriter(sys.stdout, netns_columns(builder.columns()), _screen_width())
    if header:
        writer.add(("Netns", *builder.header()))
    streams = NamespaceStreams(query, extensions(query.details) if details else None, _warn, all_netns=True)

    def write(kind: type, items: Iterator[Any]) -> None:
        name, row = streams.current or "", builder.row_function(kind)
        writer.extend((name, *row(record)) for record in items)

    failure = _write_streams(streams, write)
    _close(writer)
    _finish(failure)
    return 0


def _stop_scan(users: object) -> None:
    """Stop -p's scanners when no row asked for them: not left until the process ends."""
    close_lookup = getattr(users, "close", None)
    if close_lookup is not None:
        close_lookup()


def _close(writer: SsWriter, before: Callable[[], None] | None = None) -> None:
    """Write what the writer holds (after what ``before`` writes: rows kept for -p's scan)."""
    try:
        if before is not None:
            before()
        writer.close()  # what was read is shown; a failure then says the list is incomplete
    except OSError as error:
        raise Fatal(f"cannot write the output: {error.strerror or error}") from None


def _list_json(query: Query, array: bool, all_netns: bool) -> int:
    from pyss.cli.views import NamespaceStreams, json_writer
    from pyss.netlink.transport import read_ahead_helps

    request = extensions(query.details) if wants_details(query.details) else None
    # Without details or a filter TCP and UDP come as columns, formatted a buffer at a time.
    streams = NamespaceStreams(query, request, _warn, all_netns, read_ahead_helps(),
                               columns=request is None and query.filter is None)
    write, close = json_writer(streams, query.details, array)
    failure = _write_streams(streams, write)
    try:
        close()
    except OSError as error:
        raise Fatal(f"cannot write the output: {error.strerror or error}") from None
    _finish(failure)
    return 0


def _output_form(flags: dict[str, object]) -> str:
    return "json" if flags.get("json") else "json-lines" if flags.get("json-lines") else "text"


def _count(query: Query, views: ViewArgs, flags: dict[str, object]) -> int:
    """--count-by: one counter per group, never the socket list."""
    from pyss.cli.counting import GroupCounter, columns_suffice, runs_suffice
    from pyss.cli.views import NamespaceStreams
    from pyss.netlink.transport import read_ahead_helps
    from pyss.render import counts

    assert views.count_by is not None
    keys = views.count_by
    streams = NamespaceStreams(query, None, _warn, bool(flags.get("all-netns")), read_ahead_helps(),
                               columns=columns_suffice(keys), runs=runs_suffice(keys), states_only=True)
    add, result = GroupCounter(keys, batches=streams.batches).counting(streams)
    failure = _write_streams(streams, add)
    ranked = counts.ordered(result(), views.top)
    form = _output_form(flags)
    if form == "json":
        text = counts.json_array(keys, ranked)
    elif form == "json-lines":
        text = counts.json_lines(keys, ranked)
    else:
        text = counts.table(keys, ranked, not flags.get("no-header"), _screen_width())
    try:
        sys.stdout.write(text)
    except OSError as error:
        raise Fatal(f"cannot write the output: {error.strerror or error}") from None
    _finish(failure)
    return 0


def _watch(query: Query, views: ViewArgs, flags: dict[str, object]) -> int:
    """--watch: list again every interval and show what changed, until Ctrl-C (exit 0)."""
    import time

    from pyss.cli.views import NamespaceStreams
    from pyss.cli.watch import CountsView, SocketWatch, Watch
    from pyss.netlink.transport import read_ahead_helps

    assert views.watch is not None
    all_netns, json_lines = bool(flags.get("all-netns")), bool(flags.get("json-lines"))
    refused: set[str] = set()  # a namespace pyss may not enter is said once, not every interval

    def dump(streams: NamespaceStreams, add: Callable[[type, Iterator[Any]], None]) -> None:
        failure = _write_streams(streams, add)
        if failure is not None:
            raise Fatal(failure)

    if views.count_by is not None:
        from pyss.cli.counting import GroupCounter, columns_suffice, runs_suffice

        keys = views.count_by
        view = CountsView(sys.stdout, keys, views.top, json_lines, not flags.get("no-header"))

        def count_step() -> None:
            # No read-ahead child: Ctrl-C must find only this process to stop.
            streams = NamespaceStreams(query, None, _warn, all_netns, columns=columns_suffice(keys),
                                       runs=runs_suffice(keys), states_only=True, refused=refused)
            add, result = GroupCounter(keys, batches=streams.batches).counting(streams)
            dump(streams, add)
            view.show(result(), time.time())

        return Watch(views.watch).run(count_step)

    form_function = _watch_forms(query, json_lines, all_netns)
    request = extensions(query.details) if wants_details(query.details) else None
    watch = SocketWatch(sys.stdout, None if json_lines else _watch_columns(query, all_netns))

    # Without details or a filter TCP and UDP come as runs (pyss.dump.run_streams): each socket's identity
    # and state are read from the buffers, and only the new sockets' rows are made, from columns.
    runs = request is None and query.filter is None

    def step() -> None:
        streams = NamespaceStreams(query, request, _warn, all_netns, read_ahead_helps() and not all_netns, runs=runs,
                                   split=False, refused=refused)
        form_of, column_forms, stop_scan = form_function()

        def add(kind: type, items: Iterator[Any]) -> None:
            netns = streams.current
            if not streams.batches:
                watch.add(kind, items, netns, form_of(kind, netns))
                return

            def forms(batch: Batch) -> list[Any]:
                made = _FormSink(lambda kind, records: list(map(form_of(kind, netns), records)),
                                 lambda columns: column_forms(columns, netns))
                batch.send(made)
                return made.forms

            sink = _WatchSink(lambda kind, records: watch.add(kind, iter(records), netns, form_of(kind, netns)),
                              lambda batch: watch.add_runs(batch, netns, forms))
            for batch in items:
                batch.send(sink)

        try:
            dump(streams, add)
        finally:
            stop_scan()
        watch.finish(time.time())

    return Watch(views.watch).run(step)


def _watch_columns(query: Query, all_netns: bool) -> tuple[Any, ...]:
    from pyss.cli.views import netns_columns
    from pyss.render.ss import RowBuilder

    columns = RowBuilder(query).columns()
    return netns_columns(columns) if all_netns else columns


class _WatchSink:
    """The RunSink (pyss.columnar) of one --watch table stream."""

    def __init__(self, records: Callable[[type, Any], None], runs: Callable[[Any], None]) -> None:
        self.add_records, self.add_runs = records, runs


class _FormSink:
    """The BatchSink (pyss.columnar) that makes the forms of one batch of new sockets (``forms``)."""

    def __init__(self, records: Callable[[type, Any], list[Any]], columns: Callable[[Any], list[Any]]) -> None:
        self._records, self._columns = records, columns
        self.forms: list[Any] = []

    def add_records(self, kind: type, records: Any) -> None:
        self.forms = self._records(kind, records)

    def add_columns(self, columns: Any) -> None:
        self.forms = self._columns(columns)


def _watch_forms(query: Query, json_lines: bool, all_netns: bool) -> Callable[[], FormsOf]:
    """Per interval, fresh ((kind, namespace) -> (record -> printed form), (columns, namespace) -> forms,
    stop the scan): a -p scan is good for one dump, and one no new socket asked for is stopped at the
    interval's end rather than left running (a child an interval, for as long as the watch runs)."""
    if json_lines:
        from pyss.cli.views import json_extra
        from pyss.render.jsonl import JsonLinesSink, line_function

        def column_lines(columns: Any, netns: str | None) -> list[Any]:
            sink = JsonLinesSink(None, netns)
            sink.add_columns(columns)
            return sink.take()

        def json_forms() -> FormsOf:
            extra, stop_scan = json_extra(query.details)
            return (lambda kind, netns: line_function(kind, extra, netns)), column_lines, stop_scan

        return json_forms
    from pyss.render.ss import RowBuilder

    def row_forms() -> FormsOf:
        users = _process_lookup(query)[0]
        builder = RowBuilder(query, _details_renderer(query, users))

        def form_of(kind: type, netns: str | None) -> Callable[[Any], Any]:
            row = builder.row_function(kind)
            if not all_netns:
                return row
            return lambda record: (netns or "", *row(record))

        def column_rows(columns: Any, netns: str | None) -> list[Any]:
            rows = list(zip(*builder.inet_columns(columns)[0], strict=True))
            return [(netns or "", *row) for row in rows] if all_netns else rows

        return form_of, column_rows, lambda: _stop_scan(users)

    return row_forms


def _write_streams(streams: Iterable[tuple[type, Iterator[Any]]], write: Callable[[type, Iterator[Any]], None]) \
        -> str | None:
    """Write each table's stream; a kernel fault ends the listing after what was read, and is returned."""
    from pyss.dump import INTERRUPTED
    from pyss.netlink.decode import DumpInterrupted, MalformedMessage

    try:
        for kind, items in streams:
            try:
                write(kind, items)
            except DumpInterrupted:
                _warn(INTERRUPTED)
    except MalformedMessage as error:
        return f"malformed reply from the kernel: {error}"
    except OSError as error:
        return f"cannot read sockets: {error.strerror or error}"
    return None


def _finish(failure: str | None) -> None:
    try:
        sys.stdout.flush()
    except OSError as error:
        raise Fatal(f"cannot write the output: {error.strerror or error}") from None
    if failure is not None:
        raise Fatal(f"{failure} (the list above is incomplete)")


def _warn(message: str) -> None:
    sys.stderr.write(f"{PROGRAM}: {message}\n")


def _process_lookup(query: Query) -> tuple[Callable[[int], str | None] | None,
                                           Callable[[Sequence[int]], list[str]] | None]:
    """-p's (or -T's) inode -> users:(...) lookup, created before the dump so that its /proc scan
    overlaps it; and when -p alone fills the Process column, the same for a batch of inodes, so that
    TCP and UDP still go by columns."""
    if query.details.threads:
        from pyss.system.processes import ThreadLookup

        return ThreadLookup(), None
    if query.details.processes:
        from pyss.system.processes import UserLookup

        lookup = UserLookup()
        return lookup, lookup.fields if _only_processes(query) else None
    return None, None


def _only_processes(query: Query) -> bool:
    """-p is the only flag that fills the Process column (not -T, which names threads too)."""
    details = query.details
    return details.processes and not details.threads and not wants_details(details._replace(processes=False))


def _details_renderer(query: Query, users: Callable[[int], str | None] | None = None) \
        -> Callable[[SocketRecord], str] | None:
    """The Process-column text function, imported only when a detail flag asks for it; -p's lookup
    is made here unless the caller made it (see _process_lookup)."""
    if not wants_details(query.details):
        return None
    from pyss.render.details import record_details

    if users is None:
        users = _process_lookup(query)[0]

    return record_details(query.details, users)


if __name__ == "__main__":
    raise SystemExit(command())
