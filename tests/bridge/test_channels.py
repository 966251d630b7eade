"""The notification channels against strict local stand-ins of Slack, Teams Workflows, Twilio, a signed
webhook receiver and an SMTP server: what each service receives, and whether a failure is permanent."""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime

import httpx
import pytest
import trustme

from fakes.http import Answer
from fakes.slack import SlackFake
from fakes.smtp import SmtpRecorder, smtp_recorder
from fakes.teams import Refused, TeamsFake, check_workflows_message
from fakes.twilio import TwilioFake
from fakes.webhook import WebhookReceiver
from pushgateway_bridge.channels.base import Message, TransportError, retry_after_seconds
from pushgateway_bridge.channels.email import EmailChannel
from pushgateway_bridge.channels.slack import SlackBotChannel, SlackWebhookChannel
from pushgateway_bridge.channels.sms import SmsChannel
from pushgateway_bridge.channels.teams import TeamsChannel, post_card, teams_card
from pushgateway_bridge.channels.webhook import WebhookChannel, WebhookTarget
from pushgateway_bridge.settings import NotifyConfig
from pushgateway_bridge.sinks.notify import NotifySink
from stack import free_port

MESSAGE = Message(
    notification_id="5f0c6f2e-8d1b-4c55-9a43-0b7d2c1e9f10",
    subject="Disk almost full",
    text="db-1: 95% used <of 2 TB> & rising",
    priority="critical",
    user_id="user123",
    link="https://grafana.example/d/disk?var-host=db-1&from=now-1h",
    data={"host": "db-1", "used_ratio": 0.95},
)
NOBODY = f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused


def raised(send: Callable[..., object], *args: object) -> TransportError:
    with pytest.raises(TransportError) as caught:
        send(*args)
    return caught.value


@pytest.fixture
def slack() -> Iterator[SlackFake]:
    with SlackFake() as fake:
        yield fake


@pytest.fixture
def teams() -> Iterator[TeamsFake]:
    with TeamsFake() as fake:
        yield fake


@pytest.fixture
def twilio() -> Iterator[TwilioFake]:
    with TwilioFake() as fake:
        yield fake


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(secret="s3cret") as fake:
        yield fake


# --- the message and the shared rule ---


def test_a_message_refuses_an_unknown_priority_and_an_empty_one() -> None:
    with pytest.raises(ValueError, match="priority must be one of info, warning, critical"):
        Message(notification_id="n", subject="s", text="t", priority="urgent")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a subject or a text"):
        Message(notification_id="n", subject="", text="")


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds(httpx.Response(429, headers={"Retry-After": "30"})) == 30.0
    past = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert retry_after_seconds(httpx.Response(503, headers={"Retry-After": past})) == 0.0
    assert retry_after_seconds(httpx.Response(503, headers={"Retry-After": "soon"})) is None
    assert retry_after_seconds(httpx.Response(503)) is None


# --- Slack incoming webhooks ---


def test_slack_webhook_posts_text_and_blocks(slack: SlackFake) -> None:
    channel = SlackWebhookChannel({"ops": slack.webhook_url()})
    channel.send(MESSAGE, "ops")
    [post] = slack.accepted
    assert post.via == "webhook"
    assert post.body["text"] == "Disk almost full: db-1: 95% used &lt;of 2 TB&gt; &amp; rising"
    header, section, context, actions = post.body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "Disk almost full"}}
    assert section["text"] == {"type": "mrkdwn", "text": "db-1: 95% used &lt;of 2 TB&gt; &amp; rising"}
    assert context["elements"][0]["text"] == ":rotating_light: critical"
    assert actions["elements"][0]["url"] == MESSAGE.link


def test_slack_webhook_cuts_a_subject_to_the_header_limit(slack: SlackFake) -> None:
    long = Message(notification_id="n-2", subject="x" * 200, text="")
    SlackWebhookChannel({"ops": slack.webhook_url()}).send(long, "ops")
    [post] = slack.accepted
    assert post.body["blocks"][0]["text"]["text"] == "x" * 149 + "…"


