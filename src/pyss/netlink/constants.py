"""Kernel constants used by the socket-diagnostics client, under their kernel names.

Values come from the uapi headers (linux/netlink.h, sock_diag.h, inet_diag.h,
unix_diag.h, packet_diag.h, netlink_diag.h, tcp.h, vm_sockets.h, xdp_diag.h,
tipc_netlink.h). Kept in one place so that a
reader can check each against the header it names.
"""

from __future__ import annotations

from pyss.lite_typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Final

# linux/socket.h address families
AF_UNSPEC: Final = 0
AF_UNIX: Final = 1
AF_INET: Final = 2
AF_INET6: Final = 10
AF_NETLINK: Final = 16
AF_PACKET: Final = 17
AF_TIPC: Final = 30
AF_VSOCK: Final = 40
AF_XDP: Final = 44

# linux/netlink.h
NETLINK_ROUTE: Final = 0
NETLINK_SOCK_DIAG: Final = 4
NLM_F_REQUEST: Final = 0x01
NLM_F_MULTI: Final = 0x02
NLM_F_ACK: Final = 0x04
NLM_F_DUMP_INTR: Final = 0x10
NLM_F_ROOT: Final = 0x100
NLM_F_MATCH: Final = 0x200
NLM_F_DUMP: Final = NLM_F_ROOT | NLM_F_MATCH
NLMSG_NOOP: Final = 1
NLMSG_ERROR: Final = 2
NLMSG_DONE: Final = 3
NLMSG_HDRLEN: Final = 16
NLA_HDRLEN: Final = 4
SOL_NETLINK: Final = 270
NETLINK_EXT_ACK: Final = 11
NETLINK_GET_STRICT_CHK: Final = 12

# linux/sock_diag.h
SOCK_DIAG_BY_FAMILY: Final = 20
# The older inet_diag request (struct inet_diag_req), still served: its TCP dump covers IPv4 and IPv6 in one
# walk of the socket hash, where SOCK_DIAG_BY_FAMILY needs one walk per family. Replies carry this type too.
TCPDIAG_GETSOCK: Final = 18
SOCK_DESTROY: Final = 21
# enum sknetlink_groups: the multicast groups that report destroyed sockets
SKNLGRP_INET_TCP_DESTROY: Final = 1
SKNLGRP_INET_UDP_DESTROY: Final = 2
SKNLGRP_INET6_TCP_DESTROY: Final = 3
SKNLGRP_INET6_UDP_DESTROY: Final = 4
SK_MEMINFO_RMEM_ALLOC: Final = 0
SK_MEMINFO_RCVBUF: Final = 1
SK_MEMINFO_WMEM_ALLOC: Final = 2
SK_MEMINFO_SNDBUF: Final = 3
SK_MEMINFO_FWD_ALLOC: Final = 4
SK_MEMINFO_WMEM_QUEUED: Final = 5
SK_MEMINFO_OPTMEM: Final = 6
SK_MEMINFO_BACKLOG: Final = 7
SK_MEMINFO_DROPS: Final = 8

# linux/in.h protocols
IPPROTO_IP: Final = 0
IPPROTO_ICMP: Final = 1
IPPROTO_TCP: Final = 6
IPPROTO_UDP: Final = 17
IPPROTO_DCCP: Final = 33
IPPROTO_ICMPV6: Final = 58
IPPROTO_SCTP: Final = 132
IPPROTO_RAW: Final = 255
IPPROTO_MPTCP: Final = 262  # above 255: a dump names it in INET_DIAG_REQ_PROTOCOL

# linux/inet_diag.h: request attributes
INET_DIAG_REQ_NONE: Final = 0
INET_DIAG_REQ_BYTECODE: Final = 1
INET_DIAG_REQ_SK_BPF_STORAGES: Final = 2
INET_DIAG_REQ_PROTOCOL: Final = 3

