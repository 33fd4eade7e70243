"""The socket kinds beyond TCP/UDP/RAW/UNIX/PACKET/NETLINK, against the real ss, in a private netns.

MPTCP is live (this kernel has it): pyss and ss list zoo_kinds.py's sockets and
must print the same bytes. The kinds whose diag module a kernel lacks are
tested on built bytes in tests/unit; here, pyss must say once that it cannot list them.
"""

from __future__ import annotations

import io
import os
import re
import socket
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyss.netlink.constants import (
    AF_TIPC,
    AF_XDP,
    INET_DIAG_INFO,
    INET_DIAG_LOCALS,
    INET_DIAG_PEERS,
    INET_DIAG_PROTOCOL,
    INET_DIAG_SKMEMINFO,
    INET_DIAG_ULP_INFO,
    INET_ULP_INFO_MPTCP,
    INET_ULP_INFO_NAME,
    IPPROTO_DCCP,
    IPPROTO_SCTP,
    MPTCP_SUBFLOW_FLAG_BKUP_LOC,
    MPTCP_SUBFLOW_FLAG_JOIN_REM,
    MPTCP_SUBFLOW_FLAG_MAPVALID,
    NLMSG_DONE,
)
from pyss.netlink.requests import attribute
from pyss.query import STATES_ALL, TABLE_BIT, Query
from pyss.records import InetSocket
from pyss.render.details import details_text, record_details
from pyss.render.ss import RowBuilder, SsWriter
from tests.integration.harness import (
    NS_PREFIX,
    TOOL_ENV,
    NsRun,
    ZooNamespace,
    assert_matches_reference,
    missing_prerequisites,
    normalise_layout,
    start_zoo,
    stop_zoo,
)
from tests.integration.test_details import (
    by_shape,
    captured,
    constructed,
    details_for,
    diag_message,
    needs_ss,
    ss_process_column,
    without_newer,
)
from tests.unit.netlink import test_sctp as sctp_units
from tests.unit.netlink.test_mptcp import subflow_attrs

KINDS_SCRIPT = Path(__file__).with_name("zoo_kinds.py")


@pytest.fixture(scope="module")
def kinds_ns() -> Iterator[ZooNamespace]:
    reason = missing_prerequisites()
    if reason is not None:
        pytest.skip(reason)
    ns = start_zoo(f"{NS_PREFIX}{os.getpid()}-kinds", KINDS_SCRIPT)
    try:
        yield ns
    finally:
        stop_zoo(ns)


@pytest.fixture
def mptcp_ns(kinds_ns: ZooNamespace) -> ZooNamespace:
    if kinds_ns.zoo.get("mptcp") is not True:
        pytest.skip(f"no MPTCP sockets in this kernel: {kinds_ns.zoo.get('mptcp')}")
    return kinds_ns


# Nothing in these moves while the holder holds still: byte for byte (stdout and exit status).
MPTCP_EXACT = [
    "-M", "-Ma", "-Man", "-Ml", "-Mln", "-Mae", "-Maen", "-Mao", "-Mai", "-Mam", "-MaimO", "-Maie",
    "-tMa", "-uMa", "-wMa", "-tuwMan", "-Ma4", "-Ma6", "-MaH", "-A mptcp", "-A mptcp,tcp -a", "-A inet -an",
    "-f inet6 -Ma", "-Ma -p",
    # filters: the kernel's bytecode and pyss's predicate both take part
    "-Ma sport = :5555", "-Man dport = :5555", "-Ma src 127.0.0.1", "-Man state established",
    "-Man ( sport = :22 or dport = :47100 )", "-M state listening", "-Ma dst [::]", "-Man !sport = :5555",
]


@pytest.mark.parametrize("args", MPTCP_EXACT)
def test_mptcp_as_ss(mptcp_ns: ZooNamespace, args: str) -> None:
    assert_matches_reference(mptcp_ns.ss, mptcp_ns.pyss, args.split())


# The TCP subflows' tcp_info (rtt, lastsnd, ...) moves: compared by shape, with their
# " tcp-ulp-mptcp flags:... token:..." part.
@pytest.mark.parametrize("args", ["-tain", "-taino", "-tMaim"])
def test_mptcp_subflows_as_ss(mptcp_ns: ZooNamespace, args: str) -> None:
    assert_matches_reference(by_shape(mptcp_ns.ss), by_shape(mptcp_ns.pyss), args.split())


