"""pyss --count-by on the zoo: each key's groups equal what `ss ... | awk | sort | uniq -c` counts."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from tests.integration import harness
from tests.integration.harness import TOOL_ENV, ZooNamespace

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: private netns with the socket zoo"),
    pytest.mark.skipif(shutil.which("ss", path=TOOL_ENV["PATH"]) is None, reason="needs iproute2's ss"),
]

# awk programs printing one field of each row of `ss -H ARGS` (the users:(...) field: the first holder).
FIRST_USER = r'''{ if (match($0, /users:\(\("[^"]*",pid=[0-9]+/)) { u = substr($0, RSTART, RLENGTH);
                   sub(/users:\(\("/, "", u); split(u, p, "\",pid="); print %s } else print "-" }'''
UID = r'''{ if (match($0, / uid:[0-9]+/)) print substr($0, RSTART + 5, RLENGTH - 5); else print 0 }'''


def address(endpoint: str) -> str:
    """ss's "[::1]:22", "0.0.0.0%lo:80", "*:5353" -> the address alone, as pyss's key spells it."""
    text = endpoint.rpartition(":")[0].partition("%")[0].strip("[]")
    return "::" if text == "*" else text


def port(endpoint: str) -> int:
    text = endpoint.rpartition(":")[2]
    return 0 if text == "*" else int(text)


def interface(endpoint: str) -> str | None:
    local = endpoint.rpartition(":")[0]
    return local.partition("%")[2] or None if "%" in local else None


def nothing(value: str) -> Any:
    return None if value == "-" else value


# key -> (ss flags, awk program, how the field reads as a pyss key value)
CASES: dict[str, tuple[str, str, Callable[[str], Any]]] = {
    "state": ("-tuan", "{print $2}", str),
    "netid": ("-tuwan", "{print $1}", str),
    "local-address": ("-tuan", "{print $5}", address),
    "local-port": ("-tuan", "{print $5}", port),
    "peer-address": ("-tan", "{print $5}", address),
    "peer-port": ("-tan", "{print $5}", port),
    "interface": ("-tuan", "{print $5}", interface),
    "process": ("-tanp", FIRST_USER % "p[1]", nothing),
    "pid": ("-tanp", FIRST_USER % "p[2]", lambda value: None if value == "-" else int(value)),
    "uid": ("-tane", UID, int),
}


def ss_counts(zoo_ns: ZooNamespace, flags: str, program: str, read: Callable[[str], Any]) -> Counter[Any]:
    pipeline = f"ss -H {flags} | awk '{program}' | sort | uniq -c"
    done = subprocess.run(["ip", "netns", "exec", zoo_ns.name, "sh", "-c", pipeline], capture_output=True,
                          text=True, env=TOOL_ENV, timeout=30, check=True)
    counts: Counter[Any] = Counter()
    for line in done.stdout.splitlines():
        number, _, value = line.strip().partition(" ")
        counts[read(value)] += int(number)  # several ss spellings may be one key (*:5353 and [::]:5353)
    return counts


def pyss_counts(zoo_ns: ZooNamespace, flags: str, key: str) -> Counter[Any]:
    run = zoo_ns.pyss(flags, "--count-by", key, "--json")
    assert run.returncode == 0, run.stderr.decode()
    field = key.replace("-", "_")
    return Counter({group[field]: group["count"] for group in json.loads(run.text)})


@pytest.mark.parametrize("key", list(CASES))
def test_groups_equal_the_awk_pipeline(zoo_ns: ZooNamespace, key: str) -> None:
    flags, program, read = CASES[key]
    expected = ss_counts(zoo_ns, flags, program, read)
    assert sum(expected.values()) >= 5
    assert pyss_counts(zoo_ns, flags, key) == expected


def test_the_netid_column_counts_every_table(zoo_ns: ZooNamespace) -> None:
    counts = pyss_counts(zoo_ns, "-tuwan", "netid")
    assert set(counts) == {"tcp", "udp", "raw"}


def test_two_keys_and_a_filter(zoo_ns: ZooNamespace) -> None:
    flags = ("-tan", "sport", "<", ":40000")
    run = zoo_ns.pyss(*flags, "--count-by", "state,local-port", "--json")
    groups = {(group["state"], group["local_port"]): group["count"] for group in json.loads(run.text)}
    rows = zoo_ns.ss("-H", *flags).text.splitlines()
    expected = Counter((row.split()[0], port(row.split()[3])) for row in rows)
    assert groups == dict(expected)


def test_text_is_a_table_largest_first_and_top_cuts_it(zoo_ns: ZooNamespace) -> None:
    run = zoo_ns.pyss("-tuan", "--count-by", "state")
    lines = run.text.splitlines()
    assert lines[0].split() == ["Count", "State"]
    counts = [int(line.split()[0]) for line in lines[1:]]
    assert counts == sorted(counts, reverse=True) and len(counts) >= 3
    assert len({line.index(line.split()[1]) for line in lines}) == 1, "the State column is aligned"
    top = zoo_ns.pyss("-tuan", "--count-by", "state", "--top", "2").text.splitlines()
    assert [line.split() for line in top] == [line.split() for line in lines[:3]]


@pytest.mark.parametrize(("args", "message"), [
    (("--count-by", "colour"), "unknown --count-by key 'colour' (keys: state, netid, local-address"),
    (("--count-by", "netns"), "--count-by netns needs --all-netns"),
    (("--top", "3"), "--top needs --count-by"),
    (("--count-by", "state", "--top", "0"), "--top needs a positive whole number"),
    (("--count-by", "state", "--top", "x"), "--top needs a positive whole number"),
])
def test_bad_keys_are_refused(zoo_ns: ZooNamespace, args: tuple[str, ...], message: str) -> None:
    run = zoo_ns.pyss("-tan", *args)
    assert run.returncode == 255
    assert run.stdout == b""
    assert message in run.stderr.decode()
    assert len(run.stderr.splitlines()) == 1


# Counting by state and table reads each socket's state straight from the receive buffers, TCP's two
# families in one TCPDIAG_GETSOCK dump; a family asked for alone still gets a dump of its own.
@pytest.mark.parametrize(("flags", "program"), [
    ("-tan", '{print "tcp", $1}'), ("-tan4", '{print "tcp", $1}'), ("-tan6", '{print "tcp", $1}'),
    ("-uan6", '{print "udp", $1}'), ("-tuan", "{print $1, $2}"), ("-tuwan", "{print $1, $2}"),
])
def test_state_counts_of_each_family_equal_the_awk_pipeline(zoo_ns: ZooNamespace, flags: str, program: str) -> None:
    expected = ss_counts(zoo_ns, flags, program, str)
    run = zoo_ns.pyss(flags, "--count-by", "netid,state", "--json")
    assert run.returncode == 0, run.stderr.decode()
    assert Counter({f"{group['netid']} {group['state']}": group["count"] for group in json.loads(run.text)}) == expected
    assert sum(expected.values()) >= 3


REFUSED_TCPDIAG = """
import sys
from pyss.cli import ss
from pyss.netlink import requests
requests.tcpdiag_request = lambda states: requests.inet_request(0, 6, states)  # AF_UNSPEC: the kernel refuses it
sys.exit(ss.main(sys.argv[1:]))
"""


def test_a_refused_tcpdiag_request_falls_back_to_one_dump_per_family(zoo_ns: ZooNamespace) -> None:
    expected = ss_counts(zoo_ns, "-tan", "{print $1}", str)
    run = zoo_ns.run_in_ns([sys.executable, "-c", REFUSED_TCPDIAG, "-tan", "--count-by", "state", "--json"])
    assert run.returncode == 0 and run.stderr == b"", run.stderr.decode()
    assert Counter({group["state"]: group["count"] for group in json.loads(run.text)}) == expected


# An MPTCP listener and one connection to it: counted as ss lists them with -A tcp,mptcp (netid "mptcp").
MPTCP_HOLDER = """
import socket, sys
IPPROTO_MPTCP = 262
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
server.bind(("127.0.0.1", 5555))
server.listen(4)
client = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
client.connect(("127.0.0.1", 5555))
accepted = server.accept()[0]
print("ready", flush=True)
sys.stdin.read()
"""


def _kernel_has_mptcp() -> bool:
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _kernel_has_mptcp(), reason="needs a kernel with MPTCP sockets")
@pytest.mark.parametrize("key", ["netid", "state", "local-address", "peer-port", "process", "uid"])
def test_mptcp_sockets_are_counted_like_the_awk_pipeline(key: str) -> None:
    """Every key counts MPTCP rows too (netid "mptcp"); a key read from a socket's public form once
    stopped the count with a KeyError traceback at the first MPTCP, SCTP or DCCP row."""
    programs: dict[str, tuple[str, str, Callable[[str], Any]]] = {
        "netid": ("-an", "{print $1}", str), "state": ("-an", "{print $2}", str),
        "local-address": ("-an", "{print $5}", address), "peer-port": ("-an", "{print $6}", port),
        "process": ("-anp", FIRST_USER % "p[1]", nothing), "uid": ("-ane", UID, int),
    }
    flags, program, read = programs[key]
    with harness.script_namespace("count-mptcp", MPTCP_HOLDER) as name:
        ns = SimpleNamespace(name=name)
        expected = ss_counts(ns, f"-A tcp,mptcp {flags}", program, read)  # type: ignore[arg-type]
        run = harness.run_command(["ip", "netns", "exec", name, str(harness.PYSS), "-A", "tcp,mptcp", flags,
                                   "--count-by", key, "--json"], ["pyss"], timeout=harness.TOOL_TIMEOUT)
    assert run.returncode == 0 and not harness.has_traceback(run.stderr), run.stderr.decode()
    field = key.replace("-", "_")
    assert Counter({group[field]: group["count"] for group in json.loads(run.text)}) == expected
    assert sum(expected.values()) >= 3  # the MPTCP sockets and their TCP subflows
