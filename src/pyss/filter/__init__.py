"""ss's filter language: ``state``/``exclude`` words and the expression after them.

``compile_filter(words)`` returns a :class:`CompiledFilter` (the
pyss.query.SocketFilter the dump consumes). pyparsing is imported only
inside compile_filter, so importing this package costs nothing on the
``pyss -tan`` path; :mod:`pyss.filter.states` is likewise import-light.
"""

from __future__ import annotations

from pyss.filter.errors import EXIT_SYNTAX, EXIT_VALUE, FilterError
from pyss.lite_typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from pyss.filter.compiled import CompiledFilter
    from pyss.filter.values import Resolver

__all__ = ["EXIT_SYNTAX", "EXIT_VALUE", "MAX_NESTING", "CompiledFilter", "FilterError", "compile_filter"]


def compile_filter(
    words: Sequence[str],
    *,
    file_text: str | None = None,
    preferred_family: int = 0,
    service_protocols: Sequence[str] = ("udp", "tcp"),
    resolver: Resolver | None = None,
) -> CompiledFilter:
    """Compile the words after ss's options (and ``-F`` file text) into a filter.

    ``preferred_family`` is the last family set by -4/-6/-0/-x/-f (ss reads
    bare values in it: under -x, ``src *foo*`` is a unix path pattern);
    ``service_protocols`` the tables among tcp/udp being dumped (service
    names are looked up there). -n and -r do not change what a filter
    selects (ss resolves names in filters regardless). Raises FilterError.
    """
    from pyss.filter.compiled import CompiledFilter
    from pyss.filter.states import leading_states
    from pyss.filter.tokens import file_lines, tokenize
    from pyss.filter.values import ValueContext
    from pyss.system.procfs import DEFAULT_EPHEMERAL_RANGE, ephemeral_port_range

    states, used = leading_states(words)
    lines = file_lines(file_text) if file_text is not None else []
    prefix = " ".join(words[:used])
    text, tokens = tokenize([*words, *lines])
    tokens = [token for token in tokens if token.column > len(prefix)] if used else tokens
    context = ValueContext(resolver, preferred_family, tuple(service_protocols))
    ephemeral = ephemeral_port_range() if "autobound" in text else DEFAULT_EPHEMERAL_RANGE
    parentheses, nesting = _nesting([token.text for token in tokens])
    if parentheses > MAX_NESTING:
        raise FilterError(_TOO_DEEP, text, 1, EXIT_SYNTAX)

    def build() -> CompiledFilter:
        expression, families = None, None
        if tokens:
            from pyss.filter.parse import parse

            expression, families = parse(text, tokens, context)
        return CompiledFilter(expression, states, families, tuple(words[:used]), ephemeral)

    try:
        compiled = _with_deep_stack(build, nesting)
    except RecursionError:
        raise FilterError(_TOO_DEEP, text, 1, EXIT_SYNTAX) from None
    compiled.warnings = tuple(context.notes)
    return compiled


# ss's bison parser runs out of stack a little under 10,000 nested levels ("memory exhausted");
# pyss accepts as many.
MAX_NESTING = 10_000
_TOO_DEEP = f"the filter nests parentheses or `not` more than {MAX_NESTING} levels deep"
_SHALLOW = 40  # nesting words below which the default stack is plenty
_FRAMES_PER_LEVEL = 60  # Python frames one nesting level may take (pyparsing's descent: ~20)
_STACK_PER_LEVEL = 16 << 10  # bytes of C stack allowed per level, should a call on the way use it


def _nesting(words: Sequence[str]) -> tuple[int, int]:
    """(the deepest parenthesis nesting, an upper bound of parentheses and `not` nested together)."""
    depth = deepest = negations = 0
    for word in words:
        if word == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif word == ")":
            depth -= 1
        elif word in ("not", "!"):
            negations += 1
    return deepest, deepest + negations


def _with_deep_stack(function: Callable[[], CompiledFilter], nesting: int) -> CompiledFilter:
    """Run function (parse and compile) with room for ``nesting`` levels of recursion.

    The grammar (pyparsing), the tree builder, the lowering and the bytecode encoder recurse once
    or a few times per level. A deep filter runs on a thread of its own with a stack sized for it
    and the recursion limit raised for the time it runs; a shallow one runs right here.
    """
    if nesting < _SHALLOW:
        return function()
    import sys
    import threading

    levels = min(nesting, MAX_NESTING)
    outcome: list[CompiledFilter] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(function())
        except BaseException as error:  # handed to the caller's thread
            failure.append(error)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + _FRAMES_PER_LEVEL * levels)
    previous = threading.stack_size(max(32 << 20, _STACK_PER_LEVEL * levels))
    try:
        worker = threading.Thread(target=target, name="pyss-filter-compile")
        worker.start()
        worker.join()
    finally:
        threading.stack_size(previous)
        sys.setrecursionlimit(limit)
    if failure:
        raise failure[0]
    return outcome[0]
