"""pyss-exporter under faults: one line and a non-zero exit at start-up, a counter and a log line while serving."""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyss.system.netns import Namespace, inside
from tests.integration.exporter import EXPORTER, delete_namespace, make_namespace, running_exporter
from tests.integration.harness import TOOL_ENV, ZooNamespace, has_traceback, missing_prerequisites

pytestmark = pytest.mark.skipif(missing_prerequisites() is not None, reason=str(missing_prerequisites()))


@pytest.fixture
def exporter_ns() -> Iterator[Namespace]:
    namespace = make_namespace("faults")
    try:
        yield namespace
    finally:
        delete_namespace(namespace)


def run_exporter(namespace: Namespace, *args: str, user: str | None = None) -> subprocess.CompletedProcess[bytes]:
    prefix = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] if user else []
    return subprocess.run(["ip", "netns", "exec", namespace.name, *prefix, str(EXPORTER), *args],
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=30, env=TOOL_ENV, check=False)


def assert_one_line(run: subprocess.CompletedProcess[bytes], status: int, pattern: str) -> None:
    err = run.stderr.decode()
    assert run.returncode == status, err
    assert not has_traceback(run.stderr)
    assert err.count("\n") == 1 and err.startswith("pyss-exporter: "), err
    assert re.search(pattern, err), err


def test_address_in_use(exporter_ns: Namespace) -> None:
    with inside(exporter_ns):
        holder = socket.create_server(("127.0.0.1", 0))
    with holder:
        port = holder.getsockname()[1]
        run = run_exporter(exporter_ns, "--listen", f"127.0.0.1:{port}")
    assert_one_line(run, 1, rf"cannot listen on 127\.0\.0\.1:{port}: Address already in use")


def test_address_not_here(exporter_ns: Namespace) -> None:
    run = run_exporter(exporter_ns, "--listen", "192.0.2.1:9433")  # TEST-NET-1: on no interface of the namespace
    assert_one_line(run, 1, r"cannot listen on 192\.0\.2\.1:9433: Cannot assign requested address")


def test_unknown_namespace(exporter_ns: Namespace) -> None:
    run = run_exporter(exporter_ns, "--netns", "pyss-no-such-namespace", "--listen", "127.0.0.1:0")
    assert_one_line(run, 1, r'no network namespace "pyss-no-such-namespace"')


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs util-linux's setpriv to drop root")
def test_other_namespace_refused_without_privilege(exporter_ns: Namespace, zoo_ns: ZooNamespace) -> None:
    run = run_exporter(exporter_ns, "--netns", zoo_ns.name, "--listen", "127.0.0.1:0", user="65534")
    assert_one_line(run, 1, rf'netns "{zoo_ns.name}": cannot enter network namespace .*Operation not permitted')


def test_textfile_unwritable(exporter_ns: Namespace, tmp_path: Path) -> None:
    run = run_exporter(exporter_ns, "--textfile", str(tmp_path / "missing-dir" / "pyss.prom"))
    assert_one_line(run, 1, r"cannot write .*pyss\.prom: No such file or directory")


def test_textfile_written_whole(exporter_ns: Namespace, zoo_ns: ZooNamespace, tmp_path: Path) -> None:
    target = tmp_path / "pyss.prom"
    target.write_text("old\n")
    run = run_exporter(exporter_ns, "--netns", zoo_ns.name, "--textfile", str(target))
    assert run.returncode == 0, run.stderr
    text = target.read_text()
    assert f'pyss_sockets{{netid="tcp",netns="{zoo_ns.name}",state="LISTEN"}}' in text
    assert text.endswith("\n") and "old" not in text
    assert os.listdir(tmp_path) == ["pyss.prom"]  # the temporary file was renamed, not left behind


def test_namespace_vanishing_between_scrapes_is_counted_not_fatal(exporter_ns: Namespace) -> None:
    doomed = make_namespace("doomed")
    try:
        with running_exporter(exporter_ns, "--netns", doomed.name) as exporter:
            status, before = exporter.get()
            assert status == 200
            assert f'pyss_sockets{{netid="nl",netns="{doomed.name}",state="UNCONN"}}' in before
            delete_namespace(doomed)
            for _ in range(3):
                status, after = exporter.get()
                assert status == 200
            assert exporter.process.poll() is None, "pyss-exporter died"
    finally:
        delete_namespace(doomed)
    assert 'pyss_exporter_dump_errors_total{reason="vanished"} 3.0' in after
    assert f'netns="{doomed.name}"' not in after  # no half-counted series for it
    assert exporter.status == 0  # it kept serving, and SIGTERM stopped it cleanly
    # A lasting fault is logged once, when it starts, not at every scrape.
    assert exporter.log.decode().count(f'no network namespace "{doomed.name}"') == 1, exporter.log
    assert not has_traceback(exporter.log)


def test_concurrent_scrapes_all_answered(exporter_ns: Namespace) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with running_exporter(exporter_ns) as exporter, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: exporter.get(), range(32)))
    assert all(status == 200 and "pyss_sockets{" in body for status, body in answers)


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_textfile_over_something_not_a_regular_file_is_refused_and_left_alone(exporter_ns: Namespace, tmp_path: Path,
                                                                            kind: str) -> None:
    # The rename that makes the write atomic would replace a device or FIFO with a regular file (as
    # root, `--textfile /dev/full` replaced the system's /dev/full).
    target = tmp_path / "pyss.prom"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "device":
        os.mknod(target, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null's numbers
    else:
        target.mkdir()
    run = run_exporter(exporter_ns, "--textfile", str(target))
    assert_one_line(run, 1, rf"cannot write {re.escape(str(target))}: ")
    mode = target.lstat().st_mode
    assert {"fifo": stat.S_ISFIFO, "device": stat.S_ISCHR, "directory": stat.S_ISDIR}[kind](mode)
    assert os.listdir(tmp_path) == ["pyss.prom"]  # no temporary file left behind


@pytest.mark.parametrize("sent", [b"GET /metr", b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"],
                         ids=["inside-the-request", "after-the-request"])
def test_a_client_that_resets_its_connection_is_no_traceback(exporter_ns: Namespace, sent: bytes) -> None:
    # A scraper timing out or killed resets its connection: that is the client's loss, not a fault to log.
    with running_exporter(exporter_ns) as exporter:
        for _ in range(3):
            with inside(exporter_ns):
                client = socket.create_connection(("127.0.0.1", exporter.port))
            client.sendall(sent)
            time.sleep(0.1)
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a RST
            client.close()
        status, _ = exporter.get()
        assert status == 200
    assert exporter.status == 0
    assert not has_traceback(exporter.log), exporter.log.decode()
    assert exporter.log.decode().count("\n") == 1, exporter.log.decode()  # "serving ...", nothing else
