"""Namespace files by name and identity (pyss.system.netns): what the exporter and --all-netns look up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyss.system.netns import Namespace, file_identity, named_namespace, own_identity


def test_a_named_namespace_is_its_file_under_the_run_directory(tmp_path: Path) -> None:
    (tmp_path / "blue").write_bytes(b"")
    status = os.stat(tmp_path / "blue")
    assert named_namespace("blue", str(tmp_path)) == Namespace("blue", status.st_dev, status.st_ino,
                                                               f"{tmp_path}/blue")
    assert named_namespace("red", str(tmp_path)) is None


@pytest.mark.parametrize("name", ["", ".", "..", "../blue", "a/b"])
def test_only_a_plain_name_is_looked_up(tmp_path: Path, name: str) -> None:
    (tmp_path / "blue").write_bytes(b"")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b").write_bytes(b"")
    assert named_namespace(name, str(tmp_path / "a")) is None


def test_identities() -> None:
    status = os.stat("/proc/self/ns/net")
    assert own_identity() == file_identity("/proc/thread-self/ns/net") == (status.st_dev, status.st_ino)
    assert file_identity("/nonexistent") is None
    assert own_identity("/nonexistent") is None
