"""The compiled filter the dump uses (pyss.query.SocketFilter)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pyss.filter.ast import Node, format_expression, lower
from pyss.filter.bytecode import BytecodeUnsupported, encode
from pyss.filter.predicate import Judge, build
from pyss.netlink.constants import AF_INET, AF_INET6

if TYPE_CHECKING:
    from pyss.records import SocketRecord


def _accept(record: Any) -> bool:
    return True


@dataclass(frozen=True)
class CompiledFilter:
    """A filter compiled three ways: state mask, kernel bytecode, Python judge.

    ``states`` is the mask from leading ``state``/``exclude`` words (None if
    none); ``families`` limits the dump to one address family when a value
    named one (``unix:...``, ``inet6:...``, or under -4/-6/-x), as ss does.
    Calling the filter judges a record as ss's run_ssfilter does; ss applies
    that to every socket, also those the kernel already filtered, so callers
    always call it. ``kernel_error`` is set by :meth:`without_bytecode`, for
    dumps whose bytecode the kernel refused (ss then filters in user space).
    """

    expression: Node | None
    states: int | None = None
    families: int | None = None
    state_words: tuple[str, ...] = ()
    ephemeral: tuple[int, int] = (32768, 60999)
    use_kernel: bool = True
    _judges: dict[type, Judge] = field(default_factory=dict, repr=False, compare=False)
    _program: bytes | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.expression is None:
            return
        prim = lower(self.expression)
        object.__setattr__(self, "_judges", build(prim, self.ephemeral))
        try:
            object.__setattr__(self, "_program", encode(prim))
        except BytecodeUnsupported:
            object.__setattr__(self, "_program", None)

    @property
    def kernel_bytecode(self) -> bytes | None:
        """The program sent with inet dumps, before use_kernel is considered."""
        return self._program

    def bytecode(self, family: int, protocol: int) -> bytes | None:
        if not self.use_kernel or family not in (AF_INET, AF_INET6):
            return None
        return self._program

    def without_bytecode(self) -> CompiledFilter:
        """The same filter judging everything in Python (after the kernel refused the bytecode)."""
        return replace(self, use_kernel=False)

    @property
    def matches_all(self) -> bool:
        return self.expression is None

    def __call__(self, record: SocketRecord) -> bool:
        if self.expression is None:
            return True
        return self._judges.get(type(record), _accept)(record)

    def __str__(self) -> str:
        parts = list(self.state_words)
        if self.expression is not None:
            parts.append(format_expression(self.expression))
        return " ".join(parts)
