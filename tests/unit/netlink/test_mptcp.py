"""MPTCP payloads built to linux/mptcp.h's layouts, decoded and printed as ss 6.1 prints them."""

from __future__ import annotations

import struct

import pytest

from pyss.netlink import constants as C  # noqa: N812  # reads like the kernel headers
from pyss.netlink.decode import MalformedMessage, attributes
from pyss.netlink.mptcp import MPTCP_INFO_STRUCT, decode_mptcp_info, decode_subflow
from pyss.netlink.requests import attribute, inet_request
from pyss.render.mptcp import mptcp_info_text, subflow_text


def mptcp_info(subflows: int = 1, flags: int = 0, token: int = 0, seqs: tuple[int, int, int] = (0, 0, 0),
               tail: bytes = b"") -> bytes:
    """struct mptcp_info as the kernel lays it out: six u8, a 2-byte hole, u32 flags and token, three u64."""
    return struct.pack("=6B2xII3Q", subflows, 2, 3, 4, 5, 6, flags, token, *seqs) + tail


def test_mptcp_info_layout() -> None:
    assert MPTCP_INFO_STRUCT.size == 40  # offsetof(struct mptcp_info, mptcpi_local_addr_used)
    raw = mptcp_info(7, C.MPTCP_INFO_FLAG_FALLBACK, 0xABCD, (1, 2, 3), tail=b"\x09" * 32)
    info = decode_mptcp_info(raw)
    assert info == (7, 2, 3, 4, 5, 6, C.MPTCP_INFO_FLAG_FALLBACK, 0xABCD, 1, 2, 3)


def test_short_mptcp_info_reads_zeros() -> None:
    info = decode_mptcp_info(mptcp_info(token=0x1234, seqs=(9, 9, 9))[:16])
    assert info.token == 0x1234 and info.write_seq == info.snd_una == info.rcv_nxt == 0


def test_mptcp_info_text_as_ss_61() -> None:
    raw = mptcp_info(2, C.MPTCP_INFO_FLAG_FALLBACK | C.MPTCP_INFO_FLAG_REMOTE_KEY_RECEIVED, 0x28D05B02,
                     (0xB06ACA73BFDC8F4E, 0xB06ACA73BFDC8F4E, 0xEFAD4C405D054F39))
    assert mptcp_info_text(raw) == (
        " subflows:2 add_addr_signal:2 add_addr_accepted:3 subflows_max:4 add_addr_signal_max:5"
        " add_addr_accepted_max:6 fallback remote_key token:28d05b02 write_seq:b06aca73bfdc8f4e"
        " snd_una:b06aca73bfdc8f4e rcv_nxt:efad4c405d054f39")
    assert mptcp_info_text(struct.pack("=6B2xII3Q", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)) == ""


def subflow_attrs(flags: int = 0xFFFF_FFFF, datalen: bytes = struct.pack("=H", 0x40)) -> bytes:
    return (attribute(C.MPTCP_SUBFLOW_ATTR_TOKEN_REM, struct.pack("=I", 0))
            + attribute(C.MPTCP_SUBFLOW_ATTR_TOKEN_LOC, struct.pack("=I", 0x7248EDE8))
            + attribute(C.MPTCP_SUBFLOW_ATTR_RELWRITE_SEQ, struct.pack("=I", 5))
            + attribute(C.MPTCP_SUBFLOW_ATTR_MAP_SEQ, struct.pack("=Q", 0xB06ACA73BFDC8F4E))
            + attribute(C.MPTCP_SUBFLOW_ATTR_MAP_SFSEQ, struct.pack("=I", 1))
            + attribute(C.MPTCP_SUBFLOW_ATTR_SSN_OFFSET, struct.pack("=I", 0xD61D33C9))
            + attribute(C.MPTCP_SUBFLOW_ATTR_MAP_DATALEN, datalen)
            + attribute(C.MPTCP_SUBFLOW_ATTR_FLAGS, struct.pack("=I", flags))
            + attribute(C.MPTCP_SUBFLOW_ATTR_ID_REM, b"\x03")
            + attribute(C.MPTCP_SUBFLOW_ATTR_ID_LOC, b"\x00"))


def test_subflow_text_as_ss_61() -> None:
    assert subflow_text(subflow_attrs()) == (
        " flags:MmJjBbecv token:0000(id:3)/7248ede8(id:0) seq:b06aca73bfdc8f4e sfseq:1 ssnoff:d61d33c9 maplen:40")
    flags = C.MPTCP_SUBFLOW_FLAG_MCAP_REM | C.MPTCP_SUBFLOW_FLAG_FULLY_ESTABLISHED | C.MPTCP_SUBFLOW_FLAG_CONNECTED
    assert subflow_text(subflow_attrs(flags)).startswith(" flags:Mec token:")
    assert not subflow_text(subflow_attrs(0)).startswith(" flags")


def test_subflow_without_an_id_shows_no_token() -> None:
    full = subflow_attrs()
    raw = b"".join(attribute(kind, value) for kind, value in attributes(full, 0, len(full)).items()
                   if kind != C.MPTCP_SUBFLOW_ATTR_ID_LOC)
    assert " token:" not in subflow_text(raw)


def test_truncated_subflow_attribute_is_malformed() -> None:
    with pytest.raises(MalformedMessage, match="MPTCP subflow attribute 7"):
        decode_subflow(subflow_attrs(datalen=b"\x01"))


def test_mptcp_request_names_the_protocol_in_an_attribute() -> None:
    message = inet_request(C.AF_INET6, C.IPPROTO_MPTCP, 0xFFF)
    length, kind = struct.unpack_from("=IH", message)
    assert (length, kind) == (len(message), C.SOCK_DIAG_BY_FAMILY)
    family, protocol = message[16], message[17]
    assert (family, protocol) == (C.AF_INET6, C.IPPROTO_MPTCP & 0xFF)
    found = attributes(message, 16 + 56, len(message))
    assert found == {C.INET_DIAG_REQ_PROTOCOL: struct.pack("=I", C.IPPROTO_MPTCP)}
    tcp = inet_request(C.AF_INET, C.IPPROTO_TCP, 0xFFF)
    assert len(tcp) == 16 + 56 and tcp[17] == C.IPPROTO_TCP
