"""pynetstat against the real netstat (net-tools), in a private netns with the socket zoo plus a veth pair.

The namespace holds the shared zoo (loopback sockets of every kind) and, on a
veth pair with documentation-range addresses (192.0.2.0/24, 198.51.100.0/24,
2001:db8::/32; one IPv4 address labelled as the alias ve0:1), more sockets and routes: a default route, a gateway route
with MSS/window/RTT metrics, a host route, reject routes, IPv6 gateway
routes, and an IPv6 address long enough that netstat must shorten it.

The resolving runs (-r, -ta, -g) stay fast and deterministic because nothing
here can reach a name server: every nameserver in /etc/resolv.conf gets an
unreachable route, so a lookup fails at once and only /etc/hosts answers.

Exact comparisons use the harness's reference/candidate/reference sandwich.
Outputs whose numbers move between two runs (timers, packet counters,
statistics) are compared by shape: the same lines once digits are masked.
"""

from __future__ import annotations

import difflib
import os
import re
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.integration import harness

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: creates a network namespace and a veth pair")

LONG_V6 = "2001:db8:1:ffff:1234:5678:9abc:def0"

# Extra sockets on the documentation addresses; held until stdin closes.
HOLDER = f"""
import socket, sys, time
held = []
def tcp(family, addr, port, listen=True):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    if listen:
        s.listen(8)
    held.append(s)
    return s
def pair(server, family, addr, port, target, keepalive=False):
    c = tcp(family, addr, port, listen=False)
    if keepalive:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    c.connect(target)
    held.append(server.accept()[0])
https4 = tcp(socket.AF_INET, "192.0.2.1", 443)
ssh6 = tcp(socket.AF_INET6, "2001:db8::1", 993)
long6 = tcp(socket.AF_INET6, "{LONG_V6}", 65001)
pair(https4, socket.AF_INET, "198.51.100.1", 50001, ("192.0.2.1", 443))
pair(ssh6, socket.AF_INET6, "2001:db8:1::1", 50002, ("2001:db8::1", 993), keepalive=True)
pair(long6, socket.AF_INET6, "{LONG_V6}", 50003, ("{LONG_V6}", 65001))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("192.0.2.1", 5355)); u.connect(("198.51.100.1", 123)); held.append(u)
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.bind(("2001:db8::1", 547)); held.append(u)
print("READY", flush=True)
sys.stdin.read()
"""

SETUP = (
    "link add ve0 type veth peer name ve1",
    "addr add 192.0.2.1/24 dev ve0",
    "addr add 192.0.2.5/24 dev ve0 label ve0:1",
    "addr add 198.51.100.1/24 dev ve1",
    "-6 addr add 2001:db8::1/64 dev ve0 nodad",
    "-6 addr add 2001:db8:1::1/64 dev ve1 nodad",
    f"-6 addr add {LONG_V6}/64 dev ve1 nodad",
    "link set ve0 up",
    "link set ve1 up",
    "route add default via 192.0.2.254",
    "route add 203.0.113.0/24 via 192.0.2.2 advmss 1400 window 65535 rtt 100",
    "route add 192.0.2.99 dev ve0",
    "route add unreachable 198.51.100.128/25",
    "route add prohibit 203.0.114.0/24",
    "-6 route add 2001:db8:2::/48 via 2001:db8::2",
    "-6 route add unreachable 2001:db8:dead::/48",
)


@dataclass
class NetstatNs:
    ns: harness.ZooNamespace
    holder: subprocess.Popen[bytes]


def _nameservers() -> list[str]:
    try:
        with open("/etc/resolv.conf") as conf:
            return [line.split()[1] for line in conf if line.startswith("nameserver") and len(line.split()) > 1]
    except OSError:
        return []


