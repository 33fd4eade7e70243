"""What the kernel lets this process see: effective capabilities, from /proc/self/status."""

from __future__ import annotations

import os

from pyss.system.procfs import read_text

CAP_NET_ADMIN = 12  # linux/capability.h


def effective_capabilities() -> int | None:
    """The CapEff mask, or None when /proc/self/status cannot tell."""
    text = read_text("/proc/self/status", limit=1 << 16) or ""
    for line in text.splitlines():
        if line.startswith("CapEff:"):
            try:
                return int(line.split()[1], 16)
            except (IndexError, ValueError):
                return None
    return None


def has_net_admin() -> bool:
    """Whether sock_diag shows socket marks and accepts mark conditions (CAP_NET_ADMIN); without
    /proc, root is assumed to have it."""
    capabilities = effective_capabilities()
    if capabilities is None:
        return os.geteuid() == 0
    return bool(capabilities >> CAP_NET_ADMIN & 1)
