"""The text ss prints after the peer address: processes, timers, -e, -m, -i, --tos, --cgroup, -b.

ss writes all of it into its last ("Process") column as one token, line
breaks included, so :func:`details_text` returns exactly that token for one
record. The order of the pieces and every format follow ss 6.1 (misc/ss.c:
inet_show_sock, tcp_show_info, unix_show_sock, packet_show_sock,
netlink_show_one): any reordering would break scripts that parse the line.
Where newer ss prints more (tcp_info's rcv_wnd and rehash, the usec_ts
option, kTLS's no_pad_rx, --inet-sockopt), pyss prints it as iproute2 7.1.0
does; ss 6.1 shows none of these (see docs/kinds.md).

Extensions are decoded only when a flag that prints them is on, and the flag
tests are resolved once per :class:`~pyss.query.Details` (see
:func:`details_formatter`), because this runs once per socket.
"""

from __future__ import annotations

import os
import struct

from pyss.lite_typing import TYPE_CHECKING
from pyss.netlink.constants import (
    AF_INET6,
    INET_DIAG_BBRINFO,
    INET_DIAG_CGROUP_ID,
    INET_DIAG_CLASS_ID,
    INET_DIAG_CONG,
    INET_DIAG_DCTCPINFO,
    INET_DIAG_INFO,
    INET_DIAG_MARK,
    INET_DIAG_MEMINFO,
    INET_DIAG_PROTOCOL,
    INET_DIAG_SHUTDOWN,
    INET_DIAG_SKMEMINFO,
    INET_DIAG_SKV6ONLY,
    INET_DIAG_SOCKOPT,
    INET_DIAG_TCLASS,
    INET_DIAG_TOS,
    INET_DIAG_ULP_INFO,
    INET_DIAG_VEGASINFO,
    INET_ULP_INFO_MPTCP,
    INET_ULP_INFO_NAME,
    INET_ULP_INFO_TLS,
    IPPROTO_MPTCP,
    IPPROTO_SCTP,
    IPPROTO_UDP,
    NETLINK_DIAG_MEMINFO,
    PACKET_DIAG_FANOUT,
    PACKET_DIAG_FILTER,
    PACKET_DIAG_INFO,
    PACKET_DIAG_MEMINFO,
    PACKET_DIAG_RX_RING,
    PACKET_DIAG_TX_RING,
    PDI_AUXDATA,
    PDI_LOSS,
    PDI_ORIGDEV,
    PDI_RUNNING,
    PDI_VNETHDR,
    TCP_LISTEN,
    TCPI_OPT_ECN,
    TCPI_OPT_ECN_SEEN,
    TCPI_OPT_SACK,
    TCPI_OPT_SYN_DATA,
    TCPI_OPT_TIMESTAMPS,
    TCPI_OPT_USEC_TS,
    TCPI_OPT_WSCALE,
    TLS_1_2_VERSION,
    TLS_1_3_VERSION,
    TLS_CIPHER_AES_GCM_128,
    TLS_CIPHER_AES_GCM_256,
    TLS_CONF_BASE,
    TLS_CONF_HW,
    TLS_CONF_HW_RECORD,
    TLS_CONF_SW,
    TLS_INFO_CIPHER,
    TLS_INFO_RX_NO_PAD,
    TLS_INFO_RXCONF,
    TLS_INFO_TXCONF,
    TLS_INFO_VERSION,
    TLS_INFO_ZC_RO_TX,
    UNIX_DIAG_ICONS,
    UNIX_DIAG_MEMINFO,
    UNIX_DIAG_SHUTDOWN,
    UNIX_DIAG_VFS,
    USER_HZ,
)
from pyss.netlink.decode import attributes, signed32
from pyss.netlink.tcpinfo import (
    INET_DIAG_SOCKOPT_SIZE,
    TCP_INFO_SIZE,
    TCP_INFO_STRUCT,
    TCPI_REORDERING_END,
    decode_bbr,
    decode_dctcp,
    decode_diag_meminfo,
    decode_inet_sockopt,
    decode_sk_meminfo,
    decode_string,
    decode_u8,
    decode_u16,
    decode_u32,
    decode_u64,
    decode_vegas,
)
from pyss.query import Details, wants_details
from pyss.records import PROC_TCP_COLUMNS, InetSocket, NetlinkSocket, PacketSocket, SocketRecord, UnixSocket
from pyss.render.mptcp import mptcp_info_text, subflow_text
from pyss.render.sctp import sctp_info_text, sctp_timer_text

