"""Encode a filter as INET_DIAG_REQ_BYTECODE, the program the kernel runs per socket.

The kernel's program is a list of ``struct inet_diag_bc_op {u8 code; u8 yes;
u16 no}`` records, each followed by its operands. Running an op moves forward
by ``yes`` bytes when the condition holds and by ``no`` bytes when it does
not; the socket is selected when the walk ends exactly at the end, rejected
when it lands 4 bytes past it. The kernel's verifier (inet_diag_bc_audit)
wants every ``yes``/``no`` to be a multiple of 4, at least the op's own size,
at most 4 past the end, and every target below the end to be the start of an
op reachable through ``yes`` links.

Code generation here: every condition falls through when true (``yes`` is its
own size) and jumps to a label when false; ``JMP`` ops are unconditional
jumps (their condition is always false). Labels are resolved in a second pass.
The layout equals ss's, so the kernel judges exactly what it judges for ss.
"""

from __future__ import annotations

import struct

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
from pyss.filter.values import PORT_ANY, HostSpec
from pyss.lite_typing import TYPE_CHECKING
from pyss.netlink.constants import (
    AF_INET,
    AF_INET6,
    AF_UNSPEC,
    INET_DIAG_BC_AUTO,
    INET_DIAG_BC_CGROUP_COND,
    INET_DIAG_BC_D_COND,
    INET_DIAG_BC_D_GE,
    INET_DIAG_BC_D_LE,
    INET_DIAG_BC_DEV_COND,
    INET_DIAG_BC_JMP,
    INET_DIAG_BC_MARK_COND,
    INET_DIAG_BC_S_COND,
    INET_DIAG_BC_S_GE,
    INET_DIAG_BC_S_LE,
)
from pyss.netlink.requests import INET_DIAG_BC_OP

if TYPE_CHECKING:
    from typing import Final

BC_OP: Final = INET_DIAG_BC_OP
HOSTCOND: Final = struct.Struct("=BBxxi")  # struct inet_diag_hostcond, before its address
MARKCOND: Final = struct.Struct("=II")  # struct inet_diag_markcond
U32: Final = struct.Struct("=I")
U64: Final = struct.Struct("=Q")
_REJECT_SLACK: Final = 4  # jumping here past the end rejects the socket


class BytecodeUnsupported(Exception):
    """The expression has a part the kernel cannot judge (ss then sends no bytecode)."""


class Label:
    """A jump target; its position is known once the program is laid out."""

    __slots__ = ("position",)

    def __init__(self) -> None:
        self.position = -1


class Op:
    """One condition (or JMP): falls through when true, jumps to on_false otherwise."""

    __slots__ = ("code", "on_false", "operands", "size")

    def __init__(self, code: int, operands: bytes, on_false: Label) -> None:
        self.code, self.operands, self.on_false = code, operands, on_false
        self.size = BC_OP.size + len(operands)


Item = Op | Label


def _host_operands(spec: HostSpec) -> bytes:
    if spec.family not in (AF_UNSPEC, AF_INET, AF_INET6):
        raise BytecodeUnsupported(f"the kernel judges no family {spec.family} addresses")
    # ss encodes every address of a multi-address host name as its first one.
    first = spec.addresses[0].data if spec.addresses else bytes(16)
    size = 16 if spec.family == AF_INET6 else 4
    return HOSTCOND.pack(spec.family, spec.bitlen, spec.port) + first[:size]


def _emit(prim: Prim, on_false: Label, out: list[Item], with_dev: bool) -> None:
    if isinstance(prim, PAnd):
        for item in prim.items:
            _emit(item, on_false, out, with_dev)
    elif isinstance(prim, POr):
        _emit_or(prim.items, on_false, out, with_dev)
    elif isinstance(prim, PNot):
        done = Label()
        _emit(prim.operand, done, out, with_dev)
        out += [Op(INET_DIAG_BC_JMP, b"", on_false), done]
    elif isinstance(prim, HostMatch):
        _emit_host(prim, on_false, out)
    else:
        out.append(_leaf(prim, on_false, with_dev))