def _wait_for_link_local(name: str) -> None:
    """The kernel adds each veth's fe80:: address (and its routes) a moment after the link comes up."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        shown = harness.ip("-n", name, "-6", "addr", "show", "scope", "link").stdout.decode()
        if shown.count("inet6 fe80") >= 2 and "tentative" not in shown:
            return
        time.sleep(0.1)
    raise RuntimeError("the veth pair got no settled link-local addresses")


def _start(name: str) -> NetstatNs:
    ns = harness.start_zoo(name)
    try:
        for command in SETUP:
            harness.ip("-n", name, *command.split())
        for server in _nameservers():
            family = "-6" if ":" in server else "-4"
            harness.ip("-n", name, family, "route", "add", "unreachable", server, check=False)
        _wait_for_link_local(name)
        holder = subprocess.Popen(["ip", "netns", "exec", name, sys.executable, "-c", HOLDER],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=harness.TOOL_ENV)
        assert holder.stdout is not None
        if holder.stdout.readline() != b"READY\n":
            holder.kill()
            raise RuntimeError("the veth socket holder did not start")
    except BaseException:
        harness.stop_zoo(ns)
        raise
    return NetstatNs(ns, holder)


def _stop(env: NetstatNs) -> None:
    try:
        if env.holder.stdin is not None:
            env.holder.stdin.close()
        try:
            env.holder.wait(timeout=5)
        except subprocess.TimeoutExpired:
            env.holder.send_signal(signal.SIGKILL)
            env.holder.wait(timeout=5)
        if env.holder.stdout is not None:
            env.holder.stdout.close()
    finally:
        harness.stop_zoo(env.ns)


class Keeper:
    """One namespace for the module, rebuilt before its TIME-WAIT sockets could expire mid-test."""

    def __init__(self) -> None:
        self.current: NetstatNs | None = None
        self.generation = 0
        self.broken: BaseException | None = None

    def get(self) -> NetstatNs:
        if self.broken is not None:  # one failed setup is reported once per test, not retried 60 times
            pytest.fail(f"the test namespace could not be set up: {self.broken}")
        if self.current is not None and self.current.ns.age > harness.MAX_ZOO_AGE:
            self.close()
        if self.current is None:
            self.generation += 1
            try:
                self.current = _start(f"{harness.NS_PREFIX}{os.getpid()}-nst{self.generation}")
            except Exception as error:
                self.broken = error
                raise
        return self.current

    def close(self) -> None:
        if self.current is not None:
            env, self.current = self.current, None
            _stop(env)


@pytest.fixture(scope="module")
def keeper() -> Iterator[Keeper]:
    reason = harness.missing_prerequisites()
    if reason is not None:
        pytest.skip(reason)
    if subprocess.run(["which", "netstat"], check=False, capture_output=True).returncode != 0:
        pytest.skip("net-tools netstat is not installed")
    kept = Keeper()
    try:
        yield kept
    finally:
        kept.close()


@pytest.fixture
def ns(keeper: Keeper) -> harness.ZooNamespace:
    return keeper.get().ns


# Byte-for-byte: stdout and exit status.
EXACT = [
    "-tan", "-ant", "-tln", "-tuln", "-tulnp", "-antp", "-tanpe", "-ltpe", "-uan", "-lx", "-lnp",
    "-tanW", "-A inet -tan", "-ta", "-rn", "-r", "-g", "-gn", "-rne", "-rnee", "-tn", "-un", "-wan",
    "-4 -tan", "-6 -tan", "--tcp --numeric --all", "-tuna --numeric-ports", "-tlp --numeric-hosts",
    "-i", "-ia", "-ltn -ee", "-rnC", "-rC -6", "-rnF", "-rnCF", "-rnCee", "-xl -v", "-rN", "-tN",
]
# Exact except where the order of not-yet-accepted UNIX connections is unknowable (sock_diag does not list
# them; pynetstat rebuilds them from their listener): the rows are compared as sorted lists.
UNIX_LISTINGS = ["-xa", "-x", "-an", "-xap", "-a", "", "-v"]
# Same lines once the numbers are masked: counters or timers move between two runs.
SHAPE = ["-s", "-st", "-su", "-sw", "-s -6", "-tano", "-tanoe", "-ie", "-iea", "-rn -6", "-r -6", "-rN -6"]


@pytest.mark.parametrize("args", EXACT)
def test_exact(ns: harness.ZooNamespace, args: str) -> None:
    harness.assert_matches_reference(ns.netstat, ns.pynetstat, args.split())


@pytest.mark.parametrize("args", UNIX_LISTINGS)
def test_unix_listing_rows(ns: harness.ZooNamespace, args: str) -> None:
    argv = args.split()
    expected, actual = ns.netstat(*argv), ns.pynetstat(*argv)
    assert actual.returncode == expected.returncode
    assert sorted(actual.text.splitlines()) == sorted(expected.text.splitlines())
    # everything but the pending connections' rows keeps netstat's order
    pending = re.compile(r"^unix +\d+ +\[ \] +\w+ +CONNECTING +0 ")
    assert [line for line in actual.text.splitlines() if not pending.match(line)] == \
        [line for line in expected.text.splitlines() if not pending.match(line)]


def _shape(text: str) -> list[str]:
    return [re.sub(r"\d+(\.\d+)?", "N", line) for line in text.splitlines()]


@pytest.mark.parametrize("args", SHAPE)
def test_shape(ns: harness.ZooNamespace, args: str) -> None:
    argv = args.split()
    expected, actual = ns.netstat(*argv), ns.pynetstat(*argv)
    assert actual.returncode == expected.returncode
    assert _shape(actual.text) == _shape(expected.text)


@pytest.mark.parametrize("args", ["-tano", "-tanoe", "-tano6"])
def test_timers_match_except_the_running_clock(ns: harness.ZooNamespace, args: str) -> None:
    """Everything of -o rows but the seconds left, which run down between the two runs: kinds, retransmits, probes."""
    def clock_masked(text: str) -> list[str]:
        return [re.sub(r"\(\d+\.\d\d/", "(S/", line) for line in text.splitlines()]

    # a SYN-SENT socket may retransmit between two runs: pynetstat must agree with netstat just before or after it
    before, actual, after = ns.netstat(*args.split()), ns.pynetstat(*args.split()), ns.netstat(*args.split())
    assert clock_masked(actual.text) in (clock_masked(before.text), clock_masked(after.text)), "\n".join(
        difflib.unified_diff(clock_masked(before.text), clock_masked(actual.text), "netstat", "pynetstat", lineterm=""))


def test_keepalive_timer_reads_like_netstat(ns: harness.ZooNamespace) -> None:
    line = next(row for row in ns.pynetstat("-tano").text.splitlines() if "2001:db8:1::1:50002 " in row.split("ESTAB")[0][:44])
    assert re.search(r"keepalive \(\d+\.\d\d/0/0\)$", line), line
    assert ns.pynetstat("-tano").text.count("off (0.00/0/0)") > 5


def test_long_address_is_shortened_without_wide(ns: harness.ZooNamespace) -> None:
    narrow = ns.pynetstat("-tan").text
    wide = ns.pynetstat("-tanW").text
    assert f"{LONG_V6}:65001" in wide
    assert f"{LONG_V6}:65001" not in narrow
    assert f"{LONG_V6[:22 - len('65001')]}:65001" in narrow  # the host gives way to the port


def test_resolving_does_not_hang(ns: harness.ZooNamespace) -> None:
    started = time.monotonic()
    run = ns.pynetstat("-ta")
    assert run.returncode == 0
    assert time.monotonic() - started < 5
    assert "localhost:" in run.text


@pytest.mark.parametrize(("args", "status", "message"), [
    ("-Q", 3, "pynetstat: invalid option -- 'Q'"),
    ("--bogus", 3, "pynetstat: unrecognized option '--bogus'"),
    ("-A", 3, "pynetstat: option requires an argument -- 'A'"),
    ("-A nosuch", 1, "Unknown address family `nosuch'."),
    ("-ri", 3, "Usage:"),
    ("-tS", 1, "pynetstat: no support for `AF INET (sctp)' on this system."),
    ("-A ax25", 1, "pynetstat: no support for `AF AX25' on this system."),
])
def test_bad_input_matches_netstat_status(ns: harness.ZooNamespace, args: str, status: int, message: str) -> None:
    reference = ns.netstat(*args.split())
    run = ns.pynetstat(*args.split())
    assert reference.returncode == status
    assert run.returncode == status
    assert message in run.stderr.decode()
    assert not harness.has_traceback(run.stderr)


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
NOBODY_HOLDER = ("import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                 "s.bind(('192.0.2.1', 5354)); print('READY', flush=True); sys.stdin.read()")


def test_unprivileged_program_column(ns: harness.ZooNamespace) -> None:
    """As a plain user, -p shows only that user's processes and both tools say so on stderr."""
    holder = subprocess.Popen(["ip", "netns", "exec", ns.name, *NOBODY, sys.executable, "-c", NOBODY_HOLDER],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=harness.TOOL_ENV)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"READY\n"
        for args in (["-uanp"], ["-tlnp"]):
            expected = ns.run_in_ns([*NOBODY, "netstat", *args])
            actual = ns.run_in_ns([*NOBODY, str(harness.PYNETSTAT), *args])
            assert actual.stdout == expected.stdout, harness.unified(
                expected.text.splitlines(True), actual.text.splitlines(True), ("netstat", "pynetstat"))
            assert actual.stderr == expected.stderr
            assert b"Not all processes could be identified" in actual.stderr
        assert b"/python" in ns.run_in_ns([*NOBODY, str(harness.PYNETSTAT), "-uanp"]).stdout
    finally:
        if holder.stdin is not None:
            holder.stdin.close()
        holder.wait(timeout=10)
        if holder.stdout is not None:
            holder.stdout.close()