if TYPE_CHECKING:  # collections.abc and functools stay off the details' start-up (docs/design.md)
    from collections.abc import Callable

    CgroupNamer = Callable[[int], str]
    Formatter = Callable[[SocketRecord, str | None], str]

TIMER_NAMES = ("off", "on", "keepalive", "timewait", "persist", "unknown")
FANOUT_TYPES = ("hash", "lb", "cpu", "roll", "random", "qm")
_TLS_CONF = {TLS_CONF_BASE: "none", TLS_CONF_SW: "sw", TLS_CONF_HW: "hw", TLS_CONF_HW_RECORD: "hw-record"}
_U64_MAX = (1 << 64) - 1
_U32_MAX = (1 << 32) - 1


# --- number formats --------------------------------------------------------------------------

def ms_timer(timeout: int) -> str:
    """ss's print_ms_timer: 1min52sec, 9.500ms, 12sec, 200ms; coarser as the value grows."""
    secs, msecs = divmod(timeout, 1000)
    minutes, secs = divmod(secs, 60)
    text = ""
    if minutes:
        msecs = 0
        text = f"{minutes}min"
        if minutes > 9:
            secs = 0
    if secs:
        if secs > 9:
            msecs = 0
        text += f"{secs}{'.' if msecs else 'sec'}"
    if msecs:
        text += f"{msecs:03d}ms"
    return text


def bandwidth(bps: float, numeric: bool) -> str:
    """ss's sprint_bw: bits per second with k/M/G/T suffixes (plain digits under -n)."""
    if numeric:
        return f"{bps:.0f}"
    if bps >= 1e12:
        return f"{bps / 1e12:.3g}T"
    if bps >= 1e9:
        return f"{bps / 1e9:.3g}G"
    if bps >= 1e6:
        return f"{bps / 1e6:.3g}M"
    if bps >= 1e3:
        return f"{bps / 1e3:.3g}k"
    return f"{bps:g}"


def _hex(value: int) -> str:
    """C's %#x: no 0x prefix for zero."""
    return f"{value:#x}" if value else "0"


def _int(value: int) -> str:
    """C's %d of a u32 stored in an int."""
    return str(signed32(value))


def _shutdown(mask: int) -> str:
    return f" {'-' if mask & 1 else '<'}-{'-' if mask & 2 else '>'}"


def skmem_text(raw: bytes) -> str:
    """' skmem:(r..,rb..,t..,tb..,f..,w..,o..[,bl..][,d..])' from an SK_MEMINFO array."""
    mem = decode_sk_meminfo(raw)
    mem = mem + (0,) * (7 - len(mem)) if len(mem) < 7 else mem
    text = f" skmem:(r{mem[0]},rb{mem[1]},t{mem[2]},tb{mem[3]},f{mem[4]},w{mem[5]},o{mem[6]}"
    if len(mem) > 7:
        text += f",bl{mem[7]}"
    if len(mem) > 8:
        text += f",d{mem[8]}"
    return text + ")"


def timer_text(timer: int, expires: int, retrans: int) -> str:
    """' timer:(keepalive,1min52sec,0)' (tcp_timer_print); empty when no timer runs."""
    if not timer:
        return ""
    return f" timer:({TIMER_NAMES[min(timer, 5)]},{ms_timer(expires)},{retrans})"


# --- tcp_info ----------------------------------------------------------------------------

