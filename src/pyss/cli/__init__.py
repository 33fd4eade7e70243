"""The command lines: pyss (ss's flags) and pynetstat (netstat's)."""

from __future__ import annotations

import sys


def write_names_as_bytes() -> None:
    """Make stdout write names back as the kernel's bytes, whatever the locale.

    Names are decoded as UTF-8 with undecodable bytes kept as surrogates;
    encoding them back the same way reproduces the raw bytes ss and netstat
    print, where a strict encoder would raise.
    """
    sys.stdout.reconfigure(encoding="utf-8", errors="surrogateescape")  # type: ignore[union-attr]