@pytest.mark.parametrize(
    ("path", "status", "permanent", "kind"),
    [
        ("/services/T0/B9/unknown", 404, True, "rejected"),  # no_service
        ("/services/T0/B2/archived", 410, True, "rejected"),  # channel_is_archived
        ("/services/T0/B1/revoked", 403, False, "auth"),  # invalid_token: the credentials, kept
    ],
)
def test_slack_webhook_refusals(slack: SlackFake, path: str, status: int, permanent: bool, kind: str) -> None:
    error = raised(SlackWebhookChannel({"ops": slack.webhook_url(path)}).send, MESSAGE, "ops")
    assert (error.permanent, error.kind) == (permanent, kind)
    assert f"HTTP {status}" in error.message
    assert slack.accepted == []


@pytest.mark.parametrize(
    ("answer", "kind", "retry_after"),
    [
        (Answer.text(429, "rate_limited", {"Retry-After": "7"}), "http_429", 7.0),
        (Answer.text(503, "unavailable"), "http_503", None),
        (Answer.text(500, "rollup_error"), "http_500", None),
    ],
)
def test_slack_webhook_transient_answers(
    slack: SlackFake, answer: Answer, kind: str, retry_after: float | None
) -> None:
    slack.fail_next(answer)
    error = raised(SlackWebhookChannel({"ops": slack.webhook_url()}).send, MESSAGE, "ops")
    assert (error.permanent, error.kind, error.retry_after) == (False, kind, retry_after)


def test_slack_webhook_unknown_name_and_no_answer(slack: SlackFake) -> None:
    channel = SlackWebhookChannel({"ops": slack.webhook_url(), "down": f"{NOBODY}/services/T0/B0/x"})
    error = raised(channel.send, MESSAGE, "https://evil.example/hook")
    assert (error.permanent, error.kind) == (True, "config")
    assert slack.requests_seen == 0
    error = raised(channel.send, MESSAGE, "down")
    assert (error.permanent, error.kind) == (False, "unreachable")


# --- Slack chat.postMessage ---


def test_slack_bot_posts_to_a_channel_with_its_token(slack: SlackFake) -> None:
    SlackBotChannel("xoxb-test-token", api_url=slack.api_url).send(MESSAGE, "U0ALICE")
    [post] = slack.accepted
    assert (post.via, post.channel) == ("api", "U0ALICE")
    assert post.headers["authorization"] == "Bearer xoxb-test-token"
    assert post.headers["content-type"] == "application/json; charset=utf-8"
    assert post.body["text"].startswith("Disk almost full: ")
    assert post.body["blocks"][0]["type"] == "header"


@pytest.mark.parametrize(
    ("token", "address", "expected"),
    [
        ("xoxb-test-token", "C0NOPE", (True, "rejected", "channel_not_found")),
        ("xoxb-test-token", "C0OLD", (True, "rejected", "is_archived")),
        ("xoxb-wrong", "C0TEAM", (False, "auth", "invalid_auth")),
    ],
)
def test_slack_bot_api_errors(
    slack: SlackFake, token: str, address: str, expected: tuple[bool, str, str]
) -> None:
    error = raised(SlackBotChannel(token, api_url=slack.api_url).send, MESSAGE, address)
    permanent, kind, error_code = expected
    assert (error.permanent, error.kind) == (permanent, kind)
    assert f"chat.postMessage to {address}: {error_code}" in error.message
    assert slack.accepted == []


@pytest.mark.parametrize(
    ("answer", "kind", "retry_after"),
    [
        (Answer.json(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}), "http_429", 30.0),
        (
            Answer.json(200, {"ok": False, "error": "ratelimited"}, {"Retry-After": "5"}),
            "slack_ratelimited",
            5.0,
        ),
        (Answer.json(200, {"ok": False, "error": "internal_error"}), "slack_internal_error", None),
        (Answer.text(200, "<html>proxy</html>"), "bad_answer", None),
        (Answer.text(502, "bad gateway"), "http_502", None),
    ],
)
def test_slack_bot_transient_answers(
    slack: SlackFake, answer: Answer, kind: str, retry_after: float | None
) -> None:
    slack.fail_next(answer)
    error = raised(SlackBotChannel("xoxb-test-token", api_url=slack.api_url).send, MESSAGE, "C0TEAM")
    assert (error.permanent, error.kind, error.retry_after) == (False, kind, retry_after)