def tcp_info_text(attrs: dict[int, bytes], state: int, options: bool, numeric: bool) -> str:
    """tcp_show_info's tcp_info part (tcp_stats_print); empty without INET_DIAG_INFO.

    The struct is unpacked straight into locals (not a TcpInfo): with -i this
    runs once per socket, and attribute lookups were most of its cost.
    """
    raw = attrs.get(INET_DIAG_INFO)
    if raw is None:
        return ""
    size = len(raw)
    if size < TCP_INFO_SIZE:
        raw = raw.ljust(TCP_INFO_SIZE, b"\0")
    (_state, _ca_state, _retransmits, _probes, backoff, opts, wscale, rate_flags,
     rto, ato, snd_mss, rcv_mss, unacked, sacked, lost, retrans, fackets,
     last_data_sent, _last_ack_sent, last_data_recv, last_ack_recv,
     pmtu, rcv_ssthresh, rtt, rttvar, snd_ssthresh, snd_cwnd, advmss, reordering,
     rcv_rtt, rcv_space, total_retrans,
     pacing_rate, max_pacing_rate, bytes_acked, bytes_received,
     segs_out, segs_in, notsent_bytes, min_rtt, data_segs_in, data_segs_out,
     delivery_rate, busy, rwnd_limited, sndbuf_limited, delivered, delivered_ce,
     bytes_sent, bytes_retrans, dsack_dups, reord_seen, rcv_ooopack, snd_wnd,
     rcv_wnd, rehash) = TCP_INFO_STRUCT.unpack_from(raw)
    out: list[str] = []
    add = out.append
    if options and opts & _SHOWN_OPTIONS:
        add(_OPTION_WORDS[opts & _SHOWN_OPTIONS])
    cong = attrs.get(INET_DIAG_CONG)
    if cong is not None:
        name = decode_string(cong)[:15]
        if name:
            add(f" {name}")
    if opts & TCPI_OPT_WSCALE:
        add(f" wscale:{wscale & 0xF},{wscale >> 4}")
    if rto and rto != 3000000:
        add(f" rto:{rto / 1000:g}")
    if backoff:
        add(f" backoff:{backoff}")
    if rtt:
        add(f" rtt:{rtt / 1000:g}/{rttvar / 1000:g}")
    if ato:
        add(f" ato:{ato / 1000:g}")
    if snd_mss:
        add(f" mss:{_int(snd_mss)}")
    if pmtu:
        add(f" pmtu:{pmtu}")
    if rcv_mss:
        add(f" rcvmss:{_int(rcv_mss)}")
    if advmss:
        add(f" advmss:{_int(advmss)}")
    if snd_cwnd:
        add(f" cwnd:{snd_cwnd}")
    if snd_ssthresh and snd_ssthresh < 0xFFFF:
        add(f" ssthresh:{snd_ssthresh}")
    if bytes_sent:
        add(f" bytes_sent:{bytes_sent}")
    if bytes_retrans:
        add(f" bytes_retrans:{bytes_retrans}")
    if bytes_acked:
        add(f" bytes_acked:{bytes_acked}")
    if bytes_received:
        add(f" bytes_received:{bytes_received}")
    if segs_out:
        add(f" segs_out:{segs_out}")
    if segs_in:
        add(f" segs_in:{segs_in}")
    if data_segs_out:
        add(f" data_segs_out:{data_segs_out}")
    if data_segs_in:
        add(f" data_segs_in:{data_segs_in}")
    if INET_DIAG_DCTCPINFO in attrs or INET_DIAG_BBRINFO in attrs:
        _congestion_state(attrs, numeric, add)

    send_rtt = float(rtt)
    vegas_raw = attrs.get(INET_DIAG_VEGASINFO)
    if vegas_raw is not None:
        vegas = decode_vegas(vegas_raw)
        if vegas.enabled and vegas.rtt and vegas.rtt != 0x7FFFFFFF:
            send_rtt = float(vegas.rtt)
    if send_rtt > 0 and snd_mss and snd_cwnd:
        add(f" send {bandwidth(float(snd_cwnd) * float(snd_mss) * 8000000.0 / send_rtt, numeric)}bps")
    if last_data_sent:
        add(f" lastsnd:{last_data_sent}")
    if last_data_recv:
        add(f" lastrcv:{last_data_recv}")
    if last_ack_recv:
        add(f" lastack:{last_ack_recv}")
    if pacing_rate and pacing_rate != _U64_MAX:
        add(f" pacing_rate {bandwidth(float(pacing_rate) * 8.0, numeric)}bps")
        if max_pacing_rate and max_pacing_rate != _U64_MAX:
            add(f"/{bandwidth(float(max_pacing_rate) * 8.0, numeric)}bps")
    if delivery_rate:
        add(f" delivery_rate {bandwidth(float(delivery_rate) * 8.0, numeric)}bps")
    if delivered:
        add(f" delivered:{delivered}")
    if delivered_ce:
        add(f" delivered_ce:{delivered_ce}")
    if rate_flags & 1:
        add(" app_limited")
    if busy:
        add(f" busy:{busy // 1000}ms")
        if rwnd_limited:
            add(f" rwnd_limited:{rwnd_limited // 1000}ms({100.0 * rwnd_limited / busy:.1f}%)")
        if sndbuf_limited:
            add(f" sndbuf_limited:{sndbuf_limited // 1000}ms({100.0 * sndbuf_limited / busy:.1f}%)")
    if unacked:
        add(f" unacked:{unacked}")
    if retrans or total_retrans:
        add(f" retrans:{retrans}/{total_retrans}")
    if lost:
        add(f" lost:{lost}")
    if sacked and state != TCP_LISTEN:
        add(f" sacked:{sacked}")
    if dsack_dups:
        add(f" dsack_dups:{dsack_dups}")
    if fackets:
        add(f" fackets:{fackets}")
    # A struct too short to hold tcpi_reordering (no kernel sent one) reads 0: absent, not printed.
    if reordering != 3 and size >= TCPI_REORDERING_END:
        add(f" reordering:{_int(reordering)}")
    if reord_seen:
        add(f" reord_seen:{_int(reord_seen)}")
    if rcv_rtt:
        add(f" rcv_rtt:{rcv_rtt / 1000:g}")
    if rcv_space:
        add(f" rcv_space:{_int(rcv_space)}")
    if rcv_ssthresh:
        add(f" rcv_ssthresh:{rcv_ssthresh}")
    if notsent_bytes:
        add(f" notsent:{notsent_bytes}")
    if min_rtt and min_rtt != _U32_MAX:
        add(f" minrtt:{min_rtt / 1000:g}")
    if rcv_ooopack:
        add(f" rcv_ooopack:{rcv_ooopack}")
    if snd_wnd:
        add(f" snd_wnd:{snd_wnd}")
    # iproute2 6.5+ (pyss follows 7.1): fields ss 6.1 does not print
    if rcv_wnd:
        add(f" rcv_wnd:{rcv_wnd}")
    if rehash:
        add(f" rehash:{rehash}")
    return "".join(out)


