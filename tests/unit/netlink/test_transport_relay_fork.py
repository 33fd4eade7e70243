"""pyss.netlink.transport's read-ahead child: a Ctrl-C while it is forked loses no child (no root needed)."""

from __future__ import annotations

import gc
import os
import signal

import pytest
from tests.processes import children, interrupted_fork

from pyss.netlink import transport


def test_a_ctrl_c_while_the_read_ahead_child_is_forked_leaves_no_child(monkeypatch: pytest.MonkeyPatch) -> None:
    # The SIGINT comes while fork() runs, as a real one does: raised as KeyboardInterrupt once fork returns,
    # it must not lose the child (never killed, never reaped: a zombie for the caller's life).
    monkeypatch.setattr(os, "fork", interrupted_fork())
    before = children()
    with transport.DiagSocket() as diag, pytest.raises(KeyboardInterrupt):
        transport._Relay(diag.socket)
    gc.collect()  # (the relay half made is let go with the exception's traceback)
    assert children() <= before


def test_the_pid_is_noted_before_a_pending_interrupt_is_raised() -> None:
    noted: list[int] = []

    def note(pid: int) -> None:
        noted.append(pid)
        os.kill(os.getpid(), signal.SIGINT)  # waits, blocked, until note has returned

    with pytest.raises(KeyboardInterrupt):
        if transport.fork_noted(note) == 0:  # pragma: no cover - the child
            os._exit(0)
    assert len(noted) == 1
    assert os.waitpid(noted[0], 0)[0] == noted[0]
