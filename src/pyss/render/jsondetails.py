"""The detail flags' keys of a JSON object (--json, --json-lines): what ss prints in its last column, as data.

Each flag adds one key, whatever the kind of socket, so a consumer can rely
on the key being there: ``processes`` (-p), ``timer_info`` (-o, also -e and
-b, as in ss), ``extended`` (-e), ``memory`` (-m), ``tcp_info`` (-i),
``tos`` (--tos), ``cgroup`` (--cgroup) and ``bpf`` (-b). A value is null
when the kernel sent nothing for that socket (a TIME-WAIT socket has no
tcp_info, a UDP socket no timer). docs/json.md is the schema.

Numbers stay the kernel's (microseconds, bytes, packets); where ss prints a
converted value (rtt in milliseconds, rates in bits per second) that value
is added beside the raw one under a name carrying its unit.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

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
    INET_DIAG_SHUTDOWN,
    INET_DIAG_SKMEMINFO,
    INET_DIAG_SKV6ONLY,
    INET_DIAG_TCLASS,
    INET_DIAG_TOS,
    INET_DIAG_ULP_INFO,
    INET_DIAG_VEGASINFO,
    INET_ULP_INFO_NAME,
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
    TCPI_OPT_ECN,
    TCPI_OPT_ECN_SEEN,
    TCPI_OPT_SACK,
    TCPI_OPT_SYN_DATA,
    TCPI_OPT_TIMESTAMPS,
    UNIX_DIAG_ICONS,
    UNIX_DIAG_MEMINFO,
    UNIX_DIAG_SHUTDOWN,
    UNIX_DIAG_VFS,
    XDP_DIAG_MEMINFO,
)
from pyss.netlink.decode import attributes
from pyss.netlink.tcpinfo import (
    decode_bbr,
    decode_dctcp,
    decode_diag_meminfo,
    decode_sk_meminfo,
    decode_string,
    decode_tcp_info,
    decode_u8,
    decode_u16,
    decode_u32,
    decode_u64,
    decode_vegas,
)
from pyss.query import Details
from pyss.records import InetSocket, NetlinkSocket, PacketSocket, SocketRecord, TipcSocket, UnixSocket, XdpSocket
from pyss.render.details import FANOUT_TYPES, TIMER_NAMES

Fields = dict[str, object]
# socket inode -> [(command, pid, fd, tid), ...] in ss's order; tid None unless the threads were asked for (-T)
Holders = Callable[[int], "Sequence[tuple[str, int, int, int | None]]"]
CgroupNamer = Callable[[int], str]

_U32_MAX = (1 << 32) - 1
_U64_MAX = (1 << 64) - 1
# struct sk_meminfo's entries, in the order of SK_MEMINFO_* (ss: r rb t tb f w o bl d)
_SKMEM_KEYS = ("rmem_alloc", "rcvbuf", "wmem_alloc", "sndbuf", "fwd_alloc", "wmem_queued", "optmem", "backlog",
               "drops")
_OPTION_NAMES = ((TCPI_OPT_TIMESTAMPS, "ts"), (TCPI_OPT_SACK, "sack"), (TCPI_OPT_ECN, "ecn"),
                 (TCPI_OPT_ECN_SEEN, "ecnseen"), (TCPI_OPT_SYN_DATA, "fastopen"))
_PACKET_FLAGS = ((PDI_RUNNING, "running"), (PDI_AUXDATA, "auxdata"), (PDI_ORIGDEV, "origdev"),
                 (PDI_VNETHDR, "vnethdr"), (PDI_LOSS, "loss"))
_SHUTDOWN = ("<->", "-->", "<--", "---")  # by shutdown mask: ss's " <->" etc. without the space


def detail_fields(details: Details, holders: Holders | None, cgroup_name: CgroupNamer) -> Callable[[SocketRecord, Fields], None]:
    """A function adding the keys of the detail flags in ``details`` to a record's base fields."""
    timers = details.options or bool(details.extended) or details.bpf  # -e and -b imply -o in ss
    adders: list[Callable[[SocketRecord, dict[int, bytes], Fields], None]] = []
    if details.processes:
        adders.append(_processes(holders))
    if timers:
        adders.append(_timer_info)
    if details.extended:
        adders.append(lambda record, attrs, fields: _extended(record, attrs, fields, cgroup_name))
    if details.memory:
        adders.append(_memory)
    if details.info:
        adders.append(_tcp_info)
    if details.tos:
        adders.append(_tos)
    if details.cgroup:
        adders.append(lambda record, attrs, fields: _cgroup(record, attrs, fields, cgroup_name))
    if details.bpf:
        adders.append(_bpf)
    if details.tipcinfo:
        adders.append(_tipc_info)

    def add(record: SocketRecord, fields: Fields) -> None:
        attrs = attributes(record.attrs, 0, len(record.attrs))
        for adder in adders:
            adder(record, attrs, fields)

    return add