def test_masquerade_reads_conntrack(ns: harness.ZooNamespace) -> None:
    """netstat's /proc/net/ip_masquerade is gone; pynetstat reads conntrack instead (no NAT here: no rows)."""
    assert ns.netstat("-M").returncode == 1
    run = ns.pynetstat("-M")
    has_conntrack = ns.run_in_ns(["test", "-e", "/proc/net/nf_conntrack"]).returncode == 0
    if has_conntrack:
        assert (run.returncode, run.stdout, run.stderr) == (0, b"", b"")
    else:
        assert run.returncode == 1
        assert run.stderr == b"pynetstat: no support for `ip_masquerade' on this system.\n"


def _interrupted_after(ns: harness.ZooNamespace, args: str, marker: bytes, count: int, timeout: float = 60.0) \
        -> tuple[bytes, bytes]:
    """Run pynetstat ARGS until its stdout holds ``marker`` ``count`` times (each -c interval is flushed), or
    ``timeout`` passes, then press Ctrl-C (SIGINT): its stdout and stderr. Waiting on the output rather than
    on the clock keeps a loaded machine from cutting the run short."""
    proc = subprocess.Popen(["ip", "netns", "exec", ns.name, str(harness.PYNETSTAT), *args.split()],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=harness.TOOL_ENV)
    assert proc.stdout is not None
    out = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while out.count(marker) < count and (left := deadline - time.monotonic()) > 0:
            if not selector.select(left):
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break  # it ended on its own
            out += chunk
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=30)
    return out + rest, err