_SHOWN_OPTIONS = (TCPI_OPT_TIMESTAMPS | TCPI_OPT_USEC_TS | TCPI_OPT_SACK | TCPI_OPT_ECN | TCPI_OPT_ECN_SEEN
                  | TCPI_OPT_SYN_DATA)
# " ts sack ..." for each combination of the option bits ss names under -o (usec_ts: iproute2 6.7+)
_OPTION_WORDS = tuple(
    "".join(word for bit, word in ((TCPI_OPT_TIMESTAMPS, " ts"), (TCPI_OPT_USEC_TS, " usec_ts"),
                                   (TCPI_OPT_SACK, " sack"), (TCPI_OPT_ECN, " ecn"),
                                   (TCPI_OPT_ECN_SEEN, " ecnseen"), (TCPI_OPT_SYN_DATA, " fastopen"))
            if mask & bit)
    for mask in range(_SHOWN_OPTIONS + 1)
)


def _congestion_state(attrs: dict[int, bytes], numeric: bool, add: Callable[[str], None]) -> None:
    """dctcp:(...) / bbr:(...) from the congestion module's own attribute."""
    dctcp_raw = attrs.get(INET_DIAG_DCTCPINFO)
    if dctcp_raw is not None:
        dctcp = decode_dctcp(dctcp_raw)
        if dctcp.enabled:
            add(f" dctcp:(ce_state:{dctcp.ce_state},alpha:{dctcp.alpha},ab_ecn:{dctcp.ab_ecn},ab_tot:{dctcp.ab_tot})")
        else:
            add(" dctcp:fallback_mode")
    bbr_raw = attrs.get(INET_DIAG_BBRINFO)
    if bbr_raw is not None:
        bbr = decode_bbr(bbr_raw)
        text = f" bbr:(bw:{bandwidth(bbr.bw * 8.0, numeric)}bps,mrtt:{bbr.min_rtt / 1000.0:g}"
        if bbr.pacing_gain:
            text += f",pacing_gain:{bbr.pacing_gain / 256.0:g}"
        if bbr.cwnd_gain:
            text += f",cwnd_gain:{bbr.cwnd_gain / 256.0:g}"
        add(text + ")")