def test_mptcp_is_listed(mptcp_ns: ZooNamespace) -> None:
    """The comparisons above mean something only if the sockets are there."""
    lines = mptcp_ns.pyss("-Man").text.splitlines()
    rows = [line.split() for line in lines[1:]]
    assert ["LISTEN", "0", "16", "127.0.0.1:5555", "0.0.0.0:*"] in rows, lines
    # the accepted end holds the client's unread bytes
    assert any(row[0] == "ESTAB" and row[1] != "0" and row[3] == "127.0.0.1:5555" for row in rows), lines
    assert any(line.startswith("LISTEN") and "[::]:47102" in line for line in lines), lines


def test_mptcp_info_is_shown(mptcp_ns: ZooNamespace) -> None:
    text = mptcp_ns.pyss("-Mani").text
    assert " fallback" in text and " remote_key" in text and " token:" in text, text


@needs_ss
@pytest.mark.parametrize("flags", [0xFFFF_FFFF, MPTCP_SUBFLOW_FLAG_JOIN_REM | MPTCP_SUBFLOW_FLAG_BKUP_LOC,
                                   MPTCP_SUBFLOW_FLAG_MAPVALID, 0])
def test_mptcp_subflow_as_ss_prints_it(flags: int, tmp_path: Path) -> None:
    """A TCP subflow's ULP info, every flag letter included, through ss's TCPDIAG_FILE reader."""
    ulp = attribute(INET_ULP_INFO_NAME, b"mptcp\0") + attribute(INET_ULP_INFO_MPTCP, subflow_attrs(flags))
    record = captured.TCP_ESTAB_RECEIVER._replace(
        attrs=attribute(INET_DIAG_INFO, constructed.FULL) + attribute(INET_DIAG_ULP_INFO, ulp))
    expected = ss_process_column(record, ["-i"], tmp_path)
    assert " tcp-ulp-mptcp" in expected
    assert without_newer(details_text(record, details_for(["-i"]), None)) == expected


# --- what iproute2 6.5+ prints (pyss follows 7.1.0) -------------------------------------------

def test_tcp_info_fields_newer_ss_prints_are_the_kernels(kinds_ns: ZooNamespace) -> None:
    """rcv_wnd (and rehash, when not 0) as the kernel reports them to the socket's owner."""
    info = kinds_ns.zoo["tcp_info"]
    if "client_rcv_wnd" not in info:
        pytest.skip(f"this kernel's tcp_info ({info['client_size']} bytes) has no tcpi_rcv_wnd")
    for end, flt in (("client", "dport = :47200"), ("server", "sport = :47200")):
        text = kinds_ns.pyss("-tinHO", *flt.split()).text
        assert " snd_wnd:" in text and f" rcv_wnd:{info[f'{end}_rcv_wnd']}" in text, (end, info, text)
        assert (" rehash:" in text) == bool(info[f"{end}_rehash"]), text
        assert (" usec_ts" in kinds_ns.pyss("-tinoHO", *flt.split()).text) == bool(info[f"{end}_options"] & 64)


def test_tcp_info_matches_ss_61_but_for_the_newer_fields(kinds_ns: ZooNamespace) -> None:
    argv = ["-tino", "sport", "=", ":47200", "or", "dport", "=", ":47200"]
    assert_matches_reference(by_shape(kinds_ns.ss), by_shape(kinds_ns.pyss), argv)


NEWER_SS = os.environ.get("PYSS_NEWER_SS")  # an iproute2 >= 6.7 ss binary, e.g. built from 7.1.0
needs_newer_ss = pytest.mark.skipif(not NEWER_SS, reason="set PYSS_NEWER_SS to a newer ss (iproute2 >= 6.7)")


@needs_newer_ss
@pytest.mark.parametrize("size", [232, 240])
@pytest.mark.parametrize("usec_ts", [False, True])
def test_tcp_info_as_newer_ss_prints_it(size: int, usec_ts: bool, tmp_path: Path) -> None:
    """Byte for byte against the newer ss, through its TCPDIAG_FILE reader."""
    assert NEWER_SS is not None
    raw = constructed.FULL[:size]
    if usec_ts:
        raw = raw[:5] + bytes((raw[5] | 64,)) + raw[6:]
    record = captured.TCP_ESTAB_RECEIVER._replace(attrs=attribute(INET_DIAG_INFO, raw))
    dump = tmp_path / "tcpdiag"
    dump.write_bytes(diag_message(record) + struct.pack("=IHHIIi", 20, NLMSG_DONE, 2, 0, 0, 0))
    done = subprocess.run([NEWER_SS, "-taHOnio"], env={**TOOL_ENV, "TCPDIAG_FILE": str(dump)},
                          capture_output=True, text=True, timeout=20, check=True)
    fields = re.match(r"\S+ +\d+ +\d+ +\S+ +\S+", done.stdout)  # state, queues, addresses (one row)
    assert fields is not None, done.stdout
    assert details_text(record, details_for(["-i", "-o"]), None) == done.stdout.rstrip("\n")[fields.end():]