def test_slack_bot_no_answer() -> None:
    error = raised(SlackBotChannel("xoxb-test-token", api_url=f"{NOBODY}/api").send, MESSAGE, "C0TEAM")
    assert (error.permanent, error.kind) == (False, "unreachable")


# --- Teams Workflows ---


def test_teams_posts_an_adaptive_card(teams: TeamsFake) -> None:
    TeamsChannel({"ops": teams.webhook_url()}).send(MESSAGE, "ops")
    [card] = teams.accepted
    assert card["version"] == "1.4"
    title, text = card["body"]
    assert (title["text"], title["color"]) == ("Disk almost full", "Attention")
    assert text["text"] == MESSAGE.text
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open", "url": MESSAGE.link}]


def test_the_alertmanager_card_is_a_valid_workflows_message(teams: TeamsFake) -> None:
    webhook = {
        "status": "firing",
        "commonLabels": {"alertname": "SchedulerFailed"},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [{"labels": {"alertname": "SchedulerFailed"}, "annotations": {"summary": "EOD failed"}}],
    }
    with httpx.Client() as client:
        post_card(client, teams.webhook_url(), teams_card(webhook), "teams ops")
    [card] = teams.accepted
    assert card["body"][0]["text"] == "[FIRING:1] SchedulerFailed"
    assert card["body"][1]["text"] == "EOD failed"


def test_the_teams_fake_refuses_a_legacy_message_card(teams: TeamsFake) -> None:
    legacy = {"@type": "MessageCard", "text": "hello"}
    with httpx.Client() as client:
        error = raised(post_card, client, teams.webhook_url(), legacy, "teams ops")
    assert (error.permanent, error.kind) == (True, "rejected")
    assert "InvalidRequestContent" in error.message
    future = teams_card({})
    future["attachments"][0]["content"]["version"] = "2.0"
    with pytest.raises(Refused, match=re.escape("unsupported AdaptiveCard version '2.0'")):
        check_workflows_message(future)


@pytest.mark.parametrize(
    ("url_of", "permanent", "kind", "status"),
    [
        (lambda fake: fake.webhook_url(sig="forged"), False, "auth", 401),
        (lambda fake: fake.url + "/workflows/gone/triggers/manual/paths/invoke?sig=x", True, "rejected", 404),
    ],
)
def test_teams_refusals(
    teams: TeamsFake, url_of: Callable[[TeamsFake], str], permanent: bool, kind: str, status: int
) -> None:
    error = raised(TeamsChannel({"ops": url_of(teams)}).send, MESSAGE, "ops")
    assert (error.permanent, error.kind) == (permanent, kind)
    assert f"HTTP {status}" in error.message
    assert "forged" not in error.message and "sig=" not in error.message  # the URL is a secret


def test_teams_transient_unknown_and_no_answer(teams: TeamsFake) -> None:
    channel = TeamsChannel({"ops": teams.webhook_url(), "down": f"{NOBODY}/workflows/x"})
    teams.fail_next(Answer.json(429, {"error": {"code": "WorkflowRequestsThrottled"}}, {"Retry-After": "12"}))
    error = raised(channel.send, MESSAGE, "ops")
    assert (error.permanent, error.kind, error.retry_after) == (False, "http_429", 12.0)
    assert (raised(channel.send, MESSAGE, "down").kind, raised(channel.send, MESSAGE, "nope").kind) == (
        "unreachable",
        "config",
    )
    assert teams.accepted == []


# --- Twilio SMS ---


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


# --- signed webhooks ---


