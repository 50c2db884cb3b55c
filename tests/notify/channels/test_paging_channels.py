"""SMS through Twilio and Opsgenie against fakes of their APIs."""

from __future__ import annotations

from typing import Any

from medic.notify.message import Message, Target
from medic.notify.opsgenie import OpsgenieSender
from medic.notify.twilio_sms import SMS_MAX, TwilioSmsSender
from tests.fakes.channels import FakeOpsgenie, FakeTwilio
from tests.notify.channels.conftest import channel_settings
from tests.notify.conftest import MakeMessage

ONCALL, BACKUP = "+15551230001", "+447700900123"


def sms(**config: Any) -> Target:
    values = {
        "account_sid": FakeTwilio.ACCOUNT_SID,
        "auth_token": FakeTwilio.AUTH_TOKEN,
        "from": "+15550009999",
        "to": [ONCALL, BACKUP],
    }
    return Target(name="oncall-sms", kind="sms", config=values | config)


def opsgenie(**config: Any) -> Target:
    return Target("ops-genie", "opsgenie", {"api_key": FakeOpsgenie.API_KEY} | config)


def twilio_sender(fake: FakeTwilio) -> TwilioSmsSender:
    return TwilioSmsSender(channel_settings(twilio_api_base_url=fake.url))


# Twilio


def test_an_sms_goes_to_every_number_with_basic_auth(
    fake_twilio: FakeTwilio, make_message: MakeMessage
) -> None:
    outcome = twilio_sender(fake_twilio).send(sms(), make_message())
    assert (outcome.ok, outcome.status_code) == (True, 201)
    assert outcome.reference == {"numbers": [ONCALL, BACKUP]}
    assert [m["To"] for m in fake_twilio.accepted] == [ONCALL, BACKUP]
    text = fake_twilio.accepted[0]["Body"]
    assert text == (
        "[Medic] ETL is DOWN: no heartbeat for 12 minutes (interval 5m) "
        "https://medic.example.com/v2/services/7"
    )
    assert fake_twilio.accepted[0]["From"] == "+15550009999"


def test_an_sms_is_one_plain_line_cut_to_a_sane_length(
    fake_twilio: FakeTwilio, make_message: MakeMessage, hostile: Message
) -> None:
    long = make_message(service_overrides={"state_reason": "disk full\n" * 200})
    assert twilio_sender(fake_twilio).send(sms(to=[ONCALL]), long).ok
    assert twilio_sender(fake_twilio).send(sms(to=[ONCALL]), hostile).ok
    for sent in fake_twilio.accepted:
        assert len(sent["Body"]) <= SMS_MAX
        assert "\n" not in sent["Body"]
    assert fake_twilio.accepted[0]["Body"].endswith("… https://medic.example.com/v2/services/7")


def test_a_messaging_service_sends_instead_of_a_number(
    fake_twilio: FakeTwilio, make_message: MakeMessage
) -> None:
    service = "MG" + "ab" * 16
    assert (
        twilio_sender(fake_twilio).send(sms(**{"from": service, "to": [ONCALL]}), make_message()).ok
    )
    [sent] = fake_twilio.accepted
    assert sent["MessagingServiceSid"] == service and "From" not in sent


def test_some_numbers_failing_is_sent_with_the_failures_noted(
    fake_twilio: FakeTwilio, make_message: MakeMessage
) -> None:
    outcome = twilio_sender(fake_twilio).send(sms(to=[ONCALL, "+1"]), make_message())
    assert outcome.ok, "a retry would text the on-call again"
    assert outcome.reference["numbers"] == [ONCALL]
    assert "21211" in outcome.reference["failed_numbers"]["+1"]


def test_twilio_answers_map_to_outcomes(fake_twilio: FakeTwilio, make_message: MakeMessage) -> None:
    sender = twilio_sender(fake_twilio)
    wrong = sender.send(sms(auth_token="0" * 32), make_message())
    assert (wrong.ok, wrong.retryable, wrong.status_code) == (False, False, 401)
    assert "0" * 32 not in (wrong.error or "")
    fake_twilio.fail_next(503, 429)
    down = sender.send(sms(), make_message())
    assert (down.ok, down.retryable) == (False, True)
    assert "503" in (down.error or "") and "429" in (down.error or "")
    assert fake_twilio.accepted == []


# Opsgenie


def test_an_alert_creates_and_its_recovery_closes_by_alias(
    fake_opsgenie: FakeOpsgenie, make_message: MakeMessage
) -> None:
    sender = OpsgenieSender(channel_settings(opsgenie_api_base_url=fake_opsgenie.url))
    opened = sender.send(opsgenie(tags=["medic", "data"]), make_message("alert.opened"))
    assert (opened.ok, opened.status_code, opened.reference) == (
        True,
        202,
        {"alias": "medic-alert-31"},
    )
    [create] = fake_opsgenie.accepted
    assert create["message"] == "ETL is DOWN: no heartbeat for 12 minutes (interval 5m)"
    assert (create["alias"], create["priority"], create["source"]) == (
        "medic-alert-31",
        "P2",
        "Medic",
    )
    assert (create["entity"], create["tags"]) == ("nightly-etl", ["medic", "data"])
    assert create["details"]["Team"] == "data"
    assert create["details"]["Runbook"] == "https://wiki.example.com/runbooks/etl"

    resolved = make_message("alert.resolved", opened_reference=opened.reference)
    assert sender.send(opsgenie(), resolved).ok
    assert fake_opsgenie.alerts["medic-alert-31"]["status"] == "closed"
    assert fake_opsgenie.accepted[1]["note"] == "ETL recovered"


def test_a_create_sent_twice_is_one_opsgenie_alert(
    fake_opsgenie: FakeOpsgenie, make_message: MakeMessage
) -> None:
    sender = OpsgenieSender(channel_settings(opsgenie_api_base_url=fake_opsgenie.url))
    for _ in range(2):
        assert sender.send(opsgenie(), make_message()).ok
    assert list(fake_opsgenie.alerts) == ["medic-alert-31"]
    assert fake_opsgenie.alerts["medic-alert-31"]["count"] == 2


def test_the_eu_region_uses_the_eu_api(
    fake_opsgenie: FakeOpsgenie, make_message: MakeMessage
) -> None:
    settings = channel_settings(
        opsgenie_api_base_url="http://127.0.0.1:9", opsgenie_eu_api_base_url=fake_opsgenie.url
    )
    assert OpsgenieSender(settings).send(opsgenie(region="eu"), make_message()).ok


def test_opsgenie_takes_alerts_only_and_refuses_a_wrong_key(
    fake_opsgenie: FakeOpsgenie, make_message: MakeMessage
) -> None:
    sender = OpsgenieSender(channel_settings(opsgenie_api_base_url=fake_opsgenie.url))
    maintenance = sender.send(opsgenie(), make_message("maintenance.started"))
    assert not maintenance.ok and not maintenance.retryable
    wrong = sender.send(opsgenie(api_key="not-the-key-0000000000"), make_message())
    assert (wrong.ok, wrong.retryable, wrong.status_code) == (False, False, 401)
    fake_opsgenie.fail_next(500)
    failed = sender.send(opsgenie(), make_message())
    assert (failed.ok, failed.retryable, failed.status_code) == (False, True, 500)
    assert fake_opsgenie.accepted == []