def test_bound_inactive_lists_the_bound_sockets_only(kinds_ns: ZooNamespace) -> None:
    """-B (iproute2 6.5+): the kernel's bound-but-inactive TCP sockets, no State column (one state)."""
    done = kinds_ns.pyss("-tBn")
    lines = done.text.splitlines()
    assert lines[0].split()[:5] == ["Recv-Q", "Send-Q", "Local", "Address:Port", "Peer"]
    assert sorted(line.split()[2] for line in lines[1:]) == sorted(kinds_ns.zoo["bound_inactive"]), lines
    assert all(line.split()[:2] == ["0", "0"] for line in lines[1:]), lines
    # the same through a state filter, through -A and under a filter the kernel applies
    assert kinds_ns.pyss("-tn", "state", "bound-inactive").stdout == done.stdout
    assert kinds_ns.pyss("-A", "tcp", "-Bn").stdout == done.stdout
    only_v4 = kinds_ns.pyss("-tBn", "src", "127.0.0.1").text.splitlines()[1:]
    assert [line.split()[2] for line in only_v4] == ["127.0.0.1:47300"], only_v4
    # -a stays ss 6.1's "all": bound-inactive sockets are not in it (newer ss lists them there too)
    assert "47300" not in kinds_ns.pyss("-tan").text
    assert kinds_ns.pyss("-uxBn").text.splitlines()[1:] == []  # no UDP or UNIX socket is "bound-inactive"


def _without_queue_fields(text: str) -> str:
    """ss's output with its Recv-Q and Send-Q fields removed, padding collapsed."""
    lines = normalise_layout(text).splitlines()
    first = lines[0].split().index("Recv-Q")
    return "".join(" ".join(fields[:first] + fields[first + 2:]) + "\n" for fields in map(str.split, lines))


@pytest.mark.parametrize("args", ["-tan", "-tuan", "-xa", "-uwan", "-0a", "-tanH", "-tanp"])
def test_no_queues_drops_the_two_columns(zoo_ns: ZooNamespace, args: str) -> None:
    """-Q (iproute2 6.5+): ss 6.1's rows without their queue fields (compared content for content)."""
    def ss_without_queues(*argv: str) -> NsRun:
        shown = [arg.replace("H", "") if arg.startswith("-") and not arg.startswith("--") else arg
                 for arg in argv if arg != "-Q"]
        done = zoo_ns.ss(*shown)
        lines = _without_queue_fields(done.text).splitlines(True)
        text = "".join(lines[1:] if "H" in args else lines)  # the header names the columns: dropped after
        return NsRun(done.args, done.pid, done.returncode, text.encode(), done.stderr)

    def pyss_collapsed(*argv: str) -> NsRun:
        done = zoo_ns.pyss(*argv)
        return NsRun(done.args, done.pid, done.returncode, normalise_layout(done.text).encode(), done.stderr)

    assert_matches_reference(ss_without_queues, pyss_collapsed, ["-Q", *args.split()])
    assert "Recv-Q" not in zoo_ns.pyss("-Q", *args.split()).text


# --inet-sockopt is ss 6.1's too: byte for byte, on the main zoo and on the kinds zoo's sockets
# that set every option it names.
SOCKOPT_ZOO = ["-tan --inet-sockopt", "-uan --inet-sockopt", "-tuanO --inet-sockopt", "-xa --inet-sockopt",
               "-tanp --inet-sockopt", "-0a --inet-sockopt", "-wan --inet-sockopt"]
SOCKOPT_KINDS = ["-tuan --inet-sockopt", "-Ma --inet-sockopt", "-uanO --inet-sockopt", "-tuanH --inet-sockopt"]


@pytest.mark.parametrize("args", SOCKOPT_ZOO)
def test_inet_sockopt_as_ss(zoo_ns: ZooNamespace, args: str) -> None:
    assert_matches_reference(zoo_ns.ss, zoo_ns.pyss, args.split())


@pytest.mark.parametrize("args", SOCKOPT_KINDS)
def test_inet_sockopt_options_as_ss(kinds_ns: ZooNamespace, args: str) -> None:
    assert_matches_reference(kinds_ns.ss, kinds_ns.pyss, args.split())


def test_inet_sockopt_names_every_option(kinds_ns: ZooNamespace) -> None:
    text = kinds_ns.pyss("-tuanO", "--inet-sockopt").text
    for word in ("recverr", "is_icsk", "freebind", "transparent", "bind_addr_no_port", "recverr_rfc4884",
                 "defer_connect", "mc_loop", "mc_all"):
        assert f" {word}" in text, (word, text)


