"""pyss.system.proc_net reading /proc-format table files: bounded, never from a FIFO, and a malformed
line is one clear error (ProcFormatError, an OSError the CLIs report in one line), never a ValueError
or IndexError from deep inside the parser, and never a silently wrong record."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyss.netlink.constants import AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP, TCPF_ALL
from pyss.records import InetSocket
from pyss.system import proc_net
from pyss.system.proc_net import ProcFormatError, read_proc_file

HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
LISTENER = ("   0: 0100007F:07E8 00000000:0000 0A 00000002:00000001 00:00000000 00000000  1000        0 1577 1 "
            "0000000000000000 100 0 0 10 0\n")
LISTENER6 = ("   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A "
             "00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n")


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "tcp"
    path.write_text(text)
    return str(path)


def _read(path: str, family: int = AF_INET) -> list[InetSocket]:
    records = read_proc_file(path, family, IPPROTO_TCP, TCPF_ALL)
    assert records is not None
    return list(records)


def test_a_well_formed_table_is_read(tmp_path: Path) -> None:
    [record] = _read(_write(tmp_path, HEADER + LISTENER))
    assert record.sport == 2024 and record.src == bytes([127, 0, 0, 1])
    assert (record.rqueue, record.wqueue, record.uid, record.inode) == (1, 2, 1000, 1577)
    [record6] = _read(_write(tmp_path, HEADER + LISTENER6), AF_INET6)
    assert record6.sport == 80 and record6.src == bytes(15) + b"\x01"


@pytest.mark.parametrize(("line", "why"), [
    (LISTENER.replace(" 0A ", " ZZ "), "not hexadecimal"),                         # non-hex state
    (LISTENER.replace("0100007F:07E8", "01ZZ007F:07E8"), "not hexadecimal"),      # non-hex address
    (LISTENER.replace(":07E8", ":1007E8"), "port"),                               # port beyond 16 bits
    (LISTENER.replace("0100007F:", "0100007F00:"), "address"),                    # address of the wrong length
    (LISTENER.replace(" 1000 ", " x1000 "), "not a number"),                      # non-decimal uid
    ("garbage line here\n", "fields"),                                             # too few fields
    (LISTENER[:60] + "\n", "fields"),                                              # a line cut short
])
def test_a_malformed_line_is_one_clear_error(tmp_path: Path, line: str, why: str) -> None:
    path = _write(tmp_path, HEADER + LISTENER + line)
    with pytest.raises(ProcFormatError) as caught:
        _read(path)
    assert isinstance(caught.value, OSError)  # what the CLIs report as one line, exiting non-zero
    assert f"{path} line 3" in str(caught.value.strerror) and why in str(caught.value.strerror)


def test_a_truncated_file_is_an_error_not_a_shorter_record(tmp_path: Path) -> None:
    # Cut inside the inode: the line still has ten fields, but the inode would be wrong.
    path = _write(tmp_path, HEADER + LISTENER + LISTENER[: LISTENER.index(" 1577") + 3])
    with pytest.raises(ProcFormatError, match="truncated"):
        _read(path)


def test_blank_lines_and_header_only_are_empty_not_errors(tmp_path: Path) -> None:
    assert _read(_write(tmp_path, HEADER)) == []
    assert _read(_write(tmp_path, "")) == []
    assert len(_read(_write(tmp_path, HEADER + LISTENER + "\n"))) == 1


def test_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert read_proc_file(str(fifo), AF_INET, IPPROTO_TCP, TCPF_ALL) is None


def test_a_device_is_refused(tmp_path: Path) -> None:
    assert read_proc_file("/dev/zero", AF_INET, IPPROTO_TCP, TCPF_ALL) is None  # endless if read


def test_a_huge_file_is_refused_not_read_whole(tmp_path: Path) -> None:
    huge = tmp_path / "huge"
    with open(huge, "wb") as file:
        file.truncate(65 << 20)  # sparse: past the bound without using the disk
    assert read_proc_file(str(huge), AF_INET, IPPROTO_TCP, TCPF_ALL) is None


def test_the_kernel_fallback_uses_the_bounded_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The fallback's path is the kernel's own file; point it at a FIFO to show it is opened the
    # bounded, non-blocking way (a plain open() would wait for a writer forever).
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    monkeypatch.setattr(proc_net, "proc_path", lambda family, protocol: str(fifo))
    with pytest.raises(OSError, match="cannot read"):
        list(proc_net.read_proc_inet(AF_INET, IPPROTO_UDP, TCPF_ALL))


def test_the_kernel_fallback_skips_a_table_the_kernel_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proc_net, "proc_path", lambda family, protocol: "/nonexistent/net/tcp")
    assert list(proc_net.read_proc_inet(AF_INET, IPPROTO_TCP, TCPF_ALL)) == []


KEEPALIVE = ("   1: 0100007F:D9D2 0100007F:1388 01 00000000:00000000 02:000AFC4E 00000007     0        3 56312680 3 "
             "00000000af8386ae 20 4 3 10 -1\n")
TIME_WAIT = "   2: 0100007F:D9DC 0100007F:1388 06 00000000:00000000 03:0000173E 00000000     0        0 0 3 0000000000000000\n"


def test_timer_columns_are_read_as_ss_reads_them(tmp_path: Path) -> None:
    """Clock ticks become milliseconds rounded up; the count is the probes' but while the
    retransmit timer runs; the kernel address is the record's cookie (ss's sk)."""
    keepalive, time_wait = _read(_write(tmp_path, HEADER + KEEPALIVE + TIME_WAIT))
    assert (keepalive.timer, keepalive.expires, keepalive.retrans, keepalive.cookie) == (2, 7199500, 3, 0xAF8386AE)
    assert (time_wait.timer, time_wait.expires, time_wait.retrans, time_wait.cookie) == (3, 59500, 0, 0)
    [retransmitting] = _read(_write(tmp_path, HEADER + KEEPALIVE.replace(" 02:", " 01:")))
    assert retransmitting.retrans == 7


@pytest.mark.parametrize(("ticks", "milliseconds"), [(0, 0), (1, 10), (0x7FFFFFFF, 42949663), (0x80000000, 0)])
def test_timer_ticks_wrap_in_32_bits_as_in_ss(tmp_path: Path, ticks: int, milliseconds: int) -> None:
    [record] = _read(_write(tmp_path, HEADER + KEEPALIVE.replace("02:000AFC4E", f"02:{ticks:08X}")))
    assert record.expires == milliseconds


def test_udp_records_carry_no_tcp_columns(tmp_path: Path) -> None:
    udp = ("9434: 0100007F:14E9 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 56312686 2 "
           "000000000fee79d8 0\n")
    path = _write(tmp_path, HEADER + udp)
    [record] = read_proc_file(path, AF_INET, IPPROTO_UDP, TCPF_ALL) or ()
    assert (record.cookie, record.attrs) == (0, b"")  # ss prints no -e/-i details from these files


def test_a_non_numeric_tcp_column_is_one_clear_error(tmp_path: Path) -> None:
    path = _write(tmp_path, HEADER + KEEPALIVE.replace(" 10 -1", " 1x -1"))
    with pytest.raises(ProcFormatError, match="not a number"):
        _read(path)