def _emit_or(items: tuple[Prim, ...], on_false: Label, out: list[Item], with_dev: bool) -> None:
    """ss's layout of ((a or b) or c) ...: each alternative but the last is followed by a JMP
    to the next JMP (the last JMP to the end), and fails over to the next alternative."""
    jumps = [Label() for _ in items[1:]]
    done = Label()
    for index, item in enumerate(items[:-1]):
        following = Label()
        _emit(item, following, out, with_dev)
        target = jumps[index + 1] if index + 1 < len(jumps) else done
        out += [jumps[index], Op(INET_DIAG_BC_JMP, b"", target), following]
    _emit(items[-1], on_false, out, with_dev)
    out.append(done)


def _emit_host(prim: HostMatch, on_false: Label, out: list[Item]) -> None:
    code = INET_DIAG_BC_S_COND if prim.local else INET_DIAG_BC_D_COND
    operands = _host_operands(prim.spec)
    count = max(1, len(prim.spec.addresses))
    done = Label()
    for index in range(count):
        if index == count - 1:
            out.append(Op(code, operands, on_false))
        else:
            following = Label()
            out += [Op(code, operands, following), Op(INET_DIAG_BC_JMP, b"", done), following]
    out.append(done)


def _leaf(prim: Prim, on_false: Label, with_dev: bool) -> Op:
    if isinstance(prim, PortRange):
        codes = {(True, True): INET_DIAG_BC_S_GE, (True, False): INET_DIAG_BC_S_LE,
                 (False, True): INET_DIAG_BC_D_GE, (False, False): INET_DIAG_BC_D_LE}
        # The bound travels in the `no` field of a second op header: 16 bits, as ss sends it.
        return Op(codes[prim.local, prim.at_least], BC_OP.pack(0, 0, prim.bound & 0xFFFF), on_false)
    if isinstance(prim, AutoMatch):
        return Op(INET_DIAG_BC_AUTO, b"", on_false)
    if isinstance(prim, MarkMatch):
        return Op(INET_DIAG_BC_MARK_COND, MARKCOND.pack(prim.mark, prim.mask), on_false)
    if isinstance(prim, CgroupMatch):
        return Op(INET_DIAG_BC_CGROUP_COND, U64.pack(prim.cgroup_id), on_false)
    if isinstance(prim, DevMatch) and with_dev:
        return Op(INET_DIAG_BC_DEV_COND, U32.pack(prim.ifindex & 0xFFFFFFFF), on_false)
    raise BytecodeUnsupported("ss sends no bytecode for device conditions")


def _assemble(items: list[Item], accept: Label, reject: Label) -> bytes:
    position = 0
    for item in items:
        if isinstance(item, Label):
            item.position = position
        else:
            position += item.size
    accept.position, reject.position = position, position + _REJECT_SLACK
    if reject.position > 0xFFFF:
        raise BytecodeUnsupported("the program would exceed what a netlink attribute carries")
    program = bytearray()
    for item in items:
        if isinstance(item, Op):
            here = len(program)
            program += BC_OP.pack(item.code, item.size, item.on_false.position - here) + item.operands
    return bytes(program)


def leaves(prim: Prim) -> list[Prim]:
    """The conditions of an expression (iterative: expressions nest deeply)."""
    leaves: list[Prim] = []
    pending = [prim]
    while pending:
        current = pending.pop()
        if isinstance(current, PAnd | POr):
            pending.extend(current.items)
        elif isinstance(current, PNot):
            pending.append(current.operand)
        else:
            leaves.append(current)
    return leaves


def _exact(leaf: Prim) -> bool:
    """Whether the kernel's verdict on this condition always equals ss's own check."""
    if isinstance(leaf, DevMatch | MarkMatch | CgroupMatch):
        return True
    if isinstance(leaf, PortRange):
        return 0 <= leaf.bound <= 0xFFFF
    if isinstance(leaf, HostMatch):
        return leaf.spec.family == AF_UNSPEC and leaf.spec.bitlen == 0
    return False


def encode(prim: Prim) -> bytes:
    """The bytecode for an expression; raises BytecodeUnsupported when none should be sent.

    ss sends no bytecode at all when a device condition appears. pyss adds
    INET_DIAG_BC_DEV_COND when every condition is one the kernel judges
    exactly as ss's own check does, so the selection stays ss's.
    """
    conditions = leaves(prim)
    with_dev = all(_exact(leaf) for leaf in conditions)
    accept, reject = Label(), Label()
    items: list[Item] = []
    _emit(prim, reject, items, with_dev)
    items.append(accept)
    return _assemble(items, accept, reject)


__all__ = ["PORT_ANY", "BytecodeUnsupported", "encode", "leaves"]