# linux/inet_diag.h: bytecode operations
INET_DIAG_BC_NOP: Final = 0
INET_DIAG_BC_JMP: Final = 1
INET_DIAG_BC_S_GE: Final = 2
INET_DIAG_BC_S_LE: Final = 3
INET_DIAG_BC_D_GE: Final = 4
INET_DIAG_BC_D_LE: Final = 5
INET_DIAG_BC_AUTO: Final = 6
INET_DIAG_BC_S_COND: Final = 7
INET_DIAG_BC_D_COND: Final = 8
INET_DIAG_BC_DEV_COND: Final = 9
INET_DIAG_BC_MARK_COND: Final = 10
INET_DIAG_BC_S_EQ: Final = 11
INET_DIAG_BC_D_EQ: Final = 12
INET_DIAG_BC_CGROUP_COND: Final = 13

# linux/inet_diag.h: response attributes (extensions)
INET_DIAG_NONE: Final = 0
INET_DIAG_MEMINFO: Final = 1
INET_DIAG_INFO: Final = 2
INET_DIAG_VEGASINFO: Final = 3
INET_DIAG_CONG: Final = 4
INET_DIAG_TOS: Final = 5
INET_DIAG_TCLASS: Final = 6
INET_DIAG_SKMEMINFO: Final = 7
INET_DIAG_SHUTDOWN: Final = 8
INET_DIAG_DCTCPINFO: Final = 9
INET_DIAG_PROTOCOL: Final = 10
INET_DIAG_SKV6ONLY: Final = 11
INET_DIAG_LOCALS: Final = 12
INET_DIAG_PEERS: Final = 13
INET_DIAG_PAD: Final = 14
INET_DIAG_MARK: Final = 15
INET_DIAG_BBRINFO: Final = 16
INET_DIAG_CLASS_ID: Final = 17
INET_DIAG_MD5SIG: Final = 18
INET_DIAG_ULP_INFO: Final = 19
INET_DIAG_SK_BPF_STORAGES: Final = 20
INET_DIAG_CGROUP_ID: Final = 21
INET_DIAG_SOCKOPT: Final = 22

# linux/unix_diag.h
UDIAG_SHOW_NAME: Final = 0x01
UDIAG_SHOW_VFS: Final = 0x02
UDIAG_SHOW_PEER: Final = 0x04
UDIAG_SHOW_ICONS: Final = 0x08
UDIAG_SHOW_RQLEN: Final = 0x10
UDIAG_SHOW_MEMINFO: Final = 0x20
UDIAG_SHOW_UID: Final = 0x40
UNIX_DIAG_NAME: Final = 0
UNIX_DIAG_VFS: Final = 1
UNIX_DIAG_PEER: Final = 2
UNIX_DIAG_ICONS: Final = 3
UNIX_DIAG_RQLEN: Final = 4
UNIX_DIAG_MEMINFO: Final = 5
UNIX_DIAG_SHUTDOWN: Final = 6
UNIX_DIAG_UID: Final = 7

# linux/packet_diag.h
PACKET_SHOW_INFO: Final = 0x01
PACKET_SHOW_MCLIST: Final = 0x02
PACKET_SHOW_RING_CFG: Final = 0x04
PACKET_SHOW_FANOUT: Final = 0x08
PACKET_SHOW_MEMINFO: Final = 0x10
PACKET_SHOW_FILTER: Final = 0x20
PACKET_DIAG_INFO: Final = 0
PACKET_DIAG_MCLIST: Final = 1
PACKET_DIAG_RX_RING: Final = 2
PACKET_DIAG_TX_RING: Final = 3
PACKET_DIAG_FANOUT: Final = 4
PACKET_DIAG_UID: Final = 5
PACKET_DIAG_MEMINFO: Final = 6
PACKET_DIAG_FILTER: Final = 7
ETH_P_ALL: Final = 0x0003

# linux/netlink_diag.h
NDIAG_PROTO_ALL: Final = 0xFF
NDIAG_SHOW_MEMINFO: Final = 0x01
NDIAG_SHOW_GROUPS: Final = 0x02
NDIAG_SHOW_FLAGS: Final = 0x08
NETLINK_DIAG_MEMINFO: Final = 0
NETLINK_DIAG_GROUPS: Final = 1
NETLINK_DIAG_RX_RING: Final = 2
NETLINK_DIAG_TX_RING: Final = 3
NETLINK_DIAG_FLAGS: Final = 4
NETLINK_UNCONNECTED: Final = 0
NETLINK_CONNECTED: Final = 1

