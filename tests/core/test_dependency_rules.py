"""Service dependencies as pure rules: cycles are found whatever the graph's shape,
parent names are cleaned and compared like every name, and the suppression reason
names the parent that is down."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medic.core.dependencies import (
    MAX_PARENTS,
    clean_parents,
    find_cycle,
    parents_down,
    suppression_reason,
)

NAMES = st.sampled_from("abcdefgh")
GRAPHS = st.dictionaries(NAMES, st.lists(NAMES, max_size=4), max_size=8)


def test_a_self_dependency_is_a_cycle() -> None:
    assert find_cycle({"db": ["db"]}, "db") == ["db", "db"]


def test_a_cycle_through_others_is_named_in_order() -> None:
    graph = {"api": ["cache"], "cache": ["db"], "db": ["api"]}
    assert find_cycle(graph, "api") == ["api", "cache", "db", "api"]


def test_a_diamond_is_not_a_cycle() -> None:
    graph = {"web": ["api", "worker"], "api": ["db"], "worker": ["db"]}
    assert find_cycle(graph, "web") is None


@given(GRAPHS, NAMES)
def test_a_cycle_found_is_a_real_path_back_to_the_start(
    graph: dict[str, list[str]], start: str
) -> None:
    cycle = find_cycle(graph, start)
    if cycle is None:
        return
    assert cycle[0] == cycle[-1] == start
    for child, parent in pairwise(cycle):
        assert parent in graph.get(child, [])


@given(GRAPHS, NAMES)
def test_no_cycle_means_the_start_is_unreachable_from_itself(
    graph: dict[str, list[str]], start: str
) -> None:
    reachable, frontier = set(), list(graph.get(start, []))
    while frontier:
        node = frontier.pop()
        if node not in reachable:
            reachable.add(node)
            frontier.extend(graph.get(node, []))
    assert (find_cycle(graph, start) is not None) == (start in reachable)


def test_parent_names_are_cleaned_and_repeats_dropped_case_insensitively() -> None:
    assert clean_parents([" db ", "DB", "cache"]) == ["db", "cache"]
    with pytest.raises(ValueError, match="depends_on must not be empty"):
        clean_parents([" "])
    with pytest.raises(ValueError, match=f"at most {MAX_PARENTS}"):
        clean_parents([f"s{n}" for n in range(MAX_PARENTS + 1)])


def test_the_reason_names_the_first_parent_down() -> None:
    down = parents_down(["Cache", "DB"], {"db": "DB"})
    assert down == ["DB"]
    assert suppression_reason(down) == "suppressed: parent 'DB' is down"
    assert suppression_reason(parents_down(["cache"], {"db": "db"})) is None
