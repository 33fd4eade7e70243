"""What the user asked for, as pure data: socket tables, families, states, details.

The selection rules follow ss's: each table (tcp, udp, unix_stream, ...) and
each address family carries default states; ``-a``/``-l`` and ``state``
override them; a family implies its tables and a table its families when the
user named none of them. :func:`selection` applies those rules to what the
command line said, so the CLI stays a thin translation of flags.
"""

from __future__ import annotations

from pyss.lite_typing import TYPE_CHECKING, NamedTuple
from pyss.netlink.constants import (
    AF_INET,
    AF_INET6,
    AF_NETLINK,
    AF_PACKET,
    AF_TIPC,
    AF_UNIX,
    AF_VSOCK,
    AF_XDP,
    INET_DIAG_CONG,
    INET_DIAG_INFO,
    INET_DIAG_MEMINFO,
    INET_DIAG_SKMEMINFO,
    INET_DIAG_TCLASS,
    INET_DIAG_TOS,
    INET_DIAG_VEGASINFO,
    TCP_BOUND_INACTIVE,
    TCP_CLOSE,
    TCP_ESTABLISHED,
    TCP_LISTEN,
    TCP_SYN_RECV,
    TCP_TIME_WAIT,
    TCPF_ALL,
    UDIAG_SHOW_ICONS,
    UDIAG_SHOW_MEMINFO,
    UDIAG_SHOW_VFS,
)

if TYPE_CHECKING:
    from typing import Protocol

    from pyss.records import SocketRecord
else:
    Protocol = object  # SocketFilter is a type checker's interface only: nothing tests it at run time

# Socket tables, in ss's numbering of its "dbs" (the order matters only for bit masks).
TABLES = (
    "tcp",
    "mptcp",
    "dccp",
    "udp",
    "raw",
    "unix_dgram",
    "unix_stream",
    "unix_seqpacket",
    "packet_dgram",
    "packet_raw",
    "netlink",
    "sctp",
    "vsock_stream",
    "vsock_dgram",
    "tipc",
    "xdp",
)
TABLE_BIT = {name: 1 << i for i, name in enumerate(TABLES)}

STATES_ALL = TCPF_ALL
STATES_CONNECTED = TCPF_ALL & ~((1 << TCP_LISTEN) | (1 << TCP_CLOSE) | (1 << TCP_TIME_WAIT) | (1 << TCP_SYN_RECV))
_STATES_TIPC = (1 << TCP_ESTABLISHED) | (1 << TCP_LISTEN) | (1 << TCP_CLOSE)
STATES_LISTENING = (1 << TCP_LISTEN) | (1 << TCP_CLOSE)
STATES_BOUND_INACTIVE = 1 << TCP_BOUND_INACTIVE  # -B: the kernel reports such sockets as TCP_CLOSE

_INET = (1 << AF_INET) | (1 << AF_INET6)
# table -> (default states, families it lives in)
_TABLE_DEFAULTS: dict[str, tuple[int, int]] = {
    "tcp": (STATES_CONNECTED, _INET),
    "mptcp": (STATES_CONNECTED, _INET),
    "dccp": (STATES_CONNECTED, _INET),
    "udp": (1 << TCP_ESTABLISHED, _INET),
    "raw": (1 << TCP_ESTABLISHED, _INET),
    "unix_dgram": (1 << TCP_CLOSE, 1 << AF_UNIX),
    "unix_stream": (STATES_CONNECTED, 1 << AF_UNIX),
    "unix_seqpacket": (STATES_CONNECTED, 1 << AF_UNIX),
    "packet_dgram": (1 << TCP_CLOSE, 1 << AF_PACKET),
    "packet_raw": (1 << TCP_CLOSE, 1 << AF_PACKET),
    "netlink": (1 << TCP_CLOSE, 1 << AF_NETLINK),
    "sctp": (STATES_CONNECTED, _INET),
    "vsock_stream": (STATES_CONNECTED, 1 << AF_VSOCK),
    "vsock_dgram": (STATES_CONNECTED, 1 << AF_VSOCK),
    "tipc": (_STATES_TIPC, 1 << AF_TIPC),
    "xdp": (1 << TCP_CLOSE, 1 << AF_XDP),
}
_INET_TABLES = ("tcp", "mptcp", "dccp", "udp", "raw", "sctp")
_UNIX_TABLES = ("unix_dgram", "unix_stream", "unix_seqpacket")
# family -> (tables it implies, default states)
_FAMILY_DEFAULTS: dict[int, tuple[tuple[str, ...], int]] = {
    AF_INET: (_INET_TABLES, STATES_CONNECTED),
    AF_INET6: (_INET_TABLES, STATES_CONNECTED),
    AF_UNIX: (_UNIX_TABLES, STATES_CONNECTED),
    AF_PACKET: (("packet_dgram", "packet_raw"), 1 << TCP_CLOSE),
    AF_NETLINK: (("netlink",), 1 << TCP_CLOSE),
    AF_VSOCK: (("vsock_stream", "vsock_dgram"), STATES_CONNECTED),
    AF_TIPC: (("tipc",), _STATES_TIPC),
    AF_XDP: (("xdp",), 1 << TCP_CLOSE),
}
# -A names -> tables (with ss's short aliases)
QUERY_NAMES: dict[str, tuple[str, ...]] = {
    "all": ("udp", "dccp", "tcp", "mptcp", "raw", *_UNIX_TABLES, "packet_raw", "packet_dgram",
            "netlink", "sctp", "vsock_stream", "vsock_dgram", "xdp"),
    "inet": _INET_TABLES,
    "udp": ("udp",),
    "dccp": ("dccp",),
    "tcp": ("tcp",),
    "mptcp": ("mptcp",),
    "sctp": ("sctp",),
    "raw": ("raw",),
    "unix": _UNIX_TABLES,
    "unix_stream": ("unix_stream",),
    "u_str": ("unix_stream",),
    "unix_dgram": ("unix_dgram",),
    "u_dgr": ("unix_dgram",),
    "unix_seqpacket": ("unix_seqpacket",),
    "u_seq": ("unix_seqpacket",),
    "packet": ("packet_raw", "packet_dgram"),
    "packet_raw": ("packet_raw",),
    "p_raw": ("packet_raw",),
    "packet_dgram": ("packet_dgram",),
    "p_dgr": ("packet_dgram",),
    "netlink": ("netlink",),
    "tipc": ("tipc",),
    "vsock": ("vsock_stream", "vsock_dgram"),
    "vsock_stream": ("vsock_stream",),
    "v_str": ("vsock_stream",),
    "vsock_dgram": ("vsock_dgram",),
    "v_dgr": ("vsock_dgram",),
    "xdp": ("xdp",),
}


