"""INET_DIAG_REQ_BYTECODE: exact bytes for representative expressions, checked against the kernel's rules.

Expected bytes are written out from the uapi layouts (linux/inet_diag.h):
``inet_diag_bc_op`` is u8 code, u8 yes, u16 no; ``inet_diag_hostcond`` is u8
family, u8 prefix_len, 2 bytes padding, int port, then the address (4 bytes
unless IPv6). Values below are little-endian (x86), as the kernel reads them.
"""

from __future__ import annotations

import sys

import pytest
from tests.unit.filter import kernel_model
from tests.unit.filter.fake_resolver import FakeResolver

from pyss.filter import compile_filter
from pyss.filter.ast import lower
from pyss.netlink.constants import AF_INET, AF_INET6, AF_UNIX, IPPROTO_TCP

pytestmark = pytest.mark.skipif(sys.byteorder != "little", reason="expected bytes are written little-endian")

ANY_PORT = "ffffffff"
S_COND_22 = "07101400" "0000" "0000" "16000000" "00000000"


def program(text: str) -> bytes | None:
    return compile_filter(text.split(), resolver=FakeResolver()).kernel_bytecode


@pytest.mark.parametrize(("text", "expected"), [
    ("sport = :22", S_COND_22),
    ("dst 10.0.0.0/8", "08101400" "0208" "0000" + ANY_PORT + "0a000000"),
    ("dst 10.1.2.3:80", "08101400" "0220" "0000" "50000000" "0a010203"),
    ("src [::1]:443", "071c2000" "0a80" "0000" "bb010000" + "00" * 15 + "01"),
    ("src 2001:db8::/32", "071c2000" "0a20" "0000" + ANY_PORT + "20010db8" + "00" * 12),
    ("src *:22", S_COND_22),
    ("sport >= :1024", "02080c00" "00000004"),
    ("dport <= :80", "05080c00" "00005000"),
    ("sport > :1024", "03080c00" "00000004" "01040800"),
    ("dport < :1024", "04080c00" "00000004" "01040800"),
    ("sport != :22", S_COND_22 + "01040800"),
    ("autobound", "06040800"),
    ("not autobound", "06040800" "01040800"),
    ("sport = :22 or dport = :22", S_COND_22 + "01041400" "08101400" "0000" "0000" "16000000" "00000000"),
    ("sport = :22 and dport = :22", "07102400" "0000" "0000" "16000000" "00000000"
                                    "08101400" "0000" "0000" "16000000" "00000000"),
    ("not ( sport = :22 or sport = :80 )", "07101400" "0000" "0000" "16000000" "00000000" "01041400"
                                           "07101400" "0000" "0000" "50000000" "00000000" "01040800"),
    # ss's ((a or b) or c): every JMP but the last lands on the next JMP.
    ("sport = :1 or sport = :2 or sport = :3", "07101400" "0000" "0000" "01000000" "00000000" "01041400"
                                               "07101400" "0000" "0000" "02000000" "00000000" "01041400"
                                               "07101400" "0000" "0000" "03000000" "00000000"),
    ("fwmark = 0x10/0xff", "0a0c1000" "10000000" "ff000000"),
    ("fwmark = 7", "0a0c1000" "07000000" "ffffffff"),
    ("cgroup app", "0d0c1000" "8877665544332211"),
    ("dev lo", "09080c00" "01000000"),
    ("dev lo and sport = :22", "09081c00" "01000000" + S_COND_22),
    # Each address of a name becomes a condition; ss writes the first address into all of them.
    ("dst dual", "08101400" "0220" "0000" + ANY_PORT + "c0000207" + "01041400"
                 "08101400" "0220" "0000" + ANY_PORT + "c0000207"),
])
def test_bytes(text: str, expected: str) -> None:
    code = program(text)
    assert code is not None
    assert code.hex() == expected
    assert kernel_model.audit(code)


@pytest.mark.parametrize("text", [
    "dev lo and autobound",  # ss sends nothing when a device condition meets an inexact one
    "dev lo or src 10.0.0.1",
    "src unix:/tmp/*",  # the kernel refuses non-inet families (ss then filters in user space)
    "src link:ip",
    "src netlink:rtnl",
])
def test_no_bytecode(text: str) -> None:
    assert program(text) is None


def test_bytecode_only_for_inet_dumps_and_when_allowed() -> None:
    compiled = compile_filter(["sport", "=", ":22"])
    assert compiled.bytecode(AF_INET, IPPROTO_TCP) == compiled.bytecode(AF_INET6, IPPROTO_TCP) is not None
    assert compiled.bytecode(AF_UNIX, 0) is None
    assert compiled.without_bytecode().bytecode(AF_INET, IPPROTO_TCP) is None
    assert compiled.without_bytecode()(kernel_model.record_for(kernel_model.Entry(AF_INET, 22, 1, bytes(4),
                                                                                 bytes(4))))


@pytest.mark.parametrize("bound", [70000, -5])
def test_port_bounds_travel_in_16_bits(bound: int) -> None:
    code = program(f"sport >= :{bound}")
    assert code is not None
    assert code[4:8] == bytes(2) + (bound & 0xFFFF).to_bytes(2, "little")


def test_model_rejects_broken_programs() -> None:
    """The verifier model must be able to say no, or the audits above prove nothing."""
    good = bytes.fromhex(S_COND_22)
    assert kernel_model.audit(good)
    assert not kernel_model.audit(good[:-4])  # truncated address
    assert not kernel_model.audit(bytes.fromhex("07101800") + good[4:])  # no: 24 > len + 4
    assert not kernel_model.audit(bytes.fromhex("07101300") + good[4:])  # no: not a multiple of 4
    assert not kernel_model.audit(bytes.fromhex("01040600" "06040800"))  # jump into the middle of an op
    assert not kernel_model.audit(bytes.fromhex("07101400" "0121") + good[6:])  # AF_UNIX hostcond
    assert not kernel_model.audit(bytes.fromhex("0e040800"))  # unknown op


def test_run_follows_the_kernel_walk() -> None:
    code = program("sport = :22 or dport = :22")
    assert code is not None
    entry = kernel_model.Entry(AF_INET, 22, 5, bytes(4), bytes(4))
    assert kernel_model.run(code, entry)
    assert kernel_model.run(code, kernel_model.Entry(AF_INET, 5, 22, bytes(4), bytes(4)))
    assert not kernel_model.run(code, kernel_model.Entry(AF_INET, 5, 5, bytes(4), bytes(4)))
    prim = lower(compile_filter(["sport", "=", ":22"]).expression)  # type: ignore[arg-type]
    assert kernel_model.judge(prim, entry)


def test_long_chains_compile_and_stay_within_a_netlink_attribute() -> None:
    ports = compile_filter(" or ".join(f"sport = :{port}" for port in range(3000)).split())
    code = ports.kernel_bytecode
    assert code is not None and len(code) == 3000 * 16 + 2999 * 4
    entry = kernel_model.Entry(AF_INET, 2999, 1, bytes(4), bytes(4))
    assert kernel_model.run(code, entry)
    assert ports(kernel_model.record_for(entry))
    too_long = compile_filter(" or ".join(f"sport = :{port}" for port in range(3300)).split())
    assert too_long.kernel_bytecode is None  # the predicate alone decides, as when the kernel refuses
    assert too_long(kernel_model.record_for(entry))
