"""Differential tests of the filter language: pyss selects what ss selects.

Each expression runs through ``ss`` and through pyss inside the zoo namespace
(tests/integration/zoo.py: TCP in many states over IPv4, IPv6 and v4-mapped,
a device-bound listener, UDP, UNIX, PACKET, NETLINK). Rows are compared as
sets of their identifying columns (queues are left out: they may move between
two runs). Two pyss paths are checked: the ``pyss`` command, and the compiler
driven directly (kernel bytecode + predicate, and predicate alone), which
pins the compiler down even where the CLI adds its own behaviour.
"""

from __future__ import annotations

import ctypes
import errno
import ipaddress
import os
import random
import shlex
import shutil
import struct
import sys
from collections.abc import Iterator

import pytest

from pyss.filter import FilterError, compile_filter
from pyss.filter.compiled import CompiledFilter
from pyss.netlink import decode, requests, transport
from pyss.netlink.constants import (
    AF_INET,
    AF_INET6,
    AF_PACKET,
    AF_UNIX,
    INET_DIAG_CGROUP_ID,
    INET_DIAG_MARK,
    IPPROTO_TCP,
    IPPROTO_UDP,
    PACKET_SHOW_INFO,
    PACKET_SHOW_MEMINFO,
    UDIAG_SHOW_NAME,
    UDIAG_SHOW_PEER,
    UDIAG_SHOW_RQLEN,
)
from pyss.records import InetSocket, SocketRecord
from tests.integration.harness import NsRun, ZooNamespace, without_own_rows
from tests.unit.filter import kernel_model

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: runs sockets in a private network namespace")

# Expressions for `-tan`: every form of the grammar, nested and negated.
TCP_EXPRESSIONS = [
    "dport = :22", "sport = :22", "sport == :ssh", "dport eq :http", "sport != :22", "dport neq :80",
    "sport > :40000", "sport < :1024", "sport >= :47001", "sport <= :80", "dport gt :40000", "dport lt :100",
    "sport ge :47001", "sport le :22", "sport = 22", "dport = :0x50", "sport = *:22", "dport = *",
    "dst 127.0.0.1", "src 127.0.0.1", "src = 127.0.0.1", "src [::1]", "dst [::1]:22", "src [::1]:443",
    "src 127.0.0.0/8", "dst 127/8", "src 0.0.0.0/0", "dst ::/0", "src ::/0", "src [::]", "src 0.0.0.0",
    "src [::ffff:127.0.0.1]", "src 127.0.0.1:8080", "src *:22", "dst *:80", "src *", "src 127.0.0.1/255.0.0.0",
    "src localhost", "dst localhost:80", "src inet6:[::1]", "src inet:127.0.0.1", "src default", "dst any",
    "dev lo", "dev = lo", "dev != lo", "dev 1", "dev if1", "not dev lo and sport = :47010", "dev lo or sport = :22",
    "dev lo and src 0.0.0.0", "fwmark = 0", "fwmark 0x0/0x0", "fwmark != 1", "fwmark = 0/0xff",
    "autobound", "not autobound", "autobound and dport = :80",
    "sport = :22 or dport = :22", "sport = :22 dport = :40007", "! sport = :22",
    "not ( sport = :22 or sport = :80 )", "sport = :22 or sport = :80 and dst 127.0.0.1",
    "( sport > :40000 and sport < :40010 ) or ( dport > :40000 and dport < :40010 )", "not not sport = :80",
    "src 127.0.0.1 and not dst 127.0.0.1:80", "sport = :22 || dport = :22 && src [::1]",
    "sport = :22 | sport = :443 & not src [::1]", "( ( sport = :80 ) )", "not ( not ( dport = :80 or dport = :443 ) )",
    "state established", "state listening", "state time-wait", "state syn-sent", "state fin-wait-2",
    "state close-wait", "exclude established", "excl listening", "state connected", "state synchronized",
    "state bucket", "state big", "state all", "state ESTABLISHED", "state established state listening",
    "exclude listening exclude established", "state established dport = :22", "state closed", "state syn-rcv",
    "state listening ( sport = :22 or sport = :80 )", "state unknown", "state all sport = :22",
]
# Expressions ss refuses: pyss must refuse them with ss's exit status.
BAD_EXPRESSIONS = [
    "dport = :bogus", "src 300.1.1.1", "state bogus", "sport = :22 )", "( sport = :22", "dst", "not",
    "10.0.0.1", "dst [::1", "fwmark = x", "dev nosuchdev0", "cgroup /nonexistent-pyss", "sport = :22 and",
    "src 1.2.3.4/33", ") sport = :bogus", "src ::1", "(sport = :22)", "dst != 127.0.0.1", "state", "fwmark = 5/",
    "sport = :22 :23", "dport > dst", "nosuchhost.invalid",
    "cgroup /sys", "cgroup /proc",  # no file handle on sysfs or procfs, and no such cgroup (nor a cgroup2 mount)
]
UDP_EXPRESSIONS = ["sport = :53", "dport = :5353", "src [::1]", "sport = :domain", "sport = :ntp or sport > :7000",
                   "not src 0.0.0.0", "dev lo", "dst 127.0.0.1:53"]
