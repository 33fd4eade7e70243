"""exit_at_once: a command's process ends without the interpreter's teardown only when nothing is lost."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

# A program that leaves text in both streams' buffers, registers an atexit function and keeps an object
# whose finalizer speaks only in the interpreter's teardown; SETUP may start a thread or a child first.
PROGRAM = """
import atexit, os, sys, threading, time
from pyss.system.output import exit_at_once

class Teardown:
    def __del__(self):
        os.write(2, b"teardown\\n")

kept = Teardown()
atexit.register(lambda: os.write(2, b"atexit\\n"))
{setup}
sys.stdout.write("out")
sys.stderr.write("err ")
exit_at_once({status})
os.write(2, b"declined\\n")
{cleanup}
sys.exit({status})
"""


def run(status: int, setup: str = "", cleanup: str = "") -> subprocess.CompletedProcess[str]:
    program = PROGRAM.format(status=status, setup=setup, cleanup=cleanup)
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("status", [0, 1, 255])
def test_it_ends_at_once_with_the_status_streams_flushed_and_atexit_run(status: int) -> None:
    result = run(status)
    assert (result.returncode, result.stdout, result.stderr) == (status, "out", "err atexit\n")


def test_it_declines_while_a_child_process_is_left() -> None:
    child = "child = os.fork()\nif child == 0:\n    time.sleep(0.2)\n    os._exit(0)"
    result = run(3, setup=child, cleanup="os.waitpid(child, 0)")
    assert (result.returncode, result.stdout) == (3, "out")
    assert result.stderr == "err declined\natexit\nteardown\n"


def test_it_declines_while_another_thread_runs() -> None:
    thread = "worker = threading.Thread(target=time.sleep, args=(0.2,))\nworker.start()"
    result = run(0, setup=thread)
    assert (result.returncode, result.stdout) == (0, "out")
    assert result.stderr == "err declined\natexit\nteardown\n"


def test_the_console_scripts_end_through_it() -> None:
    scripts = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["pyss"] == "pyss.cli.launch:pyss"  # which ends with pyss.cli.ss.command
    assert scripts["pynetstat"] == "pyss.cli.launch:pynetstat"  # which ends with pyss.cli.netstat.command


@pytest.mark.parametrize(("module", "argv", "status", "stdout_start"), [
    ("pyss.cli.ss", ["pyss", "-V"], 0, "pyss "),
    ("pyss.cli.ss", ["pyss", "-f", "bogus"], 255, ""),
    ("pyss.cli.netstat", ["pynetstat", "-V"], 0, "pynetstat "),
])
def test_a_command_exits_with_its_status(module: str, argv: list[str], status: int, stdout_start: str) -> None:
    program = f"import sys; sys.argv = {argv!r}; from {module} import command; sys.exit(command())"
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == status
    assert result.stdout.startswith(stdout_start)
    assert "Traceback" not in result.stderr
