"""The filter expression tree, and its canonical text.

Nodes are NamedTuples (importing dataclasses would cost start-up time); the
ones whose fields could coincide carry a ``kind`` so that, say, ``And(a, b)``
never equals ``Or(a, b)``. The tree keeps what the user wrote (``sport > :1024`` stays a ``>``
comparison); :func:`lower` rewrites it into ss's primitive conditions, which
both the bytecode encoder and the Python predicate consume. Printing gives a
canonical form that parses back to an equal tree: operators in their
canonical spelling, explicit ``and``, and parentheses only where ss's
left-to-right, equal-precedence reading needs them.
"""

from __future__ import annotations

from pyss.filter.values import CgroupSpec, DevSpec, HostSpec, MarkSpec
from pyss.lite_typing import NamedTuple

Value = HostSpec | DevSpec | MarkSpec | CgroupSpec


class Cond(NamedTuple):
    """``FIELD OP VALUE``: field is src, dst, sport, dport, dev, fwmark or cgroup; op is canonical."""

    field: str
    op: str
    value: Value


class Autobound(NamedTuple):
    kind: str = "autobound"


class Not(NamedTuple):
    operand: Node
    kind: str = "not"


class And(NamedTuple):
    left: Node
    right: Node
    kind: str = "and"


class Or(NamedTuple):
    left: Node
    right: Node
    kind: str = "or"


Node = Cond | Autobound | Not | And | Or


# --- ss's primitives (its SSF_* node kinds) ------------------------------------------

class HostMatch(NamedTuple):
    """SSF_SCOND / SSF_DCOND: address, prefix, port or unix-path pattern on one side."""

    local: bool
    spec: HostSpec


class PortRange(NamedTuple):
    """SSF_S_GE / S_LE / D_GE / D_LE."""

    local: bool
    at_least: bool  # True: port >= bound; False: port <= bound
    bound: int


class AutoMatch(NamedTuple):
    kind: str = "auto"


class DevMatch(NamedTuple):
    ifindex: int


class MarkMatch(NamedTuple):
    mark: int
    mask: int


class CgroupMatch(NamedTuple):
    cgroup_id: int


class PNot(NamedTuple):
    operand: Prim
    kind: str = "not"


class PAnd(NamedTuple):
    """All of items, in order (a left-grouped chain of `and`, flattened)."""

    items: tuple[Prim, ...]
    kind: str = "and"


class POr(NamedTuple):
    """Any of items, in order (a left-grouped chain of `or`, flattened)."""

    items: tuple[Prim, ...]
    kind: str = "or"


Prim = HostMatch | PortRange | AutoMatch | DevMatch | MarkMatch | CgroupMatch | PNot | PAnd | POr


def _lower_cond(cond: Cond) -> Prim:
    value = cond.value
    negate = cond.op == "!="
    leaf: Prim
    if isinstance(value, HostSpec):
        local = cond.field in ("src", "sport")
        if cond.op in ("=", "!="):
            leaf = HostMatch(local, value)
        else:
            # ss: `>` is not `<=`, `<` is not `>=`
            at_least = cond.op in (">=", "<")
            negate = cond.op in (">", "<")
            leaf = PortRange(local, at_least, value.port)
    elif isinstance(value, DevSpec):
        leaf = DevMatch(value.ifindex)
    elif isinstance(value, MarkSpec):
        leaf = MarkMatch(value.mark, value.mask)
    else:
        leaf = CgroupMatch(value.cgroup_id)
    return PNot(leaf) if negate else leaf


def _left_chain(node: And | Or) -> list[Node]:
    """Operands of a left-grouped chain of one operator, leftmost first (iterative: chains can be long)."""
    kind = type(node)
    rights: list[Node] = []
    current: Node = node
    while isinstance(current, kind):
        rights.append(current.right)
        current = current.left
    return [current, *reversed(rights)]


def lower(node: Node) -> Prim:
    """The expression as ss's primitive tree (what ss's parser builds, with and/or chains flattened)."""
    if isinstance(node, Cond):
        return _lower_cond(node)
    if isinstance(node, Autobound):
        return AutoMatch()
    if isinstance(node, Not):
        return PNot(lower(node.operand))
    items = tuple(lower(operand) for operand in _left_chain(node))
    return PAnd(items) if isinstance(node, And) else POr(items)


# --- printing --------------------------------------------------------------------------

def _escape(word: str) -> str:
    return "".join("\\" + ch if ch in " \t\\" else ch for ch in word)


def _operand(node: Node) -> list[Node | str]:
    """A node as the operand of `not` or the right side of and/or: one `expr` in ss's grammar."""
    return ["( ", node, " )"] if isinstance(node, And | Or) else [node]


def format_expression(node: Node) -> str:
    """Canonical filter text for a tree (parses back to an equal tree).

    Iterative, with an explicit stack of pieces still to write: a filter may nest thousands of levels.
    """
    out: list[str] = []
    pending: list[Node | str] = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, Cond):
            out.append(f"{item.field} {item.op} {_escape(item.value.text)}")
        elif isinstance(item, Autobound):
            out.append("autobound")
        elif isinstance(item, Not):
            pending.extend(reversed(["not ", *_operand(item.operand)]))
        else:
            # and/or group left to right, so the left spine needs no parentheses
            tail: list[Node | str] = []  # the spine's right sides, last first, each reversed
            current: Node = item
            while isinstance(current, And | Or):
                tail += reversed([f" {'and' if isinstance(current, And) else 'or'} ", *_operand(current.right)])
                current = current.left
            pending += tail
            pending.append(current)
    return "".join(out)
