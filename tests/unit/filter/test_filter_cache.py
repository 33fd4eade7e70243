"""The parse-tree cache: a hit gives what parsing gives, and anything doubtful is a plain, fast miss.

The cache file and its directory are hostile input (issue 15): damaged or crafted bytes, FIFOs,
symlinks anywhere in the directory chain, directories of other users. None may crash pyss, make it
allocate without bound, hang it, or make it write outside its own directory.

Only the shapes the recognizer (pyss.filter.recognize) declines reach the grammar and so the
cache; these tests make it decline everything, in this process and in the ones they start, so
that ordinary filters exercise the cache.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyss.filter import FilterError, cache, compile_filter, parse
from pyss.system import user_cache

FILTERS = [
    ["dport", "=", ":22"],
    ["(", "sport", ">=", ":1024", "and", "not", "dst", "10.0.0.0/8", ")", "or", "autobound"],
    ["dev", "!=", "lo", "fwmark", "=", "0x1/0xff"],
]
NOBODY = 65534
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: gives files and directories to another user")


@pytest.fixture
def cache_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    base = tmp_path / "xdg"
    base.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_CACHE_HOME", str(base))
    monkeypatch.delenv("PYSS_FILTER_CACHE", raising=False)
    monkeypatch.setattr(parse, "recognize", declined)
    return base / "pyss" / "filters"


def declined(synthetic: str) -> tuple[bool, None]:
    del synthetic
    return False, None


# Run first by the Python processes these tests start (see the module's docstring).
DECLINE = "import pyss.filter.parse as _parse; _parse.recognize = lambda synthetic: (False, None)\n"


def compiled(words: list[str]) -> tuple[object, ...]:
    found = compile_filter(["state", "established", *words])
    return (found.expression, found.states, found.families, found.kernel_bytecode)


def uncached(words: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[object, ...]:
    with monkeypatch.context() as patch:
        patch.setenv("PYSS_FILTER_CACHE", "0")
        return compiled(words)


def stored_keys(path: Path) -> list[bytes]:
    return [key for key, _tree in cache.decode_file(path.read_bytes())]


def run_python(code: str, env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", DECLINE + textwrap.dedent(code)], capture_output=True, text=True,
                          check=False, timeout=timeout, env={**os.environ, **env})


# --- what a hit gives ----------------------------------------------------------------------

@pytest.mark.parametrize("words", FILTERS)
def test_a_cached_parse_compiles_to_the_same_filter(
        cache_file: Path, words: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    first = compiled(words)
    assert cache_file.exists()
    assert compiled(words) == first == uncached(words, monkeypatch)


def test_filters_differing_only_in_values_share_an_entry(cache_file: Path) -> None:
    compiled(["dport", "=", ":22"])
    assert stored_keys(cache_file) == [b"dport = v"]  # "state established" is read before the grammar
    assert compiled(["dport", "=", ":443"]) != compiled(["dport", "=", ":22"])
    assert stored_keys(cache_file) == [b"dport = v"]


def test_a_hit_is_served_from_the_file(cache_file: Path) -> None:
    compiled(["dport", "=", ":22"])
    entries = cache.decode_file(cache_file.read_bytes())
    # a tree that differs from what the grammar gives (`dport != v`) proves the file was used
    cache_file.write_bytes(cache.encode_file([(entries[0][0], cache.encode_tree(("cond", "dport", "!=", 8)))]))
    assert compile_filter(["dport", "=", ":22"]).expression.op == "!="  # type: ignore[union-attr]


def test_the_least_recently_stored_are_dropped(cache_file: Path) -> None:
    for port in range(cache.MAX_ENTRIES + 5):
        compiled(["dport", "=", ":1", *["or", "dport", "=", ":2"] * port])
    keys = stored_keys(cache_file)
    assert len(keys) == cache.MAX_ENTRIES
    assert keys[-1].count(b" or ") == cache.MAX_ENTRIES + 4 and keys[0].count(b" or ") == 5


def test_syntax_errors_are_not_cached_and_still_point_at_the_token(cache_file: Path) -> None:
    for _ in range(2):
        with pytest.raises(FilterError, match="column 27"):
            compile_filter(["state", "established", "dport", "=", "="])
    assert not cache_file.exists()


def test_the_cache_can_be_turned_off(cache_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYSS_FILTER_CACHE", "0")
    compiled(["dport", "=", ":22"])
    assert not cache_file.parent.exists()


def test_an_unwritable_cache_is_only_a_miss(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where the directory should be
    monkeypatch.delenv("PYSS_FILTER_CACHE", raising=False)
    assert compiled(FILTERS[1]) == uncached(FILTERS[1], monkeypatch)
    assert cache.lookup("dport = v") == (False, None)
    assert blocker.read_text() == "" and list(tmp_path.iterdir()) == [blocker]


def test_a_tree_ten_thousand_levels_deep_is_stored_and_read_back(cache_file: Path) -> None:
    synthetic = " ".join(["dport = v"] + ["or dport = v"] * 9_999)
    raw: tuple[object, ...] = ("cond", "dport", "=", 8)
    for index in range(1, 10_000):
        raw = ("or", raw, ("cond", "dport", "=", 8 + 13 * index))
    cache.store(synthetic, raw)
    found, tree = cache.lookup(synthetic)
    assert found
    assert cache.encode_tree(tree) == cache.encode_tree(raw)  # compared as programs: == on the tuples recurses


# --- case 1 and 2: damaged and crafted bytes ------------------------------------------------

@pytest.mark.parametrize("damage", [b"garbage", b"", b"\xe3" + bytes(40), b"(\xff\xff\xff\x7f",
                                    b"[\xff\xff\xff\x7f", cache.MAGIC])
def test_a_damaged_file_is_a_miss(cache_file: Path, damage: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    cache_file.parent.mkdir(mode=0o700)
    cache_file.write_bytes(damage)
    assert cache.lookup("dport = v") == (False, None)
    assert compiled(FILTERS[1]) == uncached(FILTERS[1], monkeypatch)


def test_bytes_that_made_marshal_allocate_gigabytes_are_a_fast_miss_under_a_memory_limit(cache_file: Path) -> None:
    # Five bytes once made marshal.loads allocate ~11 GB (a MemoryError traceback under a limit) or stall 6 s.
    cache_file.parent.mkdir(mode=0o700)
    for damage in (b"(\xff\xff\xff\x7f", b"[\xff\xff\xff\x7f", b"{" + b"\xe9\xff\xff\xff\x7f" * 4):
        cache_file.write_bytes(damage)
        result = run_python("""
            import resource, time
            resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
            from pyss.filter import compile_filter
            start = time.monotonic()
            print(compile_filter(["dport", "=", ":22"]), round(time.monotonic() - start, 3))
        """, {"XDG_CACHE_HOME": str(cache_file.parent.parent)})
        assert result.returncode == 0, result.stderr
        text, seconds = result.stdout.split()[:-1], float(result.stdout.split()[-1])
        assert " ".join(text) == "dport = :22" and seconds < 2.0


def test_every_mutation_of_a_real_file_is_a_miss_or_the_true_tree(cache_file: Path) -> None:
    # Mutated bytes of a real file once crashed pyss in marshal.loads (SIGSEGV): run where a crash shows.
    compiled(FILTERS[1])
    result = run_python(f"""
        from pathlib import Path
        from pyss.filter import cache
        path = Path({str(cache_file)!r})
        real = path.read_bytes()
        (key,) = [key.decode() for key, _ in cache.decode_file(real)]
        truth = cache.lookup(key)
        assert truth[0], truth
        hits = misses = 0
        mutations = [real[:size] for size in range(len(real))]
        for index in range(len(real)):
            for flip in (0x01, 0x10, 0x80, 0xff):
                mutations.append(real[:index] + bytes([real[index] ^ flip]) + real[index + 1:])
            mutations.append(real[:index] + real[index + 1:])
        for data in mutations:
            path.write_bytes(data)
            found = cache.lookup(key)
            assert found == truth or found == (False, None), (data, found)
            hits += found[0]
            misses += not found[0]
        print(len(mutations), hits, misses)
    """, {"XDG_CACHE_HOME": str(cache_file.parent.parent)}, timeout=120)
    assert result.returncode == 0, result.stderr  # before: -11 (SIGSEGV) or a traceback
    count, hits, misses = map(int, result.stdout.split())
    assert count > 500 and misses == count and hits == 0  # the checksum catches every one of these


@pytest.mark.parametrize("program", [b"&", b"n", b"c\x00\x00\x00\x00\x00", b"c\x09\x00\x00\x00\x00\x00",
                                     b"c\x00\x00\x00\x00\x00\x00c\x00\x00\x00\x00\x00\x00", b"x",
                                     b"c\x02\x00\x05\x00\x00\x00"])
def test_a_well_checksummed_but_wrong_tree_is_a_miss(cache_file: Path, program: bytes) -> None:
    # a file with a valid checksum whose tree is not one of this filter (bad codes, stack misuse,
    # a value position where no value stands): the grammar decides instead
    cache_file.parent.mkdir(mode=0o700)
    cache_file.write_bytes(cache.encode_file([(b"dport = v", program)]))
    assert cache.lookup("dport = v") == (False, None)
    assert compiled(["dport", "=", ":22"])[0] is not None


def test_a_file_of_another_pyss_version_is_a_miss(cache_file: Path) -> None:
    compiled(["dport", "=", ":22"])
    data = cache_file.read_bytes().replace(cache.MAGIC + cache.FORMAT.to_bytes(2, "little"),
                                           cache.MAGIC + (cache.FORMAT + 1).to_bytes(2, "little"), 1)
    cache_file.write_bytes(data)
    assert cache.lookup("dport = v") == (False, None)


def test_a_file_longer_than_the_cap_is_not_read(cache_file: Path) -> None:
    compiled(["dport", "=", ":22"])
    with cache_file.open("ab") as out:
        out.write(bytes(cache.MAX_BYTES))
    assert cache.lookup("dport = v") == (False, None)


# --- case 3 and 4: who may put what where --------------------------------------------------

def test_a_file_others_can_write_is_not_read(cache_file: Path) -> None:
    compiled(["dport", "=", ":22"])
    assert cache.lookup("dport = v")[0]
    cache_file.chmod(0o666)
    assert cache.lookup("dport = v") == (False, None)


def test_a_symlink_as_the_file_is_not_followed(cache_file: Path, tmp_path: Path) -> None:
    compiled(["dport", "=", ":22"])
    real = tmp_path / "elsewhere"
    cache_file.rename(real)
    cache_file.symlink_to(real)
    assert cache.lookup("dport = v") == (False, None)


@pytest.mark.parametrize("where", ["pyss", "base"])
def test_a_symlinked_directory_in_the_chain_is_never_read_or_written_through(
        cache_file: Path, tmp_path: Path, where: str) -> None:
    # Another user turns <XDG_CACHE_HOME>/pyss (or XDG_CACHE_HOME itself) into a symlink to a
    # directory of their choice: before, root's pyss then wrote <that directory>/filters.
    victim = tmp_path / "victim"
    victim.mkdir(mode=0o700)
    (victim / "pyss").mkdir(mode=0o700)
    link = cache_file.parent if where == "pyss" else cache_file.parent.parent
    if where == "base":
        link.rmdir()
    link.symlink_to(victim / "pyss" if where == "pyss" else victim)
    compiled(["dport", "=", ":22"])
    assert list(victim.rglob("*")) == [victim / "pyss"]
    cache.store("dport = v", ("cond", "dport", "=", 0))
    assert list(victim.rglob("*")) == [victim / "pyss"]
    # a valid file behind the link is not read either
    (victim / "pyss" / "filters").write_bytes(cache.encode_file([(b"dport = v", cache.encode_tree(None))]))
    assert cache.lookup("dport = v") == (False, None)


@needs_root
@pytest.mark.parametrize("owned", ["base", "pyss"])
def test_a_chain_that_is_not_the_users_own_means_no_cache(cache_file: Path, owned: str) -> None:
    # `sudo pyss` keeping a user's XDG_CACHE_HOME: root must neither read nor write there.
    compiled(["dport", "=", ":22"])
    os.chown(cache_file.parent.parent if owned == "base" else cache_file.parent, NOBODY, NOBODY)
    before = cache_file.read_bytes()
    assert cache.lookup("dport = v") == (False, None)
    cache.store("sport = v", ("cond", "sport", "=", 0))
    assert cache_file.read_bytes() == before


@needs_root
def test_a_file_of_another_user_is_not_read(cache_file: Path) -> None:
    compiled(["dport", "=", ":22"])
    os.chown(cache_file, NOBODY, NOBODY)
    assert cache.lookup("dport = v") == (False, None)


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o1777])
def test_a_cache_directory_others_can_write_means_no_cache(cache_file: Path, mode: int) -> None:
    compiled(["dport", "=", ":22"])
    cache_file.parent.chmod(mode)
    before = cache_file.read_bytes()
    assert cache.lookup("dport = v") == (False, None)
    cache.store("sport = v", ("cond", "sport", "=", 0))
    assert cache_file.read_bytes() == before


@needs_root
def test_a_root_owned_sticky_directory_like_tmp_may_hold_the_chain(cache_file: Path) -> None:
    base = cache_file.parent.parent
    base.parent.chmod(0o1777)  # a /tmp-like parent: others may add entries, not replace ours
    compiled(["dport", "=", ":22"])
    assert cache.lookup("dport = v")[0]
    base.parent.chmod(0o777)  # the same without the sticky bit: others could swap `xdg` for a link
    assert cache.lookup("dport = v") == (False, None)


@pytest.mark.parametrize("owner", ["self", "other"])
def test_a_fifo_in_place_of_the_file_is_a_fast_miss(cache_file: Path, owner: str) -> None:
    # Before: every filtered run hung in open() forever.
    if owner == "other" and os.geteuid() != 0:
        pytest.skip("needs root: gives the FIFO to another user")
    cache_file.parent.mkdir(mode=0o700)
    os.mkfifo(cache_file, 0o600)
    if owner == "other":
        os.chown(cache_file, NOBODY, NOBODY)
    result = run_python("""
        from pyss.filter import compile_filter
        print(compile_filter(["dport", "=", ":22"]))
    """, {"XDG_CACHE_HOME": str(cache_file.parent.parent)}, timeout=20)
    assert (result.returncode, result.stdout) == (0, "dport = :22\n")
    # the directory is ours, so the write replaced the FIFO: the cache works again
    status = cache_file.lstat()
    assert stat.S_ISREG(status.st_mode) and status.st_uid == os.geteuid()


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A root-owned directory directly in /tmp that other users can reach (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="pyss-cache-test-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@needs_root
def test_an_unprivileged_user_caches_in_their_own_chain_only(shared_tmp: Path) -> None:
    tmp_path = shared_tmp
    own = tmp_path / "nobody-cache"
    own.mkdir(mode=0o700)
    os.chown(own, NOBODY, NOBODY)
    probe = """
        from pyss.filter import cache, compile_filter
        compile_filter(["dport", "=", ":22"])
        print(cache.lookup("dport = v")[0])
    """
    command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", sys.executable, "-c",
               DECLINE + textwrap.dedent(probe)]
    env = {**os.environ, "XDG_CACHE_HOME": str(own)}
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=30, env=env)
    assert (result.returncode, result.stdout) == (0, "True\n"), result.stderr
    assert (own / "pyss" / "filters").stat().st_uid == NOBODY
    env["XDG_CACHE_HOME"] = str(tmp_path)  # root's directory: nobody may not write there, and must not read it
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=30, env=env)
    assert (result.returncode, result.stdout) == (0, "False\n"), result.stderr


def test_the_directory_chain_is_walked_from_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "/a/./b//c")
    assert user_cache.directory_components() == ["a", "b", "c", "pyss"]
    monkeypatch.setenv("XDG_CACHE_HOME", "/a/../etc")
    assert user_cache.directory_components() is None
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")
    assert user_cache.directory_components() is None
