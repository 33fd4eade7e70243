"""The compiled filter the dump uses (pyss.query.SocketFilter)."""

from __future__ import annotations

from pyss.filter.ast import MarkMatch, Node, Prim, format_expression, lower
from pyss.filter.bytecode import BytecodeUnsupported, encode, leaves
from pyss.filter.predicate import build
from pyss.lite_typing import TYPE_CHECKING
from pyss.netlink.constants import AF_INET, AF_INET6
from pyss.system.procfs import DEFAULT_EPHEMERAL_RANGE

if TYPE_CHECKING:
    from typing import Any

    from pyss.filter.predicate import Judge
    from pyss.records import SocketRecord

def _accept(record: Any) -> bool:
    return True


class CompiledFilter:
    """A filter compiled three ways: state mask, kernel bytecode, Python judge.

    ``states`` is the mask from leading ``state``/``exclude`` words (None if
    none); ``families`` limits the dump to one address family when a value
    named one (``unix:...``, ``inet6:...``, or any value under -4/-6/-x), as
    ss does. Calling the filter judges a record as ss's run_ssfilter does; ss
    applies that to every socket, also those the kernel already filtered, so
    callers always call it. :meth:`without_bytecode` gives the same filter
    with no kernel program, for dumps whose bytecode the kernel refused (ss
    then filters in user space).
    """

    __slots__ = ("_judges", "_prim", "_program", "ephemeral", "expression", "families", "reads_marks", "state_words",
                 "states", "use_kernel", "warnings")

    def __init__(self, expression: Node | None, states: int | None = None, families: int | None = None,
                 state_words: tuple[str, ...] = (), ephemeral: tuple[int, int] = DEFAULT_EPHEMERAL_RANGE,
                 use_kernel: bool = True) -> None:
        self.expression = expression
        self.states = states
        self.families = families
        self.state_words = state_words
        self.ephemeral = ephemeral
        self.use_kernel = use_kernel
        self.warnings: tuple[str, ...] = ()  # things ss accepts silently that the user should hear about
        self._judges: dict[type, Judge] = {}
        self._prim: Prim | None = None
        self._program: bytes | None = None
        self.reads_marks = False  # whether an fwmark condition appears (the kernel hides marks from the unprivileged)
        if expression is not None:
            prim = self._prim = lower(expression)
            self.reads_marks = any(isinstance(leaf, MarkMatch) for leaf in leaves(prim))
            self._judges = build(prim, ephemeral)
            try:
                self._program = encode(prim)
            except BytecodeUnsupported:
                self._program = None

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
        twin = CompiledFilter(None, self.states, self.families, self.state_words, self.ephemeral, use_kernel=False)
        twin.expression, twin._judges, twin._program = self.expression, self._judges, self._program
        twin._prim = self._prim
        twin.warnings, twin.reads_marks = self.warnings, self.reads_marks
        return twin

    @property
    def matches_all(self) -> bool:
        return self.expression is None

    def __call__(self, record: SocketRecord) -> bool:
        if self.expression is None:
            return True
        judge = self._judges.get(type(record))
        if judge is None:
            judge = self._rare_kind_judge(type(record))
        return judge(record)

    def _rare_kind_judge(self, kind: type) -> Judge:
        """The judge of a VSOCK or XDP record, built when the first one comes (TIPC's and any other
        kind's accepts everything: ss runs no filter on TIPC sockets)."""
        if self._prim is not None:
            self._judges.update(build(self._prim, self.ephemeral, rare_kinds=True))
        return self._judges.setdefault(kind, _accept)

    def __str__(self) -> str:
        parts = list(self.state_words)
        if self.expression is not None:
            parts.append(format_expression(self.expression))
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"CompiledFilter({str(self)!r}, states={self.states}, families={self.families})"