UNIX_EXPRESSIONS = ["src unix:*stream*", "dst *", "autobound", "src unix:?pyss-zoo-abstract-dgram",
                    "src unix:*.SOCK or src unix:@*", "not src unix:*abstract*"]
# Under -x, bare values are unix path patterns (ss reads them in its preferred family).
UNIX_BARE_EXPRESSIONS = ["src *stream*", "src @pyss*", "src *.sock", "not src *abstract*", "src *STREAM.SOCK",
                         "src [!@]*"]
# Expressions over every table (`-a`): packet and netlink forms, and family-limiting prefixes.
ALL_EXPRESSIONS = ["dev lo", "autobound", "sport = :22 or dev lo", "not autobound and dev lo", "sport = :1",
                   "dst 0.0.0.0/8 and not dev lo"]
# A prefixed value limits ss's dump to its family (`link:` only packet sockets, ...): the CLI
# must narrow Query.families to CompiledFilter.families.
ALL_FAMILY_EXPRESSIONS = ["src netlink:rtnl", "src netlink:audit:2000000001", "src inet6:[::1]", "src unix:*",
                          "src link:ip", "src link:all", "src link:*:lo", "sport = :22 or src link:ip",
                          "autobound and not src unix:*"]


def _rows(run: NsRun) -> set[tuple[str, ...]]:
    """Identifying columns of each row: netid (if any), state, local, peer; never the queues."""
    rows = set()
    for line in without_own_rows(run).kept:
        fields = line.split()
        if not fields:
            continue
        netid = fields[0] in ("tcp", "udp", "raw", "u_str", "u_dgr", "u_seq", "p_raw", "p_dgr", "nl")
        head = fields[:2] if netid else fields[:1]
        rows.add((*head, *fields[len(head) + 2:]))
    return rows


def _compare(zoo_ns: ZooNamespace, options: str, expression: str) -> None:
    args = [*options.split(), *shlex.split(expression)]
    expected, actual = zoo_ns.ss(*args), zoo_ns.pyss(*args)
    assert b"Traceback" not in actual.stderr, actual.stderr.decode()
    assert actual.returncode == expected.returncode, (
        f"{args}: ss exited {expected.returncode}, pyss {actual.returncode}: {actual.stderr.decode()}")
    assert _rows(actual) == _rows(expected), (
        f"{args}\nonly ss: {sorted(_rows(expected) - _rows(actual))}\nonly pyss: {sorted(_rows(actual) - _rows(expected))}")


@pytest.mark.parametrize("expression", TCP_EXPRESSIONS)
def test_tcp_selection_matches_ss(zoo_ns: ZooNamespace, expression: str) -> None:
    _compare(zoo_ns, "-tanH", expression)


@pytest.mark.parametrize("expression", UDP_EXPRESSIONS)
def test_udp_selection_matches_ss(zoo_ns: ZooNamespace, expression: str) -> None:
    _compare(zoo_ns, "-uanH", expression)


