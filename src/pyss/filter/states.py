"""ss's socket state names, groups and the leading ``state``/``exclude`` words.

Pure and import-light: the CLI uses it without loading the filter grammar.
Masks are over the kernel's TCP_* numbering (bit n = state n), as in the
``idiag_states`` field of a dump request.
"""

from __future__ import annotations

from pyss.filter.errors import EXIT_SYNTAX, FilterError
from pyss.lite_typing import TYPE_CHECKING
from pyss.netlink.constants import (
    TCP_BOUND_INACTIVE,
    TCP_CLOSE,
    TCP_CLOSE_WAIT,
    TCP_CLOSING,
    TCP_ESTABLISHED,
    TCP_FIN_WAIT1,
    TCP_FIN_WAIT2,
    TCP_LAST_ACK,
    TCP_LISTEN,
    TCP_SYN_RECV,
    TCP_SYN_SENT,
    TCP_TIME_WAIT,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Final

# ss numbers its states 0..11 exactly as the kernel does; bit 0 is ss's "UNKNOWN".
SS_UNKNOWN: Final = 0
SS_MAX: Final = 12
ALL: Final = (1 << SS_MAX) - 1

# One name per state, as ss spells them for `state NAME` (not as it prints them).
STATE_NAMES: Final[dict[str, int]] = {
    "unknown": SS_UNKNOWN,
    "established": TCP_ESTABLISHED,
    "syn-sent": TCP_SYN_SENT,
    "syn-recv": TCP_SYN_RECV,
    "fin-wait-1": TCP_FIN_WAIT1,
    "fin-wait-2": TCP_FIN_WAIT2,
    "time-wait": TCP_TIME_WAIT,
    "unconnected": TCP_CLOSE,
    "close-wait": TCP_CLOSE_WAIT,
    "last-ack": TCP_LAST_ACK,
    "listening": TCP_LISTEN,
    "closing": TCP_CLOSING,
    "bound-inactive": TCP_BOUND_INACTIVE,  # iproute2 6.5+; the kernel then reports TCP_CLOSE
}
ALIASES: Final[dict[str, int]] = {"close": TCP_CLOSE, "closed": TCP_CLOSE, "syn-rcv": TCP_SYN_RECV}


def _bits(*states: int) -> int:
    mask = 0
    for state in states:
        mask |= 1 << state
    return mask


GROUPS: Final[dict[str, int]] = {
    "all": ALL,
    "connected": ALL & ~_bits(TCP_CLOSE, TCP_LISTEN),
    "synchronized": ALL & ~_bits(TCP_CLOSE, TCP_LISTEN, TCP_SYN_SENT),
    "bucket": _bits(TCP_SYN_RECV, TCP_TIME_WAIT),
    "big": ALL & ~_bits(TCP_SYN_RECV, TCP_TIME_WAIT),
}

STATE_WORD: Final = "state"
EXCLUDE_WORDS: Final = ("exclude", "excl")


def state_mask(name: str) -> int | None:
    """The mask a state name or group stands for (case-insensitive), or None."""
    key = name.lower()
    if key in GROUPS:
        return GROUPS[key]
    state = STATE_NAMES.get(key, ALIASES.get(key))
    return None if state is None else 1 << state


def leading_states(words: Sequence[str]) -> tuple[int | None, int]:
    """Consume ss's leading ``state X`` / ``exclude X`` words.

    Returns (mask, words consumed); mask is None when no such word came.
    The first ``state`` starts from no states and the first ``exclude`` from
    all of them, so they override -a/-l, as in ss. Keywords are matched
    case-sensitively, names case-insensitively (as ss does). Only leading
    words count: ss hands the rest to the expression parser.
    """
    mask: int | None = None
    index = 0
    while index < len(words) and (words[index] == STATE_WORD or words[index] in EXCLUDE_WORDS):
        keyword = words[index]
        column = sum(len(word) + 1 for word in words[:index]) + 1
        text = " ".join(words)
        if index + 1 >= len(words):
            raise FilterError(f'"{keyword}" needs a state name after it', text, len(text) + 1)
        name = words[index + 1]
        bits = state_mask(name)
        if bits is None:
            known = ", ".join([*STATE_NAMES, *ALIASES, *GROUPS])
            raise FilterError(f'"{name}" is not a state name (known: {known})', text,
                              column + len(keyword) + 1, EXIT_SYNTAX)
        start = (mask or 0) if keyword == STATE_WORD else (ALL if mask is None else mask)
        mask = start | bits if keyword == STATE_WORD else start & ~bits
        index += 2
    return mask, index