def _ulp_text(raw: bytes) -> str:
    """' tcp-ulp-tls version: 1.3 cipher: aes-gcm-256 rxconf: sw txconf: sw' (kTLS sockets),
    ' tcp-ulp-mptcp flags:Mmec token:...' (MPTCP subflows)."""
    ulp = attributes(raw, 0, len(raw))
    text = ""
    name = ulp.get(INET_ULP_INFO_NAME)
    if name is not None:
        text += f" tcp-ulp-{decode_string(name)}"
    tls_raw = ulp.get(INET_ULP_INFO_TLS)
    if tls_raw is not None:
        text += _tls_text(tls_raw)
    subflow_raw = ulp.get(INET_ULP_INFO_MPTCP)
    if subflow_raw is not None:
        text += subflow_text(subflow_raw)
    return text


def _tls_text(tls_raw: bytes) -> str:
    text = ""
    tls = attributes(tls_raw, 0, len(tls_raw))
    version = tls.get(TLS_INFO_VERSION)
    if version is not None:
        value = decode_u16(version)
        text += {TLS_1_2_VERSION: " version: 1.2", TLS_1_3_VERSION: " version: 1.3"}.get(
            value, f" version: unknown({value})")
    cipher = tls.get(TLS_INFO_CIPHER)
    if cipher is not None:
        text += {TLS_CIPHER_AES_GCM_128: " cipher: aes-gcm-128", TLS_CIPHER_AES_GCM_256: " cipher: aes-gcm-256"}.get(
            decode_u16(cipher), "")
    for label, kind in (("rxconf", TLS_INFO_RXCONF), ("txconf", TLS_INFO_TXCONF)):
        conf = tls.get(kind)
        if conf is not None:
            value = decode_u16(conf)
            text += f" {label}: {_TLS_CONF.get(value, f'unknown({value})')}"
    if TLS_INFO_ZC_RO_TX in tls:
        text += " zc_ro_tx"
    if TLS_INFO_RX_NO_PAD in tls:  # iproute2 6.6+
        text += " no_pad_rx"
    return text


# ss's words for the inet_diag_sockopt fields (one differs from the kernel's name).
_SOCKOPT_WORDS = {"bind_address_no_port": "bind_addr_no_port"}


def sockopt_text(raw: bytes, oneline: bool) -> str:
    """'\n\tinet-sockopt: ( is_icsk mc_loop)' from INET_DIAG_SOCKOPT (--inet-sockopt)."""
    words = "".join(f" {_SOCKOPT_WORDS.get(name, name)}" for name in decode_inet_sockopt(raw))
    return f"{' ' if oneline else chr(10) + chr(9)}inet-sockopt: ({words})"


def _inet_memory_text(attrs: dict[int, bytes]) -> str:
    raw = attrs.get(INET_DIAG_SKMEMINFO)
    if raw is not None:
        return skmem_text(raw)
    old = attrs.get(INET_DIAG_MEMINFO)
    if old is None:
        return ""
    mem = decode_diag_meminfo(old)
    return f" mem:(r{mem.rmem},w{mem.wmem},f{mem.fmem},t{mem.tmem})"


# --- per-family formatters -------------------------------------------------------------------

def _unresolved_cgroup(cgroup_id: int) -> str:
    from pyss.system.cgroups import cgroup_path  # /sys/fs/cgroup lookups are I/O, kept out of this module

    return cgroup_path(cgroup_id)


# details_formatter's results: a few (details, namer) pairs a process, bounded as lru_cache(16) was.
_FORMATTERS: dict[tuple[Details, CgroupNamer | None], Formatter] = {}


def details_formatter(details: Details, cgroup_name: CgroupNamer | None = None) -> Formatter:
    """A function (record, users) -> the Process-column text, with the flag tests resolved once."""
    key = (details, cgroup_name)
    formatter = _FORMATTERS.get(key)
    if formatter is None:
        if len(_FORMATTERS) >= 16:
            _FORMATTERS.clear()
        formatter = _FORMATTERS[key] = _details_formatter(details, cgroup_name)
    return formatter


