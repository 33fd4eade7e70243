"""JSON detail keys (render/jsondetails.py) from captured sock_diag replies, against the numbers ss printed for them.

The records and ss's text for them are those of test_details.py: each JSON value checked here is a
number or word of that text, so the two outputs cannot drift apart.
"""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

from tests.unit.render.test_details import (
    PACKET_FANOUT_BPF,
    TCP_ESTAB_KEEPALIVE,
    TCP_ESTAB_RECEIVER,
    TCP_FIN_WAIT2_MARKED,
    TCP_LISTEN4,
    TCP_LISTEN6,
    UDP4,
    UNIX_LISTEN,
    unreachable,
)

from pyss.query import Details
from pyss.records import InetSocket, SocketRecord
from pyss.render.jsondetails import detail_fields
from pyss.render.jsonl import FIELDS, JsonWriter, json_lines

ALL = Details(numeric=True, options=True, extended=1, memory=True, info=True, tos=True, cgroup=True, bpf=True,
              processes=True)
HOLDERS: dict[int, list[tuple[str, int, int, int | None]]] = {8287: [("python", 5649, 4, None)]}
THREAD_HOLDERS: dict[int, list[tuple[str, int, int, int | None]]] = {
    8287: [("worker", 5649, 4, 5651), ("python", 5649, 4, 5649)]}


def fields(record: SocketRecord, details: Details = ALL) -> dict[str, Any]:
    values = FIELDS[type(record)](record)
    detail_fields(details, lambda inode: HOLDERS.get(inode, []), unreachable)(record, values)
    return values


def test_every_flag_adds_its_key_to_every_kind() -> None:
    keys = {"processes", "timer_info", "extended", "memory", "tcp_info", "tos", "cgroup", "bpf"}
    for record in (TCP_ESTAB_KEEPALIVE, UDP4, UNIX_LISTEN, PACKET_FANOUT_BPF):
        assert keys <= set(fields(record))
    assert not keys & set(fields(TCP_ESTAB_KEEPALIVE, Details(numeric=True)))


def test_processes_are_listed_as_objects() -> None:
    assert fields(TCP_ESTAB_KEEPALIVE)["processes"] == [{"name": "python", "pid": 5649, "fd": 4}]
    assert fields(TCP_ESTAB_RECEIVER)["processes"] == []


def test_threads_are_listed_with_their_tids() -> None:
    values = FIELDS[type(TCP_ESTAB_KEEPALIVE)](TCP_ESTAB_KEEPALIVE)
    detail_fields(ALL._replace(threads=True), lambda inode: THREAD_HOLDERS.get(inode, []), unreachable)(
        TCP_ESTAB_KEEPALIVE, values)
    assert values["processes"] == [{"name": "worker", "pid": 5649, "tid": 5651, "fd": 4},
                                   {"name": "python", "pid": 5649, "tid": 5649, "fd": 4}]


