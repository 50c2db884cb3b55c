"""Service dependencies: a child's alerts are recorded but not sent while a parent it
depends on is down (one broken database must not page for every service behind it).

Pure rules: the graph is a mapping from a service's name key (medic.core.names) to
its parents' name keys; cycles are refused when written, so walking it terminates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from medic.core.names import clean_name, name_key

MAX_PARENTS = 50


def clean_parents(names: Iterable[str]) -> list[str]:
    """The parents as given, stripped and without repeats (compared case-insensitively)."""
    cleaned: dict[str, str] = {}
    for name in names:
        if not isinstance(name, str):
            raise ValueError("depends_on must be a list of service names")
        value = clean_name(name, "depends_on")
        cleaned.setdefault(name_key(value), value)
    if len(cleaned) > MAX_PARENTS:
        raise ValueError(f"depends_on may name at most {MAX_PARENTS} services")
    return list(cleaned.values())


def find_cycle(graph: Mapping[str, Sequence[str]], start: str) -> list[str] | None:
    """A path start → … → start through `graph` (child → parents), if one exists; the
    names in order, the start repeated at the end. Iterative: no recursion limit."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for parent in graph.get(node, ()):
            if parent == start:
                return [*path, start]
            if parent not in seen:
                seen.add(parent)
                stack.append((parent, [*path, parent]))
    return None


def suppression_reason(parents_down: Sequence[str]) -> str | None:
    """Why a child's notification is held back: the first parent that is down."""
    if not parents_down:
        return None
    return f"suppressed: parent {parents_down[0]!r} is down"


def parents_down(parents: Sequence[str], down: Mapping[str, str]) -> list[str]:
    """Of a child's parents (names), those down, by their display name; `down` maps a
    down service's name key to that name."""
    return [down[key] for key in map(name_key, parents) if key in down]