def _details_formatter(details: Details, cgroup_name: CgroupNamer | None) -> Formatter:
    namer = cgroup_name or _unresolved_cgroup
    # -e and -b imply -o in ss.
    timers = details.options or bool(details.extended) or details.bpf
    extended = bool(details.extended)
    users_on = details.processes
    mem, info, tos, cgroup, bpf = details.memory, details.info, details.tos, details.cgroup, details.bpf
    oneline, numeric = details.oneline, details.numeric
    # ss prints the details of a socket on a continuation line unless -O is given.
    newline = "" if oneline else "\n\t"
    sockopt = details.inet_sockopt
    need_inet_attrs = extended or mem or info or tos or cgroup or sockopt

    def inet(record: InetSocket, users: str | None) -> str:
        text = f" users:({users})" if users and users_on else ""
        if not record.cookie and not record.attrs:
            # Read from /proc/net/{udp,raw} (no *_diag module): ss's fallback printer shows only the users.
            return text
        if timers and record.timer:
            if record.protocol == IPPROTO_SCTP:
                text += sctp_timer_text(record.timer, ms_timer(record.expires), record.retrans)
            else:
                text += timer_text(record.timer, record.expires, record.retrans)
        if len(record.attrs) == _PROC_TCP.size:
            proc_columns = _proc_tcp_columns(record.attrs)
            if proc_columns is not None:
                return text + _proc_tcp_details(record, proc_columns, extended, info, namer)
        if not need_inet_attrs:
            return text
        attrs = attributes(record.attrs, 0, len(record.attrs))
        if extended:
            text += _inet_extended(record, attrs, namer)
        if tos:
            text += _tos_text(attrs)
        if cgroup:
            cgroup_raw = attrs.get(INET_DIAG_CGROUP_ID)
            if cgroup_raw is not None:
                text += f" cgroup:{namer(decode_u64(cgroup_raw))}"
        protocol = record.protocol
        proto_raw = attrs.get(INET_DIAG_PROTOCOL)
        if proto_raw is not None:
            protocol = decode_u8(proto_raw)
        if sockopt:
            sockopt_raw = attrs.get(INET_DIAG_SOCKOPT)
            if sockopt_raw is not None and len(sockopt_raw) >= INET_DIAG_SOCKOPT_SIZE:
                text += sockopt_text(sockopt_raw, oneline)
        if mem or (info and protocol != IPPROTO_UDP):
            text += newline + _inet_memory_text(attrs)
            if protocol == IPPROTO_MPTCP:
                mptcp_raw = attrs.get(INET_DIAG_INFO)
                return text + (mptcp_info_text(mptcp_raw) if mptcp_raw is not None else "")
            if protocol == IPPROTO_SCTP:
                return text + sctp_info_text(attrs)
            text += tcp_info_text(attrs, record.state, timers, numeric)
            ulp = attrs.get(INET_DIAG_ULP_INFO)
            if ulp is not None:
                text += _ulp_text(ulp)
        return text

    def unix(record: UnixSocket, users: str | None) -> str:
        text = f" users:({users})" if users and users_on else ""
        if not (mem or extended):
            return text
        attrs = attributes(record.attrs, 0, len(record.attrs))
        if mem:
            raw = attrs.get(UNIX_DIAG_MEMINFO)
            if raw is not None:
                text += skmem_text(raw)
        if extended:
            text += _unix_extended(attrs)
        return text

    def packet(record: PacketSocket, users: str | None) -> str:
        text = f" users:({users})" if users and users_on else ""
        if extended:
            text += f"{f' uid:{record.uid}' if record.uid else ''} ino:{record.inode} sk:{record.cookie:x}"
        if not (extended or bpf or mem):
            return text
        attrs = attributes(record.attrs, 0, len(record.attrs))
        if extended:
            text += _packet_extended(attrs, oneline)
        if bpf:
            text += _packet_filter(attrs, oneline)
        if mem:
            raw = attrs.get(PACKET_DIAG_MEMINFO)
            if raw is not None:
                text += skmem_text(raw)
        return text

    def netlink(record: NetlinkSocket, users: str | None) -> str:
        # ss shows no users for netlink sockets; its -e line's sk/cb are 0 but from /proc/net/netlink.
        text = f" sk={record.address:x} cb={record.dumping:x} groups=0x{record.groups & _U32_MAX:08x}" \
            if extended else ""
        # A record read from /proc/net/netlink has no attributes, and ss prints no -m text for it; the
        # kernel's dump always carries the meminfo pyss asks for, so its records always have some.
        if mem and record.attrs:
            raw = attributes(record.attrs, 0, len(record.attrs)).get(NETLINK_DIAG_MEMINFO)
            text += "\t" + (skmem_text(raw) if raw is not None else "")
        return text

    def dispatch(record: SocketRecord, users: str | None) -> str:
        if type(record) is InetSocket:
            return inet(record, users)
        if type(record) is UnixSocket:
            return unix(record, users)
        if type(record) is PacketSocket:
            return packet(record, users)
        if type(record) is NetlinkSocket:
            return netlink(record, users)
        return other_kinds(record, users if users_on else None)

    def other_kinds(record: SocketRecord, users: str | None) -> str:
        from pyss.records import TipcSocket, VsockSocket, XdpSocket
        from pyss.render.kinds import tipc_details, vsock_details, xdp_details  # these kinds' listings only

        if type(record) is VsockSocket:
            return vsock_details(record, users)
        if type(record) is TipcSocket:
            return tipc_details(record, users, extended, details.tipcinfo, oneline)
        if type(record) is XdpSocket:
            return xdp_details(record, users, extended, mem, oneline)
        return ""

    return dispatch


