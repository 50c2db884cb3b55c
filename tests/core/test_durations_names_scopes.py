"""Small domain rules: human durations, heartbeat names, API key scopes, statuses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medic.core.durations import MAX_DURATION, format_duration, parse_duration
from medic.core.names import MAX_NAME_LENGTH, clean_name, environment_name, name_key
from medic.core.scopes import SCOPES, grants, validate_scopes
from medic.core.statuses import (
    FAILURES,
    PROOF_OF_LIFE,
    Status,
    exit_status_to_status,
    parse_status,
)

# --------------------------------------------------------------------------- durations


class TestParseDuration:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("90s", timedelta(seconds=90)),
            ("30m", timedelta(minutes=30)),
            ("1h30m", timedelta(hours=1, minutes=30)),
            ("2d", timedelta(days=2)),
            ("1w", timedelta(weeks=1)),
            ("15", timedelta(minutes=15)),
            ("1H30M", timedelta(hours=1, minutes=30)),
            (" 1h 30m ", timedelta(hours=1, minutes=30)),
            ("366d", MAX_DURATION),
        ],
    )
    def test_parses_human_durations(self, text: str, expected: timedelta) -> None:
        assert parse_duration(text) == expected

    def test_a_bare_number_means_minutes(self) -> None:
        assert parse_duration("15") == timedelta(minutes=15)

    @pytest.mark.parametrize(
        "text",
        ["", "   ", "0m", "0", "-5m", "abc", "1x", "400d", "367d", "m", "1h30", "1.5h"],
    )
    def test_rejects_empty_zero_negative_unknown_and_over_a_year(self, text: str) -> None:
        with pytest.raises(ValueError):
            parse_duration(text)

    def test_error_message_shows_the_accepted_forms(self) -> None:
        with pytest.raises(ValueError, match="30m"):
            parse_duration("abc")


class TestFormatDuration:
    @pytest.mark.parametrize(
        ("delta", "text"),
        [
            (timedelta(seconds=90), "1m30s"),
            (timedelta(minutes=30), "30m"),
            (timedelta(hours=1, minutes=30), "1h30m"),
            (timedelta(days=2), "2d"),
            (timedelta(weeks=1), "7d"),
            (timedelta(0), "0s"),
        ],
    )
    def test_formats_largest_units_first(self, delta: timedelta, text: str) -> None:
        assert format_duration(delta) == text

    @given(st.integers(min_value=1, max_value=int(MAX_DURATION.total_seconds())))
    def test_format_then_parse_round_trips(self, seconds: int) -> None:
        delta = timedelta(seconds=seconds)

        assert parse_duration(format_duration(delta)) == delta


# --------------------------------------------------------------------------- names


class TestCleanName:
    def test_strips_surrounding_whitespace(self) -> None:
        assert clean_name("  nightly-backup \n") == "nightly-backup"

    @pytest.mark.parametrize("value", ["", "   ", "\t\n"])
    def test_rejects_empty_names(self, value: str) -> None:
        with pytest.raises(ValueError, match="must not be empty"):
            clean_name(value)

    def test_accepts_the_maximum_length_and_rejects_one_more(self) -> None:
        assert clean_name("x" * MAX_NAME_LENGTH) == "x" * 255
        with pytest.raises(ValueError, match="at most 255"):
            clean_name("x" * 256)

    @pytest.mark.parametrize(
        "value",
        ["a\x00b", "a\tb", "a\nb", "a\x1bb", "a\x7fb", "a\u200bb"],
        ids=["nul", "tab", "newline", "escape", "delete", "zero-width-space"],
    )
    def test_rejects_control_characters(self, value: str) -> None:
        with pytest.raises(ValueError, match="control characters"):
            clean_name(value)

    def test_rejects_slash_because_names_end_up_in_urls(self) -> None:
        with pytest.raises(ValueError, match="'/'"):
            clean_name("team/backup")

    @pytest.mark.parametrize("value", ["données-café", "日本語のジョブ", "backup ✓", "Ωmega_1.2"])
    def test_accepts_unicode(self, value: str) -> None:
        assert clean_name(value) == value

    def test_error_names_the_field(self) -> None:
        with pytest.raises(ValueError, match=r"^service_name must not be empty$"):
            clean_name(" ", field="service_name")


class TestNameKey:
    def test_names_match_case_insensitively(self) -> None:
        assert name_key("Nightly-Backup") == name_key("nightly-backup") == "nightly-backup"

    def test_casefolds_rather_than_lowercases(self) -> None:
        assert name_key("Straße") == name_key("STRASSE") == "strasse"

    def test_ignores_surrounding_whitespace(self) -> None:
        assert name_key("  API ") == "api"


class TestEnvironmentName:
    def test_a_non_empty_environment_prefixes_the_name(self) -> None:
        assert environment_name("backup", "prod") == "prod-backup"

    def test_the_environment_is_stripped(self) -> None:
        assert environment_name("backup", "  prod ") == "prod-backup"

    @pytest.mark.parametrize("environment", [None, "", "   "])
    def test_no_environment_leaves_the_name_alone(self, environment: str | None) -> None:
        assert environment_name("backup", environment) == "backup"


# --------------------------------------------------------------------------- scopes


class TestGrants:
    @pytest.mark.parametrize(
        ("held", "required", "allowed"),
        [
            (["admin"], "admin", True),
            (["admin"], "write", True),
            (["admin"], "read", True),
            (["write"], "admin", False),
            (["write"], "write", True),
            (["write"], "read", True),
            (["read"], "admin", False),
            (["read"], "write", False),
            (["read"], "read", True),
            (["ingest"], "ingest", True),
            (["ingest"], "read", False),
            (["read"], "ingest", False),
            (["write"], "ingest", True),
            (["admin"], "ingest", True),
        ],
    )
    def test_scopes_nest(self, held: list[str], required: str, allowed: bool) -> None:
        assert grants(held, required) is allowed

    def test_the_strongest_held_scope_counts(self) -> None:
        assert grants(["read", "admin"], "write")
        assert grants(frozenset({"read", "write"}), "write")

    def test_no_scopes_and_unknown_scopes_grant_nothing(self) -> None:
        assert not grants([], "read")
        assert not grants(["superuser"], "read")


class TestValidateScopes:
    def test_rejects_an_empty_list(self) -> None:
        with pytest.raises(ValueError, match="at least one scope"):
            validate_scopes([])

    def test_rejects_unknown_scopes_by_name(self) -> None:
        with pytest.raises(ValueError, match="'root'"):
            validate_scopes(["read", "root"])

    def test_scopes_are_case_sensitive(self) -> None:
        with pytest.raises(ValueError, match="'Admin'"):
            validate_scopes(["Admin"])

    def test_dedupes_and_orders_weakest_first(self) -> None:
        everything = ["admin", "read", "admin", "write", "read", "ingest"]
        assert validate_scopes(everything) == list(SCOPES[:4])
        assert validate_scopes(["write", "read"]) == ["read", "write"]


# --------------------------------------------------------------------------- statuses


class TestStatuses:
    @pytest.mark.parametrize(
        ("text", "status"),
        [
            ("UP", Status.UP),
            ("up", Status.UP),
            (" Degraded ", Status.DEGRADED),
            ("started", Status.STARTED),
            ("Completed", Status.COMPLETED),
            ("failed", Status.FAILED),
            ("down", Status.DOWN),
        ],
    )
    def test_parse_status_is_case_insensitive(self, text: str, status: Status) -> None:
        assert parse_status(text) is status

    @pytest.mark.parametrize("text", ["", "alive", "OK", "U P"])
    def test_parse_status_rejects_unknown_statuses_listing_the_allowed_ones(
        self, text: str
    ) -> None:
        with pytest.raises(ValueError, match="UP, DOWN, DEGRADED, STARTED, COMPLETED, FAILED"):
            parse_status(text)

    @pytest.mark.parametrize("status", [Status.DOWN, Status.FAILED])
    def test_down_and_failed_are_never_proof_of_life(self, status: Status) -> None:
        assert status not in PROOF_OF_LIFE
        assert status in FAILURES

    @pytest.mark.parametrize("status", [Status.UP, Status.DEGRADED, Status.COMPLETED])
    def test_healthy_statuses_are_proof_of_life(self, status: Status) -> None:
        assert status in PROOF_OF_LIFE

    def test_started_is_neither_proof_of_life_nor_a_failure(self) -> None:
        assert Status.STARTED not in PROOF_OF_LIFE
        assert Status.STARTED not in FAILURES

    def test_proof_of_life_and_failures_never_overlap(self) -> None:
        assert not PROOF_OF_LIFE & FAILURES

    def test_exit_status_zero_is_completed(self) -> None:
        assert exit_status_to_status(0) is Status.COMPLETED

    @pytest.mark.parametrize("exit_status", [1, 2, 127, 255, -1])
    def test_any_other_exit_status_is_failed(self, exit_status: int) -> None:
        assert exit_status_to_status(exit_status) is Status.FAILED