def test_continuous_stops_cleanly_on_interrupt(ns: harness.ZooNamespace) -> None:
    out, err = _interrupted_after(ns, "-tanc", b"Active Internet connections", 2)
    assert out.count(b"Active Internet connections") >= 2
    assert not harness.has_traceback(err), err.decode()


def test_continuous_interface_table_is_titled_once(ns: harness.ZooNamespace) -> None:
    out, err = _interrupted_after(ns, "-ic", b"Iface             MTU", 3)
    assert out.count(b"Kernel Interface table") == 1
    assert out.count(b"Iface             MTU") >= 3
    assert not harness.has_traceback(err)


def test_closed_pipe_is_quiet(ns: harness.ZooNamespace) -> None:
    reader = f"ip netns exec {ns.name} {harness.PYNETSTAT} -anc | head -1"
    run = subprocess.run(["sh", "-c", reader], check=False, capture_output=True, timeout=20, env=harness.TOOL_ENV)
    assert run.stdout.count(b"\n") == 1
    assert not harness.has_traceback(run.stderr), run.stderr.decode()


IDLE_HOLDER = "import sys; print('ready', flush=True); sys.stdin.read()"


def test_ipv6_null_entries_where_the_kernel_shows_them() -> None:
    """/proc/net/ipv6_route shows each IPv6 table's null entry (::/0 !n on lo) at the end of the table unless a
    ::/0 route holds the table's root, and shows main's even when main has no route: a fresh namespace (main
    empty), then a route in table 100 (walked before main), then a default route in main (no null entry)."""
    steps = [
        (),
        ("-6", "route", "add", "unreachable", "2001:db8:7::/48", "table", "100"),
        ("-6", "route", "add", "unreachable", "default", "metric", "1024"),
    ]
    with harness.script_namespace("routes6", IDLE_HOLDER) as name:
        for step in steps:
            if step:
                harness.ip("-n", name, *step)
            expected = harness.run_command(["ip", "netns", "exec", name, "netstat", "-rn6"], ["netstat"],
                                           timeout=harness.TOOL_TIMEOUT)
            actual = harness.run_command(["ip", "netns", "exec", name, str(harness.PYNETSTAT), "-rn6"],
                                         ["pynetstat"], timeout=harness.TOOL_TIMEOUT)
            assert actual.returncode == expected.returncode == 0, actual.stderr.decode()
            # Ref (the route's reference count) has no rtnetlink source: digits are masked.
            assert _shape(actual.text) == _shape(expected.text), (step, expected.text, actual.text)


def test_ctrl_c_ends_continuous_output_as_it_ends_netstat(ns: harness.ZooNamespace) -> None:
    """netstat -c is killed by SIGINT on Ctrl-C, and so is pynetstat (exiting 130 instead, it would let a shell
    loop or script that runs it go on)."""
    statuses = []
    for tool in ("netstat", str(harness.PYNETSTAT)):
        with subprocess.Popen(["ip", "netns", "exec", ns.name, tool, "-tanc"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=harness.TOOL_ENV) as proc:
            assert proc.stdout is not None
            assert proc.stdout.readline().startswith(b"Active Internet connections")
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
        assert not harness.has_traceback(err), err.decode()
        statuses.append(proc.returncode)
    assert statuses == [-signal.SIGINT, -signal.SIGINT]
