"""Judge records in Python exactly as ss's run_ssfilter does.

ss applies its filter to every socket it prints, of every family, after the
kernel's bytecode (if any) has run. Each record type exposes what ss's
``struct sockstat`` holds for it — local/remote port, address bytes, unix
name, interface, mark, cgroup — and one closure tree per record type is built
once, so judging a record is a dict lookup and a few closure calls.

Where ss's check reads memory that is not an address (an inet condition on a
unix socket compares the bytes of a C pointer), pyss treats a named unix
socket's "address" as matching nothing; an unnamed one's is all zeros, as in ss.
"""

from __future__ import annotations

import sys
from _operator import attrgetter  # operator's C core: operator.py is an import to spare

from pyss.filter.ast import (
    AutoMatch,
    CgroupMatch,
    DevMatch,
    HostMatch,
    MarkMatch,
    PAnd,
    PNot,
    POr,
    PortRange,
    Prim,
)
from pyss.filter.values import PORT_ANY, Address, HostSpec
from pyss.lite_typing import TYPE_CHECKING, NamedTuple
from pyss.netlink.constants import (
    AF_INET,
    AF_INET6,
    AF_NETLINK,
    AF_PACKET,
    AF_UNIX,
    AF_VSOCK,
    AF_XDP,
    INET_DIAG_CGROUP_ID,
    INET_DIAG_MARK,
)
from pyss.netlink.decode import attributes, signed32
from pyss.records import InetSocket, NetlinkSocket, PacketSocket, UnixSocket

if TYPE_CHECKING:
    import re
    from collections.abc import Callable
    from typing import Any

    Judge = Callable[[Any], bool]
    Getter = Callable[[Any], Any]

_V4MAPPED = 0xFFFF
_HEX_DIGITS = frozenset("0123456789abcdef")


def _is_autobind_name(name: str) -> bool:
    """The kernel's autobind name: '@' and five lowercase hex digits (no re: its import costs start-up)."""
    return len(name) == 6 and name[0] == "@" and _HEX_DIGITS.issuperset(name[1:])


class View(NamedTuple):
    """How to read ss's sockstat fields off one record type."""

    family: Getter  # address family of the record
    lport: Getter
    rport: Getter
    local: Getter  # 128-bit int of the local address bytes, or None: not comparable
    remote: Getter
    local_name: Getter  # what unix_match sees locally: str, or None: matches nothing
    remote_name: Getter
    iface: Getter
    mark: Getter
    cgroup: Getter
    auto: Getter


def _inet_address(packed: bytes) -> int:
    value = int.from_bytes(packed, "big")
    return value << 96 if len(packed) == 4 else value


def _pointer_name(address: int | None) -> str | None:
    # ss reads a C pointer out of the first 8 address bytes: NULL means "", anything else is not a name.
    return "" if address is not None and address >> 64 == 0 else None


def _attr_int(record: InetSocket, kind: int) -> int:
    raw = attributes(record.attrs, 0, len(record.attrs)).get(kind)
    return int.from_bytes(raw, sys.byteorder) if raw else 0


def _native_word(value: int) -> int:
    return int.from_bytes((value & 0xFFFFFFFF).to_bytes(4, sys.byteorder), "big") << 96


def inet_view(ephemeral: tuple[int, int]) -> View:
    low, high = ephemeral
    return View(
        family=attrgetter("family"),
        lport=attrgetter("sport"),
        rport=attrgetter("dport"),
        local=lambda r: _inet_address(r.src),
        remote=lambda r: _inet_address(r.dst),
        local_name=lambda r: _pointer_name(_inet_address(r.src)),
        remote_name=lambda r: _pointer_name(_inet_address(r.dst)),
        iface=attrgetter("ifindex"),
        mark=lambda r: _attr_int(r, INET_DIAG_MARK),
        cgroup=lambda r: _attr_int(r, INET_DIAG_CGROUP_ID),
        auto=lambda r: low <= r.sport <= high,
    )


UNIX_VIEW = View(
    family=lambda r: AF_UNIX,
    lport=lambda r: r.inode,
    rport=lambda r: r.peer,
    local=lambda r: 0 if r.name is None else None,
    remote=lambda r: 0,
    local_name=lambda r: r.name or "",
    remote_name=lambda r: "",
    iface=lambda r: 0,
    mark=lambda r: 0,
    cgroup=lambda r: 0,
    auto=lambda r: r.name is None or _is_autobind_name(r.name),
)

PACKET_VIEW = View(
    family=lambda r: AF_PACKET,
    lport=lambda r: r.ifindex,
    rport=lambda r: 0,
    local=lambda r: _native_word(r.protocol),
    remote=lambda r: 0,
    local_name=lambda r: "" if r.protocol == 0 else None,
    remote_name=lambda r: "",
    iface=lambda r: r.ifindex,
    mark=lambda r: 0,
    cgroup=lambda r: 0,
    auto=lambda r: r.ifindex == 0 and r.protocol == 0,
)



