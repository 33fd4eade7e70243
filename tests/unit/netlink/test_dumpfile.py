"""netlink.dumpfile: reading dump files message by message, on files built here (no kernel needed)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from pyss.netlink.constants import AF_INET, AF_INET6, NLMSG_DONE, NLMSG_ERROR, SOCK_DIAG_BY_FAMILY
from pyss.netlink.dumpfile import MAX_MESSAGE, dump_families, message_buffers, replay_tcp

_HEADER = struct.Struct("=IHHII")


def inet_message(port: int, extra: bytes = b"") -> bytes:
    """A SOCK_DIAG_BY_FAMILY message holding an IPv4 inet_diag_msg (LISTEN on 127.0.0.1:port)."""
    body = (struct.pack("=BBBB", AF_INET, 10, 0, 0) + struct.pack(">HH", port, 0)
            + struct.pack("=4s12x4s12xIIIIIIII", bytes([127, 0, 0, 1]), bytes(4), 0, 0, 0, 0, 0, 128, 0, 1000 + port)
            + extra)
    return _HEADER.pack(16 + len(body), SOCK_DIAG_BY_FAMILY, 2, 1, 1) + body


DONE = _HEADER.pack(20, NLMSG_DONE, 2, 1, 1) + bytes(4)


def write(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "dump"
    path.write_bytes(data)
    return str(path)


def test_stops_at_the_first_done(tmp_path: Path) -> None:
    second = inet_message(2)
    path = write(tmp_path, inet_message(1) + DONE + second + DONE)
    data = b"".join(message_buffers(path))
    assert data == inet_message(1) + DONE


def test_replay_decodes_the_sockets(tmp_path: Path) -> None:
    warnings: list[str] = []
    path = write(tmp_path, inet_message(22) + inet_message(80, struct.pack("=HHI", 8, 15, 7)) + DONE)
    records = list(replay_tcp(path, warnings.append))
    assert [(r.sport, r.inode, r.state) for r in records] == [(22, 1022, 10), (80, 1080, 10)]
    assert warnings == []


@pytest.mark.parametrize(("data", "says"), [
    (b"", "ends before the end of the dump"),
    (inet_message(1), "ends before the end of the dump"),
    (inet_message(1) + DONE[:10], "inside a message header"),
    (inet_message(1) + inet_message(2)[:40], "ends inside the message at byte 88"),
    (_HEADER.pack(8, SOCK_DIAG_BY_FAMILY, 0, 0, 0), "claims a length of 8 bytes"),
    (_HEADER.pack(MAX_MESSAGE + 1, SOCK_DIAG_BY_FAMILY, 0, 0, 0), f"claims a length of {MAX_MESSAGE + 1} bytes"),
])
def test_damage_keeps_what_came_before_and_says_where(tmp_path: Path, data: bytes, says: str) -> None:
    warnings: list[str] = []
    records = list(replay_tcp(write(tmp_path, data), warnings.append))
    assert len(warnings) == 1 and says in warnings[0], warnings
    assert [r.sport for r in records] == ([1] if data.startswith(inet_message(1)) else [])


def test_a_recorded_error_ends_the_replay(tmp_path: Path) -> None:
    error = _HEADER.pack(36, NLMSG_ERROR, 0, 1, 1) + struct.pack("=i", -1) + bytes(16)
    warnings: list[str] = []
    assert list(replay_tcp(write(tmp_path, error), warnings.append)) == []
    assert warnings and "Operation not permitted" in warnings[0]


def test_large_files_come_in_bounded_buffers(tmp_path: Path) -> None:
    path = write(tmp_path, inet_message(1) * 5000 + DONE)
    sizes = [len(buffer) for buffer in message_buffers(path)]
    assert len(sizes) > 5 and max(sizes) < 2 * 65536


def test_missing_file_is_one_warning(tmp_path: Path) -> None:
    warnings: list[str] = []
    assert list(replay_tcp(str(tmp_path / "missing"), warnings.append)) == []
    assert warnings == [f"cannot read TCPDIAG_FILE {tmp_path / 'missing'}: No such file or directory"]


def test_families_follow_ss() -> None:
    assert dump_families(0) == [AF_INET, AF_INET6]
    assert dump_families(AF_INET) == [AF_INET]
    assert dump_families(AF_INET6) == [AF_INET6]
    assert dump_families(1) == [AF_INET, AF_INET6]  # -x named last: ss still dumps both
