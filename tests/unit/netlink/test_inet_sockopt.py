"""struct inet_diag_sockopt (two bytes of one-bit fields) and ss's --inet-sockopt text for it."""

from __future__ import annotations

import sys

import pytest

from pyss.netlink.tcpinfo import INET_DIAG_SOCKOPT_FIELDS, decode_inet_sockopt
from pyss.render.details import sockopt_text

FIELDS = [name for byte in INET_DIAG_SOCKOPT_FIELDS for name in byte]


def sockopt(*names: str) -> bytes:
    """The two bytes as a little- or big-endian C compiler lays the bit-fields out."""
    raw = bytearray(2)
    for byte, fields in enumerate(INET_DIAG_SOCKOPT_FIELDS):
        for index, name in enumerate(fields):
            if name in names:
                raw[byte] |= 1 << (index if sys.byteorder == "little" else 7 - index)
    return bytes(raw)


@pytest.mark.parametrize("name", FIELDS)
def test_each_field_alone(name: str) -> None:
    assert decode_inet_sockopt(sockopt(name)) == (name,)


def test_little_endian_bit_positions() -> None:
    if sys.byteorder != "little":
        pytest.skip("bit-field layout of little-endian ABIs")
    assert decode_inet_sockopt(bytes((0b0001_0010, 0b0000_0100))) == ("is_icsk", "mc_loop", "defer_connect")
    assert decode_inet_sockopt(bytes((0, 0b1111_1000))) == ()  # the unused bits


def test_text_in_ss_words_and_order() -> None:
    raw = sockopt(*FIELDS)
    assert sockopt_text(raw, oneline=False) == (
        "\n\tinet-sockopt: ( recverr is_icsk freebind hdrincl mc_loop transparent mc_all nodefrag"
        " bind_addr_no_port recverr_rfc4884 defer_connect)")
    assert sockopt_text(bytes(2), oneline=True) == " inet-sockopt: ()"
