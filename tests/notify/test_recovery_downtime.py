"""A recovery says how long the service was down ("up again after 1 h 12 min down")
in every channel: Slack's edited message, Discord, the email subject, the plain facts
the other channels share, and `downtime_seconds` in the webhook body."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta

from medic.notify.blocks.alerts import recovered_blocks
from medic.notify.discord import payload
from medic.notify.email import build_email
from medic.notify.message import Message
from medic.notify.plain import facts

UP_AGAIN = "up again after 1 h 12 min down"


def test_every_channel_shows_the_downtime(make_message: Callable[..., Message]) -> None:
    message = dataclasses.replace(
        make_message("alert.resolved"), downtime=timedelta(hours=1, minutes=12, seconds=9)
    )
    assert UP_AGAIN in str(recovered_blocks(message))
    assert UP_AGAIN in payload(message)["content"]
    assert UP_AGAIN in build_email(message, "medic@example.com", ["oncall@example.com"])["Subject"]
    assert ("Down for", "1h 12m") in facts(message)
    assert message.as_json()["downtime_seconds"] == 4329
    opened = make_message("alert.opened")
    assert opened.as_json()["downtime_seconds"] is None
    assert "Down for" not in dict(facts(opened))
