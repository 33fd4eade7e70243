"""A model of the kernel's side of INET_DIAG_REQ_BYTECODE, for checking pyss's encoder.

Written from the kernel's documented behaviour (net/ipv4/inet_diag.c:
inet_diag_bc_audit and inet_diag_bc_run), independently of pyss's encoder:
``audit`` says whether the kernel would accept a program, ``run`` what it
decides for one socket, and ``judge`` what the kernel's semantics say for an
expression tree directly — three views that must agree.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

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
from pyss.filter.values import Address, HostSpec
from pyss.netlink.constants import AF_INET, AF_INET6, AF_UNSPEC
from pyss.records import InetSocket, NetlinkSocket, PacketSocket, UnixSocket

OP = struct.Struct("=BBH")
NOP, JMP, S_GE, S_LE, D_GE, D_LE, AUTO, S_COND, D_COND, DEV_COND, MARK_COND, S_EQ, D_EQ, CGROUP_COND = range(14)


@dataclass(frozen=True)
class Entry:
    """What the kernel knows of a socket while running the program (struct inet_diag_entry)."""

    family: int
    sport: int
    dport: int
    saddr: bytes  # 4 or 16 bytes
    daddr: bytes
    ifindex: int = 0
    mark: int = 0
    cgroup_id: int = 0
    port_locked: bool = False  # SOCK_BINDPORT_LOCK in sk_userlocks


def _address_size(family: int) -> int | None:
    return {AF_UNSPEC: 0, AF_INET: 4, AF_INET6: 16}.get(family)


def _min_len(program: bytes, at: int, remaining: int) -> int | None:
    """Size the op at `at` needs (its own operands), or None if its operands are invalid."""
    code = program[at]
    if code in (S_COND, D_COND):
        if remaining < 12:
            return None
        family, prefix_len = program[at + 4], program[at + 5]
        size = _address_size(family)
        if size is None or prefix_len > 8 * size or remaining < 12 + size:
            return None
        return 12 + size
    if code == DEV_COND:
        return 8 if remaining >= 8 else None
    if code in (S_EQ, S_GE, S_LE, D_EQ, D_GE, D_LE):
        return 8 if remaining >= 8 else None
    if code == MARK_COND:
        return 12 if remaining >= 12 else None
    if code == CGROUP_COND:
        return 12 if remaining >= 12 else None
    if code in (AUTO, JMP, NOP):
        return 4
    return None


def _reachable(program: bytes, target: int) -> bool:
    """Whether offset `target` is the start of an op on the chain of `yes` links from 0."""
    at = 0
    while at < target:
        _code, yes, _no = OP.unpack_from(program, at)
        if yes < 4 or yes % 4:
            return False
        at += yes
    return at == target


def audit(program: bytes) -> bool:
    """The kernel's verifier: True when it would accept the program."""
    if len(program) < 4:
        return False
    at, remaining = 0, len(program)
    while remaining > 0:
        if remaining < 4:
            return False
        code, yes, no = OP.unpack_from(program, at)
        need = _min_len(program, at, remaining)
        if need is None:
            return False
        if code != NOP:
            if no < need or no > remaining + 4 or no % 4:
                return False
            if no < remaining and not _reachable(program, at + no):
                return False
        if yes < need or yes > remaining + 4 or yes % 4:
            return False
        at += yes
        remaining -= yes
    return remaining == 0


def _bits_match(value: bytes, pattern: bytes, bits: int) -> bool:
    whole, rest = divmod(bits, 8)
    if value[:whole] != pattern[:whole]:
        return False
    if rest:
        mask = (0xFF << (8 - rest)) & 0xFF
        return (value[whole] ^ pattern[whole]) & mask == 0
    return True


def _host_cond(program: bytes, at: int, entry: Entry) -> bool:
    code = program[at]
    family, prefix_len, port = struct.unpack_from("=BBxxi", program, at + 4)
    address = program[at + 12: at + 12 + (_address_size(family) or 0)]
    own_port = entry.sport if code == S_COND else entry.dport
    if port not in (-1, own_port):
        return False
    addr = entry.saddr if code == S_COND else entry.daddr
    if family not in (AF_UNSPEC, entry.family):
        mapped = entry.family == AF_INET6 and family == AF_INET and addr[:12] == bytes(10) + b"\xff\xff"
        return mapped and _bits_match(addr[12:], address, prefix_len)
    if prefix_len == 0:
        return True
    return _bits_match(addr, address, prefix_len)