NETLINK_VIEW = View(
    family=lambda r: AF_NETLINK,
    lport=lambda r: signed32(r.portid),
    rport=lambda r: -1,
    local=lambda r: _native_word(r.protocol),
    remote=lambda r: 0,
    local_name=lambda r: "" if r.protocol == 0 else None,
    remote_name=lambda r: "",
    iface=lambda r: 0,
    mark=lambda r: 0,
    cgroup=lambda r: 0,
    auto=lambda r: signed32(r.portid) < 0,
)


VSOCK_VIEW = View(
    family=lambda r: AF_VSOCK,
    lport=lambda r: signed32(r.src_port),  # ss keeps ports in ints: the wildcard port is -1
    rport=lambda r: signed32(r.dst_port),
    local=lambda r: _native_word(r.src_cid),
    remote=lambda r: _native_word(r.dst_cid),
    local_name=lambda r: _pointer_name(_native_word(r.src_cid)),
    remote_name=lambda r: _pointer_name(_native_word(r.dst_cid)),
    iface=lambda r: 0,
    mark=lambda r: 0,
    cgroup=lambda r: 0,
    auto=lambda r: signed32(r.src_port) > 1023,
)


def xdp_view(ephemeral: tuple[int, int]) -> View:
    """ss's sockstat of an XDP socket: the queue id as its local port, the device as its interface,
    zero addresses (so "autobound" asks whether the queue id is in the ephemeral range)."""
    low, high = ephemeral
    return View(
        family=lambda r: AF_XDP,
        lport=lambda r: signed32(r.queue_id),
        rport=lambda r: 0,
        local=lambda r: 0,
        remote=lambda r: 0,
        local_name=lambda r: "",
        remote_name=lambda r: "",
        iface=attrgetter("ifindex"),
        mark=lambda r: 0,
        cgroup=lambda r: 0,
        auto=lambda r: low <= signed32(r.queue_id) <= high,
    )


def glob_regex(pattern: str) -> re.Pattern[str]:
    """fnmatch(3) with FNM_CASEFOLD and no FNM_PATHNAME: `*` crosses `/`, backslash escapes."""
    import re  # only a glob needs it, and its import costs start-up

    out, index = [], 0
    while index < len(pattern):
        ch = pattern[index]
        index += 1
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "\\" and index < len(pattern):
            out.append(re.escape(pattern[index]))
            index += 1
        elif ch == "[":
            end = index + 1 if pattern[index:index + 1] in ("!", "^") else index
            end = pattern.find("]", end + 1 if pattern[end:end + 1] == "]" else end)
            if end < 0:
                out.append(re.escape(ch))
                continue
            body = pattern[index:end]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            body = body.replace("\\", "\\\\").replace("^", "\\^").replace("[", "\\[")
            out.append(f"[{'^' if negate else ''}{body}]")
            index = end + 1
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out) + r"\Z", re.IGNORECASE | re.DOTALL)


def _address_matcher(address: Address) -> Callable[[int, int | None], bool]:
    value = int.from_bytes(address.data, "big")
    mask = ((1 << address.bitlen) - 1) << (128 - address.bitlen) if address.bitlen else 0
    mapped_rule = address.family == AF_INET

    def match(family: int, data: int | None) -> bool:
        if data is None:
            return False
        if not (data ^ value) & mask:
            return True
        # A v4-mapped IPv6 socket matches an IPv4 condition (ss's inet2_addr_match).
        if mapped_rule and family == AF_INET6 and data >> 32 == _V4MAPPED:
            return not (((data & 0xFFFFFFFF) << 96) ^ value) & mask
        return False

    return match


def _host(spec: HostSpec, local: bool, view: View) -> Judge:
    if spec.family == AF_UNIX:
        regex = glob_regex(spec.pattern or "")
        name = view.local_name if local else view.remote_name

        def unix_match(record: Any) -> bool:
            text = name(record)
            return text is not None and regex.match(text) is not None

        return unix_match
    port_of = view.lport if local else view.rport
    address_of = view.local if local else view.remote
    family_of = view.family
    port = spec.port
    matchers = [_address_matcher(address) for address in spec.addresses] if spec.bitlen else []

    def host_match(record: Any) -> bool:
        if port != PORT_ANY and port != port_of(record):
            return False
        if not matchers:
            return True
        family, data = family_of(record), address_of(record)
        return any(match(family, data) for match in matchers)

    return host_match