def details_text(record: SocketRecord, details: Details, users: str | None,
                 cgroup_name: CgroupNamer | None = None) -> str:
    """Exactly the text ss appends after the peer column for ``record`` (leading spaces and \\n\\t included).

    ``users`` is the body of ``users:(...)`` from :class:`pyss.system.processes.UserLookup`, or None.
    """
    return details_formatter(details, cgroup_name)(record, users)


def record_details(details: Details, users_of: Callable[[int], str | None] | None = None,
                   cgroup_name: CgroupNamer | None = None) -> Callable[[SocketRecord], str] | None:
    """The renderer's per-record Process-column function, or None when no flag fills that column.

    ``users_of`` maps a socket inode to its users:(...) body (pyss.system.processes.UserLookup); it is
    consulted only under -p, and never for netlink sockets (ss shows none for them).
    """
    if not wants_details(details):
        return None
    formatter = details_formatter(details, cgroup_name)
    if users_of is None or not details.processes:
        return lambda record: formatter(record, None)

    def with_users(record: SocketRecord) -> str:
        inode = record.inode
        return formatter(record, users_of(inode) if inode and type(record) is not NetlinkSocket else None)

    return with_users


def _inet_extended(record: InetSocket, attrs: dict[int, bytes], namer: CgroupNamer) -> str:
    text = f" uid:{record.uid}" if record.uid else ""
    text += f" ino:{record.inode} sk:{record.cookie:x}"
    mark = attrs.get(INET_DIAG_MARK)
    if mark is not None and decode_u32(mark):
        text += f" fwmark:0x{decode_u32(mark):x}"
    cgroup_raw = attrs.get(INET_DIAG_CGROUP_ID)
    if cgroup_raw is not None and decode_u64(cgroup_raw):
        text += f" cgroup:{namer(decode_u64(cgroup_raw))}"
    v6only = attrs.get(INET_DIAG_SKV6ONLY)
    if record.family == AF_INET6 and v6only is not None:
        text += f" v6only:{decode_u8(v6only)}"
    shutdown = attrs.get(INET_DIAG_SHUTDOWN)
    if shutdown is not None:
        text += _shutdown(decode_u8(shutdown))
    return text


_PROC_TCP = struct.Struct("=HH5i")  # a PROC_TCP_COLUMNS attribute, header included


def _proc_tcp_columns(raw: bytes) -> tuple[int, ...] | None:
    """The rto, ato, quick-ack, cwnd and ssthresh columns of a record read from /proc/net/tcp, or
    None for a kernel record (whose first attribute is never of that type)."""
    _length, kind, *columns = _PROC_TCP.unpack(raw)
    return tuple(columns) if kind == PROC_TCP_COLUMNS else None


def _proc_tcp_details(record: InetSocket, columns: tuple[int, ...], extended: bool, info: bool,
                      namer: CgroupNamer) -> str:
    """What ss prints after the timer from a /proc/net/tcp line: -e's uid, inode and the kernel
    address as sk, and -i's few facts the line has (no memory, marks or options: it has none)."""
    text = _inet_extended(record, {}, namer) if extended else ""
    if not info:
        return text
    rto, ato, quick_ack, cwnd, ssthresh = columns
    if rto and rto != 3 * USER_HZ:  # ss hides an rto of exactly 3 seconds, the kernel's initial one
        text += f" rto:{rto / USER_HZ:g}"
    if ato:
        text += f" ato:{ato / USER_HZ:g}"
    quick_ack = int(quick_ack / 2)  # the column is quick << 1 | pingpong; C's division truncates
    if quick_ack:
        text += f" qack:{quick_ack}"
    if quick_ack & 1:
        text += " bidir"
    if cwnd:
        text += f" cwnd:{cwnd & _U32_MAX}"
    if ssthresh not in (0, -1):
        text += f" ssthresh:{ssthresh}"
    if record.retrans:
        text += f" retrans:{record.retrans & _U32_MAX}/0"
    return text + " reordering:0"  # the line has no reordering; ss prints the 0 it leaves


