"""The filter expression tree, and its canonical text.

The tree keeps what the user wrote (``sport > :1024`` stays a ``>``
comparison); :func:`lower` rewrites it into ss's primitive conditions, which
both the bytecode encoder and the Python predicate consume. Printing gives a
canonical form that parses back to an equal tree: operators in their
canonical spelling, explicit ``and``, and parentheses only where ss's
left-to-right, equal-precedence reading needs them.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyss.filter.values import CgroupSpec, DevSpec, HostSpec, MarkSpec

Value = HostSpec | DevSpec | MarkSpec | CgroupSpec


@dataclass(frozen=True, slots=True)
class Cond:
    """``FIELD OP VALUE``: field is src, dst, sport, dport, dev, fwmark or cgroup; op is canonical."""

    field: str
    op: str
    value: Value


@dataclass(frozen=True, slots=True)
class Autobound:
    pass


@dataclass(frozen=True, slots=True)
class Not:
    operand: Node


@dataclass(frozen=True, slots=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Or:
    left: Node
    right: Node


Node = Cond | Autobound | Not | And | Or


# --- ss's primitives (its SSF_* node kinds) ------------------------------------------

@dataclass(frozen=True, slots=True)
class HostMatch:
    """SSF_SCOND / SSF_DCOND: address, prefix, port or unix-path pattern on one side."""

    local: bool
    spec: HostSpec


@dataclass(frozen=True, slots=True)
class PortRange:
    """SSF_S_GE / S_LE / D_GE / D_LE."""

    local: bool
    at_least: bool  # True: port >= bound; False: port <= bound
    bound: int


@dataclass(frozen=True, slots=True)
class AutoMatch:
    pass


@dataclass(frozen=True, slots=True)
class DevMatch:
    ifindex: int


@dataclass(frozen=True, slots=True)
class MarkMatch:
    mark: int
    mask: int


@dataclass(frozen=True, slots=True)
class CgroupMatch:
    cgroup_id: int


@dataclass(frozen=True, slots=True)
class PNot:
    operand: Prim


@dataclass(frozen=True, slots=True)
class PAnd:
    left: Prim
    right: Prim


@dataclass(frozen=True, slots=True)
class POr:
    left: Prim
    right: Prim


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


def lower(node: Node) -> Prim:
    """The expression as ss's primitive tree (what ss's parser builds)."""
    if isinstance(node, Cond):
        return _lower_cond(node)
    if isinstance(node, Autobound):
        return AutoMatch()
    if isinstance(node, Not):
        return PNot(lower(node.operand))
    if isinstance(node, And):
        return PAnd(lower(node.left), lower(node.right))
    return POr(lower(node.left), lower(node.right))


# --- printing --------------------------------------------------------------------------

def _escape(word: str) -> str:
    return "".join("\\" + ch if ch in " \t\\" else ch for ch in word)


def _operand(node: Node) -> str:
    """A node as the operand of `not` or the right side of and/or: one `expr` in ss's grammar."""
    text = format_expression(node)
    return f"( {text} )" if isinstance(node, And | Or) else text


def format_expression(node: Node) -> str:
    """Canonical filter text for a tree (parses back to an equal tree)."""
    if isinstance(node, Cond):
        return f"{node.field} {node.op} {_escape(node.value.text)}"
    if isinstance(node, Autobound):
        return "autobound"
    if isinstance(node, Not):
        return f"not {_operand(node.operand)}"
    word = "and" if isinstance(node, And) else "or"
    return f"{format_expression(node.left)} {word} {_operand(node.right)}"
