"""What tests ask of the test process itself: its children, and a fork interrupted as a real Ctrl-C is."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable


def children() -> set[str]:
    """This process's children, zombies included, as the kernel lists them (every thread's)."""
    found: set[str] = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as listed:
            found.update(listed.read().split())
    return found


def interrupted_fork(fork: Callable[[], int] = os.fork) -> Callable[[], int]:
    """os.fork, but a SIGINT comes while it runs, as a real Ctrl-C does (the kernel's fork being the slow
    part): raised as KeyboardInterrupt in the parent once fork returns."""

    def forked() -> int:
        pid = fork()
        if pid:
            os.kill(os.getpid(), signal.SIGINT)
        return pid

    return forked
