"""One sender per target kind, built once per worker process."""

from __future__ import annotations

from medic.config import Settings
from medic.notify.discord import DiscordSender
from medic.notify.email import EmailSender
from medic.notify.message import Sender
from medic.notify.pagerduty import PagerDutySender
from medic.notify.slack import SlackSender
from medic.notify.webhook import WebhookSender


def make_senders(settings: Settings) -> dict[str, Sender]:
    return {
        "slack": SlackSender(settings),
        "pagerduty": PagerDutySender(settings),
        "webhook": WebhookSender(settings),
        "email": EmailSender(settings),
        "discord": DiscordSender(settings),
    }
