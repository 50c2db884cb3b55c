"""deploy/compose.yaml, checked by the Compose Specification's own JSON schema and by
what Medic needs of it: one image for every Medic role, `migrate` before the rest,
health checks that probe something real, named volumes, read-only containers, and no
secret in the file: they come from deploy/.env, whose example names every setting Medic
reads, with its default.

compose-spec.json beside this file is the Compose Specification's schema, vendored
verbatim from github.com/compose-spec/compose-spec, schema/compose-spec.json (last
changed in a08f8d51631b7127ddac3d2c65537db429d0f1d0, 2025-10-21; Apache-2.0).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import AliasChoices

from medic.config import Settings
from medic.hardening import SECRET_ENVIRONMENT
from tests.conftest import PG_ADMIN_URL, REDIS_URL
from tests.deploy.test_image import RUNTIME

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
ENV_EXAMPLE = ROOT / "deploy" / ".env.example"
SCHEMA = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
MEDIC_SERVICES = {"migrate", "api", "worker", "scheduler"}
# Medic's secrets (medic.hardening drops them from its environment) and PostgreSQL's.
SECRETS = {*SECRET_ENVIRONMENT, "POSTGRES_PASSWORD"}
VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)")
# deploy/.env as an operator fills it in (deploy/.env.example's two settings to set).
FILLED_IN = {"PG_PASS": "correct horse battery staple", "MEDIC_SECRETS_KEY": "x" * 44}


class MissingVariable(Exception):
    pass


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
    ${VAR?error}, $VAR and $$ (a literal $)."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.group(1) or match.group(4), match.group(2), match.group(3)
        found = env.get(name)
        unset = found is None or (found == "" and operator and operator.startswith(":"))
        if operator and operator.endswith("?") and unset:
            raise MissingVariable(f"{name}: {argument}")
        if operator and operator.endswith("-") and unset:
            return argument
        return found or ""

    return VARIABLE.sub(substitute, value)


def variables(value: Any) -> set[str]:
    text = json.dumps(value)
    return {m.group(1) or m.group(4) for m in VARIABLE.finditer(text) if m.group(0) != "$$"}


def env_example() -> dict[str, str]:
    """Every `NAME=value` line of deploy/.env.example, set or commented out."""
    found: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.fullmatch(r"#? ?([A-Z][A-Z0-9_]*)=(.*)", line)
        if match:
            assert match.group(1) not in found, f"{match.group(1)} twice"
            found[match.group(1)] = match.group(2)
    return found


RAW = yaml.safe_load(COMPOSE.read_text())
COMPOSED = interpolate(RAW, FILLED_IN)
SERVICES: dict[str, dict[str, Any]] = COMPOSED["services"]


def test_the_file_follows_the_compose_specification() -> None:
    errors = sorted(
        jsonschema.Draft7Validator(SCHEMA).iter_errors(COMPOSED), key=lambda e: e.json_path
    )
    assert not errors, "\n".join(f"{e.json_path}: {e.message}" for e in errors)


def test_the_schema_check_catches_a_misspelt_key() -> None:
    broken = json.loads(json.dumps(COMPOSED))
    broken["services"]["api"]["deploy"]["replica"] = 2
    assert not jsonschema.Draft7Validator(SCHEMA).is_valid(broken)


def test_a_missing_password_stops_compose_before_anything_starts() -> None:
    with pytest.raises(MissingVariable, match="PG_PASS"):
        interpolate(RAW, {"MEDIC_SECRETS_KEY": ""})
    with pytest.raises(MissingVariable, match="PG_PASS"):
        interpolate(RAW, {"PG_PASS": ""})


def test_every_medic_role_runs_from_one_image() -> None:
    assert set(SERVICES) == MEDIC_SERVICES | {"postgres", "redis"}
    images = {SERVICES[name]["image"] for name in MEDIC_SERVICES}
    builds = {json.dumps(SERVICES[name]["build"], sort_keys=True) for name in MEDIC_SERVICES}
    assert len(images) == 1 and len(builds) == 1
    assert SERVICES["api"]["build"]["context"] == ".."  # the repository's Dockerfile
    roles = {name: SERVICES[name]["command"][0] for name in MEDIC_SERVICES}
    assert roles == {name: name for name in MEDIC_SERVICES}


def test_backing_services_use_official_images_with_health_checks() -> None:
    postgres, redis = SERVICES["postgres"], SERVICES["redis"]
    assert re.fullmatch(r"postgres:\d+[\w.-]*", postgres["image"])
    assert re.fullmatch(r"redis:\d+[\w.-]*", redis["image"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert redis["healthcheck"]["test"][1:] == ["redis-cli", "ping"]


def test_migrate_runs_once_before_every_other_role() -> None:
    migrate = SERVICES["migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate["restart"] == "no"
    for name in MEDIC_SERVICES - {"migrate"}:
        depends = SERVICES[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name


def test_replicas_the_roles_can_share() -> None:
    """API replicas behind one port range; schedulers share work with SKIP LOCKED."""
    assert SERVICES["api"]["deploy"]["replicas"] >= 2
    assert SERVICES["scheduler"]["deploy"]["replicas"] == 2
    assert SERVICES["api"]["ports"] == ["8080-8081:8080"]


def test_every_long_running_service_has_a_health_check() -> None:
    for name, service in SERVICES.items():
        check = service.get("healthcheck", {})
        if name == "migrate":
            continue
        assert check and not check.get("disable"), f"{name} has no health check"
        assert check["test"][0] in {"CMD", "CMD-SHELL"}, name
    # The API's is the image's own HEALTHCHECK, written out.
    healthcheck = RUNTIME.last("HEALTHCHECK")
    assert healthcheck is not None
    assert SERVICES["api"]["healthcheck"]["test"] == ["CMD", *healthcheck.exec_form()]
    # Roles without HTTP replace it: the image's would fail for ever.
    for name in ("worker", "scheduler"):
        assert "/health/live" not in json.dumps(SERVICES[name]["healthcheck"]), name


@pytest.mark.parametrize(
    ("redis_url", "healthy"), [(REDIS_URL, True), ("redis://127.0.0.1:1/0", False)]
)
def test_the_worker_health_check_probes_its_database_and_broker(
    tmp_path: Path, redis_url: str, healthy: bool
) -> None:
    command = SERVICES["worker"]["healthcheck"]["test"]
    assert command[:2] == ["CMD", "python"]
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    env |= {"DATABASE_URL": PG_ADMIN_URL, "REDIS_URL": redis_url}
    result = subprocess.run(
        [sys.executable, *command[2:]], env=env, cwd=tmp_path, capture_output=True, timeout=60
    )
    assert (result.returncode == 0) is healthy, result.stderr.decode()


def test_state_lives_in_named_volumes_and_medic_containers_are_read_only() -> None:
    declared = set(COMPOSED["volumes"])
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
            assert source in declared, f"{name} mounts {source}, not a named volume"
    tmpdir = RUNTIME.env()["TMPDIR"]
    for name in MEDIC_SERVICES:
        service = SERVICES[name]
        assert service["read_only"] is True, name
        assert tmpdir in service["tmpfs"], f"{name}: TMPDIR must stay writable"
        assert service["user"] == RUNTIME.last("USER").arguments
        assert service["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in service["security_opt"]


def test_no_secret_is_written_in_the_file() -> None:
    for name, service in RAW["services"].items():
        environment = service.get("environment", {})
        assert isinstance(environment, dict), f"{name}: use the mapping form"
        for key, value in environment.items():
            if key not in SECRETS:
                continue
            if key.endswith("_URL") and "@" not in value:
                continue  # a URL that carries no password, e.g. redis://redis:6379/0
            assert re.fullmatch(r"\$\{\w+(:?[-?][^}]*)?\}", str(value)), (
                f"{name}: {key} must come from deploy/.env, not the file"
            )
    for name in MEDIC_SERVICES:
        assert SERVICES[name]["env_file"] == ".env", name
    assert "correct horse" not in COMPOSE.read_text()


def test_the_env_example_names_every_setting_medic_reads() -> None:
    example = env_example()
    missing = []
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        names = alias.choices if isinstance(alias, AliasChoices) else [field.upper()]
        if not any(str(name) in example for name in names):
            missing.append(f"# {field.upper()}=")
    assert not missing, "add to deploy/.env.example:\n" + "\n".join(missing)


def test_the_env_example_names_nothing_else() -> None:
    settings = {field.upper() for field in Settings.model_fields} | {"SLACK_BOT_TOKEN"}
    compose_only = variables(RAW) - settings
    assert compose_only == {"MEDIC_IMAGE", "MEDIC_HTTP_PORTS"}
    assert set(env_example()) - settings - compose_only == set()
    assert variables(RAW) <= set(env_example()), "every ${VAR} compose.yaml uses is listed"


def test_the_env_example_carries_each_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in env_example():
        monkeypatch.delenv(name, raising=False)
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    fields = {field.upper(): field for field in Settings.model_fields} | {
        "SLACK_BOT_TOKEN": "slack_api_token"
    }
    for name, value in env_example().items():
        if name not in fields:
            continue
        default = getattr(defaults, fields[name])
        if value == "":
            assert default in (None, "", []), f"{name}: the default is {default!r}"
            continue
        if value.startswith("~/"):
            value = str(Path(value).expanduser())
        monkeypatch.setenv(name, value)
        given = getattr(Settings(_env_file=None), fields[name])  # type: ignore[call-arg]
        monkeypatch.delenv(name)
        assert given == default, f"{name}={value} is not the default {default!r}"


def test_the_env_example_holds_no_secret_value() -> None:
    for name, value in env_example().items():
        if name in SECRETS:
            assert value == "", f"{name} has a value in the example"
