"""pyss: a fast, ss- and netstat-compatible socket inspector for Linux, and a library.

>>> import pyss
>>> listening = [s for s in pyss.sockets("tcp", "state listening")]
>>> by_state = pyss.count("tcp", by="state")

``pyss.net_connections`` and ``pyss.process_net_connections`` return what
psutil's functions of the same names return. See docs/api.md.

Every public name is imported on first use (PEP 562), so ``import pyss`` costs
next to nothing and the command lines load only what they need.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs more than pyss -tan's start-up allows

__version__ = "0.1.0"

__all__ = [
    "COUNT_KEYS",
    "DETAILS",
    "KINDS",
    "Addr",
    "Extended",
    "FilterError",
    "Memory",
    "Process",
    "Socket",
    "State",
    "Timer",
    "count",
    "net_connections",
    "process_net_connections",
    "sockets",
]

if TYPE_CHECKING:
    from typing import Any

    from pyss.api.keys import KEYS as COUNT_KEYS
    from pyss.api.listing import count, sockets
    from pyss.api.psutil_compat import net_connections, process_net_connections
    from pyss.api.record import DETAILS, Addr, Extended, Memory, Process, Socket, State, Timer
    from pyss.api.request import KINDS
    from pyss.filter.errors import FilterError

_HOMES = {
    "COUNT_KEYS": ("pyss.api.keys", "KEYS"),
    "DETAILS": ("pyss.api.record", "DETAILS"),
    "KINDS": ("pyss.api.request", "KINDS"),
    "Addr": ("pyss.api.record", "Addr"),
    "Extended": ("pyss.api.record", "Extended"),
    "FilterError": ("pyss.filter.errors", "FilterError"),
    "Memory": ("pyss.api.record", "Memory"),
    "Process": ("pyss.api.record", "Process"),
    "Socket": ("pyss.api.record", "Socket"),
    "State": ("pyss.api.record", "State"),
    "Timer": ("pyss.api.record", "Timer"),
    "count": ("pyss.api.listing", "count"),
    "net_connections": ("pyss.api.psutil_compat", "net_connections"),
    "process_net_connections": ("pyss.api.psutil_compat", "process_net_connections"),
    "sockets": ("pyss.api.listing", "sockets"),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'pyss' has no attribute {name!r}")
    # __import__ with a fromlist gives the submodule itself: importlib's import_module without importing
    # importlib (~0.3 ms of a first call to the API)
    value = getattr(__import__(home[0], fromlist=[home[1]]), home[1])
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*__all__, "__version__"])
