"""pyss --json on the zoo: exactly the sockets ss lists, each field equal to what ss's text says.

ss runs with -O (one line per socket) and -e (so each row names its inode,
the key both listings are matched on); its details are parsed token by token
and compared with the JSON object of the same socket.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from typing import Any

import pytest

from tests.integration.harness import TOOL_ENV, ZooNamespace

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: private netns, packet and raw sockets"),
    pytest.mark.skipif(shutil.which("ss", path=TOOL_ENV["PATH"]) is None, reason="needs iproute2's ss"),
]

STATES = {"ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "UNCONN", "CLOSE-WAIT",
          "LAST-ACK", "LISTEN", "CLOSING"}
USERS = re.compile(r'\("([^"]*)",pid=(\d+),fd=(\d+)\)')
# ss's tcp_info tokens "name:value" -> the tcp_info key holding the same number
TCP_INFO_KEYS = {"rto": "rto_ms", "ato": "ato_ms", "mss": "snd_mss", "pmtu": "pmtu", "rcvmss": "rcv_mss",
                 "advmss": "advmss", "cwnd": "snd_cwnd", "ssthresh": "snd_ssthresh", "bytes_sent": "bytes_sent",
                 "bytes_acked": "bytes_acked", "bytes_received": "bytes_received", "segs_out": "segs_out",
                 "segs_in": "segs_in", "data_segs_out": "data_segs_out", "data_segs_in": "data_segs_in",
                 "rcv_space": "rcv_space", "rcv_ssthresh": "rcv_ssthresh", "minrtt": "min_rtt_ms",
                 "snd_wnd": "snd_wnd", "delivered": "delivered", "unacked": "unacked", "backoff": "backoff"}
# Counters a socket with a running retransmit or probe timer moves between two dumps.
MOVING = {"rto", "backoff", "bytes_sent", "bytes_acked", "segs_out", "segs_in", "data_segs_out", "delivered",
          "bytes_retrans", "rtt", "unacked"}
SKMEM_KEYS = {"r": "rmem_alloc", "rb": "rcvbuf", "t": "wmem_alloc", "tb": "sndbuf", "f": "fwd_alloc",
              "w": "wmem_queued", "o": "optmem", "bl": "backlog", "d": "drops"}


def ms(text: str) -> float:
    """ss's timer text (1min52sec, 12sec, 2.140ms = 2 s 140 ms, 200ms) in milliseconds."""
    match = re.fullmatch(r"(?:(\d+)min)?(?:(\d+)(?:sec|\.))?(?:(\d+)ms)?", text)
    assert match is not None, f"not an ss timer: {text}"
    minutes, seconds, millis = (int(group or 0) for group in match.groups())
    return minutes * 60000 + seconds * 1000 + millis


def split_endpoint(text: str) -> tuple[str, str, str | None]:
    """ "[::1]:443" -> ("::1", "443", None); "0.0.0.0%lo:47010" -> ("0.0.0.0", "47010", "lo")."""
    address, _, port = text.rpartition(":")
    interface = None
    if "%" in address:
        address, _, interface = address.partition("%")
    return address.strip("[]"), port, interface