@pytest.mark.parametrize("expression", UNIX_EXPRESSIONS)
def test_unix_selection_matches_ss(zoo_ns: ZooNamespace, expression: str) -> None:
    _compare(zoo_ns, "-xanH", expression)


@pytest.mark.parametrize("expression", UNIX_BARE_EXPRESSIONS)
def test_unix_bare_patterns_match_ss(zoo_ns: ZooNamespace, expression: str) -> None:
    _compare(zoo_ns, "-xanH", expression)


@pytest.mark.parametrize("expression", ALL_EXPRESSIONS)
def test_all_tables_selection_matches_ss(zoo_ns: ZooNamespace, expression: str) -> None:
    _compare(zoo_ns, "-anH", expression)


@pytest.mark.parametrize("expression", ALL_FAMILY_EXPRESSIONS)
def test_family_prefixes_narrow_the_dump_like_ss(zoo_ns: ZooNamespace, expression: str) -> None:
    _compare(zoo_ns, "-anH", expression)


def test_multi_address_names_like_ss(zoo_ns: ZooNamespace) -> None:
    """A name with an IPv4 and an IPv6 address (ip netns exec mounts /etc/netns/NS/hosts over /etc/hosts)."""
    directory = f"/etc/netns/{zoo_ns.name}"
    os.makedirs(directory, exist_ok=True)
    try:
        with open(f"{directory}/hosts", "w", encoding="ascii") as hosts:
            hosts.write("127.0.0.1 localhost\n127.0.0.1 pyss-dual\n::1 pyss-dual\n")
        for expression in ("dst pyss-dual", "src pyss-dual:22", "not dst pyss-dual", "src pyss-dual or dport = :443"):
            _compare(zoo_ns, "-tanH", expression)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.parametrize(("options", "expression"), [
    ("-tanH", "state established exclude established sport = :22"),  # -a forgotten: tcp's connected states
    ("-tanH", "exclude all"),
    ("-anH", "state established exclude established"),
    ("-H", "exclude all"),  # no table named: the connected states of every table
    ("-xH", "exclude all"),
    ("-0H", "exclude all"),  # packet's default state (UNCONN)
    ("-HA tcp,udp", "exclude all"),
    ("-lH", "state listening exclude listening"),
    ("-tuanH", "exclude connected exclude listening exclude closed exclude bucket"),
])
def test_state_words_leaving_no_state_fall_back_like_ss(zoo_ns: ZooNamespace, options: str, expression: str) -> None:
    """ss keeps its default states when the state words leave none; pyss used to list nothing."""
    _compare(zoo_ns, options, expression)
    listing = zoo_ns.pyss(*options.split(), *shlex.split(expression))
    assert listing.stdout.count(b"\n") > 0 and b"no socket states" not in listing.stderr


@pytest.mark.parametrize("expression", BAD_EXPRESSIONS)
def test_bad_filter_exits_like_ss(zoo_ns: ZooNamespace, expression: str) -> None:
    args = ["-tanH", *shlex.split(expression)]
    expected, actual = zoo_ns.ss(*args), zoo_ns.pyss(*args)
    assert expected.returncode != 0, f"ss accepted {args}; the case is wrong"
    assert actual.returncode == expected.returncode, actual.stderr.decode()
    lines = actual.stderr.decode().splitlines()
    assert len(lines) == 1 and "bad filter" in lines[0], lines


# --- the compiler driven directly -----------------------------------------------------

CLONE_NEWNET = 0x40000000
_SS_STATES = {"ESTAB": 1, "SYN-SENT": 2, "SYN-RECV": 3, "FIN-WAIT-1": 4, "FIN-WAIT-2": 5, "TIME-WAIT": 6,
              "UNCONN": 7, "CLOSE-WAIT": 8, "LAST-ACK": 9, "LISTEN": 10, "CLOSING": 11}
Endpoint = tuple[str, int]


def _endpoint(text: str) -> Endpoint:
    host, _, port = text.rpartition(":")
    host = host.split("%")[0].strip("[]")
    return str(ipaddress.ip_address("::" if host == "*" else host)), int(port)