# linux/net.h socket types
SOCK_STREAM: Final = 1
SOCK_DGRAM: Final = 2
SOCK_RAW: Final = 3
SOCK_RDM: Final = 4
SOCK_SEQPACKET: Final = 5

# include/net/tcp_states.h (the kernel numbers ss's state names and masks use)
TCP_ESTABLISHED: Final = 1
TCP_SYN_SENT: Final = 2
TCP_SYN_RECV: Final = 3
TCP_FIN_WAIT1: Final = 4
TCP_FIN_WAIT2: Final = 5
TCP_TIME_WAIT: Final = 6
TCP_CLOSE: Final = 7
TCP_CLOSE_WAIT: Final = 8
TCP_LAST_ACK: Final = 9
TCP_LISTEN: Final = 10
TCP_CLOSING: Final = 11
TCP_NEW_SYN_RECV: Final = 12
TCP_BOUND_INACTIVE: Final = 13  # a request bit only (Linux 6.6+): bound, neither listening nor connected
TCP_MAX_STATES: Final = 14
TCPF_ALL: Final = (1 << 12) - 1

# The clock ticks of /proc/net/tcp's timer, rto and ato columns (jiffies_to_clock_t); ss divides
# by sysconf(_SC_CLK_TCK), which is this on Linux.
USER_HZ: Final = 100

# linux/tcp.h: tcp_info.tcpi_options bits
TCPI_OPT_TIMESTAMPS: Final = 1
TCPI_OPT_SACK: Final = 2
TCPI_OPT_WSCALE: Final = 4
TCPI_OPT_ECN: Final = 8
TCPI_OPT_ECN_SEEN: Final = 16
TCPI_OPT_SYN_DATA: Final = 32
TCPI_OPT_USEC_TS: Final = 64
TCPI_OPT_TFO_CHILD: Final = 128

# linux/inet_diag.h: INET_DIAG_ULP_INFO nested attributes
INET_ULP_INFO_UNSPEC: Final = 0
INET_ULP_INFO_NAME: Final = 1
INET_ULP_INFO_TLS: Final = 2
INET_ULP_INFO_MPTCP: Final = 3

# linux/mptcp.h: MPTCP_SUBFLOW_ATTR_* (nested in INET_ULP_INFO_MPTCP) and flag bits
MPTCP_SUBFLOW_ATTR_TOKEN_REM: Final = 1
MPTCP_SUBFLOW_ATTR_TOKEN_LOC: Final = 2
MPTCP_SUBFLOW_ATTR_RELWRITE_SEQ: Final = 3
MPTCP_SUBFLOW_ATTR_MAP_SEQ: Final = 4
MPTCP_SUBFLOW_ATTR_MAP_SFSEQ: Final = 5
MPTCP_SUBFLOW_ATTR_SSN_OFFSET: Final = 6
MPTCP_SUBFLOW_ATTR_MAP_DATALEN: Final = 7
MPTCP_SUBFLOW_ATTR_FLAGS: Final = 8
MPTCP_SUBFLOW_ATTR_ID_REM: Final = 9
MPTCP_SUBFLOW_ATTR_ID_LOC: Final = 10
MPTCP_SUBFLOW_FLAG_MCAP_REM: Final = 1 << 0
MPTCP_SUBFLOW_FLAG_MCAP_LOC: Final = 1 << 1
MPTCP_SUBFLOW_FLAG_JOIN_REM: Final = 1 << 2
MPTCP_SUBFLOW_FLAG_JOIN_LOC: Final = 1 << 3
MPTCP_SUBFLOW_FLAG_BKUP_REM: Final = 1 << 4
MPTCP_SUBFLOW_FLAG_BKUP_LOC: Final = 1 << 5
MPTCP_SUBFLOW_FLAG_FULLY_ESTABLISHED: Final = 1 << 6
MPTCP_SUBFLOW_FLAG_CONNECTED: Final = 1 << 7
MPTCP_SUBFLOW_FLAG_MAPVALID: Final = 1 << 8
MPTCP_INFO_FLAG_FALLBACK: Final = 1 << 0
MPTCP_INFO_FLAG_REMOTE_KEY_RECEIVED: Final = 1 << 1

