"""The container image (Dockerfile, .dockerignore), read as scripts/image_steps.py reads
it for scripts/check-wheel, which performs its steps in CI (no Docker engine there): a
builder stage makes the wheel and the runtime stage takes nothing else from the
checkout; it runs as a fixed non-root uid with every writable path a volume, so a
read-only root filesystem works; its health check needs no curl; one image serves
every role."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from medic.console import cli

ROOT = Path(__file__).resolve().parents[2]


def _image_steps() -> ModuleType:
    spec = importlib.util.spec_from_file_location("image_steps", ROOT / "scripts/image_steps.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("image_steps", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


steps = _image_steps()
STAGES = steps.read(ROOT)
RUNTIME = STAGES[-1]


def inside(path: str, directories: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in directories)


def test_a_builder_stage_builds_the_wheel_and_the_runtime_stage_installs_only_it() -> None:
    assert len(STAGES) >= 2
    builder = STAGES[0]
    assert builder.name == "builder"
    assert any("pip wheel" in run.arguments for run in builder.all("RUN"))
    assert RUNTIME.base == builder.base, "build and run on the same Python"

    # Nothing from the build context: no COPY/ADD but from the builder, and only dist/.
    for instruction in RUNTIME.all("COPY") + RUNTIME.all("ADD"):
        options, sources = instruction.options()
        assert options.get("from") == "builder", f"{instruction} copies from the checkout"
        assert all(s.startswith("/dist/") for s in sources.split()[:-1]), instruction
    mounts = [run.options()[0].get("mount", "") for run in RUNTIME.all("RUN")]
    for mount in filter(None, mounts):
        assert "from=builder" in mount and "source=/dist" in mount, mount
        assert "rw" not in mount.split(","), "the builder's files are mounted read-only"
    install = [
        run for run in RUNTIME.all("RUN") if steps.INSTALL_STEP.split("/")[-1] in run.arguments
    ]
    assert len(install) == 1, f"the runtime stage installs with {steps.INSTALL_STEP}"
    assert "/dist/*.whl" in install[0].arguments
    assert (ROOT / steps.INSTALL_STEP).is_file()


def test_it_runs_as_a_fixed_non_root_uid() -> None:
    user = RUNTIME.last("USER")
    assert user is not None
    uid, _, gid = user.arguments.partition(":")
    assert uid.isdigit() and gid.isdigit(), "numeric, so Kubernetes' runAsNonRoot can verify it"
    assert int(uid) >= 10000 and int(gid) >= 10000, "clear of host system users"
    # Nothing after USER runs as root.
    keywords = [i.keyword for i in RUNTIME.instructions]
    assert "RUN" not in keywords[keywords.index("USER") :]


def test_every_writable_path_is_a_volume() -> None:
    volumes = RUNTIME.volumes()
    env = RUNTIME.env()
    workdir = RUNTIME.last("WORKDIR")
    assert "/data" in volumes
    assert workdir is not None and inside(workdir.arguments, volumes)
    for name in ("HOME", "TMPDIR", "MEDIC_SQLITE_PATH"):
        assert inside(env[name], volumes), f"{name}={env[name]} is not on a volume"
    # The venv is not: it is installed read-only, and PYTHONDONTWRITEBYTECODE keeps
    # Python from trying to write next to it.
    venv = RUNTIME.install_dir()
    assert not inside(venv, volumes)
    assert env["PATH"].startswith(f"{venv}/bin:")
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"


def test_the_health_check_probes_liveness_with_python() -> None:
    healthcheck = RUNTIME.last("HEALTHCHECK")
    assert healthcheck is not None
    options, _ = healthcheck.options()
    assert {"interval", "timeout", "start-period", "retries"} <= set(options)
    command = healthcheck.exec_form()
    assert command[0] == "python", "a slim image has no curl"
    assert "/health/live" in command[-1]
    assert "PORT" in command[-1], "follows PORT when a role listens elsewhere"


def test_one_image_for_every_role() -> None:
    entrypoint, command = RUNTIME.last("ENTRYPOINT"), RUNTIME.last("CMD")
    assert entrypoint is not None and command is not None
    assert entrypoint.exec_form() == ["medic"]
    assert command.exec_form() == ["up"]
    assert {"up", "migrate", "api", "worker", "scheduler"} <= set(cli.commands)


def test_the_build_context_leaves_out_the_developer_tree() -> None:
    patterns = [pattern for _, pattern, _ in steps.ignore_rules(ROOT)]
    for name in (".git", ".venv", ".cache"):
        assert name in patterns, f".dockerignore names {name}"
    files = steps.context_files(ROOT)
    assert {"pyproject.toml", "README.md", "medic/__init__.py", steps.INSTALL_STEP} <= set(files)
    assert any(f.startswith("migrations/versions/") for f in files)
    for file in files:
        top = file.split("/")[0]
        assert top not in {".git", ".venv", ".cache", "tests", ".env"}, file
        assert "__pycache__" not in file and not file.endswith((".pyc", ".db")), file


@pytest.mark.parametrize(
    ("path", "excluded"),
    [
        (".venv/bin/python", True),
        (".git/HEAD", True),
        ("medic/app.py", False),
        ("medic/__pycache__/app.cpython-311.pyc", True),
        ("medic/.env", True),
        ("deploy/container/install-wheel", False),
        ("deploy/compose.yaml", True),
    ],
)
def test_dockerignore_rules_follow_docker(path: str, excluded: bool) -> None:
    assert steps.excluded(path, steps.ignore_rules(ROOT)) is excluded


def test_check_wheel_reads_the_runtime_stage(tmp_path: Path) -> None:
    """What scripts/check-wheel evals: the image's paths moved under its directory."""
    script = f'eval "$({sys.executable} {ROOT}/scripts/image_steps.py shell {tmp_path})"; '
    script += 'printf "%s\\n" "$IMAGE_USER" "$IMAGE_VENV" "${IMAGE_ENV[@]}" "${IMAGE_CMD[@]}"'
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert lines[0] == "10001:10001"
    assert lines[1] == f"{tmp_path}/opt/medic"
    assert f"PATH={tmp_path}/opt/medic/bin:/usr/bin:/bin" in lines
    assert f"MEDIC_SQLITE_PATH={tmp_path}/data/medic.db" in lines
    assert f"TMPDIR={tmp_path}/tmp" in lines
    assert lines[-1] == "up"