def _ss_tuples(run: NsRun, states: int | None) -> set[tuple[int, Endpoint, Endpoint]]:
    found = set()
    for line in run.text.splitlines():
        fields = line.split()
        if len(fields) == 4:  # one state asked for: ss leaves the State column out
            assert states is not None and states.bit_count() == 1
            fields.insert(0, next(name for name, bit in _SS_STATES.items() if states == 1 << bit))
        state, _rq, _sq, local, peer = fields[:5]
        found.add((_SS_STATES[state], _endpoint(local), _endpoint(peer.replace(":*", ":0"))))
    return found


def _address(packed: bytes, dual: bool) -> str:
    address = ipaddress.ip_address(packed)
    return "::" if dual and address == ipaddress.ip_address("::") else str(address)


def _diag_in(name: str) -> transport.DiagSocket:
    """A sock_diag socket created inside the namespace (a socket keeps the netns it was made in)."""
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
        try:
            return transport.DiagSocket()
        finally:
            libc.setns(home, CLONE_NEWNET)
    finally:
        os.close(target)
        os.close(home)


def _dump(zoo_ns: ZooNamespace, compiled: CompiledFilter, states: int) -> Iterator[InetSocket]:
    for family in (AF_INET, AF_INET6):
        if compiled.families is not None and not compiled.families >> family & 1:
            continue
        message = requests.inet_request(family, IPPROTO_TCP, states, 0, compiled.bytecode(family, IPPROTO_TCP))
        with _diag_in(zoo_ns.name) as diag:
            yield from (r for r in decode.walk(diag.request(message), decode.inet_decoder(IPPROTO_TCP)) if compiled(r))


def _direct(zoo_ns: ZooNamespace, compiled: CompiledFilter) -> set[tuple[int, Endpoint, Endpoint]]:
    states = compiled.states if compiled.states is not None else (1 << 12) - 1
    return {(r.state, (_address(r.src, True), r.sport), (_address(r.dst, True), r.dport))
            for r in _dump(zoo_ns, compiled, states)}


@pytest.mark.parametrize("expression", TCP_EXPRESSIONS)
def test_compiler_selects_like_ss(zoo_ns: ZooNamespace, expression: str) -> None:
    words = shlex.split(expression)
    compiled = compile_filter(words, service_protocols=("tcp",))
    expected = _ss_tuples(zoo_ns.ss("-tanH", *words), compiled.states)
    assert _direct(zoo_ns, compiled) == expected
    if compiled.kernel_bytecode is not None:
        # The kernel accepted the program (no DumpError above); without it the rows differ only
        # where ss's own check and the kernel's disagree, which these expressions avoid or pin.
        assert compiled.without_bytecode().bytecode(AF_INET, IPPROTO_TCP) is None


def _inodes(run: NsRun) -> set[int]:
    """Socket inodes of ss's rows: a unix row's local "port" column, a packet row's `ino:` detail (-e).

    Unix rows are read without -e (their `ino:` detail is the path's inode) and from
    the right, since a path may hold spaces: ... INODE * PEER_INODE.
    """
    found = set()
    for line in run.text.splitlines():
        fields = line.split()
        if fields and fields[0].startswith("u_"):
            found.add(int(fields[-3]))
        elif fields and fields[0].startswith("p_"):
            found.update(int(f[4:]) for f in fields if f.startswith("ino:"))
    return found


def _dump_other(zoo_ns: ZooNamespace, family: int, compiled: CompiledFilter) -> set[int]:
    if compiled.families is not None and not compiled.families >> family & 1:
        return set()
    if family == AF_UNIX:
        message = requests.unix_request((1 << 12) - 1, UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN)
        decoder: decode.Decoder[SocketRecord] = decode.decode_unix
    else:
        message = requests.packet_request(PACKET_SHOW_INFO | PACKET_SHOW_MEMINFO)
        decoder = decode.decode_packet
    with _diag_in(zoo_ns.name) as diag:
        return {r.inode for r in decode.walk(diag.request(message), decoder) if compiled(r)}