class SocketFilter(Protocol):
    """A compiled filter expression (see :mod:`pyss.filter`).

    ``states`` narrows the request's state mask (None: the expression says
    nothing about states); ``families`` replaces the family mask when a value
    named a family; ``bytecode`` is INET_DIAG_REQ_BYTECODE for inet
    dumps (None: the kernel can judge nothing); calling the filter on a record
    decides what the kernel could not.
    """

    @property
    def states(self) -> int | None: ...

    @property
    def families(self) -> int | None:
        """The family mask the filter narrows the dump to (a value such as unix:... names one), or None."""

    def bytecode(self, family: int, protocol: int) -> bytes | None: ...

    def __call__(self, record: SocketRecord) -> bool: ...


class Details(NamedTuple):
    """Per-socket detail the output should carry (ss's -o -e -m -i -p ... flags)."""

    numeric: bool = False
    resolve: bool = False
    options: bool = False
    extended: int = 0
    memory: bool = False
    info: bool = False
    processes: bool = False
    threads: bool = False  # -T: the processes' threads too (implies processes)
    bpf: bool = False
    tos: bool = False
    cgroup: bool = False
    oneline: bool = False
    inet_sockopt: bool = False  # --inet-sockopt
    queues: bool = True  # the Recv-Q and Send-Q columns (-Q drops them)
    tipcinfo: bool = False  # --tipcinfo: a TIPC socket's type, congestion, drops, publications


def wants_details(details: Details) -> bool:
    """True when some flag puts text in ss's Process column."""
    return bool(details.options or details.extended or details.memory or details.info or details.processes
                or details.bpf or details.tos or details.cgroup or details.inet_sockopt or details.tipcinfo)


class Extensions(NamedTuple):
    """What the detail flags add to the kernel requests, beyond what every dump asks for (see pyss.dump).

    ``inet`` is inet_diag_req_v2.idiag_ext, ``unix`` is added to unix_diag_req.udiag_show. Packet and
    netlink requests gain nothing: ss always asks those for everything it can print.
    """

    inet: int = 0
    unix: int = 0


def _ext_bit(attr: int) -> int:
    return 1 << (attr - 1)


def extensions(details: Details) -> Extensions:
    """The request bits ss sets for these detail flags."""
    inet = unix = 0
    if details.memory:
        inet |= _ext_bit(INET_DIAG_MEMINFO) | _ext_bit(INET_DIAG_SKMEMINFO)
        unix |= UDIAG_SHOW_MEMINFO
    if details.info:
        inet |= _ext_bit(INET_DIAG_INFO) | _ext_bit(INET_DIAG_VEGASINFO) | _ext_bit(INET_DIAG_CONG)
    if details.tos:
        inet |= _ext_bit(INET_DIAG_TOS) | _ext_bit(INET_DIAG_TCLASS)
    if details.extended:
        unix |= UDIAG_SHOW_VFS | UDIAG_SHOW_ICONS
    return Extensions(inet, unix)


# The socket kinds many kernels cannot list (no sctp_diag, vsock_diag, ...). Like ss, a listing says
# nothing about them unless asked to (the CLI does when the user named one).
OPTIONAL_TABLES = sum(TABLE_BIT[name] for name in ("mptcp", "dccp", "sctp", "vsock_stream", "vsock_dgram", "tipc",
                                                   "xdp"))


