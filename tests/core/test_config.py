"""Settings come from the environment; a bad value stops start-up with one clear line.

Every test starts from an environment without any Medic variable (see `clean_environment`)
and never reads a `.env` file, so the developer's own settings cannot leak in.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from medic.config import DEFAULT_SQLITE_PATH, ConfigError, Settings, load_settings


def _variable_names() -> set[str]:
    names = set()
    for field_name, field in Settings.model_fields.items():
        names.add(field_name.upper())
        alias = field.validation_alias
        for choice in getattr(alias, "choices", [alias] if isinstance(alias, str) else []):
            names.add(str(choice).upper())
    return names


MEDIC_VARIABLES = _variable_names()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every variable Settings reads (names are case-insensitive)."""
    for key in list(os.environ):
        if key.upper() in MEDIC_VARIABLES:
            monkeypatch.delenv(key)


def load(**overrides: object) -> Settings:
    return load_settings(_env_file=None, **overrides)


def config_error(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> str:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load()
    return str(caught.value)


def test_the_environment_is_clean_for_these_tests() -> None:
    assert "DATABASE_URL" in MEDIC_VARIABLES
    assert "SLACK_BOT_TOKEN" in MEDIC_VARIABLES
    assert not {key.upper() for key in os.environ} & MEDIC_VARIABLES


# --------------------------------------------------------------------------- defaults


class TestDefaults:
    def test_runbook_defaults(self) -> None:
        settings = load()

        assert settings.port == 8080
        assert settings.medic_timezone == "America/Chicago"
        assert settings.worker_interval_seconds == 15
        assert settings.alert_auto_unmute_hours == 24
        assert settings.heartbeat_retention_days == 30
        assert settings.medic_rate_limiter_type == "auto"
        assert settings.redis_pool_size == 10

    def test_optional_integrations_are_off_by_default(self) -> None:
        settings = load()

        assert settings.slack_api_token is None
        assert settings.pagerduty_routing_key is None
        assert settings.redis_url is None
        assert settings.medic_secrets_key is None
        assert settings.secrets_key_bytes is None
        assert settings.medic_allowed_webhook_hosts == []


# --------------------------------------------------------------------------- database URL


class TestDatabaseUrl:
    def test_without_database_url_or_db_host_medic_uses_sqlite(self) -> None:
        settings = load()

        assert settings.sqlalchemy_url == f"sqlite:///{DEFAULT_SQLITE_PATH}"
        assert settings.is_sqlite

    def test_the_sqlite_path_can_be_moved(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setenv("MEDIC_SQLITE_PATH", str(tmp_path / "medic.db"))

        assert load().sqlalchemy_url == f"sqlite:///{tmp_path / 'medic.db'}"

    def test_db_host_and_friends_build_a_psycopg_url(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DB_HOST", "db.internal")
        monkeypatch.setenv("DB_PORT", "6543")
        monkeypatch.setenv("DB_NAME", "medic_prod")
        monkeypatch.setenv("PG_USER", "medic_app")
        monkeypatch.setenv("PG_PASS", "s3cret")

        settings = load()

        assert settings.sqlalchemy_url == (
            "postgresql+psycopg://medic_app:s3cret@db.internal:6543/medic_prod"
        )
        assert not settings.is_sqlite

    def test_db_host_alone_uses_default_port_name_and_user(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("DB_HOST", "db.internal")

        assert load().sqlalchemy_url == "postgresql+psycopg://medic@db.internal:5432/medic"

    @pytest.mark.parametrize(
        "password", ["p@ss:w/rd", "with space", "plus+sign", "100%", "#?&=", "pässwörd"]
    )
    def test_the_password_is_url_escaped_and_survives_parsing(
        self, monkeypatch: pytest.MonkeyPatch, password: str
    ) -> None:
        monkeypatch.setenv("DB_HOST", "db.internal")
        monkeypatch.setenv("PG_USER", "medic user")
        monkeypatch.setenv("PG_PASS", password)

        url = load().sqlalchemy_url

        assert f":{password}@" not in url
        parsed = make_url(url)
        assert parsed.password == password
        assert parsed.username == "medic user"
        assert parsed.host == "db.internal"
        assert parsed.database == "medic"

    def test_database_url_wins_over_db_host(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("DB_HOST", "ignored.internal")
        monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u:p@chosen:5432/d")

        assert load().sqlalchemy_url == "postgresql+psycopg://u:p@chosen:5432/d"

    @pytest.mark.parametrize(
        ("given", "expected"),
        [
            ("postgres://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
            ("postgresql://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
            ("postgresql+psycopg://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
            ("sqlite:////var/lib/medic/medic.db", "sqlite:////var/lib/medic/medic.db"),
        ],
    )
    def test_database_url_is_normalised_to_psycopg(
        self, monkeypatch: pytest.MonkeyPatch, given: str, expected: str
    ) -> None:
        monkeypatch.setenv("DATABASE_URL", given)

        assert load().sqlalchemy_url == expected


# --------------------------------------------------------------------------- bad values


class TestBadValues:
    @pytest.mark.parametrize(
        ("variable", "value", "explanation"),
        [
            ("MEDIC_TIMEZONE", "CST", "IANA"),
            ("MEDIC_TIMEZONE", "EST", "IANA"),
            ("MEDIC_TIMEZONE", "Mars/Olympus_Mons", "IANA"),
            ("PORT", "abc", "integer"),
            ("PORT", "0", "greater than or equal to 1"),
            ("PORT", "70000", "less than or equal to 65535"),
            ("MEDIC_SECRETS_KEY", "not base64!", "base64"),
            ("MEDIC_SECRETS_KEY", base64.b64encode(b"short").decode(), "32 bytes"),
            ("MEDIC_SECRETS_KEY", base64.b64encode(bytes(33)).decode(), "32 bytes"),
            ("MEDIC_RATE_LIMITER_TYPE", "fast", "'auto', 'redis' or 'memory'"),
            ("DATABASE_URL", "mysql://x", "postgresql://"),
            ("WORKER_INTERVAL_SECONDS", "0", "greater than 0"),
            ("HEARTBEAT_RETENTION_DAYS", "0", "greater than or equal to 1"),
            ("LOG_LEVEL", "chatty", "'DEBUG'"),
        ],
    )
    def test_a_bad_value_is_one_line_starting_with_the_variable(
        self, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, explanation: str
    ) -> None:
        message = config_error(monkeypatch, variable, value)

        assert message.startswith(f"{variable}: ")
        assert explanation in message
        assert "\n" not in message

    def test_timezone_abbreviation_suggests_an_iana_name(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        message = config_error(monkeypatch, "MEDIC_TIMEZONE", "CST")

        assert message == (
            "MEDIC_TIMEZONE: 'CST' is not an IANA timezone name; "
            "use a name such as 'America/Chicago' or 'UTC'"
        )

    def test_a_bad_override_is_reported_the_same_way(self) -> None:
        with pytest.raises(ConfigError, match=r"^PORT: "):
            load(port="abc")

    def test_config_error_hides_the_pydantic_traceback(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("PORT", "abc")

        with pytest.raises(ConfigError) as caught:
            load()

        assert caught.value.__suppress_context__


# --------------------------------------------------------------------------- other values


class TestValues:
    @pytest.mark.parametrize("timezone", ["UTC", "America/New_York", "Australia/Lord_Howe"])
    def test_iana_timezones_are_accepted(
        self, monkeypatch: pytest.MonkeyPatch, timezone: str
    ) -> None:
        monkeypatch.setenv("MEDIC_TIMEZONE", timezone)

        assert load().medic_timezone == timezone

    def test_a_32_byte_base64_secrets_key_is_accepted(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        key = bytes(range(32))
        monkeypatch.setenv("MEDIC_SECRETS_KEY", base64.b64encode(key).decode())

        assert load().secrets_key_bytes == key

    def test_an_empty_secrets_key_means_none(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("MEDIC_SECRETS_KEY", "")

        assert load().medic_secrets_key is None

    def test_allowed_webhook_hosts_is_a_comma_separated_list(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("MEDIC_ALLOWED_WEBHOOK_HOSTS", " Hooks.Example.com, ,api.example.org ")

        assert load().medic_allowed_webhook_hosts == ["hooks.example.com", "api.example.org"]

    def test_an_empty_allowed_webhook_hosts_is_an_empty_list(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("MEDIC_ALLOWED_WEBHOOK_HOSTS", "")

        assert load().medic_allowed_webhook_hosts == []

    @pytest.mark.parametrize("variable", ["SLACK_API_TOKEN", "SLACK_BOT_TOKEN"])
    def test_slack_token_is_read_from_either_name(
        self, monkeypatch: pytest.MonkeyPatch, variable: str
    ) -> None:
        monkeypatch.setenv(variable, "xoxb-123")

        assert load().slack_api_token == "xoxb-123"

    def test_slack_api_token_wins_when_both_names_are_set(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-bot")
        monkeypatch.setenv("SLACK_API_TOKEN", "xoxb-api")

        assert load().slack_api_token == "xoxb-api"

    def test_slack_token_can_be_passed_by_field_name(self) -> None:
        assert load(slack_api_token="xoxb-456").slack_api_token == "xoxb-456"

    def test_variable_names_are_case_insensitive(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("port", "9001")

        assert load().port == 9001

    def test_overrides_win_over_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("PORT", "9001")

        assert load(port=9002).port == 9002

    def test_log_level_is_case_insensitive(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("LOG_LEVEL", "debug")

        assert load().log_level == "DEBUG"

    def test_slack_api_base_url_gets_a_trailing_slash(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("SLACK_API_BASE_URL", "http://slack.test/api")

        assert load().slack_api_base_url == "http://slack.test/api/"

    def test_an_env_file_is_read_only_when_given(self, tmp_path: Path) -> None:
        env_file = tmp_path / ".env"
        env_file.write_text("PORT=9100\nMEDIC_TIMEZONE=Europe/London\n")

        settings = load_settings(_env_file=env_file)

        assert settings.port == 9100
        assert settings.medic_timezone == "Europe/London"
        assert load().port == 8080


def test_the_base_url_follows_the_port_unless_set() -> None:
    """Ping URLs must reach this Medic: with PORT=9000 and no MEDIC_BASE_URL they say 9000."""
    assert load(port=9000).medic_base_url == "http://localhost:9000"
    assert load(port=9000, medic_base_url="https://medic.example.com").medic_base_url == (
        "https://medic.example.com"
    )


def test_an_http_pagerduty_url_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """The PagerDuty client sends only over https; starting "healthy" and then failing
    every delivery would hide it."""
    assert "https://" in config_error(monkeypatch, "PAGERDUTY_BASE_URL", "http://pd.local")
