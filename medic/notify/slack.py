"""Slack channel messages: an alert with buttons, edited in place when it recovers;
maintenance windows opening and closing; a playbook execution waiting for Accept or
Decline (edited in place once it stops waiting), and one that failed, escalated or was
refused by the circuit breaker.

The channel is the target's own (`config.channel`), else the service team's, else
SLACK_CHANNEL_ID. One attempt per call: the delivery engine retries what is worth it
(rate limits, Slack's 5xx, unreachable), and never retries what cannot succeed
(a bad token, an unknown channel, a bot not invited).
"""

from __future__ import annotations

import http.client
import logging
import ssl
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from medic.config import Settings
from medic.net.tls import client_ssl_context
from medic.notify.blocks.alerts import alert_blocks, escape, maintenance_blocks, recovered_blocks
from medic.notify.blocks.approvals import CLOSED_KIND, approval_blocks
from medic.notify.blocks.executions import execution_notice_blocks
from medic.notify.message import Message, Outcome, Target

log = logging.getLogger(__name__)

NO_CHANNEL = "no Slack channel: set the team's slack_channel_id or SLACK_CHANNEL_ID"
NO_TOKEN = "no Slack bot token: set SLACK_BOT_TOKEN"
# Slack errors that another attempt later may get past; any other error is final.
RETRYABLE_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# The team's channel cannot take the message: the default channel gets it, saying why.
FALL_BACK_ERRORS = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
# chat.update cannot edit the alert message any more: post the recovery instead.
MESSAGE_GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})


class SlackSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: WebClient | None = None

    def _web_client(self) -> WebClient:
        if self._client is None:
            self._client = WebClient(
                token=self.settings.slack_api_token,
                base_url=self.settings.slack_api_base_url,
                timeout=self.settings.medic_notify_timeout_seconds,  # type: ignore[arg-type]
                ssl=client_ssl_context(self.settings.medic_extra_ca_bundle),
                # One attempt per delivery; retrying is the delivery engine's job.
                retry_handlers=[],
            )
        return self._client

    def send(self, target: Target, message: Message) -> Outcome:
        if not self.settings.slack_api_token:
            return Outcome.refused(NO_TOKEN)
        channel = (
            target.config.get("channel") or message.slack_channel or self.settings.slack_channel_id
        )
        if not channel:
            return Outcome.refused(NO_CHANNEL)
        try:
            client = self._web_client()
        except (OSError, ssl.SSLError) as exc:
            return Outcome.refused(f"cannot load MEDIC_EXTRA_CA_BUNDLE: {exc}")
        try:
            if message.kind == "alert.resolved":
                return self._resolve(client, str(channel), message)
            if message.kind == CLOSED_KIND:
                return self._close_request(client, message)
            return self._post_or_fall_back(client, str(channel), message, _blocks(message))
        except SlackApiError as exc:
            return _api_error(exc)
        except (OSError, SlackClientError, http.client.HTTPException) as exc:
            # Connection refused or reset, DNS, TLS, timeouts: worth another attempt.
            return Outcome.failed(f"Slack unreachable: {exc}")

    def _post(
        self, client: WebClient, channel: str, message: Message, blocks: list[dict[str, Any]]
    ) -> Outcome:
        response = client.chat_postMessage(
            channel=channel, text=_text(message), blocks=blocks, unfurl_links=False
        )
        return Outcome.sent(
            response.status_code, channel=response.get("channel") or channel, ts=response["ts"]
        )

    def _resolve(self, client: WebClient, channel: str, message: Message) -> Outcome:
        """Edit the alert message to its recovered version; post one if there is none."""
        blocks = recovered_blocks(message)
        opened = message.opened_reference
        if opened.get("channel") and opened.get("ts"):
            try:
                response = client.chat_update(
                    channel=str(opened["channel"]),
                    ts=str(opened["ts"]),
                    text=_text(message),
                    blocks=blocks,
                )
            except SlackApiError as exc:
                if exc.response.get("error") not in MESSAGE_GONE:
                    raise
                log.info("alert message %s is gone; posting the recovery", opened["ts"])
            else:
                return Outcome.sent(
                    response.status_code,
                    channel=response.get("channel") or opened["channel"],
                    ts=response.get("ts") or opened["ts"],
                )
        return self._post_or_fall_back(client, channel, message, blocks)

    def _close_request(self, client: WebClient, message: Message) -> Outcome:
        """Edit the posted approval request to its closed version (no buttons, how it
        closed). Waits (a retryable failure) while the request itself is unposted."""
        posted = message.opened_reference
        if posted.get("pending"):
            return Outcome.failed("the approval request is not posted yet; editing it later")
        if not (posted.get("channel") and posted.get("ts")):
            return Outcome.refused("the approval request never reached Slack: nothing to edit")
        try:
            response = client.chat_update(
                channel=str(posted["channel"]),
                ts=str(posted["ts"]),
                text=_text(message),
                blocks=approval_blocks(message),
            )
        except SlackApiError as exc:
            if exc.response.get("error") in MESSAGE_GONE:
                return Outcome.refused(f"the approval message is gone: {exc.response['error']}")
            raise
        return Outcome.sent(
            response.status_code, channel=posted["channel"], ts=response.get("ts") or posted["ts"]
        )

    def _post_or_fall_back(
        self, client: WebClient, channel: str, message: Message, blocks: list[dict[str, Any]]
    ) -> Outcome:
        """A team channel that is gone, archived or without the bot must not swallow an
        alert: post it to SLACK_CHANNEL_ID with a line saying where it was meant to go."""
        try:
            return self._post(client, channel, message, blocks)
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            default = self.settings.slack_channel_id
            if error not in FALL_BACK_ERRORS or not default or default == channel:
                raise
        log.warning(
            "Slack channel %s refused a message (%s); posting to %s", channel, error, default
        )
        note = {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Posted here because channel `{escape(channel)}` refused it "
                    f"(`{escape(error)}`): check the team's slack_channel_id and invite the bot.",
                }
            ],
        }
        outcome = self._post(client, default, message, [*blocks, note])
        outcome.reference.update(fell_back_from=channel, fell_back_because=error)
        return outcome


def _blocks(message: Message) -> list[dict[str, Any]]:
    if message.kind in ("alert.opened", "alert.repeated"):
        return alert_blocks(message)
    if message.kind.startswith("maintenance."):
        return maintenance_blocks(message)
    if message.kind in ("execution.approval_requested", CLOSED_KIND):
        return approval_blocks(message)
    if message.kind.startswith("execution."):
        return execution_notice_blocks(message)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": _text(message)}}]


def _text(message: Message) -> str:
    """The message's one line (the notification and fallback text), which Slack reads
    as mrkdwn too: the names and reasons in it are escaped like in the blocks."""
    return escape(message.summary())


def _api_error(exc: SlackApiError) -> Outcome:
    status = exc.response.status_code
    data = exc.response.data
    error = str(data.get("error") or "unknown_error") if isinstance(data, dict) else "unknown"
    if status == 429 or status >= 500 or error in RETRYABLE_ERRORS:
        retry_after = exc.response.headers.get("retry-after") or exc.response.headers.get(
            "Retry-After"
        )
        hint = f" (retry after {retry_after} s)" if retry_after else ""
        return Outcome.failed(f"Slack error {error}{hint}", status)
    return Outcome.refused(f"Slack refused the message: {error}", status)