def _condition(program: bytes, at: int, entry: Entry) -> bool:
    code = program[at]
    operand = OP.unpack_from(program, at + 4)[2] if code in (S_GE, S_LE, D_GE, D_LE, S_EQ, D_EQ) else 0
    checks = {
        NOP: lambda: True, JMP: lambda: False,
        S_GE: lambda: entry.sport >= operand, S_LE: lambda: entry.sport <= operand,
        D_GE: lambda: entry.dport >= operand, D_LE: lambda: entry.dport <= operand,
        S_EQ: lambda: entry.sport == operand, D_EQ: lambda: entry.dport == operand,
        AUTO: lambda: not entry.port_locked,
        DEV_COND: lambda: struct.unpack_from("=I", program, at + 4)[0] == entry.ifindex,
        MARK_COND: lambda: entry.mark & struct.unpack_from("=II", program, at + 4)[1]
        == struct.unpack_from("=II", program, at + 4)[0],
        CGROUP_COND: lambda: struct.unpack_from("=Q", program, at + 4)[0] == entry.cgroup_id,
    }
    if code in (S_COND, D_COND):
        return _host_cond(program, at, entry)
    return bool(checks[code]())


def run(program: bytes, entry: Entry) -> bool:
    """The kernel's verdict for one socket: True when the program selects it."""
    at, remaining = 0, len(program)
    while remaining > 0:
        _code, yes, no = OP.unpack_from(program, at)
        step = yes if _condition(program, at, entry) else no
        at += step
        remaining -= step
    return remaining == 0


def _spec_match(spec: HostSpec, entry: Entry, local: bool) -> bool:
    # Kernel semantics over the tree; ss sends every address as a copy of the first.
    first = spec.addresses[0] if spec.addresses else Address(spec.family, spec.bitlen, bytes(16))
    port = entry.sport if local else entry.dport
    if spec.port not in (-1, port):
        return False
    addr = entry.saddr if local else entry.daddr
    size = 16 if spec.family == AF_INET6 else 4
    pattern = first.data[:size]
    if spec.family not in (AF_UNSPEC, entry.family):
        mapped = entry.family == AF_INET6 and spec.family == AF_INET and addr[:12] == bytes(10) + b"\xff\xff"
        return mapped and _bits_match(addr[12:], pattern, spec.bitlen)
    return spec.bitlen == 0 or _bits_match(addr, pattern, spec.bitlen)


def judge(prim: Prim, entry: Entry) -> bool:
    """Kernel semantics evaluated on the tree (what the program must compute)."""
    if isinstance(prim, PAnd):
        return all(judge(item, entry) for item in prim.items)
    if isinstance(prim, POr):
        return any(judge(item, entry) for item in prim.items)
    if isinstance(prim, PNot):
        return not judge(prim.operand, entry)
    if isinstance(prim, HostMatch):
        return _spec_match(prim.spec, entry, prim.local)
    if isinstance(prim, PortRange):
        port = entry.sport if prim.local else entry.dport
        bound = prim.bound & 0xFFFF
        return port >= bound if prim.at_least else port <= bound
    if isinstance(prim, AutoMatch):
        return not entry.port_locked
    if isinstance(prim, DevMatch):
        return entry.ifindex == prim.ifindex
    if isinstance(prim, MarkMatch):
        return entry.mark & prim.mask == prim.mark
    assert isinstance(prim, CgroupMatch)
    return entry.cgroup_id == prim.cgroup_id


def record_for(entry: Entry) -> InetSocket:
    """The record pyss would decode for this socket (mark and cgroup as their attributes)."""
    attrs = struct.pack("=HHI", 8, 15, entry.mark) + struct.pack("=HHQ", 12, 21, entry.cgroup_id)
    return InetSocket(entry.family, 1, 0, 0, entry.sport, entry.dport, entry.saddr, entry.daddr, entry.ifindex,
                      0, 0, 0, 0, 0, 0, 6, attrs)


def unix_record(name: str | None, inode: int = 100, peer: int = 0) -> UnixSocket:
    return UnixSocket(1, 10, inode, 0, name, peer, 0, 0, b"")


def packet_record(protocol: int, ifindex: int) -> PacketSocket:
    return PacketSocket(3, protocol, 200, 0, ifindex, 0, 0, b"")


def netlink_record(protocol: int, portid: int) -> NetlinkSocket:
    return NetlinkSocket(protocol, 7, portid & 0xFFFFFFFF, 0, 0, 300, 0, 0, 0, 0, b"")
