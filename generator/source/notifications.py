"""`notifications:`: the notification API's channels, templates and escalation policies (rendered for the
bridge to pushgateway-bridge/notifications.yml).

Secrets only as `*_file` paths, as the bridge sees them. Email has no server of its own here: it goes
through `alertmanager.smtp`, the one SMTP declaration. The rules a value must follow that the bridge also
applies (what a `to` may name, what a template may do) are the bridge's own, called from here, so
`make rules` refuses what the bridge would refuse at start.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from generator.source.alertmanager import Smtp
from generator.source.fields import Duration, Severity, Strict
from pushgateway_bridge.notifications.config import Directory, HttpUrl, TemplateName, check_escalation
from pushgateway_bridge.notifications.models import E164, Channel, TargetName
from pushgateway_bridge.notifications.templates import (
    MAX_SUBJECT_CHARACTERS,
    MAX_TEXT_CHARACTERS,
    TemplateError,
    TemplateSource,
    check,
)

SecretFile = Annotated[str, Field(min_length=1, pattern=r"^\S+$")]


class Email(Strict):
    # The bridge's path to alertmanager.smtp's password: it mounts the secrets elsewhere than Alertmanager.
    password_file: SecretFile | None = None
    timeout: Duration | None = None


class Slack(Strict):
    webhook_url_files: dict[TargetName, SecretFile] = {}  # incoming webhooks by name
    bot_token_file: SecretFile | None = None  # chat.postMessage to user or channel ids (direct messages)
    api_url: HttpUrl | None = None

    @model_validator(mode="after")
    def _some_way_to_send(self) -> Slack:
        if not self.webhook_url_files and self.bot_token_file is None:
            raise ValueError("give webhook_url_files, bot_token_file or both")
        return self


class Teams(Strict):
    url_files: Annotated[dict[TargetName, SecretFile], Field(min_length=1)]  # Workflows URLs by name


class Sms(Strict):
    base_url: HttpUrl | None = None  # Twilio's, or a Twilio-compatible API's
    account_sid: Annotated[str, Field(pattern=r"^[A-Za-z0-9]+$")]
    auth_token_file: SecretFile
    from_: str = Field(alias="from", pattern=f"^{E164.pattern}$")
    max_length: int | None = Field(default=None, gt=0, le=1600)


class WebhookTarget(Strict):
    name: TargetName
    url: HttpUrl
    secret_file: SecretFile  # the HMAC-SHA256 key receivers verify the signature with
    timeout: Duration | None = None


class Channels(Strict):
    email: Email | None = None
    slack: Slack | None = None
    teams: Teams | None = None
    sms: Sms | None = None
    webhooks: list[WebhookTarget] = []

    @field_validator("webhooks")
    @classmethod
    def _unique(cls, value: list[WebhookTarget]) -> list[WebhookTarget]:
        names = [target.name for target in value]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"two targets named {duplicates[0]!r}")
        return value

    def directory(self) -> Directory:
        return Directory.of(
            email=self.email is not None,
            sms=self.sms is not None,
            slack_webhooks=self.slack.webhook_url_files if self.slack else (),
            slack_bot=bool(self.slack and self.slack.bot_token_file),
            teams=self.teams.url_files if self.teams else (),
            webhooks=[target.name for target in self.webhooks],
        )


class Template(Strict):
    subject: Annotated[str, Field(max_length=MAX_SUBJECT_CHARACTERS)] = ""
    text: Annotated[str, Field(max_length=MAX_TEXT_CHARACTERS)] = ""


class EscalationStep(Strict):
    channel: Channel
    to: Annotated[str, Field(min_length=1)]


class EscalationPolicy(Strict):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")]
    priority: Severity = "critical"
    users: str = "*"  # a glob of user ids
    after: Duration  # unacknowledged this long: the next step; then again after as long
    steps: Annotated[list[EscalationStep], Field(min_length=1)]


class Notifications(Strict):
    channels: Channels = Channels()
    templates: dict[TemplateName, Template] = {}
    escalation: list[EscalationPolicy] = []

    @field_validator("templates")
    @classmethod
    def _templates_load(cls, value: dict[str, Template]) -> dict[str, Template]:
        for name, template in value.items():
            try:
                check(name, TemplateSource(subject=template.subject, text=template.text))
            except TemplateError as exc:
                raise ValueError(f"{name}: {exc.message}") from None
        return value

    @model_validator(mode="after")
    def _escalation_references(self) -> Notifications:
        policies = [(p.name, [(step.channel, step.to) for step in p.steps]) for p in self.escalation]
        check_escalation(policies, self.channels.directory())
        return self

    def check_smtp(self, smtp: Smtp) -> None:
        """ValueError if email needs a password the section does not give the bridge, or gives one unused."""
        email = self.channels.email
        if email is None:
            return
        if smtp.auth_username and email.password_file is None:
            raise ValueError(
                "channels.email.password_file: required, since alertmanager.smtp.auth_username is set "
                "(the bridge's path to the same password)"
            )
        if not smtp.auth_username and email.password_file is not None:
            raise ValueError("channels.email.password_file: alertmanager.smtp has no auth_username to use it")