def _processes(holders: Holders | None) -> Callable[[SocketRecord, dict[int, bytes], Fields], None]:
    def add(record: SocketRecord, attrs: dict[int, bytes], fields: Fields) -> None:
        del attrs
        found = holders(record.inode) if holders is not None and record.inode else []
        fields["processes"] = [{"name": name, "pid": pid, "fd": fd} if tid is None
                               else {"name": name, "pid": pid, "tid": tid, "fd": fd} for name, pid, fd, tid in found]

    return add


def _timer_info(record: SocketRecord, attrs: dict[int, bytes], fields: Fields) -> None:
    del attrs
    if type(record) is InetSocket and record.timer:
        fields["timer_info"] = {"name": TIMER_NAMES[min(record.timer, 5)], "expires_ms": record.expires,
                                "retrans": record.retrans}
    else:
        fields["timer_info"] = None


def _extended(record: SocketRecord, attrs: dict[int, bytes], fields: Fields, cgroup_name: CgroupNamer) -> None:
    if type(record) is InetSocket:
        fields["extended"] = _inet_extended(record, attrs, cgroup_name)
    elif type(record) is UnixSocket:
        fields["extended"] = _unix_extended(attrs)
    elif type(record) is PacketSocket:
        fields["extended"] = _packet_extended(attrs)
    elif type(record) is XdpSocket:
        fields["extended"] = _xdp_extended(record)
    else:
        fields["extended"] = {}


def _inet_extended(record: InetSocket, attrs: dict[int, bytes], cgroup_name: CgroupNamer) -> Fields:
    mark = attrs.get(INET_DIAG_MARK)
    cgroup_raw = attrs.get(INET_DIAG_CGROUP_ID)
    cgroup_id = decode_u64(cgroup_raw) if cgroup_raw is not None else None
    v6only = attrs.get(INET_DIAG_SKV6ONLY)
    shutdown = attrs.get(INET_DIAG_SHUTDOWN)
    return {
        "fwmark": decode_u32(mark) if mark is not None else None,
        "cgroup_id": cgroup_id,
        "cgroup": cgroup_name(cgroup_id) if cgroup_id else None,
        "v6only": bool(decode_u8(v6only)) if v6only is not None and record.family == AF_INET6 else None,
        "shutdown": _SHUTDOWN[decode_u8(shutdown) & 3] if shutdown is not None else None,
    }


def _unix_extended(attrs: dict[int, bytes]) -> Fields:
    shutdown = attrs.get(UNIX_DIAG_SHUTDOWN)
    vfs = attrs.get(UNIX_DIAG_VFS)
    icons = attrs.get(UNIX_DIAG_ICONS)
    device = decode_u32(vfs[4:8]) if vfs is not None else None
    return {
        "shutdown": _SHUTDOWN[decode_u8(shutdown) & 3] if shutdown is not None else None,
        "vfs_inode": decode_u32(vfs[:4]) if vfs is not None else None,
        "vfs_device": f"{os.major(device)}/{os.minor(device)}" if device is not None else None,
        "peers": [decode_u32(icons[i:i + 4]) for i in range(0, len(icons) - 3, 4)] if icons is not None else None,
    }


