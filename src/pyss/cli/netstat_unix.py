"""pynetstat's UNIX socket rows: what netstat shows that sock_diag does not say outright.

netstat reads /proc/net/unix, which lists the connections a listener has not
accepted yet (sock_diag skips them: they have no inode) and a reference count
per socket. Both are rebuilt here from the listeners' UNIX_DIAG_ICONS (the
peers of their pending connections).
"""

from __future__ import annotations

from pyss.cli.netstat_dump import dump
from pyss.lite_typing import TYPE_CHECKING
from pyss.netlink.constants import TCP_ESTABLISHED, TCP_LISTEN, TCPF_ALL, UDIAG_SHOW_ICONS, UNIX_DIAG_ICONS
from pyss.netlink.decode import attributes
from pyss.netlink.tcpinfo import decode_icons
from pyss.records import UnixSocket
from pyss.render import netstat as render

if TYPE_CHECKING:
    from collections.abc import Callable


def unix_rows(view: render.SocketView, names: render.Names, write: Callable[[str], None]) -> None:
    """netstat's "Active UNIX domain sockets" rows: sock_diag's sockets and the connections not yet accepted."""
    from pyss.query import Extensions

    records: list[UnixSocket] = []
    # Servers only: nothing holds a listener as its peer, so no other socket is needed to count references.
    states = 1 << TCP_LISTEN if view.listening and not view.all else TCPF_ALL
    for record in dump("unix", states, Extensions(unix=UDIAG_SHOW_ICONS)):
        assert isinstance(record, UnixSocket)
        records.append(record)
    pending = _pending_peers(records)
    counts = render.unix_refcounts(records, pending)
    rows = []
    for record in records:
        if render.unix_is_listening(record):
            # not-yet-accepted connections: sock_diag skips them (no inode); /proc lists them
            for _ in unix_icons(record):
                embryo = record._replace(state=TCP_ESTABLISHED, inode=0, peer=0)
                if render.shows_unix(embryo, view):
                    rows.append(render.unix_row(embryo, 3, view, names))
        if render.shows_unix(record, view):
            rows.append(render.unix_row(record, counts.get(record.inode, 2), view, names))
    write("".join(rows))


def _pending_peers(records: list[UnixSocket]) -> dict[int, int]:
    pending: dict[int, int] = {}
    for record in records:
        if render.unix_is_listening(record):
            for inode in unix_icons(record):
                pending[inode] = pending.get(inode, 0) + 1
    return pending


def unix_icons(record: UnixSocket) -> list[int]:
    """The peers of a listener's connections not yet accepted (the request asked for UDIAG_SHOW_ICONS)."""
    return decode_icons(attributes(record.attrs, 0, len(record.attrs)).get(UNIX_DIAG_ICONS, b""))
