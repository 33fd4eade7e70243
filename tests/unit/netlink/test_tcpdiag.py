"""A TCPDIAG_GETSOCK reply buffer taken apart into its IPv4 and IPv6 dumps (built bytes, no kernel)."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st
from tests.unit.netlink.test_decode import DONE, SHUTDOWN, inet_diag_msg, nlattr, nlmsg

from pyss.netlink import constants as C  # noqa: N812  # reads like the kernel headers
from pyss.netlink.tcpdiag import split_families

# Message shapes a real dump mixes: a full socket, one with an odd-sized attribute, a TIME-WAIT one.
EXTRAS = (SHUTDOWN, nlattr(15, struct.pack("=I", 7)) + SHUTDOWN, b"")


def message(family: int, shape: int, port: int, kind: int = C.TCPDIAG_GETSOCK, flags: int = C.NLM_F_MULTI) -> bytes:
    host = "127.0.0.1" if family == C.AF_INET else "::1"
    return nlmsg(kind, inet_diag_msg(family=family, sport=port, src=host, dst=host) + EXTRAS[shape], flags)


def reference(messages: list[tuple[int, int, int]], flags: int = C.NLM_F_MULTI) -> tuple[bytes, bytes]:
    """What the two per-family dumps hold: each family's messages in order, typed SOCK_DIAG_BY_FAMILY."""
    def family_messages(family: int) -> bytes:
        return b"".join(message(f, shape, port, C.SOCK_DIAG_BY_FAMILY, flags)
                        for f, shape, port in messages if f == family)

    return family_messages(C.AF_INET), family_messages(C.AF_INET6)


MESSAGES = st.lists(st.tuples(st.sampled_from([C.AF_INET, C.AF_INET6]), st.integers(0, 2),
                              st.integers(1, 65535)), max_size=60)


@given(MESSAGES, st.booleans())
def test_a_buffer_splits_into_each_familys_messages_in_order(messages: list[tuple[int, int, int]],
                                                              ends: bool) -> None:
    buf = b"".join(message(*m) for m in messages) + (DONE if ends else b"")
    ipv4, ipv6, ending = split_families(buf)
    assert (ipv4, ipv6) == reference(messages)
    assert ending == (DONE if ends else b"")


def test_long_runs_of_one_family_split_where_the_family_changes() -> None:
    messages = [(C.AF_INET, 0, port) for port in range(1, 200)] + [(C.AF_INET6, 0, 7)] \
        + [(C.AF_INET, 0, port) for port in range(300, 400)] + [(C.AF_INET6, 2, 8), (C.AF_INET6, 0, 9)]
    assert split_families(b"".join(message(*m) for m in messages)) == (*reference(messages), b"")


def test_flags_such_as_an_interrupted_dump_stay_on_their_messages() -> None:
    flags = C.NLM_F_MULTI | C.NLM_F_DUMP_INTR
    messages = [(C.AF_INET6, 0, 1), (C.AF_INET, 0, 2), (C.AF_INET, 0, 3)]
    buf = b"".join(message(*m, flags=flags) for m in messages)
    assert split_families(buf) == (*reference(messages, flags), b"")


def test_an_error_ends_the_dump() -> None:
    error = nlmsg(C.NLMSG_ERROR, struct.pack("=i", -22) + bytes(16))
    assert split_families(message(C.AF_INET, 0, 1) + error) == (reference([(C.AF_INET, 0, 1)])[0], b"", error)
    assert split_families(error) == (b"", b"", error)


def test_a_buffer_it_cannot_read_comes_back_whole_and_unchanged() -> None:
    other_type = message(C.AF_INET, 0, 1, kind=C.SOCK_DIAG_BY_FAMILY)  # not a reply to TCPDIAG_GETSOCK
    too_long = struct.pack("=IHHII", 4000, C.TCPDIAG_GETSOCK, C.NLM_F_MULTI, 1, 0) + bytes(80)
    no_family = struct.pack("=IHHII", 16, C.TCPDIAG_GETSOCK, C.NLM_F_MULTI, 1, 0)
    for bad in (other_type, message(C.AF_INET, 0, 2) + too_long, no_family, message(C.AF_INET, 0, 2) + b"\0" * 8):
        assert split_families(bad) == (bad, b"", b"")
