"""The NETLINK_SOCK_DIAG client: requests, transport and decoders."""