@pytest.mark.parametrize(("option", "family", "expression"), [
    *(("-x", AF_UNIX, e) for e in UNIX_EXPRESSIONS + UNIX_BARE_EXPRESSIONS),
    ("-a", AF_UNIX, "src unix:/nonexistent or src *stream*"),  # a prefix switches later values' family
    *(("-0", AF_PACKET, e) for e in ["src link:ip", "src ip", "src all", "src *:lo", "src :lo", "dev lo",
                                     "not dev lo", "autobound", "sport = :1", "src link:ipv6 or dev 1", "src link:lldp", "src link:ipv4"]),
])
def test_compiler_selects_unix_and_packet_like_ss(zoo_ns: ZooNamespace, option: str, family: int,
                                                  expression: str) -> None:
    words = shlex.split(expression)
    expected = _inodes(zoo_ns.ss(f"{option}anH" + ("e" if family == AF_PACKET else ""), *words))
    compiled = compile_filter(words, preferred_family=family if option != "-a" else 0)
    assert _dump_other(zoo_ns, family, compiled) == expected


@pytest.mark.parametrize("expression", ["src localhost", "dst 127.0.0.0/8 or dst [::1]", "sport > :70000",
                                        "dport < :70000", "fwmark = 0"])
def test_kernel_accepts_the_bytecode(zoo_ns: ZooNamespace, expression: str) -> None:
    compiled = compile_filter(shlex.split(expression))
    assert compiled.kernel_bytecode is not None
    list(_dump(zoo_ns, compiled, (1 << 12) - 1))  # raises DumpError if the kernel refuses it


def test_kernel_accepts_a_60k_program(zoo_ns: ZooNamespace) -> None:
    compiled = compile_filter(" or ".join(f"sport = :{port}" for port in range(1, 3001)).split())
    assert compiled.kernel_bytecode is not None and len(compiled.kernel_bytecode) > 59_000
    expected = _ss_tuples(zoo_ns.ss("-tanH", "sport", "<=", ":3000"), None)
    assert _direct(zoo_ns, compiled) == expected


def test_udp_service_names_follow_the_table(zoo_ns: ZooNamespace) -> None:
    compiled = compile_filter(["sport", "=", ":domain"], service_protocols=("udp",))
    message = requests.inet_request(AF_INET, IPPROTO_UDP, (1 << 12) - 1, 0, compiled.bytecode(AF_INET, IPPROTO_UDP))
    with _diag_in(zoo_ns.name) as diag:
        ports = {r.sport for r in decode.walk(diag.request(message), decode.inet_decoder(IPPROTO_UDP)) if compiled(r)}
    assert ports == {53}


def test_unknown_service_is_refused_like_ss() -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter(["sport", "=", ":no-such-service"])
    assert caught.value.status == 1


# --- the kernel model used by the unit tests, checked against the kernel itself -------------

_MODEL_SEEDS = ["sport = :22", "dst 127.0.0.0/8 or dport = :443", "not ( sport > :40000 and src [::1] )",
                "dev lo or fwmark = 0/0xff", "sport >= :80 and dport <= :47001 and not dst 127.0.0.1:80"]


def _ops(program: bytes) -> list[int]:
    """Offsets of the ops on the `yes` chain (where the kernel's audit looks for codes)."""
    offsets, at = [], 0
    while at + 4 <= len(program):
        offsets.append(at)
        step = program[at + 1]
        if step < 4:
            break
        at += step
    return offsets


def _mutate(rng: random.Random, program: bytes) -> bytes:
    data = bytearray(program)
    at = rng.choice(_ops(program))
    choice = rng.randrange(5)
    if choice == 0:
        data[at + 1] = rng.choice([0, 2, 4, 8, 12, 16, 20, 28, 32, 255])  # yes
    elif choice == 1:
        struct.pack_into("=H", data, at + 2, rng.choice([0, 4, 6, 8, 12, 16, 20, 24, 32, len(data) + 4, 400]))
    elif choice == 2:
        data[at] = rng.randrange(16)  # code
    elif choice == 3:
        data = data[: max(4, len(data) - 4)]
    elif at + 4 < len(data):
        data[at + 4] = rng.choice([0, 1, 2, 10, 17])  # a hostcond's family (or operand bytes)
    return bytes(data)


