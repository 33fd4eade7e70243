"""--count-by's output: one line per group, largest count first, as a table laid out like ss's or as JSON.

Pure: the groups come in counted; this module only orders, cuts (--top) and
formats them.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from pyss.render.columns import LEFT, RIGHT, Column, byte_length, column_widths, render_block

Group = tuple[tuple[Hashable, ...], int]  # (one value per key, count)

# Header words in ss's spelling, by key.
HEADERS = {"state": "State", "netid": "Netid", "local-address": "Local Address", "local-port": "Local Port",
           "peer-address": "Peer Address", "peer-port": "Peer Port", "process": "Process", "pid": "Pid",
           "uid": "Uid", "interface": "Interface", "netns": "Netns"}


def ordered(groups: dict[tuple[Hashable, ...], int], top: int | None) -> list[Group]:
    """Largest count first (ties in the order of the values' text, so output is stable); the ``top`` largest."""
    ranked = sorted(groups.items(), key=lambda group: (-group[1], [_text(value) for value in group[0]]))
    return ranked if top is None else ranked[:top]


def _text(value: Hashable) -> str:
    """How a group value is shown: None (no such property, e.g. no process) as '-'."""
    return "-" if value is None else str(value)


def table(keys: Sequence[str], groups: Sequence[Group], header: bool = True, screen_width: int | None = None) -> str:
    """Count first (right-aligned, as `uniq -c` puts it), then one column per key, laid out by ss's column rules."""
    columns = (Column(RIGHT, "Count", ""), *(Column(LEFT, HEADERS[key], " ") for key in keys))
    rows = [(str(count), *map(_text, values)) for values, count in groups]
    return _render(columns, rows, header, screen_width)


def _render(columns: tuple[Column, ...], rows: list[tuple[str, ...]], header: bool,
            screen_width: int | None = None) -> str:
    if header:
        rows.insert(0, tuple(column.header for column in columns))
    if not rows:
        return ""
    block = list(zip(*rows, strict=True))
    maxima = [max(map(byte_length, column)) for column in block]
    return render_block(columns, column_widths(columns, maxima, screen_width), block)


def json_array(keys: Sequence[str], groups: Sequence[Group]) -> str:
    """[{"state": "ESTAB", "count": 12}, ...]: keys spelled with underscores, as in the listing's objects."""
    import json

    names = [key.replace("-", "_") for key in keys]
    objects = [{**dict(zip(names, map(_json_value, values), strict=True)), "count": count} for values, count in groups]
    return json.dumps(objects, indent=None, separators=(",", ":")).replace("},{", "},\n{") + "\n"


def _json_value(value: Hashable) -> object:
    return value if value is None or isinstance(value, (int, str)) else str(value)


def delta_table(keys: Sequence[str], groups: Sequence[Group], deltas: Sequence[int | None],
                header: bool = True) -> str:
    """The table with a Change column after Count (--watch --count-by); a None change shows empty."""
    columns = (Column(RIGHT, "Count", ""), Column(RIGHT, "Change", " "),
               *(Column(LEFT, HEADERS[key], " ") for key in keys))
    rows = [(str(count), "" if delta is None else f"+{delta}" if delta >= 0 else str(delta), *map(_text, values))
            for (values, count), delta in zip(groups, deltas, strict=True)]
    return _render(columns, rows, header)


def delta_json_lines(keys: Sequence[str], groups: Sequence[Group], deltas: Sequence[int | None], when: float) -> str:
    """One object per group: time, the keys, count and change (null at the baseline)."""
    import json

    names = [key.replace("-", "_") for key in keys]
    return "".join(json.dumps({"time": round(when, 3), **dict(zip(names, map(_json_value, values), strict=True)), "count": count,
                               "change": delta}, separators=(",", ":")) + "\n"
                   for (values, count), delta in zip(groups, deltas, strict=True))


def json_lines(keys: Sequence[str], groups: Sequence[Group]) -> str:
    """One object a line, as --json-lines writes sockets."""
    import json

    names = [key.replace("-", "_") for key in keys]
    return "".join(json.dumps({**dict(zip(names, map(_json_value, values), strict=True)), "count": count},
                              separators=(",", ":")) + "\n" for values, count in groups)
