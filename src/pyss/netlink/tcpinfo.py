"""Decoders for the per-socket extensions sock_diag appends on request.

struct tcp_info has grown with nearly every kernel release and the kernel
sends only as many bytes as it knows. Every decoder here pads a short payload
with zeros and records how long it really was, so a field the kernel did not
send reads as "absent" (zero, or explicitly checked against ``size``) and is
never taken from the bytes of a neighbouring attribute.

The layouts are the uapi ones (linux/tcp.h, linux/inet_diag.h,
linux/sock_diag.h), unpacked with precompiled structs in native byte order,
as the kernel writes them.
"""

from __future__ import annotations

import struct
import sys

from pyss.lite_typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from typing import Final

# struct tcp_info up to what iproute2 7.1's ss prints: eight u8, 24 u32, then the later
# additions, ending with tcpi_rcv_wnd and tcpi_rehash (Linux 6.2; ss 6.1 stops at tcpi_snd_wnd).
TCP_INFO_STRUCT: Final = struct.Struct("=8B24I4Q6IQ3Q2I2Q4I2I")
TCP_INFO_SIZE: Final = TCP_INFO_STRUCT.size  # 240
TCPI_REORDERING_END: Final = 92  # offset of tcpi_reordering + 4

_INET_DIAG_MEMINFO: Final = struct.Struct("=4I")
_SK_MEMINFO_MAX: Final = 9
_VEGAS: Final = struct.Struct("=4I")
_DCTCP: Final = struct.Struct("=HHIII")
_BBR: Final = struct.Struct("=5I")
_U8: Final = struct.Struct("=B")
_U16: Final = struct.Struct("=H")
_U32: Final = struct.Struct("=I")
_U64: Final = struct.Struct("=Q")


class TcpInfo(NamedTuple):
    """struct tcp_info; ``size`` is how many bytes the kernel actually sent."""

    state: int
    ca_state: int
    retransmits: int
    probes: int
    backoff: int
    options: int
    wscale: int  # snd_wscale in the low nibble, rcv_wscale in the high one
    rate_flags: int  # bit 0: delivery_rate_app_limited, bits 1-2: fastopen_client_fail
    rto: int
    ato: int
    snd_mss: int
    rcv_mss: int
    unacked: int
    sacked: int
    lost: int
    retrans: int
    fackets: int
    last_data_sent: int
    last_ack_sent: int
    last_data_recv: int
    last_ack_recv: int
    pmtu: int
    rcv_ssthresh: int
    rtt: int
    rttvar: int
    snd_ssthresh: int
    snd_cwnd: int
    advmss: int
    reordering: int
    rcv_rtt: int
    rcv_space: int
    total_retrans: int
    pacing_rate: int
    max_pacing_rate: int
    bytes_acked: int
    bytes_received: int
    segs_out: int
    segs_in: int
    notsent_bytes: int
    min_rtt: int
    data_segs_in: int
    data_segs_out: int
    delivery_rate: int
    busy_time: int
    rwnd_limited: int
    sndbuf_limited: int
    delivered: int
    delivered_ce: int
    bytes_sent: int
    bytes_retrans: int
    dsack_dups: int
    reord_seen: int
    rcv_ooopack: int
    snd_wnd: int
    rcv_wnd: int
    rehash: int
    size: int

    @property
    def snd_wscale(self) -> int:
        return self.wscale & 0xF

    @property
    def rcv_wscale(self) -> int:
        return self.wscale >> 4

    @property
    def app_limited(self) -> bool:
        return bool(self.rate_flags & 1)

    @property
    def has_reordering(self) -> bool:
        return self.size >= TCPI_REORDERING_END


def decode_tcp_info(raw: bytes) -> TcpInfo:
    """INET_DIAG_INFO payload -> TcpInfo; a short (older kernel) payload leaves later fields 0."""
    size = len(raw)
    if size < TCP_INFO_SIZE:
        raw = raw.ljust(TCP_INFO_SIZE, b"\0")
    return TcpInfo._make((*TCP_INFO_STRUCT.unpack_from(raw), min(size, TCP_INFO_SIZE)))


_RETRANSMITS_PROBES: Final = struct.Struct("=2x2B")  # tcpi_retransmits, tcpi_probes: TCP_INFO_STRUCT's 3rd, 4th u8


