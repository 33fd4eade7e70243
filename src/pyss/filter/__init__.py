"""ss's filter language: ``state``/``exclude`` words and the expression after them.

``compile_filter(words)`` returns a :class:`CompiledFilter` (the
pyss.query.SocketFilter the dump consumes). pyparsing is imported only
inside compile_filter, so importing this package costs nothing on the
``pyss -tan`` path; :mod:`pyss.filter.states` is likewise import-light.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pyss.filter.errors import EXIT_SYNTAX, EXIT_VALUE, FilterError

if TYPE_CHECKING:
    from pyss.filter.compiled import CompiledFilter
    from pyss.filter.values import Resolver

__all__ = ["EXIT_SYNTAX", "EXIT_VALUE", "CompiledFilter", "FilterError", "compile_filter"]


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
    from pyss.filter.values import SystemResolver, ValueContext
    from pyss.system.procfs import DEFAULT_EPHEMERAL_RANGE, ephemeral_port_range

    states, used = leading_states(words)
    lines = file_lines(file_text) if file_text is not None else []
    prefix = " ".join(words[:used])
    text, tokens = tokenize([*words, *lines])
    tokens = [token for token in tokens if token.column > len(prefix)] if used else tokens
    context = ValueContext(resolver or SystemResolver(), preferred_family, tuple(service_protocols))
    expression, families = None, None
    ephemeral = ephemeral_port_range() if "autobound" in text else DEFAULT_EPHEMERAL_RANGE
    try:
        if tokens:
            from pyss.filter.parse import parse

            expression, families = parse(text, tokens, context)
        compiled = CompiledFilter(expression, states, families, tuple(words[:used]), ephemeral)
        compiled.warnings = tuple(context.notes)
        return compiled
    except RecursionError:
        # ss's parser has a deep stack; pyss's recursive descent gives up at ~50 nested levels.
        raise FilterError("the filter nests parentheses or `not` too deeply", text, 1, EXIT_SYNTAX) from None
