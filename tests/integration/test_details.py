"""The Process column (-p -o -e -m -i --tos --cgroup -O), -s and -N, against the real ss.

Two kinds of comparison:

* ss as an oracle for the detail formatter. ss renders tcp diag messages read
  from the file named by $TCPDIAG_FILE; feeding it the very bytes that
  render/details.py formats gives ss's exact text for them, moving fields and
  all. Real captured sockets and constructed tcp_info structs of every
  historical size go through both. Needs the ss binary, not root.
* pyss vs ss on the zoo's live sockets (root, private netns). Timers, rtt,
  rates and counters move between two runs, so the cases that print them are
  compared by shape: every number becomes '#' and column padding is collapsed;
  everything else (keys, order, words) must match. The rest is byte-exact.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from pyss.netlink.constants import (
    INET_DIAG_BBRINFO,
    INET_DIAG_CONG,
    INET_DIAG_INFO,
    INET_DIAG_MEMINFO,
    INET_DIAG_SKMEMINFO,
    INET_DIAG_TCLASS,
    INET_DIAG_TOS,
    INET_DIAG_VEGASINFO,
    NLMSG_DONE,
    SOCK_DIAG_BY_FAMILY,
)
from pyss.netlink.decode import attributes
from pyss.netlink.requests import attribute
from pyss.query import Details
from pyss.records import InetSocket
from pyss.render.details import details_text
from pyss.system.cgroups import cgroup_path
from tests.integration.harness import (
    PYSS,
    TOOL_ENV,
    NsRun,
    ZooNamespace,
    assert_matches_reference,
    assert_same_summary,
    has_traceback,
    normalise_layout,
    run_plain,
)


def _load(relative: str, name: str) -> ModuleType:
    """A unit-test module by path, under its own name (its records are the oracle's input)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[1] / "unit" / relative)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


captured = _load("render/test_details.py", "captured_detail_records")  # real kernel replies
constructed = _load("netlink/test_tcpinfo.py", "constructed_tcp_info")  # tcp_info built field by field

HAVE_SS = shutil.which("ss", path=TOOL_ENV["PATH"]) is not None
needs_ss = pytest.mark.skipif(not HAVE_SS, reason="needs iproute2's ss on PATH")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: private netns with the socket zoo")

_REQUESTED = {INET_DIAG_MEMINFO, INET_DIAG_SKMEMINFO, INET_DIAG_INFO, INET_DIAG_CONG, INET_DIAG_VEGASINFO,
              INET_DIAG_BBRINFO, INET_DIAG_TOS, INET_DIAG_TCLASS}


# --- ss as an oracle ------------------------------------------------------------------------

# What iproute2 6.5+ prints that ss 6.1 does not (pyss follows 7.1 there; docs/kinds.md). Compared
# with ss 6.1, these are left out of pyss's text; tests/integration/test_kinds.py checks them.
NEWER_THAN_61 = re.compile(r" usec_ts\b| rcv_wnd:\d+| rehash:\d+| no_pad_rx")


def without_newer(text: str) -> str:
    return NEWER_THAN_61.sub("", text)


def diag_message(record: InetSocket) -> bytes:
    """The SOCK_DIAG_BY_FAMILY message the kernel sent for ``record`` (inet_diag_msg + attributes)."""
    body = (struct.pack("=BBBB", record.family, record.state, record.timer, record.retrans)
            + struct.pack(">HH", record.sport, record.dport)
            + record.src.ljust(16, b"\0") + record.dst.ljust(16, b"\0")
            + struct.pack("=8I", record.ifindex, record.cookie & 0xFFFFFFFF, record.cookie >> 32, record.expires,
                          record.rqueue, record.wqueue, record.uid, record.inode)
            + record.attrs)
    message = struct.pack("=IHHII", 16 + len(body), SOCK_DIAG_BY_FAMILY, 2, 0, 0) + body
    return message + b"\0" * (-len(message) % 4)


def ss_process_column(record: InetSocket, flags: list[str], tmp_path: Path, numeric: bool = True) -> str:
    """What ss prints after the peer port for ``record`` (ss -H -O, so the row is one line)."""
    dump = tmp_path / "tcpdiag"
    dump.write_bytes(diag_message(record) + struct.pack("=IHHIIi", 20, NLMSG_DONE, 2, 0, 0, 0))
    result = subprocess.run(["ss", "-taHO" + ("n" if numeric else ""), *flags],
                            env={**TOOL_ENV, "TCPDIAG_FILE": str(dump)},
                            capture_output=True, text=True, timeout=20, check=True)
    # state, queues, local and peer address: the Process column follows the fifth field, unpadded (one row)
    fields = re.match(r"\S+ +\d+ +\d+ +\S+ +\S+", result.stdout)
    assert fields is not None, result.stdout
    return result.stdout.rstrip("\n")[fields.end():]


def with_only(record: InetSocket, flags: list[str]) -> InetSocket:
    """Drop the attributes the kernel would not have sent for these flags."""
    asked = set()
    if "-m" in flags:
        asked |= {INET_DIAG_MEMINFO, INET_DIAG_SKMEMINFO}
    if "-i" in flags:
        asked |= {INET_DIAG_INFO, INET_DIAG_CONG, INET_DIAG_VEGASINFO, INET_DIAG_BBRINFO}
    if "--tos" in flags:
        asked |= {INET_DIAG_TOS, INET_DIAG_TCLASS}
    found = attributes(record.attrs, 0, len(record.attrs))
    return record._replace(attrs=b"".join(attribute(kind, value) for kind, value in found.items()
                                          if kind in asked or kind not in _REQUESTED))


def details_for(flags: list[str], numeric: bool = True) -> Details:
    """The Details the CLI builds for these ss flags (-O is always on in the oracle runs)."""
    return Details(numeric=numeric, options="-o" in flags or "-e" in flags, extended=int("-e" in flags),
                   memory="-m" in flags, info="-i" in flags, tos="--tos" in flags, cgroup="--cgroup" in flags,
                   oneline=True)


FLAG_SETS = [["-o"], ["-e"], ["-m"], ["-i"], ["-o", "-i"], ["-e", "-i", "-m"], ["--tos"], ["--cgroup"],
             ["-o", "-e", "-m", "-i", "--tos", "--cgroup"]]
RECORDS = ["TCP_ESTAB_KEEPALIVE", "TCP_ESTAB_RECEIVER", "TCP_FIN_WAIT2_MARKED", "TCP_LISTEN4", "TCP_LISTEN6"]


@needs_ss
@pytest.mark.parametrize("name", RECORDS)
@pytest.mark.parametrize("flags", FLAG_SETS, ids=" ".join)
def test_captured_sockets_as_ss_prints_them(name: str, flags: list[str], tmp_path: Path) -> None:
    record = with_only(getattr(captured, name), flags)
    expected = ss_process_column(record, flags, tmp_path)
    assert without_newer(details_text(record, details_for(flags), None, cgroup_name=cgroup_path)) == expected


@needs_ss
# (Below 92 bytes, before tcpi_reordering, ss would print its zero-fill as "reordering:0"; pyss prints
# nothing it was not sent. No kernel ever sent fewer than 104 bytes.)
@pytest.mark.parametrize("size", [size for size, _ in constructed.SIZES] + [92, 100])
@pytest.mark.parametrize("numeric", [True, False], ids=["-n", "units"])
def test_tcp_info_of_every_size_as_ss_prints_it(size: int, numeric: bool, tmp_path: Path) -> None:
    """Older kernels' shorter tcp_info: ss zero-fills, and the fields it then skips must be the ones pyss skips."""
    attrs = attribute(INET_DIAG_INFO, constructed.FULL[:size]) + attribute(INET_DIAG_CONG, b"cubic\0")
    record = captured.TCP_ESTAB_RECEIVER._replace(attrs=attrs)
    expected = ss_process_column(record, ["-i", "-o"], tmp_path, numeric=numeric)
    text = details_text(record, details_for(["-i", "-o"], numeric), None)
    assert without_newer(text) == expected
    # the fields past ss 6.1's struct, printed as iproute2 7.1 prints them
    assert text.endswith(" rcv_wnd:19 rehash:20") == (size >= 240)


@needs_ss
@pytest.mark.parametrize("timer", [1, 2, 3, 4, 5, 9])
@pytest.mark.parametrize("expires", [0, 7, 200, 1500, 9999, 12345, 61500, 600001, 6753052, 4294967295])
def test_timers_as_ss_prints_them(timer: int, expires: int, tmp_path: Path) -> None:
    record = captured.TCP_ESTAB_KEEPALIVE._replace(timer=timer, expires=expires, retrans=3)
    assert details_text(record, details_for(["-o"]), None) == ss_process_column(record, ["-o"], tmp_path)


# --- pyss vs ss on the zoo -----------------------------------------------------------------

_NUMBER = re.compile(rb"\d+(?:\.\d+)?")
# A timer's time left changes its unit as it runs down (2min, 59sec, 9.500ms) and is empty at 0.
_TIMER_LEFT = re.compile(rb"timer:\((\w+),[^,]*,")


_LAST_EVENT = re.compile(rb" last(?:snd|rcv|ack):#")


def by_shape(runner: Callable[..., NsRun]) -> Callable[..., NsRun]:
    """The runner with every number in stdout replaced by '#' and padding collapsed."""
    def run(*args: str) -> NsRun:
        done = runner(*args)
        newer_left_out = without_newer(done.stdout.decode("utf-8", "replace")).encode()
        numbers = _NUMBER.sub(b"#", _TIMER_LEFT.sub(rb"timer:(\1,T,", newer_left_out))
        # ss prints lastsnd/lastrcv/lastack only when non-zero: each counts milliseconds since an
        # event (a zero-window probe's ack, say) and is 0 now and then, so only its form is compared
        # (exactly, on fixed bytes, by the TCPDIAG_FILE tests above).
        numbers = _LAST_EVENT.sub(b"", numbers)
        shape = normalise_layout(numbers.decode("utf-8", "replace")).encode()
        return NsRun(done.args, done.pid, done.returncode, shape, done.stderr)
    return run


# Nothing in these moves while the zoo holds still: byte for byte.
EXACT = ["-tanp", "-tunlp", "-ltnp", "-xap", "-tanm", "-ltne", "-tanpH", "-tunlpO", "-wanep", "-0anpemb"]
# Timers, rtt, rates and counters move: compared by shape.
SHAPE = ["-tano", "-tane", "-tani", "-tanoie", "-tanoiem", "-tanoiO", "-uanm", "-xaem", "-tan --tos", "-tane --cgroup", "-tuwx0anoiempb"]


@needs_root
@pytest.mark.parametrize("args", EXACT)
def test_same_details(zoo_ns: ZooNamespace, args: str) -> None:
    assert_matches_reference(zoo_ns.ss, zoo_ns.pyss, args.split())


@needs_root
@pytest.mark.parametrize("args", SHAPE)
def test_same_details_by_shape(zoo_ns: ZooNamespace, args: str) -> None:
    assert_matches_reference(by_shape(zoo_ns.ss), by_shape(zoo_ns.pyss), args.split())


@needs_root
def test_summary(zoo_ns: ZooNamespace) -> None:
    assert_same_summary(lambda: zoo_ns.ss("-s"), lambda: zoo_ns.pyss("-s"))


@needs_root
def test_named_namespace(zoo_ns: ZooNamespace) -> None:
    """-N NAME from outside the namespace lists the zoo, as ss -N does."""
    def ss(*args: str) -> NsRun:
        return run_plain(["ss", *args])

    def pyss(*args: str) -> NsRun:
        return run_plain([str(PYSS), *args])

    for args in (["-N", zoo_ns.name, "-tan"], [f"--net={zoo_ns.name}", "-tanp"]):
        assert_matches_reference(ss, pyss, args)
    assert_same_summary(lambda: ss("-N", zoo_ns.name, "-s"), lambda: pyss("-N", zoo_ns.name, "-s"))


@needs_root
@pytest.mark.parametrize("name", ["pyss-no-such-namespace", ""])
def test_missing_namespace(name: str) -> None:
    expected = run_plain(["ss", "-N", name, "-tan"])
    actual = run_plain([str(PYSS), "-N", name, "-tan"])
    assert actual.returncode == expected.returncode == 1
    assert actual.stdout == expected.stdout == b""
    assert not has_traceback(actual.stderr)
    lines = actual.stderr.decode().splitlines()
    assert len(lines) == 1
    # ss's own words, after pyss's program-name prefix
    assert lines[0].endswith(expected.stderr.decode().strip()), (lines, expected.stderr)