def test_webhook_posts_signed_json(receiver: WebhookReceiver) -> None:
    WebhookChannel({"ops": WebhookTarget(f"{receiver.url}/hooks/ops", "s3cret")}).send(MESSAGE, "ops")
    [delivery] = receiver.accepted  # the receiver checked the signature and the timestamp
    assert delivery.path == "/hooks/ops"
    assert delivery.json() == {
        "notification_id": MESSAGE.notification_id,
        "user_id": "user123",
        "subject": "Disk almost full",
        "text": MESSAGE.text,
        "priority": "critical",
        "link": MESSAGE.link,
        "data": {"host": "db-1", "used_ratio": 0.95},
    }
    assert delivery.headers["x-notification-id"] == MESSAGE.notification_id
    assert delivery.headers["x-notification-signature"].startswith("sha256=")


@pytest.mark.parametrize(
    ("secret", "clock_offset", "refusal"),
    [
        ("not-the-secret", 0.0, "signature does not match"),
        ("s3cret", -3600.0, "timestamp too far from the receiver's clock"),  # a replayed request
    ],
)
def test_webhook_refused_signatures(
    receiver: WebhookReceiver, secret: str, clock_offset: float, refusal: str
) -> None:
    channel = WebhookChannel(
        {"ops": WebhookTarget(receiver.url, secret)}, clock=lambda: time.time() + clock_offset
    )
    error = raised(channel.send, MESSAGE, "ops")
    assert (error.permanent, error.kind) == (False, "auth")  # 401: the secret, kept and retried
    assert receiver.refusals == [refusal]
    assert receiver.accepted == []


def test_webhook_targets_are_named_never_urls(receiver: WebhookReceiver) -> None:
    channel = WebhookChannel({"ops": WebhookTarget(receiver.url, "s3cret")})
    error = raised(channel.send, MESSAGE, receiver.url)
    assert (error.permanent, error.kind) == (True, "config")
    bad_data = Message(notification_id="n-3", subject="s", text="t", data={"when": object()})
    assert raised(channel.send, bad_data, "ops").permanent
    assert receiver.requests_seen == 0


@pytest.mark.parametrize(("status", "permanent"), [(500, False), (404, True), (422, True), (408, False)])
def test_webhook_answers(receiver: WebhookReceiver, status: int, permanent: bool) -> None:
    receiver.fail_next(Answer.text(status, "no"))
    error = raised(WebhookChannel({"ops": WebhookTarget(receiver.url, "s3cret")}).send, MESSAGE, "ops")
    assert error.permanent is permanent


def test_webhook_no_answer() -> None:
    error = raised(WebhookChannel({"ops": WebhookTarget(NOBODY, "s3cret", timeout=2)}).send, MESSAGE, "ops")
    assert (error.permanent, error.kind) == (False, "unreachable")


# --- email ---


def email_channel(smtp: SmtpRecorder, **overrides: object) -> EmailChannel:
    settings: dict[str, object] = {
        "host": smtp.host,
        "port": smtp.port,
        "security": "none",
        "from_address": "alerts@bridge.example",
    }
    return EmailChannel(**{**settings, **overrides})  # type: ignore[arg-type]


def test_email_sends_a_plain_utf8_mime_message() -> None:
    with smtp_recorder() as smtp:
        email_channel(smtp).send(MESSAGE, "owner@example.com")
        [mail] = smtp.to("owner@example.com")
    assert (mail.sender, mail.recipients) == ("alerts@bridge.example", ["owner@example.com"])
    assert mail.subject == "Disk almost full"
    assert mail.message["Message-ID"] == f"<{MESSAGE.notification_id}@bridge.example>"
    assert parsedate_to_datetime(mail.message["Date"]).tzinfo is not None
    assert mail.message.get_content_type() == "text/plain"
    assert mail.message.get_content_charset() == "utf-8"
    assert mail.text().replace("\r\n", "\n") == f"{MESSAGE.text}\n\n{MESSAGE.link}\n"
    assert mail.login is None


