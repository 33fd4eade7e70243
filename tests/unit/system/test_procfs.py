"""pyss.system.procfs: files are read whole, but never past a bound, never from a FIFO, never with a traceback."""

from __future__ import annotations

import os
from pathlib import Path

from pyss.system import procfs


def test_reads_a_proc_file_whole() -> None:
    text = procfs.read_text("/proc/self/status")
    assert text is not None
    assert text.startswith("Name:") and text.endswith("\n")


def test_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert procfs.read_bytes(str(fifo)) is None  # would block forever if opened for a plain read


def test_a_file_over_the_bound_is_unreadable_not_cut(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * 1000)
    assert procfs.read_bytes(str(big), limit=999) is None
    assert procfs.read_bytes(str(big), limit=1000) == b"x" * 1000


def test_missing_and_directory_are_none(tmp_path: Path) -> None:
    assert procfs.read_text(str(tmp_path / "absent")) is None
    assert procfs.read_text(str(tmp_path)) is None
    assert procfs.read_text("bad\0path") is None


def test_text_reads_as_a_text_file_would(tmp_path: Path) -> None:
    odd = tmp_path / "odd"
    odd.write_bytes(b"a\r\nb\rc\xff\n")
    with open(odd, encoding="utf-8", errors="replace") as file:
        assert procfs.read_text(str(odd)) == file.read()


def test_ephemeral_range_is_the_kernels() -> None:
    low, high = (int(word) for word in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    assert procfs.ephemeral_port_range() == (low, high)
