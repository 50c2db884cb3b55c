"""The shape of the code, checked: doors over operations over core, models and the
database; no door imports another; no module imports itself back in a cycle.

The doors are api, slack, mcp_server, cli (and dashboard when it exists). Only the two
composition roots wire doors together: medic.app (the ASGI app) and medic.console (the
`medic` command that starts every process).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import medic

PACKAGE = Path(medic.__file__).parent
DOORS = ("medic.api", "medic.bot", "medic.mcp_server", "medic.cli", "medic.dashboard")
COMPOSITION_ROOTS = {"medic.app", "medic.console"}


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _owner(name: str) -> str | None:
    """The module an import names (`medic.ops.services.mute` → `medic.ops.services`)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> set[str]:
    """Every medic module `module` imports, at its top or inside a function."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            names = [f"{base}.{alias.name}" for alias in node.names] or [base]
        else:
            continue
        for name in names:
            owner = _owner(name) if name.startswith("medic") else None
            if owner and owner != module and owner != "medic":
                found.add(owner)
    return found


GRAPH: dict[str, set[str]] = defaultdict(set)
for _module, _path in MODULES.items():
    GRAPH[_module] = _imports(_module, _path)


def _door(module: str) -> str | None:
    return next((d for d in DOORS if module == d or module.startswith(d + ".")), None)


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return found


def _edges(where: object) -> list[str]:
    return sorted(
        f"{source} -> {target}"
        for source, targets in GRAPH.items()
        for target in targets
        if where(source, target)  # type: ignore[operator]
    )


def test_the_graph_is_read() -> None:
    assert "medic.ops.services" in GRAPH["medic.api.v2.services"]


def test_no_module_imports_itself_back() -> None:
    assert _cycles() == []


def test_no_door_imports_another_door() -> None:
    assert _edges(lambda s, t: _door(s) and _door(t) and _door(s) != _door(t)) == []


def test_only_the_composition_roots_import_doors() -> None:
    assert _edges(lambda s, t: not _door(s) and _door(t) and s not in COMPOSITION_ROOTS) == []


@pytest.mark.parametrize(
    ("layer", "may_not_import"),
    [
        ("medic.core", ("medic.ops", "medic.db", "medic.models", "medic.notify", "medic.actors")),
        ("medic.models", ("medic.ops", "medic.notify", "medic.scheduler", "medic.playbooks")),
        ("medic.ops", ("medic.actors", "medic.web", "medic.process")),
    ],
)
def test_lower_layers_do_not_reach_up(layer: str, may_not_import: tuple[str, ...]) -> None:
    def reaches_up(source: str, target: str) -> bool:
        inside = source == layer or source.startswith(layer + ".")
        return inside and any(target == u or target.startswith(u + ".") for u in may_not_import)

    assert _edges(reaches_up) == []