def _packet_extended(attrs: dict[int, bytes]) -> Fields:
    fields: Fields = {"version": None, "copy_threshold": None, "flags": None, "ring_rx": None, "ring_tx": None,
                      "fanout": None}
    info = attrs.get(PACKET_DIAG_INFO)
    if info is not None and len(info) >= 24:
        _index, version, _reserve, copy_thresh, _tstamp, flags = (decode_u32(info[i:i + 4]) for i in range(0, 24, 4))
        fields.update(version=version, copy_threshold=copy_thresh,
                      flags=[name for bit, name in _PACKET_FLAGS if flags & bit])
    for key, kind in (("ring_rx", PACKET_DIAG_RX_RING), ("ring_tx", PACKET_DIAG_TX_RING)):
        ring = attrs.get(kind)
        if ring is not None and len(ring) >= 28:
            size, blocks, frame, frames, timeout, _priv, features = (decode_u32(ring[i:i + 4]) for i in range(0, 28, 4))
            fields[key] = {"block_size": size, "block_count": blocks, "frame_size": frame, "frame_count": frames,
                           "timeout_ms": timeout, "features": features}
    fanout_raw = attrs.get(PACKET_DIAG_FANOUT)
    if fanout_raw is not None:
        fanout = decode_u32(fanout_raw)
        kind = fanout >> 16
        fields["fanout"] = {"id": fanout & 0xFFFF,
                            "type": FANOUT_TYPES[kind] if kind < len(FANOUT_TYPES) else f"0x{kind:x}"}
    return fields


def _skmem(raw: bytes) -> Fields:
    return dict(zip(_SKMEM_KEYS, decode_sk_meminfo(raw), strict=False))


# the attribute carrying a kind's sk_meminfo (VSOCK and TIPC sockets report none)
_MEMORY_ATTRS = {InetSocket: INET_DIAG_SKMEMINFO, UnixSocket: UNIX_DIAG_MEMINFO, PacketSocket: PACKET_DIAG_MEMINFO,
                 NetlinkSocket: NETLINK_DIAG_MEMINFO, XdpSocket: XDP_DIAG_MEMINFO}


def _xdp_extended(record: XdpSocket) -> Fields:
    from pyss.netlink.xdp import decode_xdp_details

    details = decode_xdp_details(record)
    return {
        "rx_ring": details.rx, "tx_ring": details.tx,
        "umem": details.umem._asdict() if details.umem is not None else None,
        "fill_ring": details.fill, "completion_ring": details.completion,
        "stats": details.stats._asdict() if details.stats is not None else None,
    }


def _tipc_info(record: SocketRecord, attrs: dict[int, bytes], fields: Fields) -> None:
    del attrs
    if type(record) is not TipcSocket:
        fields["tipc_info"] = None
        return
    from pyss.netlink.tipc import decode_tipc_info

    info = decode_tipc_info(record)
    fields["tipc_info"] = {
        "link_congested": info.link_congested, "conn_congested": info.conn_congested, "drops": info.drops,
        "published": info.has_publications,
        "via": list(info.connected_name) if info.connected_name is not None else None,
    }


def _memory(record: SocketRecord, attrs: dict[int, bytes], fields: Fields) -> None:
    kind = type(record)
    memory_attr = _MEMORY_ATTRS.get(kind)
    raw = attrs.get(memory_attr) if memory_attr is not None else None
    if raw is not None:
        fields["memory"] = _skmem(raw)
        return
    old = attrs.get(INET_DIAG_MEMINFO) if kind is InetSocket else None
    if old is not None:  # kernels before sk_meminfo: ss's mem:(r,w,f,t)
        mem = decode_diag_meminfo(old)
        fields["memory"] = {"rmem_alloc": mem.rmem, "wmem_queued": mem.wmem, "fwd_alloc": mem.fmem,
                            "wmem_alloc": mem.tmem}
        return
    fields["memory"] = None


