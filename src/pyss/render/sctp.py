"""SCTP text as ss 6.1 prints it (misc/ss.c: sctp_show_info, sctp_stats_print, sctp_timer_print,
is_sctp_assoc): the detail line's locals/peers/sctp_info, the T3_RTX timer, and the
"`- STATE" of an association row, which follows its endpoint's row.
"""

from __future__ import annotations

from pyss.netlink.constants import INET_DIAG_INFO, INET_DIAG_LOCALS, INET_DIAG_PEERS
from pyss.netlink.sctp import address_text, decode_addresses, decode_sctp_info

# SCTP_STATE_* names ss prints for an association (linux/sctp.h numbering).
SCTP_STATE_NAMES = ("CLOSED", "COOKIE_WAIT", "COOKIE_ECHOED", "ESTAB", "SHUTDOWN_PENDING", "SHUTDOWN_SENT",
                    "SHUTDOWN_RECEIVED", "ACK_SENT")


def sctp_state_name(state: int) -> str:
    return SCTP_STATE_NAMES[state] if state < len(SCTP_STATE_NAMES) else ""


def association_state(state: int) -> str:
    """The State field of an association row (its Netid field stays empty)."""
    return f"`- {sctp_state_name(state)}"


def sctp_timer_text(timer: int, expires_text: str, retrans: int) -> str:
    """' timer:(T3_RTX,200ms,0)': ss names every running SCTP timer after the retransmission one."""
    return f" timer:(T3_RTX,{expires_text},{retrans})" if timer else ""


def sctp_info_text(attrs: dict[int, bytes]) -> str:
    """' locals:A,B peers:C tag:.. state:ESTAB rwnd:..' from an SCTP socket's attributes."""
    text = ""
    for label, kind in (("locals", INET_DIAG_LOCALS), ("peers", INET_DIAG_PEERS)):
        raw = attrs.get(kind)
        if raw is not None:
            text += f" {label}:" + ",".join(address_text(family, packed) for family, packed in decode_addresses(raw))
    raw = attrs.get(INET_DIAG_INFO)
    if raw is None:
        return text
    info = decode_sctp_info(raw)
    if info.tag:
        text += f" tag:{info.tag:x}"
    if info.state:
        text += f" state:{sctp_state_name(info.state)}"
    counters = (
        ("rwnd", info.rwnd), ("unackdata", info.unackdata), ("penddata", info.penddata), ("instrms", info.instrms),
        ("outstrms", info.outstrms), ("inqueue", info.inqueue), ("outqueue", info.outqueue),
        ("overerr", info.overall_error), ("maxburst", info.max_burst), ("maxseg", info.maxseg),
        ("prwnd", info.peer_rwnd),
    )
    text += "".join(f" {name}:{_int(value)}" for name, value in counters if value)
    if info.peer_tag:
        text += f" ptag:{info.peer_tag:x}"
    settings = (
        ("pcapable", info.peer_capable), ("psack", info.peer_sack), ("autoclose", info.autoclose),
        ("adapind", info.adaptation_ind), ("pdpoint", info.pd_point), ("nodelay", info.nodelay),
        ("nofrag", info.disable_fragments), ("v4mapped", info.v4mapped), ("fraginl", info.frag_interleave),
    )
    return text + "".join(f" {name}:{_int(value)}" for name, value in settings if value)


def _int(value: int) -> str:
    """C's %d of a u32."""
    return str(value - (1 << 32) if value > 0x7FFFFFFF else value)
