"""C's number reading, as ss's value parser relies on it: strtol, strtoul, sscanf's %i.

ss reads ports, marks, indexes and prefix lengths with these, so their quirks
decide which words are numbers: ``0x16`` and ``026`` are 22, ``12ab`` is 12
with characters left over, a leading ``-`` wraps an unsigned value.
"""

from __future__ import annotations

INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1
_LONG_MAX = (1 << 63) - 1
_ULONG_MAX = (1 << 64) - 1
_C_SPACE = " \t\n\v\f\r"


def c_strtol(text: str, base: int = 0) -> tuple[int, int]:
    """(value, characters consumed) as C's strtol reads a prefix of text; consumed 0 if no digits."""
    index = 0
    while index < len(text) and text[index] in _C_SPACE:
        index += 1
    sign = 1
    if index < len(text) and text[index] in "+-":
        sign = -1 if text[index] == "-" else 1
        index += 1
    digits_at = index
    if base in (0, 16) and text[index:index + 2].lower() == "0x" and index + 2 < len(text) \
            and text[index + 2] in "0123456789abcdefABCDEF":
        base, index = 16, index + 2
        digits_at = index
    elif base == 0:
        base = 8 if text[index:index + 1] == "0" else 10
    end = index
    valid = "0123456789abcdefghijklmnopqrstuvwxyz"[:base]
    while end < len(text) and text[end].lower() in valid:
        end += 1
    if end == digits_at:
        return 0, 0
    return sign * int(text[digits_at:end], base), end


def get_integer(text: str) -> int | None:
    """ss's get_integer(base 0): the whole word is one C int."""
    value, used = c_strtol(text)
    if not text or used == 0 or used != len(text) or not INT_MIN <= value <= INT_MAX:
        return None
    return value


def get_unsigned(text: str) -> int | None:
    value, used = c_strtol(text)
    if not text or used == 0 or used != len(text) or value > _ULONG_MAX or value < -_ULONG_MAX:
        return None
    value &= _ULONG_MAX  # strtoul negates in unsigned arithmetic
    return value if value <= 0xFFFFFFFF else None


def scan_int(text: str) -> tuple[int, int] | None:
    """sscanf's %i: (value as u32, characters consumed), or None if nothing converted."""
    value, used = c_strtol(text)
    if used == 0:
        return None
    value = max(min(value, _LONG_MAX), -_LONG_MAX - 1)
    return value & 0xFFFFFFFF, used
