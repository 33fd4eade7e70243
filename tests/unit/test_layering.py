"""Imports flow one way: no cycle between pyss's packages and top-level modules.

Each module is read with ast (nothing is imported), and every ``pyss.*``
import it makes, at module level or inside a function, becomes an edge
between units: a unit is a subpackage (``netlink``, ``render``, ...) or a
top-level module (``records``, ``query``, ``dump``). Imports under
``if TYPE_CHECKING:`` are left out: they never run. The root package
``pyss`` is the API facade every import passes through; it may import
nothing at run time, and ``from pyss import __version__`` is not an edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "src" / "pyss"
ROOT = "pyss"

# The order the house style asks for, lowest first: a unit imports only units of lower layers.
LAYERS = (
    ("lite_typing",),  # typing's names without typing's import cost: below everything
    ("kind_records",),  # the rare kinds' records, which records hands out on first use
    ("records",),
    ("netlink",),
    ("system",),
    ("names", "network", "columnar"),
    ("query",),
    ("filter", "dump"),
    ("render",),
    ("api",),
    ("cli", "exporter"),
    ("__main__",),
)


def module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(sub) for sub in ast.walk(node))
    return skipped


def imported_modules(source: str) -> list[str]:
    """The pyss modules a module's source imports at run time."""
    tree = ast.parse(source)
    skipped = _type_checking_nodes(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == ROOT:
                found += [f"{ROOT}.{alias.name}" for alias in node.names if alias.name != "__version__"]
            else:
                found.append(node.module)
    return [name for name in found if name == ROOT or name.startswith(f"{ROOT}.")]


def unit_edges(sources: dict[str, str]) -> dict[tuple[str, str], str]:
    """(importing unit, imported unit) -> one module that makes the import."""
    edges: dict[tuple[str, str], str] = {}
    for module, source in sources.items():
        for imported in imported_modules(source):
            edge = (unit_of(module), unit_of(imported))
            if edge[0] != edge[1]:
                edges.setdefault(edge, module)
    return edges


def find_cycle(edges: dict[tuple[str, str], str]) -> list[str] | None:
    """One cycle among the units, as a path that returns to its start, or None."""
    graph: dict[str, list[str]] = {}
    for start, end in edges:
        graph.setdefault(start, []).append(end)
    state: dict[str, int] = {}  # 1 on the current path, 2 finished

    def visit(unit: str, path: list[str]) -> list[str] | None:
        state[unit] = 1
        for following in sorted(graph.get(unit, ())):
            if state.get(following) == 1:
                return [*path[path.index(following):], following]
            if following not in state and (cycle := visit(following, [*path, following])):
                return cycle
        state[unit] = 2
        return None

    for unit in sorted(graph):
        if unit not in state and (cycle := visit(unit, [unit])):
            return cycle
    return None


def pyss_sources() -> dict[str, str]:
    return {module_name(path): path.read_text(encoding="utf-8") for path in sorted(SOURCE.rglob("*.py"))}


def test_the_units_import_each_other_without_a_cycle() -> None:
    edges = unit_edges(pyss_sources())
    assert find_cycle(edges) is None, {edge: module for edge, module in edges.items()
                                       if edge[0] in (find_cycle(edges) or ())}


def test_each_unit_imports_only_lower_layers() -> None:
    rank = {unit: level for level, units in enumerate(LAYERS) for unit in units}
    edges = unit_edges(pyss_sources())
    unknown = {unit for edge in edges for unit in edge if unit not in rank and unit != ROOT}
    assert not unknown, f"place these units in LAYERS: {sorted(unknown)}"
    upward = [f"{module} imports pyss.{end}" for (start, end), module in edges.items()
              if start != ROOT and (end == ROOT or rank[end] >= rank[start])]
    assert upward == []


def test_the_root_package_imports_nothing_at_run_time() -> None:
    assert imported_modules((SOURCE / "__init__.py").read_text(encoding="utf-8")) == []


# The checker itself must be able to fail.
@pytest.mark.parametrize(
    ("sources", "cycle"),
    [
        ({"pyss.a.x": "from pyss.b import y", "pyss.b": "import pyss.a.z"}, ["a", "b", "a"]),
        ({"pyss.a": "def f():\n    from pyss.b import y", "pyss.b.y": "from pyss.c import q",
          "pyss.c": "from pyss.a import f"}, ["a", "b", "c", "a"]),
        ({"pyss.a": "from pyss.b import y", "pyss.b": "if TYPE_CHECKING:\n    from pyss.a import x"}, None),
        ({"pyss.a": "from pyss import __version__", "pyss": ""}, None),
        ({"pyss.a.x": "from pyss.a.y import z", "pyss.a.y": "from pyss.a import x"}, None),
    ],
)
def test_the_checker_finds_cycles(sources: dict[str, str], cycle: list[str] | None) -> None:
    assert find_cycle(unit_edges(sources)) == cycle