def _entry(record: InetSocket) -> kernel_model.Entry:
    attrs = decode.inet_attributes(record)
    mark = int.from_bytes(attrs.get(INET_DIAG_MARK, bytes(4)), sys.byteorder)
    cgroup = int.from_bytes(attrs.get(INET_DIAG_CGROUP_ID, bytes(8)), sys.byteorder)
    return kernel_model.Entry(record.family, record.sport, record.dport, record.src, record.dst, record.ifindex,
                              mark, cgroup)


def _raw_dump(zoo_ns: ZooNamespace, program: bytes | None) -> set[InetSocket]:
    found: set[InetSocket] = set()
    for family in (AF_INET, AF_INET6):
        message = requests.inet_request(family, IPPROTO_TCP, (1 << 12) - 1, 0, program)
        with _diag_in(zoo_ns.name) as diag:
            found.update(r._replace(attrs=b"", expires=0, rqueue=0, wqueue=0, timer=0, retrans=0)
                         for r in decode.walk(diag.request(message), decode.inet_decoder(IPPROTO_TCP)))
    return found


def test_kernel_model_agrees_with_the_kernel(zoo_ns: ZooNamespace) -> None:
    """Mutated programs: the model's audit accepts exactly what the kernel accepts, and selects what it selects."""
    rng = random.Random(20260101)
    seeds = [compile_filter(shlex.split(text)).kernel_bytecode for text in _MODEL_SEEDS]
    everything = {r._replace(attrs=b"", expires=0, rqueue=0, wqueue=0, timer=0, retrans=0): _entry(r)
                  for r in _raw_dump_with_attrs(zoo_ns)}
    verdicts = {True: 0, False: 0}
    for _ in range(150):
        seed = rng.choice(seeds)
        assert seed is not None
        program = _mutate(rng, seed)
        try:
            selected = _raw_dump(zoo_ns, program)
            accepted = True
        except decode.DumpError as error:
            assert error.errno == errno.EINVAL, program.hex()
            accepted = False
        assert kernel_model.audit(program) == accepted, program.hex()
        verdicts[accepted] += 1
        if accepted and all(program[at] != kernel_model.AUTO for at in _ops(program)):
            expected = {record for record, entry in everything.items() if kernel_model.run(program, entry)}
            assert selected == expected, program.hex()
    assert min(verdicts.values()) >= 20, verdicts  # both outcomes were exercised
    print(f"kernel verdicts on mutated programs: {verdicts}")


def _raw_dump_with_attrs(zoo_ns: ZooNamespace) -> list[InetSocket]:
    records: list[InetSocket] = []
    for family in (AF_INET, AF_INET6):
        message = requests.inet_request(family, IPPROTO_TCP, (1 << 12) - 1, 0, None)
        with _diag_in(zoo_ns.name) as diag:
            records.extend(decode.walk(diag.request(message), decode.inet_decoder(IPPROTO_TCP)))
    return records


@pytest.mark.parametrize(("words", "text"), [
    ([], "# ssh either way\nsport = :22\nor dport = :22\n"),
    ([], "( sport > :40000\n  and sport < :40010 )\n"),
    ([], "dst\n0.0.0.0\n127.0.0.1\n"),  # ss skips lines starting with 0
    (["state", "established"], "sport = :22\n"),
    (["sport", "=", ":22"], "or dport = :22\n"),  # argv words come first, then the file
])
def test_filter_file_like_ss(zoo_ns: ZooNamespace, words: list[str], text: str) -> None:
    path = os.path.join(zoo_ns.unix_dir, "filter.txt")
    with open(path, "w", encoding="ascii") as source:
        source.write(text)
    _compare(zoo_ns, f"-tanH -F {path}", shlex.join(words))