def _tos_text(attrs: dict[int, bytes]) -> str:
    text = ""
    tos = attrs.get(INET_DIAG_TOS)
    if tos is not None:
        text += f" tos:{_hex(decode_u8(tos))}"
    tclass = attrs.get(INET_DIAG_TCLASS)
    if tclass is not None:
        text += f" tclass:{_hex(decode_u8(tclass))}"
    class_id = attrs.get(INET_DIAG_CLASS_ID)
    if class_id is not None:
        text += f" class_id:{_hex(decode_u32(class_id))}"
    return text


def _unix_extended(attrs: dict[int, bytes]) -> str:
    text = ""
    shutdown = attrs.get(UNIX_DIAG_SHUTDOWN)
    if shutdown is not None:
        text += _shutdown(decode_u8(shutdown))
    vfs = attrs.get(UNIX_DIAG_VFS)
    if vfs is not None:
        ino, dev = decode_u32(vfs[:4]), decode_u32(vfs[4:8])
        text += f" ino:{ino} dev:{os.major(dev)}/{os.minor(dev)}"
    icons = attrs.get(UNIX_DIAG_ICONS)
    if icons is not None:
        text += " peers:" + "".join(f" {decode_u32(icons[i:i + 4])}" for i in range(0, len(icons) - 3, 4))
    return text


def _packet_extended(attrs: dict[int, bytes], oneline: bool) -> str:
    text = ""
    sep = " " if oneline else "\n\t"
    info = attrs.get(PACKET_DIAG_INFO)
    if info is not None:
        _index, version, _reserve, copy_thresh, _tstamp, flags = (decode_u32(info[i:i + 4]) for i in range(0, 24, 4))
        names = [name for bit, name in ((PDI_RUNNING, "running"), (PDI_AUXDATA, " auxdata"), (PDI_ORIGDEV, " origdev"),
                                        (PDI_VNETHDR, " vnethdr"), (PDI_LOSS, " loss")) if flags & bit]
        text += f"{sep}ver:{_int(version)} cpy_thresh:{_int(copy_thresh)} flags( {''.join(names) or '0'} )"
    for label, kind in (("ring_rx", PACKET_DIAG_RX_RING), ("ring_tx", PACKET_DIAG_TX_RING)):
        ring = attrs.get(kind)
        if ring is not None:
            size, blocks, frame, frames, tmo, _priv, features = (decode_u32(ring[i:i + 4]) for i in range(0, 28, 4))
            text += (f"{sep}{label}(blk_size:{_int(size)},blk_nr:{_int(blocks)},frm_size:{_int(frame)},"
                     f"frm_nr:{_int(frames)},tmo:{_int(tmo)},features:0x{features:x})")
    fanout_raw = attrs.get(PACKET_DIAG_FANOUT)
    if fanout_raw is not None:
        fanout = decode_u32(fanout_raw)
        kind = fanout >> 16
        name = FANOUT_TYPES[kind] if kind < len(FANOUT_TYPES) else f"0x{kind:x}"
        text += f"{sep}fanout(id:{fanout & 0xFFFF},type:{name})"
    return text


def _packet_filter(attrs: dict[int, bytes], oneline: bool) -> str:
    raw = attrs.get(PACKET_DIAG_FILTER)
    if raw is None:
        return ""
    count = len(raw) // 8
    text = f"{' ' if oneline else chr(10) + chr(9)}bpf filter ({count}): "
    for i in range(count):
        code = decode_u16(raw[i * 8:i * 8 + 2])
        jt, jf = raw[i * 8 + 2], raw[i * 8 + 3]
        k = decode_u32(raw[i * 8 + 4:i * 8 + 8])
        text += f" 0x{code:02x} {jt} {jf} {k},"
    return text
