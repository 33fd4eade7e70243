"""RowBuilder's two ways to the same text: a row per record, or a batch's columns at once."""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Sequence

import pytest

from pyss.columnar import inet_columns, message_batches
from pyss.netlink import constants as C  # noqa: N812
from pyss.netlink.decode import inet_decoder, walk
from pyss.query import STATES_ALL, TABLE_BIT, Details, Query
from pyss.records import InetSocket
from pyss.render.ss import RowBuilder


def nlmsg(payload: bytes) -> bytes:
    return struct.pack("=IHHII", 16 + len(payload), C.SOCK_DIAG_BY_FAMILY, C.NLM_F_MULTI, 1, 0) + payload


DONE = struct.pack("=IHHIIi", 20, C.NLMSG_DONE, C.NLM_F_MULTI, 1, 0, 0)


def message(family: int, state: int, sport: int, dport: int, src: str, dst: str, rq: int, wq: int) -> bytes:
    return nlmsg(struct.pack("=BBBB", family, state, 0, 0) + struct.pack(">HH", sport, dport)
                 + socket.inet_pton(family, src).ljust(16, b"\0") + socket.inet_pton(family, dst).ljust(16, b"\0")
                 + struct.pack("=IIIIIIII", 0, 1, 2, 0, rq, wq, 0, 99))


SOCKETS = [
    (C.AF_INET, C.TCP_LISTEN, 22, 0, "0.0.0.0", "0.0.0.0", 0, 4096),
    (C.AF_INET, C.TCP_ESTABLISHED, 53022, 22, "192.0.2.1", "198.51.100.7", 1234567, 63),
    (C.AF_INET, C.TCP_TIME_WAIT, 7, 65535, "127.0.0.1", "127.0.0.1", 64, 0),
    (C.AF_INET6, C.TCP_ESTABLISHED, 443, 1, "2001:db8::1", "::ffff:192.0.2.9", 0, 0),
]


@pytest.mark.parametrize("numeric", [True, False])
@pytest.mark.parametrize(("tables", "states"), [(TABLE_BIT["tcp"], STATES_ALL), (TABLE_BIT["tcp"] | TABLE_BIT["udp"],
                                                                                  1 << C.TCP_ESTABLISHED)])
