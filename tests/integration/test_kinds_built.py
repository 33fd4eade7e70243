"""VSOCK, TIPC and XDP sockets, compared with the real ss 6.1 on built bytes.

This kernel (like many) has no vsock_diag, tipc_diag or xsk_diag, and ss has
no replay file for these kinds. So an LD_PRELOAD shim (fake_diag.c, built
here with gcc) turns a NETLINK_SOCK_DIAG socket into a socketpair that
answers each dump request with messages built to the kernel's layouts
(tests/unit/netlink/kinds_bytes.py). ss and pyss then read the same reply,
and their outputs must be byte-identical; the requests each sent (the shim
keeps them) must be the same bytes too, so pyss asks the kernel what ss asks.
Where a kernel has the modules, test_kinds.py compares live sockets. SCTP and DCCP, which
this kernel lacks too, go through the same shim at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from pyss.netlink import constants as C  # noqa: N812  # reads like the kernel headers
from tests.integration.harness import PYSS, TOOL_ENV
from tests.unit.netlink import kinds_bytes as built

SHIM_SOURCE = Path(__file__).with_name("fake_diag.c")
_HEADER = struct.Struct("=IHHII")


@pytest.fixture(scope="module")
def shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("needs a C compiler (gcc) to build the fake sock_diag shim")
    if shutil.which("ss", path=TOOL_ENV["PATH"]) is None:
        pytest.skip("needs iproute2's ss")
    library = tmp_path_factory.mktemp("shim") / "fake_diag.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-o", str(library), str(SHIM_SOURCE),
                    "-ldl"], check=True, capture_output=True, timeout=120)
    return library


class Run:
    def __init__(self, done: subprocess.CompletedProcess[bytes], requests: bytes) -> None:
        self.returncode, self.stdout, self.stderr, self.requests = done.returncode, done.stdout, done.stderr, requests


class FakeKernel:
    """A directory of reply files (one per address family) that ss and pyss read through the shim."""

    def __init__(self, library: Path, directory: Path) -> None:
        self.library, self.directory = library, directory

    def answer(self, family: int, messages: Sequence[bytes], protocol: int | None = None) -> None:
        name = str(family) if protocol is None else f"{family}-{protocol}"
        (self.directory / name).write_bytes(b"".join(messages))

    def run(self, tool: str, args: Sequence[str]) -> Run:
        requests = self.directory / "requests"
        requests.unlink(missing_ok=True)
        env = {**TOOL_ENV, "LD_PRELOAD": str(self.library), "PYSS_FAKE_DIAG_DIR": str(self.directory)}
        done = subprocess.run([tool, *args], env=env, capture_output=True, timeout=30, check=False)
        return Run(done, requests.read_bytes() if requests.exists() else b"")

    def both(self, args: Sequence[str]) -> tuple[Run, Run]:
        return self.run("ss", args), self.run(str(PYSS), args)


_INET_REQUEST_HEAD = 8  # inet_diag_req_v2's family, protocol, ext, pad and states


# inet_diag_req (TCPDIAG_GETSOCK's): family, src_len, dst_len, ext, the socket id, states
_TCPDIAG_REQUEST = struct.Struct("=BBBB48xI")


def request_bodies(raw: bytes) -> list[tuple[int, int, bytes]]:
    """(type, flags, payload) of each request, without the sequence numbers and ports each tool picks.

    Of an inet request only the head counts here: ss leaves stack bytes in the padding of its
    bytecode's inet_diag_hostcond (tests/integration/test_filter.py compares filters). pyss's one
    TCPDIAG_GETSOCK dump of both TCP families (pyss.netlink.tcpdiag) counts as the two requests ss
    sends for them, with the same states and extensions.
    """
    found, offset = [], 0
    while offset + _HEADER.size <= len(raw):
        length, kind, flags, _seq, _pid = _HEADER.unpack_from(raw, offset)
        payload = raw[offset + _HEADER.size : offset + length]
        if kind == C.TCPDIAG_GETSOCK:
            _family, _src_len, _dst_len, ext, states = _TCPDIAG_REQUEST.unpack_from(payload)
            found += [(C.SOCK_DIAG_BY_FAMILY, flags, struct.pack("=BBBBI", family, C.IPPROTO_TCP, ext, 0, states))
                      for family in (C.AF_INET, C.AF_INET6)]
            offset += max(length, _HEADER.size)
            continue
        if payload[:1] in (bytes((C.AF_INET,)), bytes((C.AF_INET6,))):
            payload = payload[:_INET_REQUEST_HEAD]
        found.append((kind, flags, payload))
        offset += max(length, _HEADER.size)
    return found


def assert_as_ss(kernel: FakeKernel, args: Sequence[str]) -> Run:
    ss, pyss = kernel.both(args)
    assert pyss.stderr == b"", pyss.stderr.decode()
    assert (pyss.returncode, pyss.stdout.decode()) == (ss.returncode, ss.stdout.decode()), " ".join(args)
    # Sorted: a table's requests are the same bytes, whatever order each tool opens its tables in.
    assert sorted(request_bodies(pyss.requests)) == sorted(request_bodies(ss.requests)), " ".join(args)
    return pyss


@pytest.fixture
def held_inode() -> Iterator[int]:
    """The inode of a socket this test process holds: -p finds its holder in /proc, as for a real one."""
    left, right = socket.socketpair()
    try:
        yield os.fstat(left.fileno()).st_ino
    finally:
        left.close()
        right.close()


@pytest.fixture
def kernel(shim: Path, tmp_path: Path, held_inode: int) -> FakeKernel:
    fake = FakeKernel(shim, tmp_path)
    fake.answer(C.AF_VSOCK, (*built.VSOCK_ZOO, built.vsock(C.SOCK_DGRAM, C.TCP_CLOSE, (3, 7), (2, 8), held_inode, 9)))
    fake.answer(C.AF_XDP, (*built.XDP_ZOO, built.xdp(held_inode, 0x2009, info=(1, 5), uid=0)))
    fake.answer(C.AF_TIPC, (*built.TIPC_ZOO, built.tipc(C.SOCK_RDM, C.TCP_CLOSE, 16781313, 1009, held_inode, 0x3009)))
    return fake


def test_the_shim_answers_ss(kernel: FakeKernel) -> None:
    """A test that cannot fail is a defect: ss itself must see the built sockets through the shim."""
    text = kernel.run("ss", ["--vsock", "-a"]).stdout.decode()
    assert "v_str LISTEN" in text and "3:1234" in text, text
    assert "q40000" in kernel.run("ss", ["--xdp"]).stdout.decode()
    assert "16781314:2002" in kernel.run("ss", ["--tipc"]).stdout.decode()


VSOCK_ARGS = [
    "--vsock", "--vsock -a", "--vsock -l", "-f vsock -a", "-A v_str -a", "-A vsock_dgram -a", "-A v_dgr,v_str -a",
    "--vsock -an", "--vsock -ae", "--vsock -am", "--vsock -ao", "--vsock -aOe", "--vsock -ap", "--vsock -aH",
    "--vsock -a -x", "-a", "--vsock -ar",
    "--vsock -a sport = :1234", "--vsock -a dport = :22", "--vsock -a src vsock:3", "--vsock -a dst vsock:2:40001",
    "--vsock -a src vsock:*:99", "--vsock -a autobound", "--vsock -a sport > :1000", "--vsock -a sport < :1024",
    "--vsock state listening", "--vsock state established", "--vsock -a ! sport = :1234",
    "-a src vsock:3", "--vsock -a dev lo", "-K --vsock -a sport = :1234",
]


@pytest.mark.parametrize("args", VSOCK_ARGS)
def test_vsock_as_ss(kernel: FakeKernel, args: str) -> None:
    assert_as_ss(kernel, args.split())


def test_vsock_processes_are_found(kernel: FakeKernel) -> None:
    text = assert_as_ss(kernel, ["--vsock", "-ap"]).stdout.decode()
    assert f"pid={os.getpid()}," in text, text


XDP_ARGS = [
    "--xdp", "--xdp -a", "--xdp -l", "-f xdp", "-A xdp", "--xdp -n", "--xdp -e", "--xdp -eO", "--xdp -m",
    "--xdp -em", "--xdp -emO", "--xdp -o", "--xdp -p", "--xdp -ep", "--xdp -H", "--xdp -x -a", "--xdp --vsock -a",
    "--xdp sport = :40000", "--xdp autobound", "--xdp dev lo", "--xdp ! dev lo", "--xdp sport > :3",
    "--xdp -4 src 0.0.0.0/0", "--xdp dst 10.0.0.1", "--xdp dst 0", "--xdp src 10.1:5", "--xdp state established", "--xdp state unconnected", "-a -f xdp -f vsock",
    "-K --xdp dev lo",
]


@pytest.mark.parametrize("args", XDP_ARGS)
def test_xdp_as_ss(kernel: FakeKernel, args: str) -> None:
    assert_as_ss(kernel, args.split())


TIPC_ARGS = [
    "--tipc", "--tipc -a", "--tipc -l", "-f tipc", "-A tipc", "--tipc -n", "--tipc -e", "--tipc -eO",
    "--tipc --tipcinfo", "--tipc --tipcinfo -O", "--tipc -e --tipcinfo -p", "--tipc -ep", "--tipc -m", "--tipc -o",
    "--tipc -H", "--tipc -x", "--tipc --vsock --xdp -a", "--tipc -a sport = :1001", "--tipc -4 dst 10.0.0.1", "--tipc dst 10.0.0.1", "-f tipc src 1.2.3:4",
    "--tipc -4", "--tipc state established", "--tipc state listening", "--tipcinfo",
    "-K --tipc -a sport = :1",
]


@pytest.mark.parametrize("args", TIPC_ARGS)
def test_tipc_as_ss(kernel: FakeKernel, args: str) -> None:
    assert_as_ss(kernel, args.split())


def test_tipc_rows_are_shown(kernel: FakeKernel) -> None:
    text = assert_as_ss(kernel, ["--tipc", "-a", "-e", "--tipcinfo"]).stdout.decode()
    assert "16781313:1002     16781314:2002 uid:1000 ino:7002 sk:3002\n type:STREAM" in text, text
    assert " via {18888,17} " in text and " publ" in text and "drop:-1" in text, text


def _objects(run: Run) -> list[dict[str, object]]:
    assert run.returncode == 0 and run.stderr == b"", run.stderr.decode()
    return [json.loads(line) for line in run.stdout.decode().splitlines()]


def test_json_lines_of_each_kind(kernel: FakeKernel) -> None:
    vsock = _objects(kernel.run(str(PYSS), ["--vsock", "-a", "--json-lines"]))
    assert vsock[0] == {"netid": "v_str", "state": "LISTEN", "recv_q": 0, "send_q": 0, "family": "vsock",
                        "local_cid": 3, "local_port": 1234, "peer_cid": None, "peer_port": None, "inode": 5001,
                        "cookie": 0x1001}
    xdp = _objects(kernel.run(str(PYSS), ["--xdp", "-em", "--json-lines"]))
    assert (xdp[0]["interface"], xdp[0]["queue_id"], xdp[2]["interface"], xdp[2]["queue_id"]) == ("lo", 0, None, None)
    extended = xdp[0]["extended"]
    assert isinstance(extended, dict) and extended["fill_ring"] == 4096 and extended["stats"]["tx_ring_empty"] == 6
    assert xdp[1]["memory"] == {"rmem_alloc": 4096, "rcvbuf": 212992, "wmem_alloc": 0, "sndbuf": 212992,
                                "fwd_alloc": 0, "wmem_queued": 0, "optmem": 0}
    tipc = _objects(kernel.run(str(PYSS), ["--tipc", "-a", "--tipcinfo", "--json-lines"]))
    assert (tipc[1]["peer_node"], tipc[1]["peer_port"], tipc[0]["peer_node"]) == (16781314, 2002, None)
    assert tipc[1]["tipc_info"] == {"link_congested": False, "conn_congested": False, "drops": 0, "published": False,
                                    "via": [18888, 17]}
    listing = json.loads(kernel.run(str(PYSS), ["--vsock", "--xdp", "-a", "--json"]).stdout)
    assert [item["family"] for item in listing] == ["vsock"] * 8 + ["xdp"] * 5


def test_count_by_counts_these_kinds(kernel: FakeKernel) -> None:
    run = kernel.run(str(PYSS), ["--vsock", "--xdp", "--tipc", "-a", "--count-by", "netid", "-H"])
    assert run.returncode == 0 and run.stderr == b"", run.stderr.decode()
    counts = {line.split()[1]: int(line.split()[0]) for line in run.stdout.decode().splitlines()}
    assert counts == {"v_str": 5, "v_dgr": 2, "???": 1, "xdp": 5, "ti_st": 2, "ti_sq": 1, "ti_rd": 2, "ti_dg": 1}


# --- SCTP and DCCP through the same shim: pyss's whole path (request, dump, rows) against ss's -------

SCTP_ARGS = ["-S", "-Sa", "-San", "-Sae", "-Sao", "-Sai", "-Sam", "-SaO -eimo", "-Sap", "-Sa sport = :2905",
             "-Sa dport = :40000", "-Sa -4", "-Sa -6", "-a", "-d -a", "-dae", "-da -o", "-Sd -a", "-Sd -ae"]


@pytest.fixture
def inet_kernel(shim: Path, tmp_path: Path) -> FakeKernel:
    from tests.integration.test_details import diag_message
    from tests.integration.test_kinds import _sctp_records

    fake = FakeKernel(shim, tmp_path)
    sctp = _sctp_records()
    fake.answer(C.AF_INET, [diag_message(record) for record in sctp], C.IPPROTO_SCTP)
    # other inodes than the SCTP endpoint's: ss would take an SCTP socket after a DCCP one of the same
    # inode for an association (no kernel reports two sockets with one inode)
    dccp = [record._replace(protocol=C.IPPROTO_DCCP, attrs=b"", sport=5000 + index, inode=9000 + index)
            for index, record in enumerate(sctp[:3])]
    fake.answer(C.AF_INET, [diag_message(record) for record in dccp], C.IPPROTO_DCCP)
    return fake


@pytest.mark.parametrize("args", SCTP_ARGS)
def test_sctp_and_dccp_as_ss(inet_kernel: FakeKernel, args: str) -> None:
    assert_as_ss(inet_kernel, args.split())


def test_sctp_rows_are_shown(inet_kernel: FakeKernel) -> None:
    text = assert_as_ss(inet_kernel, ["-Sa", "-n"]).stdout.decode()
    assert "`- ESTAB" in text and "2905" in text, text
