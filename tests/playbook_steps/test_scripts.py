"""Script steps: registered executables only, a clean environment, hard limits."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from medic.config import Settings, load_settings
from medic.core.playbook_definition import ScriptStep
from medic.core.playbook_parsing import parse_playbook
from medic.playbooks.context import StepContext
from medic.playbooks.scripts import registered_scripts, run_script_step
from medic.playbooks.substitute import MASK

TOKEN = "tok-1a2b3c4d5e6f"
CONTEXT = StepContext(
    execution_id=3,
    service_name="worker-1",
    heartbeat_name="nightly",
    alert_id=None,
    secrets={"DEPLOY_TOKEN": TOKEN},
)


def script_step(name: str, args: list[str] | None = None, timeout: str = "10s") -> ScriptStep:
    lines = [f"- name: run\n  type: script\n  script: {name!r}\n  timeout: {timeout}"]
    if args is not None:
        lines.append("  args: [" + ", ".join(repr(arg) for arg in args) + "]")
    text = "name: pb\napproval: none\nsteps:\n" + textwrap.indent("\n".join(lines), "  ")
    [step] = parse_playbook(text).steps
    assert isinstance(step, ScriptStep)
    return step


@pytest.fixture
def scripts_dir(shared_tmp_path: Path) -> Path:
    directory = shared_tmp_path / "scripts"
    directory.mkdir(mode=0o755)
    return directory


def write(directory: Path, name: str, body: str, mode: int = 0o755) -> Path:
    path = directory / name
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body).lstrip())
    path.chmod(mode)
    return path


def settings(directory: Path | None, **kw: Any) -> Settings:
    return load_settings(_env_file=None, medic_scripts_dir=directory, **kw)


def test_registered_scripts_lists_only_runnable_files(scripts_dir: Path, tmp_path: Path) -> None:
    write(scripts_dir, "ok.sh", "true\n")
    write(scripts_dir, "not-executable.sh", "true\n", mode=0o644)
    write(scripts_dir, ".hidden", "true\n")
    (scripts_dir / "subdir").mkdir()
    outside = write(tmp_path, "outside.sh", "true\n")
    (scripts_dir / "escape.sh").symlink_to(outside)
    (scripts_dir / "alias.sh").symlink_to(scripts_dir / "ok.sh")
    assert registered_scripts(settings(scripts_dir)) == ["alias.sh", "ok.sh"]
    assert registered_scripts(settings(None)) == []


@pytest.mark.parametrize("name", ["missing.sh", "not-executable.sh", "escape.sh", "subdir"])
def test_unregistered_scripts_are_refused(scripts_dir: Path, tmp_path: Path, name: str) -> None:
    marker = tmp_path / "ran"
    write(scripts_dir, "not-executable.sh", f"touch {marker}\n", mode=0o644)
    outside = write(tmp_path, "outside.sh", f"touch {marker}\n")
    (scripts_dir / "escape.sh").symlink_to(outside)
    (scripts_dir / "subdir").mkdir()
    result = run_script_step(script_step(name), CONTEXT, settings(scripts_dir))
    assert not result.ok
    assert result.summary == f"script {name!r} is not registered (MEDIC_SCRIPTS_DIR)"
    assert not marker.exists()


def test_no_scripts_dir_means_nothing_runs() -> None:
    result = run_script_step(script_step("ok.sh"), CONTEXT, settings(None))
    assert not result.ok
    assert "not registered" in result.summary


def test_args_and_a_clean_environment(scripts_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDIC_TEST_SENTINEL", "leaked")
    monkeypatch.setenv("HOME", "/root-home-leak")
    write(
        scripts_dir,
        "show.sh",
        """
        for arg in "$@"; do echo "arg=[$arg]"; done
        echo "cwd=$(pwd)"
        env | sort
        """,
    )
    step = script_step("show.sh", ["${SERVICE_NAME}", "two words", "$$HOME", "; rm -rf /"])
    result = run_script_step(step, CONTEXT, settings(scripts_dir))
    assert result.ok, result.output
    assert result.status_code == 0
    assert result.summary == "script 'show.sh' succeeded"
    output = result.output or ""
    lines = output.splitlines()
    # `--` first: the arguments from ${SERVICE_NAME} on are operands, never options.
    assert lines[:5] == [
        "arg=[--]",
        "arg=[worker-1]",
        "arg=[two words]",
        "arg=[$HOME]",
        "arg=[; rm -rf /]",
    ]
    assert lines[5].startswith("cwd=") and "medic-script-" in lines[5]
    env = dict(line.split("=", 1) for line in lines[6:] if "=" in line)
    env.pop("PWD", None)  # the shell sets these itself
    env.pop("SHLVL", None)
    env.pop("_", None)
    assert env == {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "MEDIC_SERVICE_NAME": "worker-1",
        "MEDIC_HEARTBEAT_NAME": "nightly",
        "MEDIC_ALERT_ID": "",
        "MEDIC_EXECUTION_ID": "3",
    }
    assert "leaked" not in output
    assert "root-home-leak" not in output


def test_a_secret_in_args_is_redacted_from_output(scripts_dir: Path) -> None:
    write(scripts_dir, "echo.sh", 'echo "using $2"; echo "env has: $DEPLOY_TOKEN"\n')
    step = script_step("echo.sh", ["${secrets.DEPLOY_TOKEN}"])
    result = run_script_step(step, CONTEXT, settings(scripts_dir))
    assert result.ok
    assert result.output == f"using {MASK}\nenv has: \n"
    assert TOKEN not in result.summary


def test_a_nonzero_exit_is_a_failure_with_its_status(scripts_dir: Path) -> None:
    write(scripts_dir, "fail.sh", "echo nope >&2\nexit 3\n")
    result = run_script_step(script_step("fail.sh"), CONTEXT, settings(scripts_dir))
    assert not result.ok
    assert result.status_code == 3
    assert result.summary == "script 'fail.sh' failed with exit status 3"
    assert result.output == "nope\n"


def test_a_timeout_kills_the_whole_group(scripts_dir: Path, shared_tmp_path: Path) -> None:
    pid_file = shared_tmp_path / "child.pid"
    write(scripts_dir, "slow.sh", f"sleep 30 &\necho $! > {pid_file}\nsleep 30\n")
    started = time.monotonic()
    result = run_script_step(script_step("slow.sh", timeout="1s"), CONTEXT, settings(scripts_dir))
    assert time.monotonic() - started < 10
    assert not result.ok
    assert result.summary == "script 'slow.sh' timed out after 1s"
    child = int(pid_file.read_text())
    assert not _alive(child)


def test_background_children_die_when_the_script_exits(
    scripts_dir: Path, shared_tmp_path: Path
) -> None:
    pid_file = shared_tmp_path / "child.pid"
    write(scripts_dir, "fork.sh", f"sleep 30 &\necho $! > {pid_file}\necho done\n")
    started = time.monotonic()
    result = run_script_step(script_step("fork.sh"), CONTEXT, settings(scripts_dir))
    assert time.monotonic() - started < 10
    assert result.ok
    assert result.output == "done\n"
    assert not _alive(int(pid_file.read_text()))


def test_output_is_capped(scripts_dir: Path) -> None:
    write(scripts_dir, "loud.sh", "head -c 1000000 /dev/zero | tr '\\0' 'x'\necho tail\n")
    result = run_script_step(
        script_step("loud.sh"), CONTEXT, settings(scripts_dir, medic_script_output_bytes=2048)
    )
    assert result.ok
    output = result.output or ""
    assert output.startswith("x" * 2048 + "\n[output truncated: 1000005 bytes")
    assert len(output) < 2200


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is enforced on Linux")
def test_the_memory_limit_stops_a_large_allocation(scripts_dir: Path) -> None:
    write(
        scripts_dir,
        "hog.sh",
        """
        echo started
        dd if=/dev/zero of=/dev/null bs=1G count=1 && echo allocated
        """,
    )
    # Without the limit the same script succeeds, so the failure below is the limit's.
    unlimited = run_script_step(
        script_step("hog.sh"), CONTEXT, settings(scripts_dir, medic_script_memory_mb=4096)
    )
    if not unlimited.ok:
        pytest.skip("this machine cannot allocate 1 GiB even without the limit")
    result = run_script_step(
        script_step("hog.sh"), CONTEXT, settings(scripts_dir, medic_script_memory_mb=64)
    )
    assert not result.ok, result.output
    output = result.output or ""
    assert output.startswith("started")
    assert "memory exhausted" in output
    assert "allocated" not in output


def test_a_script_that_cannot_start_is_a_failure(scripts_dir: Path) -> None:
    path = scripts_dir / "broken"
    path.write_bytes(b"\x00\x01not an executable format")
    path.chmod(0o755)
    result = run_script_step(script_step("broken"), CONTEXT, settings(scripts_dir))
    assert not result.ok
    assert "could not start" in result.summary


def _alive(pid: int) -> bool:
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        # A killed child not yet reaped by init shows as a zombie: count it as dead.
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
                return False
        except OSError:
            return False
        time.sleep(0.05)
    return True
