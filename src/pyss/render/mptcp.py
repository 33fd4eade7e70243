"""MPTCP text in ss's Process column: a socket's mptcp_info under -i/-m, a TCP subflow's
" tcp-ulp-mptcp ..." part. Formats follow ss 6.1 (misc/ss.c: mptcp_stats_print,
mptcp_subflow_info); iproute2 6.5+ prints the sequence numbers in decimal and more
fields, which pyss does not follow here so that its output stays byte-identical
to the ss 6.1 it is tested against.
"""

from __future__ import annotations

from pyss.netlink.constants import (
    MPTCP_INFO_FLAG_FALLBACK,
    MPTCP_INFO_FLAG_REMOTE_KEY_RECEIVED,
    MPTCP_SUBFLOW_FLAG_BKUP_LOC,
    MPTCP_SUBFLOW_FLAG_BKUP_REM,
    MPTCP_SUBFLOW_FLAG_CONNECTED,
    MPTCP_SUBFLOW_FLAG_FULLY_ESTABLISHED,
    MPTCP_SUBFLOW_FLAG_JOIN_LOC,
    MPTCP_SUBFLOW_FLAG_JOIN_REM,
    MPTCP_SUBFLOW_FLAG_MAPVALID,
    MPTCP_SUBFLOW_FLAG_MCAP_LOC,
    MPTCP_SUBFLOW_FLAG_MCAP_REM,
)
from pyss.netlink.mptcp import decode_mptcp_info, decode_subflow

# Subflow flag letters, in ss's order.
_FLAG_LETTERS = (
    (MPTCP_SUBFLOW_FLAG_MCAP_REM, "M"), (MPTCP_SUBFLOW_FLAG_MCAP_LOC, "m"),
    (MPTCP_SUBFLOW_FLAG_JOIN_REM, "J"), (MPTCP_SUBFLOW_FLAG_JOIN_LOC, "j"),
    (MPTCP_SUBFLOW_FLAG_BKUP_REM, "B"), (MPTCP_SUBFLOW_FLAG_BKUP_LOC, "b"),
    (MPTCP_SUBFLOW_FLAG_FULLY_ESTABLISHED, "e"), (MPTCP_SUBFLOW_FLAG_CONNECTED, "c"),
    (MPTCP_SUBFLOW_FLAG_MAPVALID, "v"),
)


def mptcp_info_text(raw: bytes) -> str:
    """' subflows:1 ... token:.. write_seq:..' from an MPTCP socket's INET_DIAG_INFO."""
    info = decode_mptcp_info(raw)
    counters = (("subflows", info.subflows), ("add_addr_signal", info.add_addr_signal),
                ("add_addr_accepted", info.add_addr_accepted), ("subflows_max", info.subflows_max),
                ("add_addr_signal_max", info.add_addr_signal_max),
                ("add_addr_accepted_max", info.add_addr_accepted_max))
    text = "".join(f" {name}:{value}" for name, value in counters if value)
    if info.flags & MPTCP_INFO_FLAG_FALLBACK:
        text += " fallback"
    if info.flags & MPTCP_INFO_FLAG_REMOTE_KEY_RECEIVED:
        text += " remote_key"
    if info.token:
        text += f" token:{info.token:x}"
    for name, value in (("write_seq", info.write_seq), ("snd_una", info.snd_una), ("rcv_nxt", info.rcv_nxt)):
        if value:
            text += f" {name}:{value:x}"
    return text


def subflow_text(raw: bytes) -> str:
    """' flags:Mmec token:0000(id:0)/..' from a TCP subflow's INET_ULP_INFO_MPTCP."""
    subflow = decode_subflow(raw)
    text = ""
    if subflow.flags:
        text += " flags:" + "".join(letter for bit, letter in _FLAG_LETTERS if subflow.flags & bit)
    if (subflow.token_rem is not None and subflow.token_loc is not None and subflow.id_rem is not None
            and subflow.id_loc is not None):
        text += f" token:{subflow.token_rem:04x}(id:{subflow.id_rem})/{subflow.token_loc:04x}(id:{subflow.id_loc})"
    for name, value in (("seq", subflow.map_seq), ("sfseq", subflow.map_sfseq), ("ssnoff", subflow.ssn_offset),
                        ("maplen", subflow.map_datalen)):
        if value is not None:
            text += f" {name}:{value:x}"
    return text
