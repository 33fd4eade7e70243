"""pyss --json-lines on the zoo: one object for every row ss prints, saying what the row says."""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest

from tests.integration.harness import TOOL_ENV, ZooNamespace

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: private netns, packet and raw sockets"),
    pytest.mark.skipif(shutil.which("ss", path=TOOL_ENV["PATH"]) is None, reason="needs iproute2's ss"),
]


def ss_rows(zoo_ns: ZooNamespace, *args: str) -> list[tuple[str, ...]]:
    lines = zoo_ns.ss(*args, "-H").text.splitlines()
    return sorted(tuple(line.split()[-5:]) for line in lines)  # State Recv-Q Send-Q Local Peer (no Netid)


def as_ss_row(fields: dict[str, object]) -> tuple[str, ...]:
    def endpoint(address: object, port: object, interface: object = None) -> str:
        text = str(address)
        if ":" in text and not text.startswith("::ffff:"):
            text = f"[{text}]"
        if interface:
            text += f"%{interface}"  # ss shows a socket's interface on its local address
        return f"{text}:{port if port else '*'}"

    local = endpoint(fields["local_address"], fields["local_port"], fields["interface"])
    peer = endpoint(fields["peer_address"], fields["peer_port"])
    return (str(fields["state"]), str(fields["recv_q"]), str(fields["send_q"]), local, peer)


@pytest.mark.parametrize("args", ["-tan", "-uan", "-tuln"])
def test_each_inet_row_has_its_object(zoo_ns: ZooNamespace, args: str) -> None:
    run = zoo_ns.pyss(args, "--json-lines")
    assert run.returncode == 0, run.text
    objects = [json.loads(line) for line in run.text.splitlines()]
    # ss writes a dual-stack wildcard address as "*" (JSON has "::") and v4-mapped peers its own way
    expected = [row for row in ss_rows(zoo_ns, args)
                if not row[3].startswith("*") and not row[4].startswith("*") and "::ffff" not in row[4]]
    actual = sorted(as_ss_row(fields) for fields in objects)
    assert len(expected) >= 3, "the zoo should have rows both spell alike"
    assert set(expected) <= set(actual)
    assert len(objects) == len(ss_rows(zoo_ns, args))


def test_unix_sockets_count_and_names(zoo_ns: ZooNamespace) -> None:
    run = zoo_ns.pyss("-xa", "--json-lines")
    objects = [json.loads(line) for line in run.text.splitlines()]
    assert len(objects) == len(ss_rows(zoo_ns, "-xa"))
    assert {fields["netid"] for fields in objects} >= {"u_str", "u_dgr"}
    assert any(fields["name"] and str(fields["name"]).startswith("@") for fields in objects)


def test_details_are_given_not_refused(zoo_ns: ZooNamespace) -> None:
    run = zoo_ns.pyss("-tanp", "--json-lines")
    assert run.returncode == 0, run.stderr.decode()
    objects = [json.loads(line) for line in run.text.splitlines()]
    assert objects and all(isinstance(fields["processes"], list) for fields in objects)
    assert any(fields["processes"] for fields in objects)


@pytest.mark.parametrize("args", ["-tan", "-tuan", "-6tan"])
def test_columns_and_records_write_the_same_lines(zoo_ns: ZooNamespace, args: str) -> None:
    """An unfiltered TCP/UDP dump is formatted from its columns; a filter (here one every socket passes)
    sends the records through the per-record formatter: the two must write the same text."""
    columns = zoo_ns.pyss(args, "--json-lines").text.splitlines()
    records = zoo_ns.pyss(args, "--json-lines", "sport", ">=", ":0").text.splitlines()
    assert len(columns) >= 3

    def still(line: str) -> str:
        # A retransmitting socket's timer moves between the two runs: blank its numbers, keep the text's shape.
        return re.sub(r'"timer":\d+,"retrans":\d+,"expires_ms":\d+', '"timer":T', line)

    assert sorted(map(still, columns)) == sorted(map(still, records))
    assert sum(still(line) != line for line in columns) == len(columns)  # every line has the timer keys