def test_email_starttls_and_login() -> None:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    with smtp_recorder(credentials=("bridge", "pa55"), tls_context=server_context) as smtp:
        channel = email_channel(
            smtp, security="starttls", username="bridge", password="pa55", ssl_context=client_context
        )
        channel.send(MESSAGE, "owner@example.com")
        [mail] = smtp.accepted()
        assert (mail.login, mail.starttls) == ("bridge", True)
        wrong = email_channel(
            smtp, security="starttls", username="bridge", password="nope", ssl_context=client_context
        )
        error = raised(wrong.send, MESSAGE, "owner@example.com")
        assert (error.permanent, error.kind) == (False, "auth")  # 535: the credentials, kept
        assert "SMTP 535" in error.message
        untrusted = email_channel(smtp, security="starttls", username="bridge", password="pa55")
        assert raised(untrusted.send, MESSAGE, "owner@example.com").permanent is False  # unknown CA
    assert len(smtp.accepted()) == 1


@pytest.mark.parametrize(
    ("refuse", "reply", "permanent"),
    [
        ("rcpt", "550 5.1.1 no such user", True),
        ("rcpt", "450 4.2.1 mailbox busy", False),
        ("data", "554 5.6.0 message refused", True),
        ("data", "451 4.3.0 try again later", False),
    ],
)
def test_email_refusing_replies(refuse: str, reply: str, permanent: bool) -> None:
    with smtp_recorder() as smtp:
        if refuse == "rcpt":
            smtp.refuse_recipients["owner@example.com"] = reply
        else:
            smtp.data_reply = reply
        error = raised(email_channel(smtp).send, MESSAGE, "owner@example.com")
        assert smtp.accepted() == []
    assert error.permanent is permanent
    assert f"SMTP {reply}" in error.message


def test_email_no_answer_no_starttls_and_bad_addresses() -> None:
    port = free_port()
    error = raised(
        EmailChannel(host="127.0.0.1", port=port, security="none", from_address="a@b.example").send,
        MESSAGE,
        "owner@example.com",
    )
    assert (error.permanent, error.kind) == (False, "unreachable")
    with smtp_recorder() as smtp:  # offers no STARTTLS: the settings are wrong, kept until fixed
        error = raised(email_channel(smtp, security="starttls").send, MESSAGE, "owner@example.com")
        assert (error.permanent, error.kind) == (False, "auth")
        error = raised(email_channel(smtp).send, MESSAGE, "owner@example.com\r\nRCPT TO:<x@evil.example>")
        assert error.permanent
        assert smtp.accepted() == []
    with pytest.raises(ValueError, match="from_address"):
        email_channel(smtp, from_address="nobody")


# --- the Alertmanager relays, on the strict fakes ---


def test_the_relays_send_what_teams_and_twilio_accept(teams: TeamsFake, twilio: TwilioFake) -> None:
    config = NotifyConfig.model_validate(
        {
            "teams": {"ops": {"url": {"value": teams.webhook_url()}}},
            "sms": {
                "oncall": {
                    "base_url": twilio.url,
                    "account_sid": twilio.account_sid,
                    "auth_token": {"value": twilio.auth_token},
                    "from_number": "+15550100",
                    "to": ["+15550199"],
                    "max_length": 15,
                }
            },
        }
    )
    webhook = {
        "status": "firing",
        "alerts": [
            {"labels": {"alertname": "Down", "service": "db"}, "annotations": {"summary": "DB is down"}}
        ],
    }
    sink = NotifySink(config, timeout=5)
    try:
        sink.send(
            [
                {"kind": "teams", "target": "ops", "webhook": webhook},
                {"kind": "sms", "target": "oncall", "webhook": webhook, "to": "+15550199"},
            ]
        )
    finally:
        sink.close()
    [card] = teams.accepted
    assert card["body"][0]["text"] == "[FIRING:1] alerts"
    [sms] = twilio.accepted
    assert sms.body == "FIRING: DB is …"  # the target's max_length, 15