def parse_ss_inet(line: str) -> dict[str, Any]:
    tokens = line.split()
    start = 1 if tokens[0] not in STATES else 0
    netid = tokens[0] if start else None
    state, recv_q, send_q, local, peer = tokens[start : start + 5]
    row: dict[str, Any] = {"netid": netid, "state": state, "recv_q": int(recv_q), "send_q": int(send_q),
                           "local": split_endpoint(local), "peer": split_endpoint(peer), "tokens": tokens[start + 5 :]}
    rest = " ".join(row["tokens"])
    users = re.search(r"users:\((.*?\))\)", rest)
    row["processes"] = [{"name": n, "pid": int(p), "fd": int(f)} for n, p, f in USERS.findall(users.group(1))] \
        if users else []
    timer = re.search(r"timer:\((\w+),([^,]+),(\d+)\)", rest)
    row["timer"] = (timer.group(1), ms(timer.group(2)), int(timer.group(3))) if timer else None
    row["inode"] = int(re.search(r"ino:(\d+)", rest).group(1))  # type: ignore[union-attr]
    row["cookie"] = int(re.search(r"sk:([0-9a-f]+)", rest).group(1), 16)  # type: ignore[union-attr]
    uid = re.search(r"uid:(\d+)", rest)
    row["uid"] = int(uid.group(1)) if uid else 0
    skmem = re.search(r"skmem:\(([^)]*)\)", rest)
    row["skmem"] = {SKMEM_KEYS[re.match(r"[a-z]+", part).group()]: int(re.sub(r"^[a-z]+", "", part))  # type: ignore[union-attr]
                    for part in skmem.group(1).split(",")} if skmem else None
    row["info"] = dict(re.findall(r"(?<![\w(,])([a-z_]+):([\d.]+)(?=\s|$)", rest))
    rtt = re.search(r" rtt:([\d.]+)/([\d.]+)", rest)
    row["rtt"] = (float(rtt.group(1)), float(rtt.group(2))) if rtt else None
    wscale = re.search(r"wscale:(\d+),(\d+)", rest)
    row["wscale"] = (int(wscale.group(1)), int(wscale.group(2))) if wscale else None
    return row


def wildcard_of(fields: dict[str, Any], which: str) -> bool:
    return str(fields[f"{which}_address"]) in ("0.0.0.0", "::")


def assert_inet_equal(ss: dict[str, Any], js: dict[str, Any], flags: str) -> None:
    where = f"inode {ss['inode']} ({flags})"
    if ss["netid"] is not None:
        assert js["netid"] == ss["netid"], where
    assert (js["state"], js["recv_q"], js["send_q"]) == (ss["state"], ss["recv_q"], ss["send_q"]), where
    for which in ("local", "peer"):
        address, port, interface = ss[which]
        if address == "*":
            assert wildcard_of(js, which), where
        elif not address.startswith("::ffff:"):
            assert js[f"{which}_address"] == address, where
        assert str(js[f"{which}_port"] or "*") == port, where
        if which == "local":
            assert js["interface"] == interface, where
    assert (js["uid"], js["cookie"]) == (ss["uid"], ss["cookie"]), where
    if "p" in flags:
        assert js["processes"] == ss["processes"], where
    if "o" in flags or "e" in flags:
        assert_timer_equal(ss["timer"], js["timer_info"], where, ss.get("apart_ms", 0.0))
    if "m" in flags:
        if ss["skmem"] is None:
            assert js["memory"] is None, where
        else:
            for key in ("rcvbuf", "sndbuf", "optmem"):
                assert js["memory"][key] == ss["skmem"][key], f"{where}: memory {key}"
    if "i" in flags and js["netid"] == "tcp" and js["state"] != "TIME-WAIT":
        assert_tcp_info_equal(ss, js["tcp_info"], where)


# Timers that fire and re-arm while a socket retransmits or probes: between two dumps they may show up or
# go, and their retransmit count moves.
RETRANSMITTING = ("on", "persist")


def assert_timer_equal(ss: tuple[str, float, int] | None, info: dict[str, Any] | None, where: str,
                       apart_ms: float) -> None:
    if ss is None or info is None:
        name = ss[0] if ss is not None else info["name"] if info is not None else None
        assert name is None or name in RETRANSMITTING, f"{where}: timer {ss} vs {info}"
        return
    name, expires, retrans = ss
    assert info["name"] == name, where
    if name not in RETRANSMITTING:
        assert info["retrans"] == retrans, where
        # ss rounds: to the second from a minute on, to the minute from ten minutes on; and pyss ran later
        rounding = 60000 if expires >= 600000 else 1000
        assert expires - apart_ms - rounding <= info["expires_ms"] <= expires + rounding, where


