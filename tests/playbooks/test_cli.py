"""`medic playbook apply|list|show` over HTTP against the real API in-process (the shared
`medic_cli` fixture, tests/cli.py): apply is idempotent, show prints the YAML as applied."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import Run
from tests.playbooks import SEED_EXAMPLE


@pytest.fixture
def cli_scope() -> str:
    """Applying playbooks is configuring trust: an admin key."""
    return "admin"


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_apply_twice_creates_then_changes_nothing(medic_cli: Run, tmp_path: Path) -> None:
    file = write(tmp_path / "restart-worker.yaml", SEED_EXAMPLE)
    assert medic_cli("playbook", "apply", "-f", file).output == "created restart-worker v1\n"
    assert medic_cli("playbook", "apply", "-f", file).output == "unchanged restart-worker v1\n"

    write(tmp_path / "restart-worker.yaml", SEED_EXAMPLE.replace("30s", "45s"))
    assert medic_cli("playbook", "apply", "--file", file).output == "updated restart-worker v2\n"
    as_json = json.loads(medic_cli("playbook", "apply", "-f", file, "--json").output)
    assert (as_json["version"], as_json["changed"]) == (2, False)


def test_invalid_file_exits_1_with_the_line(medic_cli: Run, tmp_path: Path) -> None:
    file = write(tmp_path / "bad.yaml", SEED_EXAMPLE.replace("approval: none", "approval: maybe"))
    result = medic_cli("playbook", "apply", "-f", file, code=1)
    assert "400: line 6: approval: must be none, required or timeout:<N>m" in result.output
    result = medic_cli("playbook", "apply", "-f", str(tmp_path / "missing.yaml"), code=2)
    assert "No such file or directory" in result.output
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"name: caf\xe9\n")
    result = medic_cli("playbook", "apply", "-f", str(latin1), code=1)
    assert "latin1.yaml is not UTF-8 text" in result.output


def test_list_shows_trigger_and_approval(medic_cli: Run, tmp_path: Path) -> None:
    medic_cli("playbook", "apply", "-f", write(tmp_path / "a.yaml", SEED_EXAMPLE))
    on_demand = "name: flush-cache\nsteps: [{name: wait, type: wait, duration: 5s}]\n"
    medic_cli("playbook", "apply", "-f", write(tmp_path / "b.yaml", on_demand))

    lines = medic_cli("playbook", "list").output.splitlines()
    words = [" ".join(line.split()) for line in lines]
    assert words == [
        "NAME CURRENT_VERSION ENABLED TRIGGER APPROVAL STEPS",
        "flush-cache 1 True on demand required 1",
        "restart-worker 1 True worker-* after 3 none 3",
    ]
    listed = json.loads(medic_cli("playbook", "list", "--json").output)
    assert [p["name"] for p in listed] == ["flush-cache", "restart-worker"]


def test_show_prints_the_yaml_of_any_version(medic_cli: Run, tmp_path: Path) -> None:
    changed = SEED_EXAMPLE.replace("30s", "45s")
    medic_cli("playbook", "apply", "-f", write(tmp_path / "v1.yaml", SEED_EXAMPLE))
    medic_cli("playbook", "apply", "-f", write(tmp_path / "v2.yaml", changed))

    assert medic_cli("playbook", "show", "restart-worker").output == changed
    assert medic_cli("playbook", "show", "restart-worker", "--version", "1").output == SEED_EXAMPLE
    shown = json.loads(medic_cli("playbook", "show", "restart-worker", "--json").output)
    assert (shown["version"], shown["definition"]["steps"][1]["duration_seconds"]) == (2, 45)
    result = medic_cli("playbook", "show", "ghost", code=1)
    assert "404: no playbook named 'ghost'" in result.output