# --- SCTP (no sctp_diag here): ss 6.1 as the oracle for built bytes ----------------------------
# ss's TCPDIAG_FILE reader takes a socket's protocol from INET_DIAG_PROTOCOL, so messages built to
# sctp_diag's shape, with that attribute set to IPPROTO_SCTP, make ss print them as SCTP sockets.

def _sctp_records() -> list[InetSocket]:
    protocol = attribute(INET_DIAG_PROTOCOL, bytes((IPPROTO_SCTP,)))
    locals_ = attribute(INET_DIAG_LOCALS, sctp_units.sockaddr(socket.AF_INET, "127.0.0.1")
                        + sctp_units.sockaddr(socket.AF_INET, "10.0.0.1"))
    peers = attribute(INET_DIAG_PEERS, sctp_units.sockaddr(socket.AF_INET, "127.0.0.2"))
    info = attribute(INET_DIAG_INFO, sctp_units.sctp_info())
    skmem = attribute(INET_DIAG_SKMEMINFO, struct.pack("=9I", *range(1, 10)))
    endpoint = captured.TCP_LISTEN4._replace(state=10, sport=2905, dport=0, inode=5000, timer=0, rqueue=0,
                                             wqueue=5, protocol=IPPROTO_SCTP, attrs=protocol + locals_ + skmem)
    established = endpoint._replace(state=3, dport=40000, dst=socket.inet_aton("127.0.0.2"), timer=1, expires=1500,
                                    retrans=2, rqueue=7, attrs=protocol + locals_ + peers + info + skmem)
    short_info = attribute(INET_DIAG_INFO, sctp_units.sctp_info()[:56])  # an older kernel's shorter struct
    cookie_echoed = established._replace(state=2, dport=40001, timer=0, attrs=protocol + short_info)
    other = endpoint._replace(sport=2906, inode=5001, attrs=protocol)
    return [endpoint, established, cookie_echoed, other, other._replace(state=3, dport=3, attrs=protocol)]


def _pyss_text(records: list[InetSocket], flags: list[str], table: str = "sctp") -> str:
    """What pyss prints for these records as the one table of a listing (ss -taHOn FLAGS)."""
    details = details_for(flags)
    query = Query(tables=TABLE_BIT[table], families=1 << socket.AF_INET, states=STATES_ALL, details=details)
    builder = RowBuilder(query, record_details(details))
    out = io.StringIO()
    writer = SsWriter(out, builder.columns(), None)
    writer.extend(map(builder.row_function(InetSocket), records))
    writer.close()
    return out.getvalue()


@needs_ss
@pytest.mark.parametrize("flags", [[], ["-o"], ["-e"], ["-i"], ["-m"], ["-o", "-e", "-i", "-m"]], ids=" ".join)
def test_sctp_rows_as_ss_prints_them(flags: list[str], tmp_path: Path) -> None:
    records = _sctp_records()
    dump = tmp_path / "sctpdiag"
    dump.write_bytes(b"".join(map(diag_message, records)) + struct.pack("=IHHIIi", 20, NLMSG_DONE, 2, 0, 0, 0))
    done = subprocess.run(["ss", "-taHOn", *flags], env={**TOOL_ENV, "TCPDIAG_FILE": str(dump)},
                          capture_output=True, text=True, timeout=20, check=True)
    assert "`- ESTAB" in done.stdout and "`- COOKIE_ECHOED" in done.stdout, done.stdout
    assert _pyss_text(records, flags) == done.stdout


def test_sctp_without_sctp_diag_is_said_once(kinds_ns: ZooNamespace) -> None:
    done = kinds_ns.pyss("-Sa")
    if done.stderr == b"":
        pytest.skip("this kernel has sctp_diag: the live comparisons apply instead")
    assert done.returncode == 0
    assert done.stderr.decode().splitlines() == ["pyss: sctp: the kernel cannot list these sockets "
                                                 "(No such file or directory)"]
    assert done.stdout.decode().splitlines()[1:] == []