def test_timer_as_ss_shows_it() -> None:
    # ss: timer:(keepalive,112min,0)
    info = fields(TCP_ESTAB_KEEPALIVE)["timer_info"]
    assert (info["name"], info["expires_ms"] // 60000, info["retrans"]) == ("keepalive", 112, 0)
    assert fields(TCP_ESTAB_RECEIVER)["timer_info"] is None


def test_tcp_info_numbers_are_ss_numbers() -> None:
    # ss: wscale:10,10 rto:204 rtt:0.029/0.016 mss:35328 pmtu:65535 rcvmss:536 advmss:65483 cwnd:11
    # bytes_sent:1000 bytes_acked:1001 segs_out:3 segs_in:2 data_segs_out:1 send 107202206897bps
    # delivery_rate 28262400000bps delivered:2 app_limited rcv_space:65495 minrtt:0.01 snd_wnd:70656
    info = fields(TCP_ESTAB_KEEPALIVE)["tcp_info"]
    assert info["options"] == ["ts", "sack"] and info["congestion"] == "bbr"
    assert (info["snd_wscale"], info["rcv_wscale"]) == (10, 10)
    assert (info["rto_ms"], info["rtt_ms"], info["rttvar_ms"]) == (204, 0.029, 0.016)
    assert (info["rto"], info["rtt"]) == (204000, 29)  # the kernel's microseconds
    assert (info["snd_mss"], info["pmtu"], info["rcv_mss"], info["advmss"], info["snd_cwnd"]) == \
        (35328, 65535, 536, 65483, 11)
    assert (info["bytes_sent"], info["bytes_acked"], info["segs_out"], info["segs_in"], info["data_segs_out"]) == \
        (1000, 1001, 3, 2, 1)
    assert round(info["send_bps"]) == 107202206897
    assert info["delivery_rate_bps"] == 28262400000
    assert (info["delivered"], info["app_limited"], info["rcv_space"], info["min_rtt_ms"], info["snd_wnd"]) == \
        (2, True, 65495, 0.01, 70656)
    assert info["bbr"]["pacing_gain"] == 2.88671875
    assert info["reordering"] == 3


def test_no_tcp_info_for_udp() -> None:
    assert fields(UDP4)["tcp_info"] is None


def test_memory_extended_and_tos() -> None:
    # ss: ino:8294 sk:24 fwmark:0x7 cgroup:unreachable:1 <-- tos:0x10 class_id:0x6 skmem:(r0,rb131072,t0,tb3939840,...)
    values = fields(TCP_FIN_WAIT2_MARKED)
    assert values["extended"] == {"fwmark": 7, "cgroup_id": 1, "cgroup": "unreachable:1", "v6only": None,
                                  "shutdown": "<--"}
    assert values["tos"] == {"tos": 0x10, "tclass": None, "class_id": 6}
    assert values["cgroup"] == "unreachable:1"
    assert values["memory"] == {"rmem_alloc": 0, "rcvbuf": 131072, "wmem_alloc": 0, "sndbuf": 3939840,
                                "fwd_alloc": 0, "wmem_queued": 0, "optmem": 0, "backlog": 0, "drops": 0}
    assert fields(TCP_LISTEN6)["extended"]["v6only"] is True
    assert fields(TCP_LISTEN4)["tcp_info"]["snd_cwnd"] == 10


def test_packet_bpf_and_fanout() -> None:
    values = fields(PACKET_FANOUT_BPF)
    assert values["bpf"] == [{"code": 0x28, "jt": 0, "jf": 0, "k": 12}, {"code": 0x06, "jt": 0, "jf": 0, "k": 0xFFFF}]
    assert values["extended"]["fanout"] is not None


def test_unix_extended() -> None:
    extended = fields(UNIX_LISTEN)["extended"]
    assert extended["vfs_inode"] is not None and extended["shutdown"] == "<->"


def test_lines_and_array_hold_the_same_objects() -> None:
    records: list[InetSocket] = [TCP_ESTAB_KEEPALIVE, TCP_LISTEN4]
    extra = detail_fields(ALL, lambda inode: HOLDERS.get(inode, []), unreachable)
    lines = list(json_lines(InetSocket, records, extra, "blue"))
    out = StringIO()
    writer = JsonWriter(out, array=True)
    writer.write(iter(lines))
    writer.close()
    assert json.loads(out.getvalue()) == [json.loads(line) for line in lines]
    assert [json.loads(line)["netns"] for line in lines] == ["blue", "blue"]
    assert next(iter(json.loads(lines[0]))) == "netns"


def test_the_fast_inet_line_takes_a_namespace_too() -> None:
    (plain,) = json_lines(InetSocket, [TCP_LISTEN4])
    (tagged,) = json_lines(InetSocket, [TCP_LISTEN4], None, 'a"b')
    assert json.loads(tagged) == {"netns": 'a"b', **json.loads(plain)}


def test_an_empty_array_is_well_formed() -> None:
    out = StringIO()
    writer = JsonWriter(out, array=True)
    writer.write(iter(()))
    writer.close()
    assert json.loads(out.getvalue()) == []
