"""A socket's state as the public API names it (:class:`State`): an enum and nothing else.

Apart from :mod:`pyss.api.record` so that a count by state (``pyss.count``) can return States without
importing what records need (the socket module's enums, typing). Pure.
"""

from __future__ import annotations

import enum

from pyss.lite_typing import TYPE_CHECKING


class State(enum.IntEnum):
    """A socket's state, named as ss names it (``-`` written ``_``); the value is the kernel's number.

    ``str(state)`` is ss's text (``SYN-SENT``); :attr:`psutil` is psutil's status string for a TCP
    socket in this state (psutil reports every other socket as ``"NONE"``).
    """

    UNKNOWN = 0
    ESTAB = 1
    SYN_SENT = 2
    SYN_RECV = 3
    FIN_WAIT_1 = 4
    FIN_WAIT_2 = 5
    TIME_WAIT = 6
    UNCONN = 7
    CLOSE_WAIT = 8
    LAST_ACK = 9
    LISTEN = 10
    CLOSING = 11
    NEW_SYN_RECV = 12

    @property
    def ss(self) -> str:
        """ss's State column text."""
        return self.name.replace("_", "-")

    @property
    def psutil(self) -> str:
        """psutil's ``CONN_*`` status string for a TCP socket in this state."""
        return _psutil_statuses()[self]

    def __str__(self) -> str:
        return self.ss


if TYPE_CHECKING:
    PSUTIL_STATUS: dict[State, str]
    """State -> psutil's status string (what ``State.psutil`` returns)."""


def _psutil_statuses() -> dict[State, str]:
    """PSUTIL_STATUS, made on first use from netstat's state names (a count by state needs neither)."""
    table: dict[State, str] | None = globals().get("PSUTIL_STATUS")
    if table is None:
        from pyss.names.netstat import TCP_STATE_NAMES

        table = {state: TCP_STATE_NAMES[state] or "NONE" for state in State}
        globals()["PSUTIL_STATUS"] = table
    return table


def __getattr__(name: str) -> dict[State, str]:
    if name == "PSUTIL_STATUS":
        return _psutil_statuses()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

STATES: tuple[State, ...] = tuple(State)
"""Every State, indexed by its kernel number."""


def state_of(number: int) -> State:
    """The State for a kernel state number (UNKNOWN for a number pyss does not know)."""
    return STATES[number] if 0 <= number < len(STATES) else State.UNKNOWN