def _tcp_info(record: SocketRecord, attrs: dict[int, bytes], fields: Fields) -> None:
    raw = attrs.get(INET_DIAG_INFO)
    if type(record) is not InetSocket or raw is None or record.protocol == IPPROTO_UDP:
        fields["tcp_info"] = None
        return
    info = decode_tcp_info(raw)
    values: Fields = info._asdict()
    del values["size"], values["wscale"], values["rate_flags"]
    values["options"] = [name for bit, name in _OPTION_NAMES if info.options & bit]
    values["snd_wscale"], values["rcv_wscale"] = info.snd_wscale, info.rcv_wscale
    values["app_limited"] = info.app_limited
    values["reordering"] = info.reordering if info.has_reordering else None
    cong = attrs.get(INET_DIAG_CONG)
    values["congestion"] = decode_string(cong)[:15] or None if cong is not None else None
    # The values ss prints, in its units: milliseconds and bits per second.
    for key in ("rto", "ato", "rtt", "rttvar", "rcv_rtt"):
        values[f"{key}_ms"] = info.__getattribute__(key) / 1000
    values["min_rtt_ms"] = info.min_rtt / 1000 if info.min_rtt and info.min_rtt != _U32_MAX else None
    values["busy_ms"] = info.busy_time // 1000
    values["send_bps"] = _send_rate(info.rtt, info.snd_mss, info.snd_cwnd, attrs)
    for key, rate in (("pacing_rate_bps", info.pacing_rate), ("max_pacing_rate_bps", info.max_pacing_rate),
                      ("delivery_rate_bps", info.delivery_rate)):
        values[key] = rate * 8 if rate and rate != _U64_MAX else None
    values["dctcp"] = _dctcp(attrs)
    values["bbr"] = _bbr(attrs)
    ulp = attrs.get(INET_DIAG_ULP_INFO)
    values["ulp"] = decode_string(attributes(ulp, 0, len(ulp)).get(INET_ULP_INFO_NAME, b"")) or None \
        if ulp is not None else None
    fields["tcp_info"] = values


def _send_rate(rtt: int, mss: int, cwnd: int, attrs: dict[int, bytes]) -> float | None:
    """ss's "send" rate: cwnd * mss * 8 / rtt, over the Vegas rtt when that module measures one."""
    send_rtt = float(rtt)
    vegas_raw = attrs.get(INET_DIAG_VEGASINFO)
    if vegas_raw is not None:
        vegas = decode_vegas(vegas_raw)
        if vegas.enabled and vegas.rtt and vegas.rtt != 0x7FFFFFFF:
            send_rtt = float(vegas.rtt)
    if send_rtt > 0 and mss and cwnd:
        return float(cwnd) * float(mss) * 8000000.0 / send_rtt
    return None


def _dctcp(attrs: dict[int, bytes]) -> Fields | None:
    raw = attrs.get(INET_DIAG_DCTCPINFO)
    if raw is None:
        return None
    dctcp = decode_dctcp(raw)
    return {"enabled": bool(dctcp.enabled), "ce_state": dctcp.ce_state, "alpha": dctcp.alpha,
            "ab_ecn": dctcp.ab_ecn, "ab_tot": dctcp.ab_tot}


def _bbr(attrs: dict[int, bytes]) -> Fields | None:
    raw = attrs.get(INET_DIAG_BBRINFO)
    if raw is None:
        return None
    bbr = decode_bbr(raw)
    return {"bw_bps": bbr.bw * 8, "min_rtt_ms": bbr.min_rtt / 1000, "pacing_gain": bbr.pacing_gain / 256,
            "cwnd_gain": bbr.cwnd_gain / 256}


def _tos(record: SocketRecord, attrs: dict[int, bytes], fields: Fields) -> None:
    if type(record) is not InetSocket:
        fields["tos"] = None
        return
    tos, tclass, class_id = attrs.get(INET_DIAG_TOS), attrs.get(INET_DIAG_TCLASS), attrs.get(INET_DIAG_CLASS_ID)
    fields["tos"] = {"tos": decode_u8(tos) if tos is not None else None,
                     "tclass": decode_u8(tclass) if tclass is not None else None,
                     "class_id": decode_u32(class_id) if class_id is not None else None}


def _cgroup(record: SocketRecord, attrs: dict[int, bytes], fields: Fields, cgroup_name: CgroupNamer) -> None:
    raw = attrs.get(INET_DIAG_CGROUP_ID) if type(record) is InetSocket else None
    fields["cgroup"] = cgroup_name(decode_u64(raw)) if raw is not None else None


def _bpf(record: SocketRecord, attrs: dict[int, bytes], fields: Fields) -> None:
    raw = attrs.get(PACKET_DIAG_FILTER) if type(record) is PacketSocket else None
    if raw is None:
        fields["bpf"] = None
        return
    fields["bpf"] = [{"code": decode_u16(raw[i:i + 2]), "jt": raw[i + 2], "jf": raw[i + 3],
                      "k": decode_u32(raw[i + 4:i + 8])} for i in range(0, len(raw) - 7, 8)]
