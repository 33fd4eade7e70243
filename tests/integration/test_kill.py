"""-K/--kill against the real ss: each tool closes sockets in a zoo of its own, built alike.

Closing is destructive, so ss and pyss each get a fresh zoo (tests/integration/zoo.py
in a namespace of its own). pyss -K must print byte for byte what ss lists for the
same filter just before, and the rows ss -K printed in its zoo (in any order: each
namespace hashes its connections in an order of its own); the zoo pyss worked on
is listed before and after: exactly the selected sockets are gone, with their
peers (which got the RST), and everything else is there.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from tests.integration.harness import (
    NS_PREFIX,
    PYSS,
    TOOL_ENV,
    NsRun,
    ZooNamespace,
    assert_same_output,
    assert_same_rows,
    has_traceback,
    start_zoo,
    stop_zoo,
    wait_ready,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: closes sockets in private network namespaces")

_zoos = itertools.count(1)


@pytest.fixture
def fresh_zoo() -> Iterator[ZooNamespace]:
    """A zoo no other test uses: -K changes it for good."""
    ns = start_zoo(f"{NS_PREFIX}{os.getpid()}-kill{next(_zoos)}")
    try:
        yield ns
    finally:
        stop_zoo(ns)


# (arguments, a socket the filter must select, as "local peer") - each also leaves others standing.
CASES = [
    (["-tn", "dport", "=", ":80"], "127.0.0.1:40001 127.0.0.1:80"),
    (["-tn", "src", "[::1]", "and", "dport", "=", ":443"], "[::1]:40002 [::1]:443"),
    (["-tn", "sport", "=", ":22", "or", "sport", "=", ":8080"], "[::ffff:127.0.0.1]:8080 [::ffff:127.0.0.1]:40003"),
    (["-un", "sport", "=", ":40020"], "127.0.0.1:40020 127.0.0.1:53"),
]


def _pairs(listing: str) -> set[tuple[str, str]]:
    """(local, peer) of each row (the last two fields: no details are asked for)."""
    return {(fields[-2], fields[-1]) for line in listing.splitlines()[1:] if len(fields := line.split()) >= 4}


def _v4(pair: tuple[str, str]) -> tuple[str, ...]:
    """A v4-mapped IPv6 end ("[::ffff:127.0.0.1]:8080") as its IPv4 peer shows it ("127.0.0.1:8080")."""
    return tuple(re.sub(r"^\[::ffff:([0-9.]+)\]", r"\1", end) for end in pair)


@contextlib.contextmanager
def _own_zoo() -> Iterator[ZooNamespace]:
    """A zoo for one -K run alone: what it closes is gone for good."""
    zoo = start_zoo(f"{NS_PREFIX}{os.getpid()}-kill{next(_zoos)}")
    try:
        yield zoo
    finally:
        stop_zoo(zoo)


def _ss_closes(args: list[str]) -> NsRun:
    """What ss -K ARGS prints in a zoo of its own."""
    with _own_zoo() as zoo:
        return zoo.ss("-K", *args)


@pytest.mark.parametrize(("args", "selected"), CASES, ids=[" ".join(args) for args, _ in CASES])
def test_kill_closes_what_ss_closes(args: list[str], selected: str) -> None:
    expected = _ss_closes(args)
    with _own_zoo() as pyss_zoo:
        before = _pairs(pyss_zoo.ss("-tuan").text)
        listed = pyss_zoo.ss(*args)
        actual = pyss_zoo.pyss("-K", *args)
        after = _pairs(pyss_zoo.ss("-tuan").text)
    assert not has_traceback(actual.stderr), actual.stderr.decode()
    # What ss lists for the filter, byte for byte; and what ss -K printed in its own zoo, row for
    # row (each namespace hashes its connections in an order of its own).
    assert_same_output(listed, actual)
    assert_same_rows(expected, actual, ordered=False)
    closed = _pairs(actual.text)
    assert tuple(selected.split()) in closed, actual.text
    if args[0].startswith("-t"):
        # Exactly the printed sockets are gone, with each one's peer (it got the RST); all else stands.
        peers = {pair for pair in before for local, peer in closed if _v4(pair) == (_v4((peer, local)))}
        assert before - after == closed | peers, (sorted(before - after), sorted(closed))
    else:
        # A closed UDP socket may stay, disconnected (udp_abort); nothing else went.
        assert before - after <= closed


PEERS = textwrap.dedent(
    """
    import json, socket, sys
    listener = socket.socket()
    listener.bind(("127.0.0.1", 46101))
    listener.listen()
    pairs = {}
    for port in (46111, 46112, 46113):
        client = socket.socket()
        client.bind(("127.0.0.1", port))
        client.connect(("127.0.0.1", 46101))
        pairs[port] = (client, listener.accept()[0])
    print("READY {}", flush=True)
    sys.stdin.readline()
    seen = {}
    for port, (client, server) in pairs.items():
        for name, sock in (("client", client), ("server", server)):
            sock.setblocking(False)
            try:
                sock.recv(1)
                seen[f"{name}{port}"] = "eof"
            except BlockingIOError:
                seen[f"{name}{port}"] = "open"
            except OSError as error:
                seen[f"{name}{port}"] = error.strerror
    print(json.dumps(seen), flush=True)
    """
)


def _held(ns: ZooNamespace) -> subprocess.Popen[bytes]:
    holder = subprocess.Popen(["ip", "netns", "exec", ns.name, sys.executable, "-c", PEERS], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=TOOL_ENV)
    wait_ready(holder)
    return holder


def _seen(holder: subprocess.Popen[bytes]) -> dict[str, str]:
    out, _ = holder.communicate(b"\n", timeout=10)
    result: dict[str, str] = json.loads(out.decode().splitlines()[-1])
    return result


def test_the_peer_sees_the_abort(fresh_zoo: ZooNamespace) -> None:
    holder = _held(fresh_zoo)
    done = fresh_zoo.pyss("-K", "-tn", "sport", "=", ":46112")
    seen = _seen(holder)
    assert done.returncode == 0, done.stderr.decode()
    assert seen == {"client46111": "open", "server46111": "open", "client46112": "Software caused connection abort",
                    "server46112": "Connection reset by peer", "client46113": "open", "server46113": "open"}


@pytest.mark.parametrize("args", [[], ["-t"], ["-a"], ["-tn", "-4"]], ids=lambda args: " ".join(["-K", *args]))
def test_bare_kill_refuses(fresh_zoo: ZooNamespace, args: list[str]) -> None:
    before = fresh_zoo.ss("-tuan").stdout
    done = fresh_zoo.pyss("-K", *args)
    assert done.returncode != 0 and done.stdout == b""
    assert done.stderr.decode().count("\n") == 1 and "--force" in done.stderr.decode()
    assert fresh_zoo.ss("-tuan").stdout == before


def test_force_closes_what_ss_closes_unfiltered() -> None:
    # The zoo's IPv6 listeners. (Not connections: of a pair both ends select, the tool closes the one
    # its walk meets first and the other is gone (RST) before its turn; each namespace orders them its own way.)
    args = ["-6", "-tln"]
    expected = _ss_closes(args)
    with _own_zoo() as pyss_zoo:
        actual = pyss_zoo.pyss("-K", "--force", *args)
        left = pyss_zoo.ss(*args).text
    assert_same_rows(expected, actual, ordered=False)  # each namespace hashes its connections its own way
    assert actual.text.count("\n") > 3 and left.count("\n") == 1  # only the header is left


def test_kill_without_permission_says_so(fresh_zoo: ZooNamespace) -> None:
    """No CAP_NET_ADMIN: the kernel refuses each socket (ss reports the first refusal and exits 0);
    pyss closes none, lists none, and says why in one line, exit 1."""
    holder = _held(fresh_zoo)
    done = fresh_zoo.run_in_ns(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
                                "--bounding-set=-all", str(PYSS), "-K", "-tn", "sport", "=", ":46112"])
    seen = _seen(holder)
    assert done.returncode == 1
    assert done.stderr.decode() == "pyss: 1 socket not closed: Operation not permitted\n"
    assert done.stdout.count(b"\n") == 1  # the header
    assert set(seen.values()) == {"open"}
