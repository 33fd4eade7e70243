"""Read the small text files the kernel and the system publish (/proc/net/*, /etc/services ...)."""

from __future__ import annotations


def read_text(path: str) -> str | None:
    """The whole file, or None when it cannot be read (absent, no permission): callers decide what that means."""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read()
    except OSError:
        return None