def assert_tcp_info_equal(ss: dict[str, Any], info: dict[str, Any], where: str) -> None:
    moving = ss["timer"] is not None and ss["timer"][0] in RETRANSMITTING
    compared = 0
    for token, key in TCP_INFO_KEYS.items():
        # A number that differs between the ss runs before and after pyss's moved meanwhile.
        if token not in ss["info"] or ss["info"][token] != ss["after"].get(token) or (moving and token in MOVING):
            continue
        expected = float(ss["info"][token])
        assert float(info[key]) == pytest.approx(expected, rel=1e-3), f"{where}: tcp_info {token}"
        compared += 1
    if ss["rtt"] is not None and not moving:
        assert (info["rtt_ms"], info["rttvar_ms"]) == pytest.approx(ss["rtt"], rel=1e-3), f"{where}: rtt"
    if ss["wscale"] is not None:
        assert (info["snd_wscale"], info["rcv_wscale"]) == ss["wscale"], f"{where}: wscale"
    assert info["congestion"] in ss["tokens"], f"{where}: congestion"
    assert compared >= 1, f"{where}: no tcp_info number to compare"


def pyss_json(zoo_ns: ZooNamespace, *args: str) -> list[dict[str, Any]]:
    run = zoo_ns.pyss(*args, "--json")
    assert run.returncode == 0, run.stderr.decode()
    document = json.loads(run.text)
    assert isinstance(document, list)
    return document


@pytest.mark.parametrize("flags", ["-tuanOe", "-tanOep", "-tanOeo", "-tuanOem", "-tanOei", "-tanOeimpo",
                                   "-tlnOe", "-uanOep"])
def test_inet_objects_equal_ss_rows(zoo_ns: ZooNamespace, flags: str) -> None:
    started = time.monotonic()
    ss_run = zoo_ns.ss(flags, "-H")
    assert ss_run.returncode == 0
    expected = {row["inode"]: row for row in map(parse_ss_inet, ss_run.text.splitlines())}
    actual = {fields["inode"]: fields for fields in pyss_json(zoo_ns, flags)}
    apart_ms = (time.monotonic() - started) * 1000  # timers run down between the two dumps
    after = {row["inode"]: row["info"] for row in map(parse_ss_inet, zoo_ns.ss(flags, "-H").text.splitlines())}
    for inode, row in expected.items():
        row["after"] = after.get(inode, {})
    # Sockets that are only accepted, not yet held by a process, have inode 0: ss and pyss list them alike.
    assert sorted(expected) == sorted(actual)
    assert len(expected) >= 5
    for inode, row in expected.items():
        row["apart_ms"] = apart_ms
        assert_inet_equal(row, actual[inode], flags)


def test_a_filter_selects_the_same_sockets(zoo_ns: ZooNamespace) -> None:
    args = ("-tanOe", "sport", "=", ":22", "or", "dport", "=", ":22")
    expected = sorted(parse_ss_inet(line)["inode"] for line in zoo_ns.ss(*args, "-H").text.splitlines())
    assert expected
    assert sorted(fields["inode"] for fields in pyss_json(zoo_ns, *args)) == expected


def test_unix_objects_equal_ss_rows(zoo_ns: ZooNamespace) -> None:
    rows = {}
    for line in zoo_ns.ss("-xanOp", "-H").text.splitlines():
        # Netid State Recv-Q Send-Q Name Inode * PeerInode [users] (a name may hold spaces)
        match = re.match(r"(\S+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(.*?)\s+(\d+)\s+\*\s+(\d+)(.*)$", line)
        assert match is not None, line
        rows[int(match.group(6))] = match.groups()
    actual = {fields["inode"]: fields for fields in pyss_json(zoo_ns, "-xanOp")}
    assert sorted(actual) == sorted(rows)
    for inode, groups in rows.items():
        fields = actual[inode]
        netid, state, recv_q, send_q, name, _inode, peer, users = groups
        assert (fields["netid"], fields["state"], fields["recv_q"], fields["send_q"]) == \
            (netid, state, int(recv_q), int(send_q))
        assert (fields["name"] or "*", fields["peer_inode"]) == (name, int(peer))
        assert fields["processes"] == [{"name": n, "pid": int(p), "fd": int(f)} for n, p, f in USERS.findall(users)]