@pytest.mark.parametrize("copies", [1, 200])
@pytest.mark.parametrize("every_port_from", [8192, 2])  # 2: the list of every port's text serves at once
def test_columns_are_the_rows_turned_sideways(numeric: bool, tables: int, states: int, copies: int,
                                              every_port_from: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("pyss.render.ss._EVERY_PORT_FROM", every_port_from)
    query = Query(tables=tables, families=1 << C.AF_INET | 1 << C.AF_INET6, states=states,
                  details=Details(numeric=numeric))
    by_family = {family: [DONE] for family in (C.AF_INET, C.AF_INET6)}
    for fields in SOCKETS:
        by_family[fields[0]].insert(0, message(*fields) * copies)
    for buffers in by_family.values():
        rows = list(map(RowBuilder(query).row_function(InetSocket), walk(buffers, inet_decoder(C.IPPROTO_TCP))))
        builder = RowBuilder(query)
        sideways = []
        for batch in message_batches(buffers):
            columns = inet_columns(batch, C.IPPROTO_TCP)
            assert columns is not None
            texts, known = builder.inet_columns(columns)
            sideways += list(zip(*texts, strict=True))
            for column, lengths in zip(texts, known, strict=True):
                assert lengths is None or lengths == bytes(map(len, column))
        assert sideways == rows


def test_json_lines_of_inet_sockets_say_what_the_messages_hold() -> None:
    import json

    from pyss.render.jsonl import inet_fields, json_lines

    records = list(walk([message(*fields) for fields in SOCKETS] + [DONE], inet_decoder(C.IPPROTO_TCP)))
    records.append(records[0]._replace(ifindex=1))  # interface 1 is lo
    lines = list(json_lines(InetSocket, records))
    # Written out from SOCKETS and message(): cookie words 1 and 2, inode 99, no timer, uid 0.
    same = {"netid": "tcp", "uid": 0, "inode": 99, "cookie": 1 | 2 << 32, "timer": 0, "retrans": 0, "expires_ms": 0}
    expected = [
        {"state": "LISTEN", "recv_q": 0, "send_q": 4096, "family": "inet", "local_address": "0.0.0.0",
         "local_port": 22, "peer_address": "0.0.0.0", "peer_port": 0, "interface": None},
        {"state": "ESTAB", "recv_q": 1234567, "send_q": 63, "family": "inet", "local_address": "192.0.2.1",
         "local_port": 53022, "peer_address": "198.51.100.7", "peer_port": 22, "interface": None},
        {"state": "TIME-WAIT", "recv_q": 64, "send_q": 0, "family": "inet", "local_address": "127.0.0.1",
         "local_port": 7, "peer_address": "127.0.0.1", "peer_port": 65535, "interface": None},
        {"state": "ESTAB", "recv_q": 0, "send_q": 0, "family": "inet6", "local_address": "2001:db8::1",
         "local_port": 443, "peer_address": "::ffff:192.0.2.9", "peer_port": 1, "interface": None},
        {"state": "LISTEN", "recv_q": 0, "send_q": 4096, "family": "inet", "local_address": "0.0.0.0",
         "local_port": 22, "peer_address": "0.0.0.0", "peer_port": 0, "interface": "lo"},
    ]
    assert [json.loads(line) for line in lines] == [{**same, **fields} for fields in expected]
    assert all(line.endswith("}\n") and "\n" not in line[:-1] for line in lines)
    # the fast line formatter and the generic field function agree to the byte
    assert lines == [json.dumps(inet_fields(record), separators=(",", ":")) + "\n" for record in records]


@pytest.mark.parametrize("ready_after", [0, 1, 3, 99])
def test_rows_kept_for_the_process_scan_come_out_as_they_would_have(ready_after: int) -> None:
    """ss -p: batches that come before the /proc scan is done are kept, their Process column not yet
    asked for, and written in order once it is (a record batch, or the end, waits for it)."""
    import io

    from pyss.render.ss import SsListing, SsWriter

    query = Query(tables=TABLE_BIT["tcp"], families=1 << C.AF_INET | 1 << C.AF_INET6, states=STATES_ALL,
                  details=Details(numeric=True, processes=True))
    buffers = [message(*fields) * 40 for fields in SOCKETS if fields[0] == C.AF_INET] + [DONE]
    records = list(walk(buffers, inet_decoder(C.IPPROTO_TCP)))
    asked_early: list[int] = []
    polls = [0]

    def ready() -> bool:
        polls[0] += 1
        return polls[0] > ready_after

    def users(inodes: Sequence[int]) -> list[str]:
        if polls[0] <= ready_after:
            asked_early.append(len(inodes))
        return [f' users:(("p",pid=1,fd={inode % 7 + len(inodes)}))' for inode in inodes]

    def listed(users_ready: Callable[[], bool] | None) -> str:
        out = io.StringIO()
        builder = RowBuilder(query, lambda record: users([record.inode])[0], users=users)
        writer = SsWriter(out, builder.columns(), None)
        listing = SsListing(writer, builder, users_ready)
        for _ in range(3):
            for batch in message_batches(buffers):
                columns = inet_columns(batch, C.IPPROTO_TCP)
                assert columns is not None
                listing.add_columns(columns)
        listing.add_records(InetSocket, records)
        for batch in message_batches(buffers):
            columns = inet_columns(batch, C.IPPROTO_TCP)
            assert columns is not None
            listing.add_columns(columns)
        listing.finish()
        writer.close()
        return out.getvalue()

    expected = listed(None)
    polls[0] = 0
    asked_early.clear()
    assert listed(ready) == expected
    if ready_after < 9:  # ready before the record batch: no batch asked while the scan ran
        assert asked_early == []
    else:  # the record batch waited for the scan, the nine kept batches written first; nothing kept after
        assert asked_early == [40] * 9 + [1] * len(records) + [40] * 3
    assert expected.count("users:") == 5 * len(records)  # three passes, the records, one more pass
