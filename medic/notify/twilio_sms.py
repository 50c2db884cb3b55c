"""SMS through Twilio: one short text to each number of a target (the peer product's
fourth channel).

Target config: ``account_sid`` (``AC…``), ``auth_token`` (a secret), ``from`` (a Twilio
number in E.164, or a Messaging Service SID ``MG…``) and ``to`` (E.164 numbers). Each
number is one ``POST {TWILIO_API_BASE_URL}/2010-04-01/Accounts/{sid}/Messages.json``,
form-encoded, with HTTP basic auth.

The text is plain and cut to ``SMS_MAX`` characters (two segments): the summary and
the link to the service. When some numbers got the text and others did not, the
delivery counts as sent (with the failures in its reference): a retry would text the
others again, as for email.
"""

from __future__ import annotations

import base64
from urllib.parse import quote, urlencode

from medic.config import Settings
from medic.notify import http
from medic.notify.message import Message, Outcome, Target
from medic.notify.plain import cut, downtime, one_line

SMS_MAX = 320


class TwilioSmsSender:
    """Text a Message to the target's numbers, one attempt per number per call."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, target: Target, message: Message) -> Outcome:
        config = target.config
        sid, token, sender = config.get("account_sid"), config.get("auth_token"), config.get("from")
        numbers = config.get("to")
        if isinstance(numbers, str):
            numbers = [numbers]
        if not (isinstance(sid, str) and isinstance(token, str) and isinstance(sender, str)):
            return Outcome.refused(
                f"sms target {target.name!r}: config needs 'account_sid', 'auth_token' and 'from'"
            )
        if not isinstance(numbers, list) or not numbers:
            return Outcome.refused(f"sms target {target.name!r}: config needs 'to' numbers")
        base = self.settings.twilio_api_base_url.rstrip("/")
        url = f"{base}/2010-04-01/Accounts/{quote(sid, safe='')}/Messages.json"
        credentials = base64.b64encode(f"{sid}:{token}".encode()).decode("ascii")
        headers = {
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": http.USER_AGENT,
        }
        origin = "MessagingServiceSid" if sender.startswith("MG") else "From"
        text = sms_text(message)
        outcomes: dict[str, Outcome] = {}
        for number in numbers:
            form = urlencode({"To": str(number), origin: sender, "Body": text})
            outcomes[str(number)] = http.post(
                self.settings, url, content=form.encode("ascii"), headers=headers
            )
        return _combined(outcomes)


def sms_text(message: Message) -> str:
    """One plain line and the link: `[Medic] ETL is DOWN: no heartbeat … https://…`."""
    text = f"[Medic] {one_line(message.summary())}"
    down_for = downtime(message)
    if down_for:
        text += f" (down for {down_for})"
    link = message.service_url
    if link and len(link) < SMS_MAX // 2:
        return f"{cut(text, SMS_MAX - len(link) - 1)} {link}"
    return cut(text, SMS_MAX)


def _combined(outcomes: dict[str, Outcome]) -> Outcome:
    sent = [number for number, outcome in outcomes.items() if outcome.ok]
    failed = {number: outcome for number, outcome in outcomes.items() if not outcome.ok}
    if not failed:
        return Outcome.sent(next(iter(outcomes.values())).status_code, numbers=sent)
    detail = "; ".join(f"{number}: {outcome.error}" for number, outcome in failed.items())
    if sent:
        return Outcome.sent(
            None,
            numbers=sent,
            failed_numbers={number: outcome.error for number, outcome in failed.items()},
        )
    status = next(iter(failed.values())).status_code
    if any(outcome.retryable for outcome in failed.values()):
        return Outcome.failed(f"Twilio: {detail}", status)
    return Outcome.refused(f"Twilio: {detail}", status)