def test_packet_objects_equal_ss_rows(zoo_ns: ZooNamespace) -> None:
    expected = {}
    for line in zoo_ns.ss("-0anOeb", "-H").text.splitlines():
        inode = int(re.search(r"ino:(\d+)", line).group(1))  # type: ignore[union-attr]
        filtered = re.search(r"bpf filter \((\d+)\)", line)
        expected[inode] = (line.split()[0], int(filtered.group(1)) if filtered else None)
    actual = {fields["inode"]: fields for fields in pyss_json(zoo_ns, "-0anOeb")}
    assert sorted(actual) == sorted(expected)
    for inode, (netid, instructions) in expected.items():
        fields = actual[inode]
        assert fields["netid"] == netid
        assert (len(fields["bpf"]) if fields["bpf"] is not None else None) == instructions
        assert fields["extended"]["version"] is not None


def test_netlink_objects_equal_ss_rows(zoo_ns: ZooNamespace) -> None:
    fixed = 2_000_000_001  # the zoo's netlink socket with a port id no process has
    objects = pyss_json(zoo_ns, "-f", "netlink", "-n")
    ss_lines = zoo_ns.ss("-f", "netlink", "-n", "-H").text.splitlines()
    assert any(fields["portid"] == fixed for fields in objects)
    assert any(f":{fixed}" in line for line in ss_lines)
    assert len(objects) == len(ss_lines)


def test_an_empty_listing_is_an_empty_array(zoo_ns: ZooNamespace) -> None:
    assert pyss_json(zoo_ns, "-tn", "sport", "=", ":1") == []


def test_json_lines_carries_the_same_objects(zoo_ns: ZooNamespace) -> None:
    array = pyss_json(zoo_ns, "-tanep")
    run = zoo_ns.pyss("-tanep", "--json-lines")
    lines = [json.loads(line) for line in run.text.splitlines()]
    assert sorted(fields["inode"] for fields in lines) == sorted(fields["inode"] for fields in array)
    assert {key for fields in lines for key in fields} == {key for fields in array for key in fields}
    assert all("processes" in fields and "extended" in fields for fields in lines)


@pytest.mark.parametrize(("args", "message"), [
    (("-s", "--json"), "-s/--summary has no JSON form"),
    (("--json", "--json-lines"), "cannot be combined"),
    # -E follows one namespace in ss's rows, -D saves the kernel's raw dump, -s counts one namespace: each
    # once ran with these options silently ignored (table rows where JSON was asked for).
    (("-E", "--json-lines"), "-E/--events cannot be combined with --json-lines"),
    (("-E", "--json"), "-E/--events cannot be combined with --json"),
    (("-E", "--count-by", "state"), "-E/--events cannot be combined with --count-by"),
    (("-E", "--all-netns"), "-E/--events cannot be combined with --all-netns"),
    (("-D", "-", "--json"), "-D/--diag cannot be combined with --json"),
    (("-D", "-", "--count-by", "state"), "-D/--diag cannot be combined with --count-by"),
    (("-D", "-", "--all-netns"), "-D/--diag cannot be combined with --all-netns"),
    (("-s", "--all-netns"), "-s/--summary cannot be combined with --all-netns"),
    # a count closed nothing: -K was left out without a word
    (("-K", "--force", "--count-by", "state"), "-K lists what it closes in ss's table"),
])
def test_bad_combinations_are_refused(zoo_ns: ZooNamespace, args: tuple[str, ...], message: str) -> None:
    run = zoo_ns.pyss(*args)
    assert run.returncode == 255
    assert run.stdout == b""
    assert message in run.stderr.decode()
    assert b"Traceback" not in run.stderr


def test_json_is_not_an_abbreviation_of_json_lines(zoo_ns: ZooNamespace) -> None:
    run = zoo_ns.pyss("-tan", "--json")
    assert run.text.startswith("[")
    assert zoo_ns.pyss("-tan", "--json-l").text.startswith("{")
