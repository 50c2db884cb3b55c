"""What people type after `/medic`, and the command Medic understands (no database)."""

from __future__ import annotations

import pytest

from medic.bot.commands import (
    HELP_TEXT,
    Ack,
    Alerts,
    Help,
    ListServices,
    Maintenance,
    Mute,
    Status,
    Unmute,
    parse,
)


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("help", Help()),
        ("", Help()),
        ("   ", Help()),
        ("status", Status()),
        ("status nightly-backup", Status("nightly-backup")),
        ("list", ListServices()),
        ("list payments", ListServices("payments")),
        ("alerts", Alerts()),
        ("ack 42", Ack(42)),
        ("ack #42", Ack(42)),
        ("unmute nightly-backup", Unmute("nightly-backup")),
        ("STATUS etl", Status("etl")),
    ],
)
def test_commands_parse_to_what_they_say(text: str, command: object) -> None:
    assert parse(text) == command


def test_mute_takes_a_name_an_optional_duration_and_the_rest_as_reason() -> None:
    """The duration stays as typed: the mute command parses and caps it for every door."""
    assert parse("mute etl 2h deploying v2.3") == Mute("etl", "2h", "deploying v2.3")
    assert parse("mute etl 1h30m") == Mute("etl", "1h30m", None)


def test_mute_without_a_duration_leaves_it_to_the_auto_unmute_default() -> None:
    assert parse("mute etl") == Mute("etl", None, None)
    assert parse("mute etl deploying now") == Mute("etl", None, "deploying now")


def test_a_mistyped_duration_is_explained_not_taken_as_a_reason() -> None:
    command = parse("mute etl 2x oops")
    assert isinstance(command, Help)
    assert "invalid duration '2x'" in (command.problem or "")


def test_maintenance_names_a_service_or_all_and_needs_a_duration() -> None:
    """The duration stays as typed: the window command parses and caps it for every door."""
    assert parse("maintenance all 30m deploy") == Maintenance(None, "30m", "deploy")
    assert parse("maintenance etl 2h") == Maintenance("etl", "2h", None)
    assert parse("maintenance ALL 1d db upgrade") == Maintenance(None, "1d", "db upgrade")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("mute", "Usage: `/medic mute"),
        ("unmute", "Usage: `/medic unmute"),
        ("unmute a b", "Usage: `/medic unmute"),
        ("ack", "Usage: `/medic ack"),
        ("ack latest", "`latest` is not an alert id"),
        ("ack 0", "`0` is not an alert id"),
        ("maintenance all", "Usage: `/medic maintenance"),
        ("maintenance all soon", "invalid duration 'soon'"),
        ("alerts now", "Usage: `/medic alerts"),
        ("reboot prod", "I don't know `reboot`"),
    ],
)
def test_bad_input_becomes_help_that_says_what_was_wrong(text: str, problem: str) -> None:
    command = parse(text)
    assert isinstance(command, Help)
    assert problem in (command.problem or "")


def test_help_lists_every_command() -> None:
    for verb in ("status", "list", "mute", "unmute", "alerts", "ack", "maintenance", "run"):
        assert f"/medic {verb}" in HELP_TEXT