@needs_ss
@pytest.mark.parametrize("flags", [[], ["-o", "-e", "-i"]], ids=" ".join)
def test_dccp_rows_as_ss_prints_them(flags: list[str], tmp_path: Path) -> None:
    """DCCP sockets are inet_diag's like TCP's (tcp_info included); only their Netid differs."""
    protocol = attribute(INET_DIAG_PROTOCOL, bytes((IPPROTO_DCCP,)))
    records = [record._replace(protocol=IPPROTO_DCCP, attrs=protocol + record.attrs)
               for record in (captured.TCP_LISTEN4, captured.TCP_ESTAB_RECEIVER)]
    dump = tmp_path / "dccpdiag"
    dump.write_bytes(b"".join(map(diag_message, records)) + struct.pack("=IHHIIi", 20, NLMSG_DONE, 2, 0, 0, 0))
    done = subprocess.run(["ss", "-taHOn", *flags], env={**TOOL_ENV, "TCPDIAG_FILE": str(dump)},
                          capture_output=True, text=True, timeout=20, check=True)
    pyss_text = _pyss_text(records, flags, "dccp")
    assert pyss_text.count("\n") == 2
    # (pyss's rcv_wnd, which ss 6.1 does not print, also widens the padding of the last column)
    assert _unpadded(without_newer(pyss_text)) == _unpadded(done.stdout)


def _unpadded(text: str) -> str:
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


# --- VSOCK, TIPC, XDP: live where the kernel has their diag modules ------------------------------
# (Compared on built bytes everywhere in test_kinds_built.py.)

_KIND_FLAGS = {"vsock": "--vsock", "tipc": "--tipc", "xdp": "--xdp"}


@pytest.mark.parametrize("kind", sorted(_KIND_FLAGS))
def test_a_missing_kind_module_is_said_once(kinds_ns: ZooNamespace, kind: str) -> None:
    done = kinds_ns.pyss(_KIND_FLAGS[kind], "-a")
    if done.stderr == b"":
        pytest.skip(f"this kernel has {kind}'s diag module: the live comparison applies instead")
    assert done.returncode == 0
    assert done.stderr.decode().splitlines() == [f"pyss: {kind}: the kernel cannot list these sockets "
                                                 "(No such file or directory)"]
    assert done.stdout.decode().splitlines()[1:] == []
    assert kinds_ns.pyss("-a").stderr == b"", "a listing that did not name the kind says nothing, as ss"


def _own_socket(family: int, kind: int) -> socket.socket:
    try:
        return socket.socket(family, kind)
    except OSError as error:
        pytest.skip(f"this kernel cannot open such a socket (family {family}): {error.strerror}")


def _live_pair(args: list[str]) -> tuple[subprocess.CompletedProcess[bytes], subprocess.CompletedProcess[bytes]]:
    from tests.integration.harness import PYSS

    pyss = subprocess.run([str(PYSS), *args], env=TOOL_ENV, capture_output=True, timeout=20, check=False)
    if b"the kernel cannot list these sockets" in pyss.stderr:
        pytest.skip(f"this kernel lacks the diag module: {pyss.stderr.decode().strip()}")
    ss = subprocess.run(["ss", *args], env=TOOL_ENV, capture_output=True, timeout=20, check=False)
    return ss, pyss


@pytest.mark.parametrize("args", ["--vsock -a", "--vsock -l", "--vsock -an", "--vsock -ap", "-A v_str -a"])
def test_live_vsock_as_ss(args: str) -> None:
    """VSOCK sockets belong to no network namespace: this runs in the test's own."""
    if missing_prerequisites():
        pytest.skip(missing_prerequisites() or "")
    listener = _own_socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    with listener:
        listener.bind((socket.VMADDR_CID_ANY, 52001))
        listener.listen()
        ss, pyss = _live_pair(args.split())
        assert ":52001" in ss.stdout.decode(), ss.stdout.decode()
        assert (pyss.returncode, pyss.stdout.decode()) == (ss.returncode, ss.stdout.decode())


@pytest.mark.parametrize("args", ["--xdp", "--xdp -e", "--xdp -em", "--xdp -p"])
def test_live_xdp_as_ss(args: str) -> None:
    if missing_prerequisites():
        pytest.skip(missing_prerequisites() or "")
    with _own_socket(AF_XDP, socket.SOCK_RAW):
        ss, pyss = _live_pair(args.split())
        assert len(ss.stdout.splitlines()) > 1, "ss lists the socket this test opened"
        assert (pyss.returncode, pyss.stdout.decode()) == (ss.returncode, ss.stdout.decode())


@pytest.mark.parametrize("args", ["--tipc -a", "--tipc -ae --tipcinfo"])
def test_live_tipc_as_ss(args: str) -> None:
    if missing_prerequisites():
        pytest.skip(missing_prerequisites() or "")
    with _own_socket(AF_TIPC, socket.SOCK_RDM):
        ss, pyss = _live_pair(args.split())
        assert (pyss.returncode, pyss.stdout.decode()) == (ss.returncode, ss.stdout.decode())