def retransmits_and_probes(raw: bytes) -> tuple[int, int] | None:
    """(tcpi_retransmits, tcpi_probes) of an INET_DIAG_INFO payload without decoding the rest (netstat -o reads
    only these, once per socket); None when the payload is too short to hold them."""
    if len(raw) < _RETRANSMITS_PROBES.size:
        return None
    retransmits, probes = _RETRANSMITS_PROBES.unpack_from(raw)
    return retransmits, probes


def decode_icons(raw: bytes) -> list[int]:
    """UNIX_DIAG_ICONS: the inode of each pending connection's peer, one u32 each (a partial one is dropped)."""
    return list(struct.unpack_from(f"={len(raw) // 4}I", raw))


class DiagMeminfo(NamedTuple):
    """struct inet_diag_meminfo (INET_DIAG_MEMINFO): the pre-skmem memory summary."""

    rmem: int
    wmem: int
    fmem: int
    tmem: int


def decode_diag_meminfo(raw: bytes) -> DiagMeminfo:
    return DiagMeminfo(*_INET_DIAG_MEMINFO.unpack_from(raw.ljust(_INET_DIAG_MEMINFO.size, b"\0")))


def decode_sk_meminfo(raw: bytes) -> tuple[int, ...]:
    """SK_MEMINFO_* array, only as many entries as were sent (older kernels stop before BACKLOG/DROPS)."""
    count = min(len(raw) // 4, _SK_MEMINFO_MAX)
    return struct.unpack_from(f"={count}I", raw)


class VegasInfo(NamedTuple):
    enabled: int
    rttcnt: int
    rtt: int
    minrtt: int


class DctcpInfo(NamedTuple):
    enabled: int
    ce_state: int
    alpha: int
    ab_ecn: int
    ab_tot: int


class BbrInfo(NamedTuple):
    bw: int  # bytes per second
    min_rtt: int  # microseconds
    pacing_gain: int  # << 8
    cwnd_gain: int  # << 8


def decode_vegas(raw: bytes) -> VegasInfo:
    return VegasInfo(*_VEGAS.unpack_from(raw.ljust(_VEGAS.size, b"\0")))


def decode_dctcp(raw: bytes) -> DctcpInfo:
    return DctcpInfo(*_DCTCP.unpack_from(raw.ljust(_DCTCP.size, b"\0")))


def decode_bbr(raw: bytes) -> BbrInfo:
    bw_lo, bw_hi, min_rtt, pacing_gain, cwnd_gain = _BBR.unpack_from(raw[: _BBR.size].ljust(_BBR.size, b"\0"))
    return BbrInfo(bw_hi << 32 | bw_lo, min_rtt, pacing_gain, cwnd_gain)


def decode_string(raw: bytes) -> str:
    """A NUL-terminated string attribute (INET_DIAG_CONG, INET_ULP_INFO_NAME)."""
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


def decode_u8(raw: bytes) -> int:
    return int(_U8.unpack_from(raw)[0]) if raw else 0


def decode_u16(raw: bytes) -> int:
    return int(_U16.unpack_from(raw.ljust(2, b"\0"))[0])


def decode_u32(raw: bytes) -> int:
    return int(_U32.unpack_from(raw.ljust(4, b"\0"))[0])


def decode_u64(raw: bytes) -> int:
    return int(_U64.unpack_from(raw.ljust(8, b"\0"))[0])


# struct inet_diag_sockopt (INET_DIAG_SOCKOPT): two bytes of one-bit fields, in declaration order.
INET_DIAG_SOCKOPT_FIELDS: Final = (
    ("recverr", "is_icsk", "freebind", "hdrincl", "mc_loop", "transparent", "mc_all", "nodefrag"),
    ("bind_address_no_port", "recverr_rfc4884", "defer_connect"),
)
INET_DIAG_SOCKOPT_SIZE: Final = 2
_BITFIELDS_FROM_LSB: Final = sys.byteorder == "little"  # C allocates bit-fields from the low bit on LE ABIs


def decode_inet_sockopt(raw: bytes) -> tuple[str, ...]:
    """The names of the inet_diag_sockopt fields that are set, in declaration order."""
    names: list[str] = []
    for byte, fields in zip(raw[:INET_DIAG_SOCKOPT_SIZE], INET_DIAG_SOCKOPT_FIELDS, strict=False):
        for index, name in enumerate(fields):
            bit = index if _BITFIELDS_FROM_LSB else 7 - index
            if byte >> bit & 1:
                names.append(name)
    return tuple(names)
