"""SMS through Twilio's Messages API, against a strict stand-in."""

from __future__ import annotations

import pytest

from bridge.channels.support import MESSAGE, NOBODY, raised
from fakes.http import Answer
from fakes.twilio import TwilioFake
from pushgateway_bridge.channels.sms import SmsChannel


def sms_channel(twilio: TwilioFake, **overrides: object) -> SmsChannel:
    settings: dict[str, object] = {
        "account_sid": twilio.account_sid,
        "auth_token": twilio.auth_token,
        "from_number": "+15550100",
        "base_url": twilio.url,
    }
    return SmsChannel(**{**settings, **overrides})  # type: ignore[arg-type]


def test_sms_sends_subject_and_text_cut_to_the_maximum(twilio: TwilioFake) -> None:
    sms_channel(twilio).send(MESSAGE, "+15550199")
    sms_channel(twilio, max_length=20).send(MESSAGE, "+15550199")
    full, short = twilio.accepted
    assert (full.to, full.from_, full.body) == ("+15550199", "+15550100", f"Disk almost full: {MESSAGE.text}")
    assert short.body == "Disk almost full: d…" and len(short.body) == 20
    assert full.sid.startswith("SM")


def test_sms_refuses_a_maximum_over_twilios_limit(twilio: TwilioFake) -> None:
    with pytest.raises(ValueError, match="max_length: must be 1 to 1600"):
        sms_channel(twilio, max_length=1601)


@pytest.mark.parametrize(
    ("overrides", "to", "expected"),
    [
        ({}, "12345", (True, "rejected", 21211)),  # an invalid To: permanent for that number
        ({"from_number": "SENDER"}, "+15550199", (True, "rejected", 21212)),
        ({"auth_token": "wrong"}, "+15550199", (False, "auth", 20003)),
    ],
)
def test_sms_refusals(
    twilio: TwilioFake, overrides: dict[str, object], to: str, expected: tuple[bool, str, int]
) -> None:
    permanent, kind, twilio_code = expected
    error = raised(sms_channel(twilio, **overrides).send, MESSAGE, to)
    assert (error.permanent, error.kind) == (permanent, kind)
    assert f"(Twilio error {twilio_code})" in error.message
    assert twilio.accepted == []


def test_sms_transient_answers_and_no_answer(twilio: TwilioFake) -> None:
    twilio.fail_next(
        Answer.json(429, {"code": 20429, "message": "Too Many Requests", "status": 429}, {"Retry-After": "3"})
    )
    error = raised(sms_channel(twilio).send, MESSAGE, "+15550199")
    assert (error.permanent, error.kind, error.retry_after) == (False, "http_429", 3.0)
    twilio.fail_next(Answer.text(503, "unavailable"))
    assert raised(sms_channel(twilio).send, MESSAGE, "+15550199").kind == "http_503"
    error = raised(sms_channel(twilio, base_url=NOBODY).send, MESSAGE, "+15550199")
    assert (error.permanent, error.kind) == (False, "unreachable")
