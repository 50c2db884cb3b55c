"""The pure rules: slugs that can never be path tricks, and monitor schedules."""

from __future__ import annotations

import pytest

from medic.core.monitor_config import differences, monitor_fields, schedule_fields
from medic.core.slugs import check_slug, slugify


@pytest.mark.parametrize("slug", ["backup", "db-backup_2", "a", "9lives", "x" * 100])
def test_valid_slugs(slug: str) -> None:
    assert check_slug(slug) == slug


@pytest.mark.parametrize(
    "slug",
    [
        "",
        "..",
        ".",
        "a/b",
        "a%2Fb",
        "A",
        "-a",
        "_a",
        "a b",
        "start",
        "fail",
        "log",
        "42",
        "é",
        "x" * 101,
        "a\x00",
        "a\n",
    ],
)
def test_slugs_that_could_be_path_tricks_or_routes_are_refused(slug: str) -> None:
    with pytest.raises(ValueError, match="slug"):
        check_slug(slug)


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Nightly Backup", "nightly-backup"),
        ("db.backup/2", "db-backup-2"),
        ("...", None),
        ("start", None),
        ("2024", None),
    ],
)
def test_default_slug_of_a_name(name: str, slug: str | None) -> None:
    assert slugify(name) == slug


def test_schedule_is_a_cron_expression_or_a_whole_minute_interval() -> None:
    assert schedule_fields("0 3 * * *") == {"schedule_type": "cron", "cron_expression": "0 3 * * *"}
    assert schedule_fields(" 0  3 * * * ") == {
        "schedule_type": "cron",
        "cron_expression": "0 3 * * *",
    }
    assert schedule_fields("1h") == {"schedule_type": "interval", "alert_interval": 60}
    assert schedule_fields("1d") == {"schedule_type": "interval", "alert_interval": 1440}
    for bad in ("90s", "soon", "", "-1h"):
        with pytest.raises(ValueError, match="schedule"):
            schedule_fields(bad)


def test_an_unchanged_config_changes_nothing() -> None:
    wanted = monitor_fields("30m", "Europe/Paris", 600, 60)
    assert wanted == {
        "schedule_type": "interval",
        "alert_interval": 30,
        "timezone": "Europe/Paris",
        "max_duration_seconds": 600,
        "grace_period_seconds": 60,
    }
    current = {**wanted, "cron_expression": None, "team": "x"}
    assert differences(current, wanted) == {}
    assert differences({**current, "alert_interval": 60}, wanted) == {"alert_interval": 30}
