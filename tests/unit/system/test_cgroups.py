"""pyss.system.cgroups: the cgroup2 mount from a mounts file, ids <-> paths on a directory tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyss.system import cgroups
from pyss.system.cgroups import unescape_mount_field


def test_the_first_cgroup2_mount_wins_with_escapes_undone(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text("proc /proc proc rw 0 0\n"
                      "cgroup2 /sys/fs/my\\040cgroups cgroup2 rw 0 0\n"
                      "cgroup2 /other cgroup2 rw 0 0\n")
    assert cgroups.cgroup2_mount(str(mounts)) == "/sys/fs/my cgroups"


def test_no_cgroup2_mount(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text("proc /proc proc rw 0 0\ncgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n")
    assert cgroups.cgroup2_mount(str(mounts)) is None
    assert cgroups.cgroup2_mount(str(tmp_path / "absent")) is None


def test_cgroup_path_falls_back_to_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    names = cgroups.CgroupNames()
    monkeypatch.setattr(cgroups, "cgroup2_mount", lambda: None)
    assert names(1) == "unreachable:1"
    assert names(0x1F) == "unreachable:1f"


def test_cgroup_path_walks_the_mount(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = str(tmp_path)
    os.makedirs(f"{root}/system.slice/sshd.service")
    monkeypatch.setattr(cgroups, "cgroup2_mount", lambda: root)
    names = cgroups.CgroupNames()
    assert names(os.stat(root).st_ino) == "/"
    assert names(os.stat(f"{root}/system.slice/sshd.service").st_ino) == "/system.slice/sshd.service"


def test_cgroup_id_reads_paths_under_the_mount(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    os.makedirs(tmp_path / "a" / "b")
    monkeypatch.setattr(cgroups, "cgroup2_mount", lambda: str(tmp_path))
    assert cgroups.cgroup_id("/a/b") == os.stat(tmp_path / "a" / "b").st_ino
    assert cgroups.cgroup_id("/no/such/group") is None


def test_a_path_is_first_read_by_its_file_handle_as_ss_reads_it(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """ss asks name_to_handle_at(2) for the path as given, then for it under the cgroup2 mount: a path on
    sysfs (no file handles) is only ever a cgroup's name, and its inode number is nothing."""
    os.makedirs(tmp_path / "sys")
    monkeypatch.setattr(cgroups, "cgroup2_mount", lambda: str(tmp_path))
    assert cgroups.cgroup_id("/sys") == os.stat(tmp_path / "sys").st_ino


def test_a_cgroup_directory_s_file_handle_is_its_id() -> None:
    mount = cgroups.cgroup2_mount()
    if mount is None:
        pytest.skip("no cgroup2 file system is mounted here")
    assert cgroups.cgroup_id(mount) == os.stat(mount).st_ino


@given(st.text(alphabet="\\0123478a ", max_size=24))
def test_mount_fields_are_unescaped_as_a_regular_expression_would(field: str) -> None:
    import re

    expected = re.sub(r"\\([0-7]{3})", lambda match: chr(int(match[1], 8)), field)
    assert unescape_mount_field(field) == expected