def _leaf(prim: Prim, view: View) -> Judge:
    if isinstance(prim, HostMatch):
        return _host(prim.spec, prim.local, view)
    if isinstance(prim, PortRange):
        port_of, bound = (view.lport if prim.local else view.rport), prim.bound
        if prim.at_least:
            return lambda record: port_of(record) >= bound
        return lambda record: port_of(record) <= bound
    if isinstance(prim, AutoMatch):
        auto = view.auto
        return lambda record: bool(auto(record))
    if isinstance(prim, DevMatch):
        iface, ifindex = view.iface, prim.ifindex
        return lambda record: bool(iface(record) == ifindex)
    if isinstance(prim, MarkMatch):
        mark_of, mark, mask = view.mark, prim.mark, prim.mask
        return lambda record: bool(mark_of(record) & mask == mark)
    assert isinstance(prim, CgroupMatch)
    cgroup_of, cgroup_id = view.cgroup, prim.cgroup_id
    return lambda record: bool(cgroup_of(record) == cgroup_id)


# Beyond this nesting, a tree of closures would recurse too deeply while judging a record:
# such a filter is judged by a jump program in a loop instead.
_CLOSURE_DEPTH = 100


def depth(prim: Prim) -> int:
    """How deeply and/or/not nest in prim (iterative: a filter may nest thousands of levels)."""
    deepest = 0
    pending = [(prim, 1)]
    while pending:
        node, level = pending.pop()
        deepest = max(deepest, level)
        if isinstance(node, PAnd | POr):
            pending.extend((item, level + 1) for item in node.items)
        elif isinstance(node, PNot):
            pending.append((node.operand, level + 1))
    return deepest


class _Label:
    __slots__ = ("position",)

    def __init__(self) -> None:
        self.position = -1


def jump_program(prim: Prim, view: View) -> Judge:
    """A judge that runs prim's conditions in a loop, each jumping on to the next condition to test
    (short-circuit order, as the closures and ss evaluate): no recursion at any depth."""
    tests: list[Judge] = []
    on_true: list[_Label] = []
    on_false: list[_Label] = []
    accept, reject = _Label(), _Label()
    pending: list[tuple[Prim, _Label, _Label] | _Label] = [(prim, accept, reject)]
    while pending:
        task = pending.pop()
        if isinstance(task, _Label):
            task.position = len(tests)
            continue
        node, yes, no = task
        if isinstance(node, PNot):
            pending.append((node.operand, no, yes))
        elif isinstance(node, PAnd | POr):
            steps: list[tuple[Prim, _Label, _Label] | _Label] = []
            for index, item in enumerate(node.items):
                if index == len(node.items) - 1:
                    steps.append((item, yes, no))
                    break
                following = _Label()
                steps += [(item, following, no) if isinstance(node, PAnd) else (item, yes, following), following]
            pending.extend(reversed(steps))
        else:
            tests.append(_leaf(node, view))
            on_true.append(yes)
            on_false.append(no)
    count = len(tests)
    accept.position, reject.position = count, count + 1
    yes_to = [label.position for label in on_true]
    no_to = [label.position for label in on_false]

    def run(record: Any) -> bool:
        position = 0
        while position < count:
            position = yes_to[position] if tests[position](record) else no_to[position]
        return position == count

    return run


def judge(prim: Prim, view: View) -> Judge:
    """A judge deciding prim for records read through view: closures, or a jump program when deep."""
    return _closures(prim, view) if depth(prim) <= _CLOSURE_DEPTH else jump_program(prim, view)


def _closures(prim: Prim, view: View) -> Judge:
    if isinstance(prim, PAnd | POr):
        parts = [_closures(item, view) for item in prim.items]
        if len(parts) == 2:  # the common case, without a generator per record
            left, right = parts
            if isinstance(prim, PAnd):
                return lambda record: left(record) and right(record)
            return lambda record: left(record) or right(record)
        if isinstance(prim, PAnd):
            return lambda record: all(part(record) for part in parts)
        return lambda record: any(part(record) for part in parts)
    if isinstance(prim, PNot):
        operand = _closures(prim.operand, view)
        return lambda record: not operand(record)
    return _leaf(prim, view)


def build(prim: Prim, ephemeral: tuple[int, int], rare_kinds: bool = False) -> dict[type, Judge]:
    """One judge per record type (``rare_kinds``: also for VSOCK and XDP records)."""
    judges = {
        InetSocket: judge(prim, inet_view(ephemeral)),
        UnixSocket: judge(prim, UNIX_VIEW),
        PacketSocket: judge(prim, PACKET_VIEW),
        NetlinkSocket: judge(prim, NETLINK_VIEW),
    }
    if rare_kinds:
        from pyss.records import VsockSocket, XdpSocket

        judges[VsockSocket] = judge(prim, VSOCK_VIEW)
        judges[XdpSocket] = judge(prim, xdp_view(ephemeral))
        # TIPC sockets have no judge: ss lists them unfiltered
    return judges
