"""The integration harness's comparison helpers, on made-up ss output (no root needed)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.integration.harness import (
    NsRun,
    assert_matches_reference,
    assert_same_output,
    assert_same_rows,
    assert_same_summary,
    is_own_row,
    normalise_layout,
    summary_parts,
    without_own_rows,
)

HEADER = "Netid State  Recv-Q Send-Q                   Local Address:Port  Peer Address:PortProcess\n"
ZOO = "nl    UNCONN 0      0      tcpdiag:pyss-zoo-holder/100        *           \n"
KERNEL = "nl    UNCONN 832    0                 tcpdiag:kernel        *           \n"


def run(tool: str, pid: int, *lines: str, returncode: int = 0) -> NsRun:
    return NsRun([tool, "-a"], pid, returncode, "".join(lines).encode(), b"")


def own(tool: str, pid: int) -> str:
    return f"nl    UNCONN 4352   0      tcpdiag:{tool}/{pid}        *           \n"


@pytest.mark.parametrize(
    ("line", "pid", "expected"),
    [
        ("nl    UNCONN 4352 0 tcpdiag:ss/4242 *", 4242, True),
        ("nl    UNCONN 4352 0 4:4242 *", 4242, True),  # -n
        ("UNCONN 4352 0 tcpdiag:pyss/4242 *", 4242, True),  # -A netlink: no Netid column
        ("nl    UNCONN 0 0 rtnl:-4097 *", 4242, True),  # a tool's second netlink socket
        ("nl    UNCONN 0 0 tcpdiag:pyss-zoo-holder/100 *", 4242, False),
        ("nl    UNCONN 832 0 tcpdiag:kernel *", 4242, False),
        ("nl    UNCONN 0 0 4:0 *", 4242, False),
        ("tcp   ESTAB 0 0 127.0.0.1:4242 127.0.0.1:80", 4242, False),
        ("ESTAB 0 0 [::1]:4242 [::1]:80", 4242, False),
        ("u_str ESTAB 0 0 * 4242 * 4243", 4242, False),
        ("p_raw UNCONN 0 0 *:lo *", 1, False),
        (HEADER, 4242, False),
    ],
)
def test_is_own_row(line: str, pid: int, expected: bool) -> None:
    assert is_own_row(line, pid) is expected


def test_own_rows_are_dropped_and_reported() -> None:
    ss = run("ss", 7, HEADER, KERNEL, own("ss", 7), ZOO)
    pyss = run("pyss", 8, HEADER, own("pyss", 8), KERNEL, ZOO)
    assert without_own_rows(pyss).dropped == [own("pyss", 8)]
    assert assert_same_rows(ss, pyss) == ([own("ss", 7)], [own("pyss", 8)])


def test_other_rows_still_count() -> None:
    ss = run("ss", 7, HEADER, KERNEL, own("ss", 7), ZOO)
    pyss = run("pyss", 8, HEADER, own("pyss", 8), ZOO)
    with pytest.raises(AssertionError, match=r"(?s)own netlink rows dropped.*-nl +UNCONN 832"):
        assert_same_rows(ss, pyss)


def test_a_widest_own_row_refuses_comparison() -> None:
    ss = run("ss", 7, HEADER, KERNEL, own("ss", 7))
    pyss = run("pyss", 123456, HEADER, KERNEL, own("pyss", 123456))
    with pytest.raises(AssertionError, match="widest"):
        assert_same_rows(ss, pyss)


def test_exit_status_counts() -> None:
    with pytest.raises(AssertionError, match="exit status"):
        assert_same_rows(run("ss", 7, HEADER), run("pyss", 8, HEADER, returncode=1))


def test_byte_exact_sees_padding() -> None:
    with pytest.raises(AssertionError, match="byte-exact"):
        assert_same_output(run("ss", 7, HEADER), run("pyss", 8, HEADER.replace("Process\n", "Process \n")))
    assert_same_output(run("ss", 7, HEADER), run("pyss", 8, HEADER))


def test_normalise_only_when_asked() -> None:
    assert normalise_layout("a  b   c  \nd\n") == "a b c\nd\n"
    padded = run("pyss", 8, HEADER.replace(" Recv-Q", "  Recv-Q"), ZOO)
    with pytest.raises(AssertionError):
        assert_same_rows(run("ss", 7, HEADER, ZOO), padded)
    assert_same_rows(run("ss", 7, HEADER, ZOO), padded, normalise=True)


def test_order_only_when_asked() -> None:
    ss, pyss = run("ss", 7, HEADER, KERNEL, ZOO), run("pyss", 8, HEADER, ZOO, KERNEL)
    with pytest.raises(AssertionError):
        assert_same_rows(ss, pyss)
    assert_same_rows(ss, pyss, ordered=False)


def runner(tool: str, *outputs: str) -> Callable[..., NsRun]:
    """A fake tool that prints the given outputs on successive calls (the last one forever)."""
    queue = list(outputs)

    def run_once(*argv: str) -> NsRun:
        text = queue.pop(0) if len(queue) > 1 else queue[0]
        return NsRun([tool, *argv], 1, 0, text.encode(), b"")

    return run_once


def test_reference_sandwich_accepts_either_neighbour() -> None:
    before, after = HEADER + ZOO + KERNEL, HEADER + KERNEL + ZOO
    assert_matches_reference(runner("ss", before, after), runner("pyss", after), ["-a"])


def test_reference_sandwich_fails_when_the_reference_held_still() -> None:
    with pytest.raises(AssertionError, match="byte-exact") as failure:
        assert_matches_reference(runner("ss", HEADER + ZOO), runner("pyss", HEADER + KERNEL), ["-a"])
    assert "disagreed with itself" not in str(failure.value)


def test_reference_sandwich_gives_up_on_a_restless_reference() -> None:
    restless = runner("ss", *[HEADER + (ZOO if i % 2 else KERNEL) for i in range(7)])
    with pytest.raises(AssertionError, match="disagreed with itself in each of 3 tries"):
        assert_matches_reference(restless, runner("pyss", HEADER), ["-a"])


def summary(total: int, estab: int, closed: int, orphaned: int, raw: int = 1) -> NsRun:
    text = (f"Total: 12\nTCP:   {total} (estab {estab}, closed {closed}, orphaned {orphaned}, timewait 0)\n\n"
            f"Transport Total     IP        IPv6\nRAW\t  {raw}         {raw}         0        \n")
    return NsRun(["ss", "-s"], 1, 0, text.encode(), b"")


def replay(*runs: NsRun) -> Callable[[], NsRun]:
    queue = list(runs)
    return lambda: queue.pop(0)


def test_summary_parts_mask_only_the_host_wide_figures() -> None:
    masked, figures = summary_parts(summary(40, 3, 30, 2).stdout)
    assert figures == (40, 30, 2)
    assert b"TCP:   # (estab 3, closed #, orphaned #, timewait 0)" in masked
    assert summary_parts(b"no tcp line\n") == (b"no tcp line\n", ())


def test_host_wide_figures_between_the_reference_runs_pass() -> None:
    reference = replay(summary(40, 3, 30, 2), summary(44, 3, 34, 2))
    assert assert_same_summary(reference, replay(summary(42, 3, 32, 2))).stdout == summary(42, 3, 32, 2).stdout


def test_a_namespace_figure_that_differs_fails_at_once() -> None:
    with pytest.raises(AssertionError, match="stdout differs"):
        assert_same_summary(replay(summary(40, 3, 30, 2), summary(40, 3, 30, 2)), replay(summary(40, 4, 30, 2)))


def test_host_wide_figures_outside_the_reference_runs_fail_after_the_tries() -> None:
    reference = replay(*[summary(40, 3, 30, 2)] * 6)
    with pytest.raises(AssertionError, match=r"(?s)host-wide TCP figures.*\(41, 30, 2\).*in each of 3 tries"):
        assert_same_summary(reference, replay(*[summary(41, 3, 30, 2)] * 3), attempts=3)


def test_a_retry_is_taken_only_for_movement() -> None:
    moving = [summary(40, 3, 30, 2), summary(40, 3, 30, 2, raw=2)]  # the namespace moved under the reference
    reference = replay(*moving, summary(40, 3, 30, 2), summary(40, 3, 30, 2))
    assert_same_summary(reference, replay(summary(40, 3, 30, 2), summary(40, 3, 30, 2)), attempts=2)
    with pytest.raises(AssertionError, match="disagreed with itself"):
        assert_same_summary(replay(*moving * 2), replay(*[summary(40, 3, 30, 2)] * 2), attempts=2)
