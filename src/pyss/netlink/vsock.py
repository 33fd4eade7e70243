"""AF_VSOCK's sock_diag reply (linux/vm_sockets_diag.h): struct vsock_diag_msg, with no attributes.

Pure decoding; imported only when a listing asks for VSOCK sockets.
"""

from __future__ import annotations

from pyss.lite_typing import TYPE_CHECKING
from pyss.netlink.decode import MalformedMessage
from pyss.netlink.layout import Layout
from pyss.records import VsockSocket

if TYPE_CHECKING:
    from typing import Final

VSOCK_DIAG_MSG: Final = Layout("vsock_diag_msg", (
    ("family", "B"), ("type", "B"), ("state", "B"), ("shutdown", "B"),
    ("src_cid", "I"), ("src_port", "I"), ("dst_cid", "I"), ("dst_port", "I"), ("inode", "I"), ("cookie", "2I"),
), 32)
_UNPACK: Final = VSOCK_DIAG_MSG.struct.unpack_from


def decode_vsock(buf: bytes, start: int, end: int) -> VsockSocket:
    if end - start < VSOCK_DIAG_MSG.size:
        raise MalformedMessage(f"vsock_diag_msg of {end - start} bytes, expected {VSOCK_DIAG_MSG.size}")
    (_family, kind, state, shutdown, src_cid, src_port, dst_cid, dst_port, inode,
     cookie0, cookie1) = _UNPACK(buf, start)
    return VsockSocket(kind, state, shutdown, src_cid, src_port, dst_cid, dst_port, inode, cookie0 | cookie1 << 32)