# linux/tls.h: TLS_INFO_* nested attributes and values
TLS_INFO_VERSION: Final = 1
TLS_INFO_CIPHER: Final = 2
TLS_INFO_TXCONF: Final = 3
TLS_INFO_RXCONF: Final = 4
TLS_INFO_ZC_RO_TX: Final = 5
TLS_INFO_RX_NO_PAD: Final = 6
TLS_1_2_VERSION: Final = 0x0303
TLS_1_3_VERSION: Final = 0x0304
TLS_CIPHER_AES_GCM_128: Final = 51
TLS_CIPHER_AES_GCM_256: Final = 52
TLS_CONF_BASE: Final = 1
TLS_CONF_SW: Final = 2
TLS_CONF_HW: Final = 3
TLS_CONF_HW_RECORD: Final = 4

# linux/packet_diag.h: packet_diag_info.pdi_flags
PDI_RUNNING: Final = 0x1
PDI_AUXDATA: Final = 0x2
PDI_ORIGDEV: Final = 0x4
PDI_VNETHDR: Final = 0x8
PDI_LOSS: Final = 0x10

# linux/vm_sockets.h: the wildcard CID and port of an unbound or unconnected vsock
VMADDR_CID_ANY: Final = 0xFFFFFFFF
VMADDR_PORT_ANY: Final = 0xFFFFFFFF

# linux/xdp_diag.h
XDP_SHOW_INFO: Final = 1 << 0
XDP_SHOW_RING_CFG: Final = 1 << 1
XDP_SHOW_UMEM: Final = 1 << 2
XDP_SHOW_MEMINFO: Final = 1 << 3
XDP_SHOW_STATS: Final = 1 << 4
XDP_DIAG_NONE: Final = 0
XDP_DIAG_INFO: Final = 1
XDP_DIAG_UID: Final = 2
XDP_DIAG_RX_RING: Final = 3
XDP_DIAG_TX_RING: Final = 4
XDP_DIAG_UMEM: Final = 5
XDP_DIAG_UMEM_FILL_RING: Final = 6
XDP_DIAG_UMEM_COMPLETION_RING: Final = 7
XDP_DIAG_MEMINFO: Final = 8
XDP_DIAG_STATS: Final = 9
XDP_DU_F_ZEROCOPY: Final = 1 << 0

# linux/tipc_netlink.h: a TIPC sock_diag reply is a TIPC_NLA_SOCK nest (no fixed header)
TIPC_NLA_SOCK: Final = 2
TIPC_NLA_SOCK_ADDR: Final = 1
TIPC_NLA_SOCK_REF: Final = 2
TIPC_NLA_SOCK_CON: Final = 3
TIPC_NLA_SOCK_HAS_PUBL: Final = 4
TIPC_NLA_SOCK_STAT: Final = 5
TIPC_NLA_SOCK_TYPE: Final = 6
TIPC_NLA_SOCK_INO: Final = 7
TIPC_NLA_SOCK_UID: Final = 8
TIPC_NLA_SOCK_TIPC_STATE: Final = 9
TIPC_NLA_SOCK_COOKIE: Final = 10
TIPC_NLA_SOCK_PAD: Final = 11
TIPC_NLA_SOCK_GROUP: Final = 12
TIPC_NLA_CON_FLAG: Final = 1
TIPC_NLA_CON_NODE: Final = 2
TIPC_NLA_CON_SOCK: Final = 3
TIPC_NLA_CON_TYPE: Final = 4
TIPC_NLA_CON_INST: Final = 5
TIPC_NLA_SOCK_STAT_RCVQ: Final = 0
TIPC_NLA_SOCK_STAT_SENDQ: Final = 1
TIPC_NLA_SOCK_STAT_LINK_CONG: Final = 2
TIPC_NLA_SOCK_STAT_CONN_CONG: Final = 3
TIPC_NLA_SOCK_STAT_DROP: Final = 4
