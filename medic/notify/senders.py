"""One sender per target kind, built once per worker process."""

from __future__ import annotations

from medic.config import Settings
from medic.notify.discord import DiscordSender
from medic.notify.email import EmailSender
from medic.notify.google_chat import GoogleChatSender
from medic.notify.mattermost import MattermostSender
from medic.notify.message import Sender
from medic.notify.ntfy import NtfySender
from medic.notify.opsgenie import OpsgenieSender
from medic.notify.pagerduty import PagerDutySender
from medic.notify.slack import SlackSender
from medic.notify.teams import TeamsSender
from medic.notify.telegram import TelegramSender
from medic.notify.twilio_sms import TwilioSmsSender
from medic.notify.webhook import WebhookSender


def make_senders(settings: Settings) -> dict[str, Sender]:
    return {
        "slack": SlackSender(settings),
        "pagerduty": PagerDutySender(settings),
        "webhook": WebhookSender(settings),
        "email": EmailSender(settings),
        "discord": DiscordSender(settings),
        "sms": TwilioSmsSender(settings),
        "msteams": TeamsSender(settings),
        "opsgenie": OpsgenieSender(settings),
        "telegram": TelegramSender(settings),
        "ntfy": NtfySender(settings),
        "google_chat": GoogleChatSender(settings),
        "mattermost": MattermostSender(settings),
    }