class Query(NamedTuple):
    """Immutable; NamedTuple rather than a dataclass because importing dataclasses costs ~7 ms of start-up."""

    tables: int  # bit mask over TABLES
    families: int  # bit mask over address families
    states: int  # bit mask over TCP_* states
    preferred_family: int = 0  # the last family named with -4/-6/-f (ss starts inet dumps there)
    filter: SocketFilter | None = None
    details: Details = Details()
    tcp_file: str | None = None  # read the TCP table from this ss -D dump file (ss's $TCPDIAG_FILE)
    # inet tables read from /proc-format files instead of the kernel: (protocol, IPv4 file, IPv6 file)
    proc_tables: tuple[tuple[int, str, str], ...] = ()
    proc_unix: str | None = None  # list UNIX sockets from this /proc/net/unix-format file instead
    proc_packet: str | None = None  # ... PACKET sockets from this /proc/net/packet-format file
    proc_netlink: str | None = None  # ... NETLINK sockets from this /proc/net/netlink-format file
    unlisted_tables: int = 0  # tables (bit mask) ss's environment leaves unlisted: /proc has no file of them
    quiet_tables: int = OPTIONAL_TABLES  # tables (bit mask) whose missing kernel module goes unsaid

    def has(self, table: str) -> bool:
        return bool(self.tables & TABLE_BIT[table])

    def has_family(self, family: int) -> bool:
        return bool(self.families >> family & 1)

    @property
    def table_count(self) -> int:
        return bin(self.tables).count("1")

    @property
    def state_count(self) -> int:
        return bin(self.states).count("1")


class SelectionBuilder:
    """Accumulates -t/-u/-x/-4/-f/-A/-a/-l the way ss's option loop does."""

    __slots__ = ("by_default", "families", "preferred_family", "saw_query", "state_override", "states", "tables")

    def __init__(self) -> None:
        self.tables = 0
        self.families = 0
        self.states = 0
        self.state_override = 0  # from -a / -l
        self.preferred_family = 0
        self.by_default = True
        self.saw_query = False

    def add_table(self, name: str, enable: bool = True) -> None:
        if enable:
            self.states |= _TABLE_DEFAULTS[name][0]
            self.tables |= TABLE_BIT[name]
        else:
            self.tables &= ~TABLE_BIT[name]
        self.by_default = False

    def add_family(self, family: int) -> None:
        self.states |= _FAMILY_DEFAULTS[family][1]
        self.families |= 1 << family
        self.by_default = False
        self.preferred_family = family

    def add_query(self, spec: str) -> None:
        """-A QUERY[,QUERY]; raises KeyError naming the bad table id."""
        if not self.saw_query:
            self.tables = 0
            self.state_override = self.state_override or STATES_CONNECTED
            self.saw_query = True
            self.by_default = False
        for part in spec.split(","):
            enable = not part.startswith("!")
            name = part[1:] if not enable else part
            if name not in QUERY_NAMES:
                raise KeyError(part)
            for table in QUERY_NAMES[name]:
                self.add_table(table, enable)

    def build(self, states_from_filter: int | None = None) -> tuple[int, int, int]:
        """Return (tables, families, states) after ss's defaults are merged."""
        tables, families = self.tables, self.families
        state_mask = self.state_override
        if states_from_filter is not None:
            state_mask = states_from_filter
        # State words that leave no state (or none at all) keep the defaults, as ss's filter_states_set
        # ignores an empty mask: the connected states with no table named, else those of the tables named.
        if self.by_default:
            state_mask = state_mask or STATES_CONNECTED
            for table in QUERY_NAMES["all"]:
                tables |= TABLE_BIT[table]
        states = state_mask or self.states
        for name in TABLES:
            if tables & TABLE_BIT[name] and not _TABLE_DEFAULTS[name][1] & families:
                families |= _TABLE_DEFAULTS[name][1]
        for family, (implied, _) in _FAMILY_DEFAULTS.items():
            if families >> family & 1 and not any(tables & TABLE_BIT[t] for t in implied):
                for table in implied:
                    tables |= TABLE_BIT[table]
        return tables, families, states


def finish_query(
    tables: int, families: int, states: int, preferred_family: int, compiled: SocketFilter | None, details: Details
) -> Query | str:
    """Merge a compiled filter into a selection as ss does, or say what is left empty.

    The filter's ``state`` words replace the states, unless they leave none
    (``state established exclude established``, ``exclude all``): ss then
    keeps the states it had (the defaults of the tables and families chosen,
    or ``states`` here). A value naming a family (unix:..., inet6:..., or any
    value under -4/-6/-x) replaces the families, as ss's parser does after the
    options are merged. The result is what ss has none of ("socket tables",
    "families", "socket states") when a mask is empty.
    """
    if compiled is not None and compiled.states:
        states = compiled.states
    for mask, what in ((tables, "socket tables"), (families, "families"), (states, "socket states")):
        if not mask:
            return what
    narrowed = compiled.families if compiled is not None else None
    if narrowed:
        families = narrowed
        preferred_family = narrowed.bit_length() - 1
    return Query(tables=tables, families=families, states=states, preferred_family=preferred_family,
                 filter=compiled, details=details)
