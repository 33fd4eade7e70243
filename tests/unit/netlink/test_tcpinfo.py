"""tcp_info and friends across the struct sizes kernels have sent: absent fields read 0 and are not printed."""

from __future__ import annotations

import struct

import pytest

from pyss.netlink.constants import INET_DIAG_CONG, INET_DIAG_INFO, TCP_ESTABLISHED
from pyss.netlink.tcpinfo import (
    TCP_INFO_SIZE,
    TcpInfo,
    decode_bbr,
    decode_dctcp,
    decode_sk_meminfo,
    decode_string,
    decode_tcp_info,
)
from pyss.render.details import tcp_info_text

# Field values that are all distinct and non-zero, so a field read from the wrong offset shows.
HEAD = (1, 0, 0, 0, 2, 0x07, 0x7A, 0x01)  # state .. options=ts|sack|wscale, wscale snd 10 rcv 7, app_limited
U32S = tuple(range(1001, 1025))  # rto .. total_retrans (24 values)
TAIL = (
    (125_000_000, 250_000_000, 3_000, 4_000),  # pacing, max pacing, bytes acked, bytes received (u64)
    (5, 6, 7, 8, 9, 10),  # segs out/in, notsent, min_rtt, data segs in/out (u32)
    (12_500_000,),  # delivery rate (u64)
    (200_000, 50_000, 20_000),  # busy, rwnd limited, sndbuf limited (u64, usec)
    (11, 12),  # delivered, delivered_ce (u32)
    (13, 14),  # bytes sent, bytes retrans (u64)
    (15, 16, 17, 18),  # dsack_dups, reord_seen, rcv_ooopack, snd_wnd (u32)
    (19, 20),  # rcv_wnd, rehash (u32, Linux 6.2)
)
FULL = struct.pack("=8B24I4Q6IQ3Q2I2Q4I2I", *HEAD, *U32S, *(v for group in TAIL for v in group))

# (struct size, the last field it carries) for each time tcp_info grew
SIZES = [
    (104, "total_retrans"), (120, "max_pacing_rate"), (136, "bytes_received"), (144, "segs_in"),
    (160, "data_segs_out"), (168, "delivery_rate"), (192, "sndbuf_limited"), (200, "delivered_ce"),
    (216, "bytes_retrans"), (224, "reord_seen"), (228, "rcv_ooopack"), (232, "snd_wnd"), (240, "rehash"),
]


def test_full_struct_fields_land_where_the_kernel_put_them() -> None:
    info = decode_tcp_info(FULL)
    assert len(FULL) == TCP_INFO_SIZE == 240
    assert (info.snd_wscale, info.rcv_wscale, info.app_limited) == (10, 7, True)
    assert (info.rto, info.total_retrans) == (1001, 1024)
    assert (info.pacing_rate, info.bytes_received, info.min_rtt, info.delivery_rate) == (125_000_000, 4_000, 8, 12_500_000)
    assert (info.busy_time, info.delivered_ce, info.bytes_retrans, info.snd_wnd) == (200_000, 12, 14, 18)
    assert (info.rcv_wnd, info.rehash) == (19, 20)
    assert info.size == 240


@pytest.mark.parametrize(("size", "last"), SIZES)
def test_shorter_structs_leave_later_fields_zero(size: int, last: str) -> None:
    info = decode_tcp_info(FULL[:size])
    fields = TcpInfo._fields
    present = fields[: fields.index(last) + 1]
    absent = [name for name in fields[fields.index(last) + 1 :] if name != "size"]
    full = decode_tcp_info(FULL)
    assert all(getattr(info, name) == getattr(full, name) for name in present)
    assert all(getattr(info, name) == 0 for name in absent)
    assert info.size == size


@pytest.mark.parametrize(("size", "missing"), [
    (104, ["pacing_rate", "bytes_acked", "segs_out", "minrtt", "delivery_rate", "busy", "delivered", "snd_wnd"]),
    (136, ["segs_out", "minrtt", "delivery_rate", "busy", "delivered", "bytes_sent", "snd_wnd"]),
    (168, ["busy", "delivered", "bytes_sent", "dsack_dups", "reord_seen", "rcv_ooopack", "snd_wnd"]),
    (216, ["dsack_dups", "reord_seen", "rcv_ooopack", "snd_wnd"]),
    (232, ["rcv_wnd", "rehash"]),
    (240, []),
])
def test_absent_fields_are_not_printed(size: int, missing: list[str]) -> None:
    text = tcp_info_text({INET_DIAG_INFO: FULL[:size], INET_DIAG_CONG: b"cubic\0"}, TCP_ESTABLISHED, True, True)
    assert text.startswith(" ts sack cubic wscale:10,7 rto:1.001 backoff:2 rtt:1.016/1.017 ato:1.002 mss:1003")
    for name in missing:
        assert f" {name}" not in text
    assert " reordering:1021" in text  # present in every size above
    if size == 232:
        assert text.endswith(" rcv_ooopack:17 snd_wnd:18")
    if size == 240:  # iproute2 7.1's fields after snd_wnd
        assert text.endswith(" rcv_ooopack:17 snd_wnd:18 rcv_wnd:19 rehash:20")
        assert " busy:200ms rwnd_limited:50ms(25.0%) sndbuf_limited:20ms(10.0%)" in text
        assert " pacing_rate 1000000000bps/2000000000bps delivery_rate 100000000bps" in text


def test_longer_structs_from_newer_kernels_are_cut_at_what_ss_knows() -> None:
    info = decode_tcp_info(FULL + bytes(range(1, 25)))
    assert (info.snd_wnd, info.rehash) == (18, 20)
    assert info.size == TCP_INFO_SIZE


def test_tiny_struct_prints_nothing_but_what_it_has() -> None:
    text = tcp_info_text({INET_DIAG_INFO: FULL[:8]}, TCP_ESTABLISHED, False, True)
    assert text == " wscale:10,7 backoff:2 app_limited"


def test_no_info_attribute_no_text() -> None:
    assert tcp_info_text({}, TCP_ESTABLISHED, True, True) == ""


def test_sk_meminfo_keeps_only_what_was_sent() -> None:
    assert decode_sk_meminfo(struct.pack("=9I", *range(9))) == tuple(range(9))
    assert decode_sk_meminfo(struct.pack("=8I", *range(8))) == tuple(range(8))
    assert decode_sk_meminfo(struct.pack("=11I", *range(11))) == tuple(range(9))


def test_congestion_extras() -> None:
    assert decode_string(b"bbr\0\0\0") == "bbr"
    bbr = decode_bbr(struct.pack("=5I", 0x10, 0x1, 22, 739, 739))
    assert (bbr.bw, bbr.min_rtt, bbr.pacing_gain) == ((1 << 32) | 0x10, 22, 739)
    dctcp = decode_dctcp(struct.pack("=HHIII", 1, 0, 1024, 5, 9))
    assert dctcp == (1, 0, 1024, 5, 9)


def test_usec_ts_option_follows_ts() -> None:
    usec = FULL[:5] + bytes((0x07 | 64,)) + FULL[6:]
    text = tcp_info_text({INET_DIAG_INFO: usec}, TCP_ESTABLISHED, True, True)
    assert text.startswith(" ts usec_ts sack wscale:10,7")
    assert not tcp_info_text({INET_DIAG_INFO: usec}, TCP_ESTABLISHED, False, True).startswith(" ts")
